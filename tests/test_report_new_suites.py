"""The front page on the records of issue 20's suites (tests/data/report/new_suites.json, trimmed from a run
here: attestations, store, copies, layers and the filesystem defaults): BuildKit is a builder of the
builder x runner table, the layers and store findings are the engine's (runc is context), and what a
store cell ran is shown beside its finding and its versions."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_report_site import load_js_data

from ocimatrix.report.browser import PageWatch, chromium_page, missing_browser_reason
from ocimatrix.report.cell_tools import resolve_tools
from ocimatrix.report.findings import find_findings
from ocimatrix.report.model import build_site_data
from ocimatrix.report.observed import observed
from ocimatrix.report.site import write_site
from ocimatrix.report.versions_view import versions_by_test
from ocimatrix.results import Record
from ocimatrix.results.schema import load_checked_results

DATA = Path(__file__).parent / "data" / "report" / "new_suites.json"
SHOTS = Path(__file__).resolve().parents[1] / "reports"


def site_data():
    data = build_site_data(load_checked_results(DATA))
    return data, resolve_tools(data.records)


def findings_by_test():
    data, tools = site_data()
    found = find_findings(data.records, tools, data.index["axes"])
    return {f.test.split("::")[1]: f for f in found if f.outcome != "error"}


def versions_by_name():
    data, tools = site_data()
    return {v["test"].split("::")[1]: v for v in versions_by_test(data.records, tools, data.index["axes"])}


def test_the_recorded_run_holds_each_new_suite():
    suites = {r.suite for r in load_checked_results(DATA).results}
    assert {"attestations", "store", "copies", "layers", "lifecycle"} <= suites


def test_buildkit_is_a_builder_row_of_the_interop_table(tmp_path):
    write_site([DATA], tmp_path)
    data = load_js_data(tmp_path / "data" / "index.js")
    tools = data["tools"]
    rows = [tools[t]["label"] for t in data["interop"]["rows"]]
    cols = {tools[t]["value"] for t in data["interop"]["cols"]}
    assert "attestations" in data["interop"]["suites"]
    assert [r for r in rows if r.startswith("buildx ")] == ["buildx 0.13.1 (trixie)"]
    assert {"docker", "podman", "containerd", "containerd-cri", "docker@trixie", "containerd@trixie"} <= cols


def test_layers_findings_are_the_engines_runc_is_context():
    found = findings_by_test()
    whiteout = found["test_whiteout_after_its_file_in_one_layer"]
    assert whiteout.outcome == "xfailed"
    assert set(whiteout.tools) == {"engine"} and len(whiteout.tools["engine"]) >= 4
    assert set(whiteout.context) == {"runtime"}


def test_where_the_spec_is_silent_each_engines_answer_is_listed_by_version():
    entry = versions_by_name()["test_zero_byte_layer_blob"]
    seen = {r["label"].split()[0]: r["seen"] for g in entry["tools"] if g["role"] == "engine" for r in g["rows"]}
    assert seen["containerd"] == seen["containerd-cri"] == [["spec silent; refused", 1]]
    assert seen["docker"] == seen["podman"] == [["spec silent; ran", 1]]
    assert "test_zero_byte_layer_blob" not in findings_by_test()  # a fact, not a finding


def test_store_findings_show_which_platform_ran():
    found = findings_by_test()
    no_platform = found["test_run_with_no_platform_after_pulling_another"]
    assert set(no_platform.tools) == {"engine"}
    facts = list(no_platform.seen)
    assert facts and all(f.startswith("asked (none): ran index linux/arm64 (aarch64)") for f in facts), facts
    assert sum(no_platform.seen.values()) == len(no_platform.records)
    assert no_platform.to_json()["seen"] == [[fact, n] for fact, n in no_platform.seen.items()]


def test_versions_list_what_each_engine_ran_from_its_store():
    entry = versions_by_name()["test_run_asking_another_platform_than_pulled"]
    [engines] = [g for g in entry["tools"] if g["role"] == "engine" and g["tool"] == "containerd"]
    [row] = [r for r in engines["rows"] if r["label"].startswith("containerd 1.6")]
    assert row["seen"] == [["asked linux/amd64: refused", 1]]
    [podman] = [g for g in entry["tools"] if g["tool"] == "podman"]
    assert any(
        fact.startswith("asked linux/amd64: ran index linux/arm64") for r in podman["rows"] for fact, _ in r["seen"]
    )
    runtimes = [g for g in entry["tools"] if g["role"] == "runtime"]
    assert runtimes and all(g["context"] for g in runtimes)


def test_versions_list_each_engines_answer_to_the_unknown_platform():
    entry = versions_by_name()["test_runner_asked_for_the_unknown_platform"]
    facts = {fact for g in entry["tools"] if g["role"] == "engine" for r in g["rows"] for fact, _ in r["seen"]}
    assert facts and all(f.startswith("unknown/unknown: ") for f in facts)
    assert "unknown/unknown: refused" in facts


def test_copies_and_filesystem_defaults_have_their_versions():
    by_test = versions_by_name()
    assert {g["tool"] for g in by_test["test_skopeo_copy_to_an_oci_layout"]["tools"] if not g["context"]} == {"skopeo"}
    fs = by_test["test_filesystem_defaults"]
    assert {g["tool"] for g in fs["tools"] if g["role"] == "engine"} >= {"docker", "podman", "containerd"}


def test_observed_says_nothing_of_records_that_saw_nothing_special():
    assert observed(Record(test="t.py::test_a", suite="store", outcome="passed")) == ""
    plain = Record(test="t.py::test_b", suite="layers", outcome="passed", evidence={"engine_answer": "x"})
    assert observed(plain) == ""
    long = Record(test="t.py::test_c", suite="store", outcome="passed", evidence={"runs": [{"asked": "x" * 400}]})
    assert len(observed(long)) <= 160 and observed(long).endswith("…")


@pytest.mark.skipif(missing_browser_reason() is not None, reason=str(missing_browser_reason()))
def test_the_three_views_show_the_new_suites_in_a_browser(tmp_path):
    index = write_site([DATA], tmp_path / "site")
    SHOTS.mkdir(exist_ok=True)
    with chromium_page() as page:
        watch = PageWatch(page)
        page.goto(index.as_uri())
        page.wait_for_function("document.documentElement.dataset.ready === '1'", timeout=15000)
        store = page.locator("li.finding", has_text="test_run_with_no_platform_after_pulling_another")
        assert store.count() >= 1
        assert "asked (none): ran index linux/arm64 (aarch64)" in store.first.inner_text()
        whiteout = page.locator("li.finding", has_text="test_whiteout_after_its_file_in_one_layer").first.inner_text()
        assert "runs on" in whiteout and "context (not under test)" in whiteout and "runtime runc" in whiteout
        page.screenshot(path=str(SHOTS / "site-findings-new-suites.png"), full_page=True)

        page.locator("#tab-interop").click()
        table = page.locator("#interop table.grid")
        buildx = table.locator("tbody tr", has_text="buildx")
        assert buildx.count() == 1
        cell = buildx.locator("button.gcell").first
        assert "built by buildx 0.13.1 (trixie)" in cell.get_attribute("aria-label")
        page.screenshot(path=str(SHOTS / "site-interop-new-suites.png"), full_page=True)

        page.locator("#tab-versions").click()
        page.locator("#search").fill("test_run_asking_another_platform_than_pulled")
        entry = page.locator("#versions-list details.vtest").first
        entry.wait_for()
        if entry.get_attribute("open") is None:
            entry.locator("summary").click()
        text = entry.inner_text()
        assert "what its cells saw" in text and "asked linux/amd64: refused" in text
        page.screenshot(path=str(SHOTS / "site-versions-new-suites.png"), full_page=True)
    assert watch.problems == [] and watch.remote == []
