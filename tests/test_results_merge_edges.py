"""The merge's edges, on small shards made here: which record stands for a case, every host's tool
versions, the merged run's span, and how a case changed against a baseline.

Written against mutants the fixtures of test_merge_results.py let live (issue 18, item 9): the last
shard's tool versions winning, and ``failed`` and ``error`` swapped in the keep order.
"""

from __future__ import annotations

import itertools

import pytest

from ocimatrix.results import Record, Results, Run
from ocimatrix.results.merge import Source, cell_axes, classify, diff_results, merge_results

# Which record stands for a case seen twice, most telling first; written down here, not read from
# the module under test: a failure anywhere is the news, then a harness error, then a cell that ran.
RANKING = ("failed", "error", "passed", "xfailed", "skipped")
TEST = "suites/lifecycle/test_lifecycle.py::test_exit_code[docker-runc]"
CELL = {"engine": "docker", "runtime": "runc"}


def run(host: str, tools: dict[str, str] | None = None, **fields: str) -> Run:
    return Run(host=host, kernel=f"{host}-kernel", arch=f"{host}-arch", tools=dict(tools or {}), **fields)


def record(outcome: str, *, test: str = TEST, version: str = "1.0", reason: str = "") -> Record:
    cell = {**CELL, "versions": {"docker": version}}
    return Record(test=test, suite="lifecycle", outcome=outcome, cell=cell, reason=reason or outcome)


def shard(name: str, host: str, *records: Record, tools: dict[str, str] | None = None, **fields: str) -> Source:
    return Source(name, Results(run=run(host, tools, **fields), results=list(records)))


@pytest.mark.parametrize(("first", "second"), list(itertools.permutations(RANKING, 2)))
def test_the_most_telling_outcome_stands_for_a_case_whatever_the_shard_order(first, second):
    merged = merge_results([shard("a.json", "h1", record(first)), shard("b.json", "h2", record(second))])
    [kept] = merged.results.results
    winner = min(first, second, key=RANKING.index)
    assert kept.outcome == winner
    assert kept.evidence["host"] == ("h1" if winner == first else "h2")
    [other] = kept.evidence["merge"]["others"]
    assert other["outcome"] == (second if winner == first else first)
    ran = {first, second} - {"skipped"}
    assert merged.notes[0].kind == ("conflict" if len(ran) > 1 else "duplicate")
    assert merged.notes[0].kept == winner


def test_failed_beats_error_and_error_beats_passed():
    # The two swaps the keep order must never make, spelled out.
    for outcomes, kept in ((("error", "failed"), "failed"), (("passed", "error"), "error")):
        sources = [shard(f"{i}.json", f"h{i}", record(o)) for i, o in enumerate(outcomes)]
        assert merge_results(sources).results.results[0].outcome == kept


def test_among_equal_outcomes_the_first_input_stands():
    merged = merge_results(
        [shard("a.json", "h1", record("failed", version="1.0")), shard("b.json", "h2", record("failed", version="2.0"))]
    )
    [kept] = merged.results.results
    assert kept.versions == {"docker": "1.0"} and kept.evidence["host"] == "h1"
    assert kept.evidence["merge"]["kind"] == "duplicate"
    assert kept.evidence["merge"]["kept_from"] == {"source": "a.json", "host": "h1"}
    assert kept.evidence["merge"]["others"][0]["versions"] == {"docker": "2.0"}


def test_every_host_s_tool_versions_are_kept_in_shard_order():
    merged = merge_results(
        [
            shard("a.json", "h1", tools={"podman": "4.3.1", "runc": "1.1.5"}),
            shard("b.json", "h2", tools={"podman": "5.4.2", "crun": "1.8.1"}),
            shard("c.json", "h3", tools={"podman": "4.3.1", "runc": "1.1.5"}),
        ]
    )
    assert merged.results.run.tools == {"podman": "4.3.1 | 5.4.2", "runc": "1.1.5", "crun": "1.8.1"}
    assert [s["tools"] for s in merged.results.run.merge["sources"]] == [
        {"podman": "4.3.1", "runc": "1.1.5"},
        {"podman": "5.4.2", "crun": "1.8.1"},
        {"podman": "4.3.1", "runc": "1.1.5"},
    ]


def test_the_merged_run_spans_its_shards():
    merged = merge_results(
        [
            shard("a.json", "h1", started="2026-01-02T00:00:00Z", finished="2026-01-02T05:00:00Z", matrix="m.yaml"),
            shard("b.json", "h2", started="2026-01-01T00:00:00Z", finished="2026-01-03T00:00:00Z", matrix="m.yaml"),
            shard("c.json", "h2", started="2026-01-02T01:00:00Z", finished="", matrix="n.yaml"),
        ]
    )
    run_ = merged.results.run
    assert (run_.started, run_.finished) == ("2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z")
    assert run_.matrix == "m.yaml, n.yaml" and run_.host == "h1, h2"
    assert run_.kernel == "h1-kernel, h2-kernel" and run_.arch == "h1-arch, h2-arch"
    assert run_.merge["duplicates"] == 0 and run_.merge["conflicts"] == 0 and run_.merge["notes"] == []


def test_one_host_s_records_carry_no_host_of_their_own():
    merged = merge_results([shard("a.json", "h1", record("passed")), shard("b.json", "h1", record("failed", test="t"))])
    assert all("host" not in r.evidence for r in merged.results.results)
    assert merged.notes == [] and all("merge" not in r.evidence for r in merged.results.results)


def test_a_case_is_its_test_and_axes_not_its_versions():
    merged = merge_results(
        [
            shard("a.json", "h1", record("passed", version="1.0"), record("passed", test="other")),
            shard("b.json", "h2", record("passed", version="2.0")),
        ]
    )
    assert [r.test for r in merged.results.results] == [TEST, "other"]
    assert merged.results.run.merge["duplicates"] == 1


def test_notes_of_merged_inputs_are_kept_and_counted():
    first = merge_results([shard("a.json", "h1", record("passed")), shard("b.json", "h2", record("failed"))])
    again = merge_results(
        [Source("ab.json", first.results), shard("c.json", "h3", record("error", test="t"), record("error", test="t"))]
    )
    assert again.results.run.merge["conflicts"] == 1 and again.results.run.merge["duplicates"] == 1
    assert [n["kind"] for n in again.results.run.merge["notes"]] == ["duplicate", "conflict"]
    assert [s["host"] for s in again.results.run.merge["sources"]] == ["h1", "h2", "h3"]


# ---------------------------------------------------------------- against a baseline

GOOD, BAD = ("passed", "xfailed"), ("failed", "error")


@pytest.mark.parametrize(("before", "after"), list(itertools.product((None, *RANKING), (None, *RANKING))))
def test_every_change_of_outcome_is_classified(before, after):
    if after is None:
        expected = "missing" if before is not None else None
    elif before is None:
        expected = "new-failure" if after in BAD else None
    elif before in GOOD and after in BAD:
        expected = "regression"
    elif before in BAD and after in GOOD:
        expected = "fix"
    elif before != "skipped" and after == "skipped":
        expected = "now-skipped"
    elif before == "skipped" and after != "skipped":
        expected = "now-running"
    else:
        expected = None  # failed <-> error and passed <-> xfailed tell the matrix nothing new
    assert classify(before, after) == expected


def test_a_diff_lists_changes_worst_kind_first_and_finds_cases_gone():
    baseline = Results(
        run=run("h1"),
        results=[record("passed", test="a"), record("failed", test="b"), record("passed", test="gone")],
    )
    current = Results(
        run=run("h1"),
        results=[record("passed", test="b"), record("error", test="a"), record("failed", test="new")],
    )
    diff = diff_results(baseline, current)
    assert [(c.kind, c.test, c.before, c.after) for c in diff.changes] == [
        ("regression", "a", "passed", "error"),
        ("new-failure", "new", None, "failed"),
        ("fix", "b", "failed", "passed"),
        ("missing", "gone", "passed", None),
    ]
    assert diff.count("regression") == 1 and diff.count("fix") == 1 and diff.count("now-skipped") == 0
    assert diff.by_case[("a", (("engine", "docker"), ("runtime", "runc")))].kind == "regression"
    assert diff.changes[0].cell == "engine=docker runtime=runc"


# ---------------------------------------------------------------- what travels with the kept record


def test_each_source_is_described_in_full():
    source = shard("a.json", "h1", record("passed"), tools={"runc": "1.1.5"}, started="s", finished="f")
    assert merge_results([source]).results.run.merge["sources"] == [
        {
            "file": "a.json",
            "host": "h1",
            "kernel": "h1-kernel",
            "arch": "h1-arch",
            "started": "s",
            "finished": "f",
            "tools": {"runc": "1.1.5"},
            "records": 1,
        }
    ]


def test_the_other_records_of_a_case_travel_whole():
    other = record("passed", version="2.0")
    other.duration_s, other.repro = 1.5, ["docker run x"]
    other.evidence["exit_code"] = 0
    merged = merge_results([shard("a.json", "h1", record("failed")), shard("b.json", "h2", other)])
    assert merged.results.results[0].evidence["merge"]["others"] == [
        {
            "source": "b.json",
            "host": "h2",
            "outcome": "passed",
            "reason": "passed",
            "duration_s": 1.5,
            "versions": {"docker": "2.0"},
            "repro": ["docker run x"],
            "evidence": {"versions": {"docker": "2.0"}, "exit_code": 0},
        }
    ]
    assert merged.notes[0].cell == "engine=docker runtime=runc"


def test_the_merged_run_names_every_ocimatrix_and_no_time_when_none_was_recorded():
    merged = merge_results(
        [
            shard("a.json", "h1", started="", finished="", ocimatrix_version="0.1.0"),
            shard("b.json", "h2", started="", finished="", ocimatrix_version="0.2.0"),
        ]
    )
    run_ = merged.results.run
    assert (run_.started, run_.finished, run_.ocimatrix_version) == ("", "", "0.1.0, 0.2.0")


def test_a_host_recorded_by_an_earlier_merge_is_kept():
    moved = record("failed")
    moved.evidence["host"] = "h0"
    merged = merge_results([shard("a.json", "h1", moved), shard("b.json", "h2", record("passed", test="t"))])
    assert merged.results.results[0].evidence["host"] == "h0"


def test_a_conflict_found_by_an_earlier_merge_stays_a_conflict():
    first = merge_results([shard("a.json", "h1", record("passed")), shard("b.json", "h2", record("failed"))])
    assert first.results.results[0].evidence["merge"]["kind"] == "conflict"
    # The failure seen again elsewhere is only a duplicate of this merge's, not of the earlier one's.
    again = merge_results([Source("ab.json", first.results), shard("c.json", "h3", record("failed"))])
    [kept] = again.results.results
    assert again.notes[0].kind == "duplicate" and kept.evidence["merge"]["kind"] == "conflict"
    assert [o["outcome"] for o in kept.evidence["merge"]["others"]] == ["failed", "passed"]


def test_a_cell_as_older_files_wrote_it_is_the_same_case_without_its_versions():
    # The record read back moves the versions to evidence, so the case is keyed on the axes alone.
    older = Record("t", "s", "passed", cell={"runtime": "runc", "engine": "docker", "versions": {"docker": "20.10.24"}})
    assert cell_axes(older.cell) == (("engine", "docker"), ("runtime", "runc"))
    assert cell_axes(older.cell) == cell_axes({"engine": "docker", "runtime": "runc"})
    assert older.versions == {"docker": "20.10.24"}
