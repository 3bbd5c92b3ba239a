"""The front page's answers, from a recorded run with two generations (tests/data/report/generations.json):
what breaks (findings), builder x runner, and which versions fixed or broke a test."""

from __future__ import annotations

from pathlib import Path

from test_report_site import load_js_data

from ocimatrix.report.cell_tools import resolve_tools, short_version, tools_of
from ocimatrix.report.findings import find_findings, normalized_reason
from ocimatrix.report.model import build_site_data
from ocimatrix.report.site import write_site
from ocimatrix.report.versions_view import versions_by_test
from ocimatrix.results import Record, Results, Run
from ocimatrix.results.schema import load_checked_results

DATA = Path(__file__).parent / "data" / "report"
GENERATIONS, OLD_RUN = DATA / "generations.json", DATA / "run.json"


def site_data(path: Path):
    data = build_site_data(load_checked_results(path))
    return data, resolve_tools(data.records)


def findings_of(path: Path):
    data, tools = site_data(path)
    return data, {f.test.split("::")[1]: f for f in find_findings(data.records, tools, data.index["axes"])}


def test_a_cell_names_its_tool_version_and_generation():
    data, tools = site_data(GENERATIONS)
    labels = {t.label for found in tools for t in found.values()}
    assert {"docker 20.10.24 (bookworm)", "docker 26.1.5 (trixie)", "podman 5.4.2 (trixie)"} <= labels
    assert "registry:embedded 2.8.2" in labels
    # A skipped cell records no evidence: it borrows the one identity the run knows for its spelling.
    skipped = next(i for i, r in enumerate(data.records) if r.outcome == "skipped")
    assert tools[skipped]["engine"].label == "docker 20.10.24 (bookworm)"


def test_old_results_without_generations_still_name_versions():
    record = load_checked_results(OLD_RUN).results[0]
    assert tools_of(record)["engine"].label == "docker 20.10.24"  # generation unknown: not guessed
    assert short_version("1.6.20~ds1") == "1.6.20" and short_version("26.1.5+dfsg1") == "26.1.5"
    assert short_version("0.0~20221219.0") == "20221219"  # runsc: a dated snapshot reads as its date
    assert short_version("1.21-1") == "1.21" and short_version("1:1.37.0-6") == "1.37.0"


def test_reasons_lose_what_differs_from_run_to_run():
    one = "AssertionError: x (image 127.0.0.1:41234/ocimatrix/a:4edb257f-gw0) sha256:" + "ab" * 32 + "\nmore"
    two = "AssertionError: x (image 127.0.0.1:39999/ocimatrix/a:9abc1234-gw1) sha256:" + "cd" * 32
    assert normalized_reason(one) == normalized_reason(two)
    assert "exit status 3" in normalized_reason("container exit status 3 expected, engine reported 0")


def test_findings_group_cells_and_name_the_versions_that_have_them():
    _, found = findings_of(GENERATIONS)
    zstd = found["test_pulled_digest_is_pushed_digest"]
    assert zstd.outcome == "xfailed" and len(zstd.records) == 2
    assert zstd.tools["engine"] == ["docker 20.10.24 (bookworm)"]
    assert zstd.tools["builder"] == ["podman 4.3.1 (bookworm)", "podman 5.4.2 (trixie)"]
    assert zstd.axes["compression"] == ["zstd"] and zstd.passes_with["engine"] == ["docker 26.1.5 (trixie)"]
    assert zstd.section.startswith("image-spec") and zstd.url.startswith("https://")
    # The same failure on two containerd versions, differing only in port and tag: one finding.
    workdir = found["test_workdir_applied"]
    assert len(workdir.records) == 2 and workdir.outcome == "failed"
    assert workdir.tools["engine"] == ["containerd 1.6.20 (bookworm)", "containerd 1.7.24 (trixie)"]
    assert found["test_out_of_order_chunk_is_416"].tools == {"registry": ["registry:embedded 2.8.2"]}
    assert found["test_env_passed"].outcome == "error"
    assert "test_push_monolithic" not in found and "test_container_runs_on_requested_platform" not in found


def test_findings_order_failures_then_known_then_harness_errors():
    data, tools = site_data(GENERATIONS)
    order = [f.outcome for f in find_findings(data.records, tools, data.index["axes"])]
    assert order == ["failed", "failed", "xfailed", "error"]


def test_versions_say_fixed_in_between_generations():
    data, tools = site_data(GENERATIONS)
    by_test = {v["test"].split("::")[1]: v for v in versions_by_test(data.records, tools, data.index["axes"])}
    zstd = by_test["test_pulled_digest_is_pushed_digest"]
    [change] = zstd["changes"]
    assert change["kind"] == "fixed" and change["to"] == "docker 26.1.5 (trixie)"
    assert change["from"] == "docker 20.10.24 (bookworm)" and (change["was"], change["now"]) == ("xfailed", "passed")
    assert change["cells"] == 2 and all("compression=zstd" in w for w in change["where"])
    # The harness error in test_env_passed is no change of version: errors say nothing about a tool.
    assert by_test["test_env_passed"]["changes"] == []
    assert list(by_test)[0] == "test_pulled_digest_is_pushed_digest"  # changes first


def test_versions_say_broken_in():
    def record(engine: str, version: str, outcome: str) -> Record:
        cell = {"engine": engine, "compression": "gzip", "versions": {engine: version}}
        return Record(test=f"suites/l/test_l.py::test_x[{engine}]", suite="lifecycle", outcome=outcome, cell=cell)

    records = [record("podman", "4.3.1", "passed"), record("podman@trixie", "5.4.2", "failed")]
    [entry] = versions_by_test(records, resolve_tools(records), ["engine", "compression"])
    [change] = entry["changes"]
    assert change["kind"] == "broken" and change["to"] == "podman 5.4.2 (trixie)" and change["from"] == "podman 4.3.1"


def test_interop_rows_are_builders_and_columns_runners_across_generations(tmp_path):
    write_site([GENERATIONS], tmp_path)
    data = load_js_data(tmp_path / "data" / "index.js")
    tools = data["tools"]
    rows = [tools[t]["label"] for t in data["interop"]["rows"]]
    cols = [tools[t]["label"] for t in data["interop"]["cols"]]
    assert rows == ["buildah 1.28.2 (bookworm)", "podman 4.3.1 (bookworm)", "podman 5.4.2 (trixie)"]
    assert cols == [
        "containerd 1.6.20 (bookworm)",
        "docker 20.10.24 (bookworm)",
        "containerd 1.7.24 (trixie)",
        "docker 26.1.5 (trixie)",
    ]
    assert {tools[t]["value"] for t in data["interop"]["cols"]} == {
        "containerd",
        "docker",
        "containerd@trixie",
        "docker@trixie",
    }
    # Each finding's records are rows of the page, so its "show the cells" link can list them.
    outcomes = data["outcomes"]
    for finding in data["findings"]:
        assert {outcomes[data["r"]["out"][i]] for i in finding["recs"]} == {finding["out"]}


def test_a_run_without_failures_or_tools_has_empty_views(tmp_path):
    results = Results(run=Run(), results=[Record(test="t.py::test_a", suite="x", outcome="passed")])
    data = build_site_data(results)
    assert find_findings(data.records, resolve_tools(data.records), data.index["axes"]) == []
    assert versions_by_test(data.records, resolve_tools(data.records), data.index["axes"]) == []
