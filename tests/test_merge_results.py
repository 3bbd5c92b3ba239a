"""Merging shards keeps every case and reports every duplicate and conflict; diffs classify changes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ocimatrix.results import Record, Results, Run
from ocimatrix.results.merge import Source, case_key, classify, diff_results, merge_results
from ocimatrix.results.schema import load_checked_results, validate_results_file

DATA = Path(__file__).parent / "data" / "report"
AMD64, ARM64 = DATA / "shard-amd64.json", DATA / "shard-arm64.json"
CONFLICT = "suites/distribution/test_push_pull.py::test_pull_by_digest[podman-distribution]"
DUPLICATE = "suites/distribution/test_push_pull.py::test_push_monolithic[podman-distribution]"


def shards() -> list[Source]:
    return [Source(str(p), load_checked_results(p)) for p in (AMD64, ARM64)]


def ocimatrix(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ocimatrix.cli", *args], capture_output=True, text=True, timeout=120)


def test_every_case_is_kept_once():
    inputs = shards()
    merged = merge_results(inputs)
    keys_in = {case_key(r) for s in inputs for r in s.results.results}
    keys_out = [case_key(r) for r in merged.results.results]
    assert sorted(keys_out) == sorted(keys_in), "a case was dropped or doubled"
    assert len(keys_out) == len(set(keys_out))


def test_conflict_keeps_the_failure_and_carries_the_other_shard():
    merged = merge_results(shards())
    [note] = merged.conflicts
    assert note.test == CONFLICT and note.kept == "failed"
    assert {(o["host"], o["outcome"]) for o in note.outcomes} == {("ci-amd64-1", "passed"), ("ci-arm64-1", "failed")}
    record = next(r for r in merged.results.results if r.test == CONFLICT)
    assert record.outcome == "failed" and record.evidence["host"] == "ci-arm64-1"
    merge = record.evidence["merge"]
    assert merge["kind"] == "conflict" and merge["kept_from"]["host"] == "ci-arm64-1"
    [other] = merge["others"]
    assert other["outcome"] == "passed" and other["host"] == "ci-amd64-1" and other["source"] == str(AMD64)
    assert other["versions"]["podman"] == "4.3.1"


def test_duplicate_with_same_outcome_is_reported_not_conflict():
    merged = merge_results(shards())
    [note] = merged.duplicates
    assert note.test == DUPLICATE and note.kind == "duplicate" and note.kept == "passed"
    record = next(r for r in merged.results.results if r.test == DUPLICATE)
    assert record.evidence["merge"]["kind"] == "duplicate" and len(record.evidence["merge"]["others"]) == 1


def test_run_level_notes_and_sources_are_recorded(tmp_path):
    merged = merge_results(shards())
    run = merged.results.run
    assert run.host == "ci-amd64-1, ci-arm64-1" and run.arch == "x86_64, aarch64"
    assert run.merge["conflicts"] == 1 and run.merge["duplicates"] == 1
    assert [s["host"] for s in run.merge["sources"]] == ["ci-amd64-1", "ci-arm64-1"]
    assert [s["records"] for s in run.merge["sources"]] == [18, 14]
    assert {n["test"] for n in run.merge["notes"]} == {CONFLICT, DUPLICATE}
    # Tools that differ by host keep both versions.
    assert run.tools["podman"] == "4.3.1"
    assert run.started == "2026-11-20T02:00:04+00:00"


def test_inputs_are_not_modified():
    inputs = shards()
    before = [r.to_json() for s in inputs for r in s.results.results]
    merge_results(inputs)
    assert [r.to_json() for s in inputs for r in s.results.results] == before


def test_duplicates_inside_one_file_are_reported_too():
    run = Run(host="h", started="2026-01-01T00:00:00+00:00")
    twice = [Record(test="t[x]", suite="s", outcome=o, cell={"engine": "docker"}) for o in ("passed", "error")]
    merged = merge_results([Source("one.json", Results(run=run, results=twice))])
    assert len(merged.results.results) == 1 and merged.results.results[0].outcome == "error"
    assert [n.kind for n in merged.notes] == ["conflict"]


def test_skipped_beside_a_run_is_a_duplicate_and_the_run_wins():
    run_a, run_b = Run(host="a"), Run(host="b")
    a = Results(run=run_a, results=[Record(test="t", suite="s", outcome="skipped", reason="no qemu")])
    b = Results(run=run_b, results=[Record(test="t", suite="s", outcome="passed")])
    merged = merge_results([Source("a.json", a), Source("b.json", b)])
    assert merged.results.results[0].outcome == "passed"
    assert [n.kind for n in merged.notes] == ["duplicate"]
    assert merged.results.results[0].evidence["merge"]["others"][0]["reason"] == "no qemu"


def test_merging_merged_files_keeps_all_hosts_and_notes(tmp_path):
    first = merge_results(shards()).results
    third = Results(
        run=Run(host="ci-s390x", started="2026-11-20T03:00:00+00:00"),
        results=[
            Record(
                test=CONFLICT,
                suite="distribution",
                outcome="passed",
                cell={"engine": "podman", "registry": "distribution"},
            )
        ],
    )
    again = merge_results([Source("merged.json", first), Source("s390x.json", third)])
    run = again.results.run
    assert [s["host"] for s in run.merge["sources"]] == ["ci-amd64-1", "ci-arm64-1", "ci-s390x"]
    record = next(r for r in again.results.results if r.test == CONFLICT)
    hosts = sorted(o["host"] for o in record.evidence["merge"]["others"])
    assert record.outcome == "failed" and hosts == ["ci-amd64-1", "ci-s390x"]
    assert run.merge["conflicts"] == 2  # the earlier merge's conflict plus the new one


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        ("passed", "failed", "regression"),
        ("xfailed", "error", "regression"),
        ("failed", "passed", "fix"),
        ("error", "xfailed", "fix"),
        (None, "failed", "new-failure"),
        (None, "passed", None),
        ("passed", "skipped", "now-skipped"),
        ("skipped", "passed", "now-running"),
        ("passed", None, "missing"),
        ("failed", "error", None),
        ("passed", "passed", None),
    ],
)
def test_classify(before, after, kind):
    assert classify(before, after) == kind


def test_diff_of_the_fixtures():
    diff = diff_results(load_checked_results(DATA / "baseline.json"), load_checked_results(DATA / "run.json"))
    kinds = {c.kind: c for c in diff.changes}
    assert sorted(kinds) == ["fix", "missing", "regression"]
    assert kinds["regression"].test.endswith("test_exit_code_propagated[podman-crun-linux_arm64]")
    assert kinds["fix"].test.endswith("test_env_passed[podman-runc-linux_amd64]")
    assert kinds["missing"].test.endswith("test_pod_removed[containerd-cri-runc]")
    assert [c.kind for c in diff.changes] == ["regression", "fix", "missing"], "regressions come first"


def test_cli_merge_prints_and_records_everything(tmp_path):
    out = tmp_path / "merged.json"
    result = ocimatrix("merge", str(AMD64), str(ARM64), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert f"conflict: {CONFLICT}" in result.stdout and f"duplicate: {DUPLICATE}" in result.stdout
    assert "passed in" in result.stdout and "failed in" in result.stdout
    data = validate_results_file(out)
    assert len(data["results"]) == 30 and len(data["run"]["merge"]["notes"]) == 2


def test_cli_merge_strict_fails_on_conflicts(tmp_path):
    result = ocimatrix("merge", str(AMD64), str(ARM64), "-o", str(tmp_path / "m.json"), "--strict")
    assert result.returncode == 1


def test_cli_merge_refuses_a_bad_shard_by_name(tmp_path):
    bad = tmp_path / "bad.json"
    data = json.loads(AMD64.read_text())
    data["results"][2]["duration_s"] = "fast"
    bad.write_text(json.dumps(data))
    result = ocimatrix("merge", str(AMD64), str(bad), "-o", str(tmp_path / "m.json"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert str(bad) in result.stderr and "$.results[2].duration_s" in result.stderr
    assert not (tmp_path / "m.json").exists()


def test_cli_merge_will_not_overwrite_an_input(tmp_path):
    copy = tmp_path / "a.json"
    copy.write_text(AMD64.read_text())
    result = ocimatrix("merge", str(copy), str(ARM64), "-o", str(copy))
    assert result.returncode == 2 and "overwrite" in result.stderr
