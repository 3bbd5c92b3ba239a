"""Whom the site blames: the tool a suite tests, or the tool whose version alone turns the outcome;
every other tool of the cells is context, never a failing version.

Small results.json files written here, read back through the checked loader as `ocimatrix report` does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_report_site import load_js_data

from ocimatrix.report.blame import Blame, roles_under_test
from ocimatrix.report.browser import PageWatch, chromium_page, missing_browser_reason
from ocimatrix.report.cell_tools import resolve_tools
from ocimatrix.report.findings import find_findings
from ocimatrix.report.model import build_site_data
from ocimatrix.report.site import write_site
from ocimatrix.report.versions_view import versions_by_test
from ocimatrix.results import Record, Results, Run, write_results
from ocimatrix.results.schema import load_checked_results

VERSIONS = {
    "containerd-cri": ("1.6.20~ds1", "bookworm"),
    "containerd-cri@trixie": ("1.7.24~ds1", "trixie"),
    "runc": ("1.1.5+ds1", "bookworm"),
    "runc@trixie": ("1.1.15+ds1", "trixie"),
    "crun": ("1.8.1", "bookworm"),
    "crun@trixie": ("1.21", "trixie"),
    "docker": ("20.10.24+dfsg1", "bookworm"),
    "podman": ("4.3.1", "bookworm"),
}
NOT_FOUND = "NOT_FOUND: an error occurred when try to find container"
STOP_AFTER_REMOVE = "suites/cri/test_cri_containers.py::test_stop_container_after_remove"
RUN_EXIT = "suites/lifecycle/test_run.py::test_exit_code_propagated"


def record(test: str, suite: str, outcome: str, reason: str = "", **cell: str) -> Record:
    """A record as the plugin writes it: the cell, its versions, and each tool's identity as evidence."""
    tools = {}
    for role, value in cell.items():
        version, generation = VERSIONS[value]
        tools[role] = {"tool": value.partition("@")[0], "generation": generation, "version": version}
    full = {**cell, "versions": {value: VERSIONS[value][0] for value in cell.values()}}
    name = f"{test}[{'-'.join(cell.values())}]"
    return Record(test=name, suite=suite, outcome=outcome, cell=full, reason=reason, evidence={"tools": tools})


def site_of(tmp_path: Path, records: list[Record]):
    path = tmp_path / "results.json"
    write_results(Results(run=Run(matrix="blame.yaml"), results=records), path)
    data = build_site_data(load_checked_results(path))
    return path, data, resolve_tools(data.records), data.index["axes"]


def cri_run() -> list[Record]:
    """containerd 1.6 refuses StopContainer after remove on runc and crun alike; 1.7 passes on both."""
    return [
        record(STOP_AFTER_REMOVE, "cri", "xfailed", NOT_FOUND, engine="containerd-cri", runtime="runc"),
        record(STOP_AFTER_REMOVE, "cri", "xfailed", NOT_FOUND, engine="containerd-cri", runtime="crun"),
        record(STOP_AFTER_REMOVE, "cri", "passed", engine="containerd-cri@trixie", runtime="runc@trixie"),
        record(STOP_AFTER_REMOVE, "cri", "passed", engine="containerd-cri@trixie", runtime="crun@trixie"),
    ]


def test_a_cri_finding_is_the_cri_engines_and_its_runtimes_are_context(tmp_path):
    _, data, tools, axes = site_of(tmp_path, cri_run())
    [finding] = find_findings(data.records, tools, axes)
    assert finding.outcome == "xfailed" and finding.suite == "cri"
    assert finding.tools == {"engine": ["containerd-cri 1.6.20 (bookworm)"]}
    assert finding.context == {"runtime": ["crun 1.8.1 (bookworm)", "runc 1.1.5 (bookworm)"]}
    # The way out is the engine's other version, not a runtime.
    assert finding.passes_with == {"engine": ["containerd-cri 1.7.24 (trixie)"]}
    assert finding.to_json()["ctx"] == finding.context


def test_which_versions_rates_the_cri_engine_and_shows_runc_and_crun_as_context(tmp_path):
    _, data, tools, axes = site_of(tmp_path, cri_run())
    [entry] = versions_by_test(data.records, tools, axes)
    groups = {group["tool"]: group for group in entry["tools"]}
    assert groups["containerd-cri"]["context"] is False and groups["containerd-cri"]["role"] == "engine"
    assert groups["runc"]["context"] is True and groups["crun"]["context"] is True
    assert [g["tool"] for g in entry["tools"]][0] == "containerd-cri"  # the tested tool before its context
    # Runtimes differ only with the engine here (each engine runs its own generation's): nothing flips by them.
    assert entry["changes"] == [] and entry["differs"] is True


def test_the_site_data_carries_the_context_apart(tmp_path):
    path, *_ = site_of(tmp_path, cri_run())
    write_site([path], tmp_path / "site")
    index = load_js_data(tmp_path / "site" / "data" / "index.js")
    [finding] = index["findings"]
    assert set(finding["tools"]) == {"engine"} and set(finding["ctx"]) == {"runtime"}
    [entry] = index["versions"]
    assert {g["tool"]: g["context"] for g in entry["tools"]} == {
        "containerd-cri": False,
        "runc": True,
        "crun": True,
    }


def flip_run() -> list[Record]:
    """A lifecycle test failing with runc 1.1.5 and passing with runc 1.1.15, every other axis equal;
    crun passes beside both. The suite tests the engine and builder, yet runc's version turns it."""
    same = {"builder": "podman", "engine": "docker"}
    return [
        record(RUN_EXIT, "lifecycle", "failed", "exit status 3 expected, engine reported 0", **same, runtime="runc"),
        record(RUN_EXIT, "lifecycle", "passed", **same, runtime="runc@trixie"),
        record(RUN_EXIT, "lifecycle", "passed", **same, runtime="crun"),
    ]


def test_a_flip_by_one_tools_version_blames_that_tool(tmp_path):
    _, data, tools, axes = site_of(tmp_path, flip_run())
    [finding] = find_findings(data.records, tools, axes)
    assert finding.tools == {
        "engine": ["docker 20.10.24 (bookworm)"],
        "builder": ["podman 4.3.1 (bookworm)"],
        "runtime": ["runc 1.1.5 (bookworm)"],
    }
    assert finding.context == {}
    assert finding.passes_with["runtime"] == ["crun 1.8.1 (bookworm)", "runc 1.1.15 (trixie)"]
    [entry] = versions_by_test(data.records, tools, axes)
    [change] = entry["changes"]
    assert change["tool"] == "runc" and change["kind"] == "fixed"
    assert (change["from"], change["to"]) == ("runc 1.1.5 (bookworm)", "runc 1.1.15 (trixie)")
    groups = {group["tool"]: group["context"] for group in entry["tools"]}
    # crun never turned anything: it stays context, though it shares the runtime role with runc.
    assert groups == {"docker": False, "podman": False, "runc": False, "crun": True}


def test_the_same_runtimes_without_a_flip_are_context_in_the_lifecycle_suite(tmp_path):
    same = {"builder": "podman", "engine": "docker"}
    records = [
        record(RUN_EXIT, "lifecycle", "failed", "exit status 3 expected", **same, runtime="runc"),
        record(RUN_EXIT, "lifecycle", "failed", "exit status 3 expected", **same, runtime="runc@trixie"),
    ]
    _, data, tools, axes = site_of(tmp_path, records)
    [finding] = find_findings(data.records, tools, axes)
    assert set(finding.tools) == {"engine", "builder"}
    assert finding.context == {"runtime": ["runc 1.1.5 (bookworm)", "runc 1.1.15 (trixie)"]}


@pytest.mark.parametrize(
    ("suite", "axes", "seen", "tested"),
    [
        ("cri", {"engine": "containerd-cri", "runtime": "runc"}, ("engine", "runtime"), {"engine"}),
        ("runtime", {"runtime": "crun"}, ("runtime",), {"runtime"}),
        # An engine-config check of the runtime suite varies only by engine: the engine is what it tests.
        ("runtime", {"engine": "docker"}, ("engine", "builder"), {"engine"}),
        ("lifecycle", {"builder": "podman", "engine": "docker", "runtime": "runc"}, (), {"builder", "engine"}),
        # The image suite tests what its record drove: a runner's save, not the builder of the image.
        ("image", {"builder": "podman", "engine": "docker", "runtime": "runc"}, ("engine", "runtime"), {"engine"}),
        ("image", {"builder": "podman", "engine": "docker"}, ("builder",), {"builder"}),
        ("claims", {"engine": "docker", "runtime": "runc"}, (), {"engine", "runtime"}),
    ],
)
def test_roles_under_test_by_suite(suite, axes, seen, tested):
    tools = {role: {"tool": axes[role], "version": "1"} for role in seen if role in axes}
    one = Record(test="s.py::test_a", suite=suite, outcome="failed", cell=axes, evidence={"tools": tools})
    assert roles_under_test(one, resolve_tools([one])[0]) == tested


def test_errors_and_skips_never_make_a_flip():
    same = {"builder": "podman", "engine": "docker"}
    records = [
        record(RUN_EXIT, "lifecycle", "failed", "x", **same, runtime="runc"),
        record(RUN_EXIT, "lifecycle", "error", "harness", **same, runtime="runc@trixie"),
        record(RUN_EXIT, "lifecycle", "skipped", "no", **same, runtime="crun"),
    ]
    blame = Blame(records, resolve_tools(records), ["engine", "builder", "runtime"])
    test = RUN_EXIT
    assert blame.is_blamed(test, "engine", "docker") and not blame.is_blamed(test, "runtime", "runc")


@pytest.mark.skipif(missing_browser_reason() is not None, reason=str(missing_browser_reason()))
def test_the_page_shows_runtimes_as_context_in_a_browser(tmp_path):
    path, *_ = site_of(tmp_path, cri_run())
    index = write_site([path], tmp_path / "site")
    with chromium_page() as page:
        watch = PageWatch(page)
        page.goto(index.as_uri())
        page.wait_for_function("document.documentElement.dataset.ready === '1'", timeout=15000)
        finding = page.locator("#findings li.finding").first
        text = finding.inner_text()
        assert "containerd-cri 1.6.20 (bookworm)" in text
        assert "context (not under test)" in text and "runc 1.1.5 (bookworm)" in text
        page.locator("#tab-versions").click()
        table = page.locator("#versions-list table.versions-table").first
        assert table.locator("tr.v-context").count() == 4  # runc and crun, two versions each
        assert "0%" not in table.locator("tbody.v-context-rows").inner_text()
        assert "context, in 1 cell" in table.locator("tbody.v-context-rows").inner_text()
        assert "0%" in table.locator("tbody").first.inner_text()  # containerd 1.6 is the one at 0%
        assert watch.problems == [] and watch.remote == []
