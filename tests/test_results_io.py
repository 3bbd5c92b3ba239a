"""results.json: written atomically, read back identically, and bad files rejected with the file named."""

from __future__ import annotations

import json

import pytest

from ocimatrix.errors import UsageError
from ocimatrix.results import SCHEMA_ID, Record, Results, Run, Spec, read_results, write_results


def sample() -> Results:
    run = Run(matrix="matrix/default.yaml", tools={"docker": "20.10.24", "runc": "1.1.5"})
    records = [
        Record(
            test="suites/lifecycle/test_lifecycle.py::test_exit_code_propagates[docker-docker-podman-crun]",
            suite="lifecycle",
            outcome="failed",
            cell={
                "builder": "docker",
                "engine": "podman",
                "runtime": "crun",
                "versions": {"podman": "4.3.1"},
            },
            spec=Spec("runtime-spec §lifecycle", "https://example.invalid/spec"),
            reason="exit 1 != 42",
            duration_s=0.5,
            repro=["podman run --rm x"],
            evidence={"exit_code": 1},
        ),
        Record(test="t2", suite="image", outcome="skipped", reason="no crun"),
    ]
    return Results(run=run, results=records)


def test_round_trip(tmp_path):
    path = tmp_path / "out" / "results.json"
    written = sample()
    # Every run field set, so a reader that drops or renames one of them shows up below.
    written.run.finished = "2026-01-02T03:04:05Z"
    written.run.merge = {"sources": [{"file": "a.json", "host": "h1"}], "duplicates": 0, "conflicts": 0}
    written.run.restarts = {"registry": [{"at": "t", "cell": "c", "why": "w", "outcome": "error"}]}
    write_results(written, path)
    data = json.loads(path.read_text())
    assert data["schema"] == SCHEMA_ID
    assert data["run"]["tools"]["docker"] == "20.10.24"
    assert data["run"]["host"] and data["run"]["arch"] and data["run"]["kernel"]
    back = read_results(path)
    assert back.to_json() == written.to_json()
    assert back.run.started == written.run.started and back.run.finished == "2026-01-02T03:04:05Z"
    assert back.run.matrix == "matrix/default.yaml" and back.run.tools == {"docker": "20.10.24", "runc": "1.1.5"}
    assert back.run.restarts["registry"][0]["outcome"] == "error"
    assert back.run.merge["sources"] == [{"file": "a.json", "host": "h1"}]
    assert back.results[0].spec.section == "runtime-spec §lifecycle"
    assert back.counts()["failed"] == 1 and back.counts()["skipped"] == 1
    assert not list(path.parent.glob(".*tmp")), "the temporary file was left behind"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON: line 1"),
        ('{"schema": "something/else"}', "not an ocimatrix results file"),
        (
            '{"schema": "ocimatrix/results/v1", "run": {}, "results": [{"suite": "x"}]}',
            "results[0]: malformed",
        ),
    ],
)
def test_bad_results_files(tmp_path, content, message):
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(UsageError) as err:
        read_results(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_missing_results_file(tmp_path):
    with pytest.raises(UsageError, match="no such results file"):
        read_results(tmp_path / "nope.json")
