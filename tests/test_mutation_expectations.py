"""Known incompatibilities reach only the cells they name, end to end through the plugin.

Written against mutants that the main-path self-tests let live (issue 18, item 9): an expectation's
cell matched with ``any`` instead of ``all`` of its axes (matrix/default.yaml lists two-axis cells,
the plugin's other self-tests only one-axis ones), and an expectation tied to versions applied without
the versions the cell recorded (``VersionedExpectations``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ocimatrix.matrix import DEFAULT_MATRIX, load_matrix

SUITE = """
import pytest
from ocimatrix.errors import fail_with

VERSIONS = {"docker": "20.10.24+dfsg1", "docker@trixie": "26.1.5+dfsg1"}

@pytest.fixture
def tools(cell, recorder):
    # What a driver does once the cell's engine answered its version query; "podman" reports none.
    if cell["engine"] in VERSIONS:
        recorder.versions[cell["engine"]] = VERSIONS[cell["engine"]]

@pytest.mark.axes("engine", "runtime")
def test_two_axes(cell):
    fail_with("the run broke", step="tool run", answer="the known bug")

@pytest.mark.axes("engine")
def test_versioned(cell, tools):
    fail_with("zstd layer refused", step="docker pull", answer="unsupported compression zstd")

@pytest.mark.axes("engine")
def test_versioned_fixed(cell, tools):
    pass
"""

MATRIX = """
axes: {builder: [docker], engine: [docker, docker@trixie, podman], runtime: [runc, crun, runc@trixie]}
expectations:
  - {test: test_two_axes, cell: {engine: podman, runtime: crun}, match: 'known bug', reason: podman with crun}
  - test: test_versioned*
    cell: {engine: [docker, podman]}
    versions: {docker: '<23'}
    match: 'zstd'
    reason: docker before 23 pulls no zstd
"""


def run_matrix(pytester: pytest.Pytester, tmp_path: Path, matrix: str = MATRIX) -> dict[str, dict]:
    pytester.makepyfile(test_suite=SUITE)
    (tmp_path / "m.yaml").write_text(matrix)
    endpoints = tmp_path / "endpoints.json"
    endpoints.write_text(json.dumps({"state_dir": str(tmp_path)}))
    results = tmp_path / "results.json"
    pytester.runpytest("--matrix", str(tmp_path / "m.yaml"), "--endpoints", str(endpoints), "--results", str(results))
    return {r["test"].split("::")[-1]: r for r in json.loads(results.read_text())["results"]}


@pytest.fixture
def records(pytester, tmp_path) -> dict[str, dict]:
    saved = dict(os.environ)
    try:
        return run_matrix(pytester, tmp_path)
    finally:
        # The plugin, run in this process, exports the matrix and run id for its workers: tests after
        # this one must not inherit them.
        os.environ.clear()
        os.environ.update(saved)


def test_the_default_matrix_lists_expectations_of_more_than_one_axis():
    # Why the two-axis case below matters: the shipped matrix relies on it.
    widths = {len(expected["cell"]) for expected in load_matrix(DEFAULT_MATRIX).expectations}
    assert max(widths) >= 2, widths


def test_an_expectation_applies_only_where_every_axis_of_its_cell_matches(records):
    assert records["test_two_axes[podman-crun]"]["outcome"] == "xfailed"
    for half in ("podman-runc", "docker-crun", "docker-runc", "docker@trixie-runc@trixie"):
        record = records[f"test_two_axes[{half}]"]
        assert record["outcome"] == "failed", (half, record)
        assert "known:" not in record["reason"]


def test_a_versioned_expectation_applies_inside_its_range_only(records):
    inside = records["test_versioned[docker]"]
    assert inside["outcome"] == "xfailed" and "docker before 23" in inside["reason"]
    assert inside["evidence"]["versions"] == {"docker": "20.10.24+dfsg1"}
    assert inside["evidence"]["expectation"] == "docker before 23 pulls no zstd (versions docker <23)"
    # docker@trixie is a docker of the listing, but its 26.1 is outside the range: expected to pass.
    outside = records["test_versioned[docker@trixie]"]
    assert outside["outcome"] == "failed" and "known:" not in outside["reason"], outside
    assert outside["evidence"]["expectations_not_applied"] == [
        "docker before 23 pulls no zstd: this cell's versions are outside docker <23"
    ]
    # A cell that recorded no version of the listed tool is not judged by the listing.
    unknown = records["test_versioned[podman]"]
    assert unknown["outcome"] == "failed", unknown
    assert unknown["evidence"]["expectations_not_applied"] == [
        "docker before 23 pulls no zstd: the cell recorded no version of docker <23"
    ]


def test_a_versioned_expectation_that_passes_inside_its_range_is_a_fix_to_report(records):
    fixed = records["test_versioned_fixed[docker]"]
    assert fixed["outcome"] == "failed" and "XPASS(strict)" in fixed["reason"], fixed
    assert records["test_versioned_fixed[docker@trixie]"]["outcome"] == "passed"
    assert records["test_versioned_fixed[podman]"]["outcome"] == "passed"
