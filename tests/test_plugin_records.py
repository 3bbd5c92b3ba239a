"""The pytest plugin, end to end on a throwaway suite: cells, outcomes, reasons, repro, expectations.

No engine is involved: this checks the harness's bookkeeping, which every suite relies on.
"""

from __future__ import annotations

import json

import pytest

from ocimatrix.plugin import cell_id
from ocimatrix.plugin.verdicts import Verdict, combine
from ocimatrix.results.schema import validate_results_file

SUITE = """
import pytest
from ocimatrix import evidence

@pytest.mark.axes("engine", "runtime")
@pytest.mark.spec("demo §1", "https://example.invalid/spec#1")
def test_cells(cell, recorder):
    evidence.record_command(["tool", "run", cell["engine"]])
    recorder.versions[cell["engine"]] = "1.0"
    recorder.add("seen", cell["runtime"])
    if cell["runtime"] == "crun" and cell["engine"] == "podman":
        assert False, "podman with crun broke"
    if cell["engine"] == "docker" and cell["runtime"] == "crun":
        pytest.skip("crun is not installed")

@pytest.mark.axes("engine")
def test_known_bug(cell):
    from ocimatrix.errors import fail_with
    if cell["engine"] == "podman":
        fail_with("podman did the known wrong thing", step="tool run", answer="the known bug")

@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")

@pytest.mark.axes("engine")
def test_setup_error(cell, broken):
    pass

@pytest.mark.axes("engine")
def test_service_gone(cell):
    from ocimatrix.errors import ServiceUnavailable
    if cell["engine"] == "docker":
        raise ServiceUnavailable("dockerd at unix:///x.sock", "Connection refused")
    raise ConnectionRefusedError(111, "Connection refused")

@pytest.mark.axes("engine")
def test_known_but_refused(cell):
    raise ConnectionRefusedError(111, "Connection refused")

@pytest.mark.axes("engine")
def test_known_but_other(cell):
    assert False, "something else broke, though the harness's words say: the known bug"

@pytest.mark.axes("engine")
def test_known_but_other_step(cell):
    from ocimatrix.errors import fail_with
    fail_with("setup push refused", step="setup push", answer="the known bug")

@pytest.mark.axes("engine")
def test_harness_bug(cell):
    {}["missing"]
"""

MATRIX = """
axes: {builder: [docker], engine: [docker, podman], runtime: [runc, crun]}
expectations:
  - {test: test_known_bug, cell: {engine: podman}, match: 'the known bug', reason: podman bug 123}
  - {test: test_known_but_*, cell: {engine: podman}, step: '^tool run$', match: 'the known bug', reason: podman bug 456}
"""


@pytest.fixture
def run_suite(pytester, tmp_path):
    pytester.makepyfile(test_suite=SUITE)
    (tmp_path / "m.yaml").write_text(MATRIX)
    endpoints = tmp_path / "endpoints.json"
    endpoints.write_text(json.dumps({"state_dir": str(tmp_path)}))
    results = tmp_path / "results.json"

    def run(*extra):
        outcome = pytester.runpytest(
            "--matrix",
            str(tmp_path / "m.yaml"),
            "--endpoints",
            str(endpoints),
            "--results",
            str(results),
            "-p",
            "no:cacheprovider",
            "--ocimatrix-progress",
            *extra,
        )
        validate_results_file(results)  # what the plugin writes must match schemas/results.schema.json
        return outcome, json.loads(results.read_text())

    return run


def by_test(data):
    return {r["test"].split("::")[-1]: r for r in data["results"]}


def check_records(data):
    records = by_test(data)
    assert records["test_cells[docker-runc]"]["outcome"] == "passed"
    assert records["test_cells[docker-runc]"]["reason"] == ""
    # The cell stays the input it was; the versions the tools reported are evidence, recorded once.
    assert records["test_cells[docker-runc]"]["cell"] == {"engine": "docker", "runtime": "runc"}
    assert records["test_cells[docker-runc]"]["repro"] == ["tool run docker"]
    assert records["test_cells[docker-runc]"]["evidence"] == {"seen": "runc", "versions": {"docker": "1.0"}}
    assert records["test_cells[docker-runc]"]["spec"] == {
        "section": "demo §1",
        "url": "https://example.invalid/spec#1",
    }
    failed = records["test_cells[podman-crun]"]
    assert failed["outcome"] == "failed" and "podman with crun broke" in failed["reason"]
    assert failed["repro"] == ["tool run podman"]
    skipped = records["test_cells[docker-crun]"]
    assert skipped["outcome"] == "skipped" and skipped["reason"] == "crun is not installed"
    assert records["test_known_bug[podman]"]["outcome"] == "xfailed"
    assert "podman bug 123" in records["test_known_bug[podman]"]["reason"]
    assert records["test_known_bug[docker]"]["outcome"] == "passed"
    assert records["test_setup_error[docker]"]["outcome"] == "error"
    assert "fixture exploded" in records["test_setup_error[docker]"]["reason"]
    # A harness or service fault is an error: never failed, never skipped, never a known incompatibility.
    for engine in ("docker", "podman"):
        gone = records[f"test_service_gone[{engine}]"]
        assert gone["outcome"] == "error", gone
        assert "Connection refused" in gone["reason"]
        assert records[f"test_harness_bug[{engine}]"]["outcome"] == "error"
    refused = records["test_known_but_refused[podman]"]
    assert refused["outcome"] == "error" and "Connection refused" in refused["reason"]
    other = records["test_known_but_other[podman]"]
    assert other["outcome"] == "failed", other
    assert "not as the known incompatibility" in other["reason"] and "something else broke" in other["reason"]
    # The listing names the step; the same words answered to another step confirm nothing.
    other_step = records["test_known_but_other_step[podman]"]
    assert other_step["outcome"] == "failed" and "'setup push'" in other_step["reason"], other_step
    assert other_step["evidence"]["answer"] == {"step": "setup push", "text": "the known bug"}
    assert records["test_known_bug[podman]"]["evidence"]["answer"] == {"step": "tool run", "text": "the known bug"}
    assert data["run"]["tools"] == {"docker": "1.0", "podman": "1.0"}
    assert len(data["results"]) == 4 + 2 + 2 + 2 + 2 + 2 + 2 + 2


def test_records_in_process(run_suite):
    outcome, data = run_suite()
    check_records(data)
    outcome.stdout.fnmatch_lines(
        [
            "*[[]*/18] FAILED  *test_suite.py::test_cells[[]podman-crun[]]*",
            "*reason: AssertionError: podman with crun broke*",
            "*repro:  tool run podman*",
        ]
    )
    outcome.stdout.fnmatch_lines(["*ocimatrix: 3 passed, 5 failed, 1 skipped, 8 error, 1 xfailed*"])


def test_records_through_xdist_workers(run_suite):
    _, data = run_suite("-n", "2")
    check_records(data)


def test_fixed_known_bug_turns_into_a_failure(pytester, tmp_path, run_suite):
    (tmp_path / "m.yaml").write_text(MATRIX.replace("engine: podman}", "engine: docker}"))
    _, data = run_suite()
    record = by_test(data)["test_known_bug[docker]"]
    assert record["outcome"] == "failed" and "XPASS(strict)" in record["reason"]


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        (["passed", "passed", "passed"], "passed"),
        (["skipped", "passed"], "skipped"),
        (["xfailed", "passed"], "xfailed"),
        (["failed", "passed"], "failed"),  # a fixture's step refused by the implementation is its failure
        (["error", "passed"], "error"),
        (["passed", "xfailed", "passed"], "xfailed"),
        (["passed", "passed", "failed"], "failed"),  # e.g. a runtime that leaves a container behind
        (["passed", "passed", "error"], "error"),
        (["passed", "failed", "error"], "error"),
        (["passed", "xfailed", "failed"], "failed"),
    ],
)
def test_a_cell_is_its_worst_phase(phases, expected):
    verdicts = [Verdict(outcome, f"phase {i}") for i, outcome in enumerate(phases)]
    assert combine(verdicts).outcome == expected
    assert combine(verdicts).reason == next(v.reason for v in verdicts if v.outcome == expected)


def test_cell_id_is_path_safe():
    assert cell_id({"engine": "podman", "platform": "linux/arm/v7"}) == "podman-linux_arm_v7"


def test_a_quiet_axis_joins_the_id_only_away_from_its_default():
    # The lifecycle's cells had ids before they had a registry: those on the default registry keep them.
    quiet = {"registry": "embedded"}
    assert cell_id({"engine": "podman", "registry": "embedded"}, quiet) == "podman"
    assert cell_id({"engine": "podman", "registry": "embedded-crane"}, quiet) == "podman-embedded-crane"


def test_shards_split_the_cells_without_overlap_or_gap(run_suite):
    seen = []
    for k in (1, 2, 3):
        _, data = run_suite("--shard", f"{k}/3")
        seen += [r["test"] for r in data["results"]]
    _, everything = run_suite()
    assert sorted(seen) == sorted(r["test"] for r in everything["results"])


def test_bad_shard_is_a_usage_error(pytester, tmp_path):
    pytester.makepyfile(test_suite=SUITE)
    (tmp_path / "m.yaml").write_text(MATRIX)
    endpoints = tmp_path / "endpoints.json"
    endpoints.write_text(json.dumps({"state_dir": str(tmp_path)}))
    outcome = pytester.runpytest(
        "--shard", "4/3", "--matrix", str(tmp_path / "m.yaml"), "--endpoints", str(endpoints), "-p", "no:cacheprovider"
    )
    assert outcome.ret == pytest.ExitCode.USAGE_ERROR
    outcome.stderr.fnmatch_lines(["*--shard 4/3: expected K/N with 1 <= K <= N*"])
