"""schemas/results.schema.json: every writer's output conforms, and a bad file is refused by path."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from ocimatrix.errors import UsageError
from ocimatrix.results import Record, Results, Run, Spec, schema, write_results
from ocimatrix.results.merge import Source, merge_results
from ocimatrix.results.schema import load_checked_results, results_problems, validate_results_file

DATA = Path(__file__).parent / "data" / "report"
FIXTURES = sorted(DATA.glob("*.json"))


def contract_results() -> Results:
    """Built only through the contract's dataclasses, the way the pytest plugin writes them."""
    run = Run(matrix="matrix/default.yaml", tools={"docker": "20.10.24", "crun": "1.8.1"})
    return Results(
        run=run,
        results=[
            Record(
                test="suites/lifecycle/test_run.py::test_exit_code_propagated[docker-crun-linux_amd64]",
                suite="lifecycle",
                outcome="failed",
                cell={"engine": "docker", "runtime": "crun", "platform": "linux/amd64", "versions": {"crun": "1.8.1"}},
                spec=Spec("runtime-spec §lifecycle", "https://github.com/opencontainers/runtime-spec"),
                reason="exit 0 != 3",
                duration_s=0.7,
                repro=["docker run --rm --runtime crun x sh -c 'exit 3'"],
                evidence={"exit_code": 0, "nested": {"list": [1, 2]}},
            ),
            Record(test="suites/image/test_build.py::test_x", suite="image", outcome="skipped", reason="no zstd"),
            Record(test="t", suite="", outcome="xfailed"),
        ],
    )


def test_schema_is_a_valid_draft_2020_12_schema():
    from jsonschema import Draft202012Validator

    document = json.loads(schema.results_schema_path().read_text())
    Draft202012Validator.check_schema(document)
    assert document["properties"]["schema"] == {"const": "ocimatrix/results/v1"}


def test_results_written_by_the_contract_writer_conform(tmp_path):
    path = tmp_path / "results.json"
    write_results(contract_results(), path)
    data = validate_results_file(path)
    assert len(data["results"]) == 3


def test_merge_output_conforms(tmp_path):
    shards = [Source(p.name, load_checked_results(p)) for p in (DATA / "shard-amd64.json", DATA / "shard-arm64.json")]
    path = tmp_path / "merged.json"
    write_results(merge_results(shards).results, path)
    data = validate_results_file(path)
    assert data["run"]["merge"]["conflicts"] == 1


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_fixtures_conform(path):
    validate_results_file(path)


def broken(mutate) -> dict:
    data = json.loads((DATA / "run.json").read_text())
    mutate(data)
    return data


MUTATIONS = {
    "bad outcome": (lambda d: d["results"][3].update(outcome="passd"), "$.results[3].outcome"),
    "missing repro": (lambda d: d["results"][5].pop("repro"), "$.results[5]: missing required 'repro'"),
    "negative duration": (lambda d: d["results"][0].update(duration_s=-1), "$.results[0].duration_s"),
    "version not a string": (
        lambda d: d["results"][1]["cell"]["versions"].update(runc=1),
        "$.results[1].cell.versions.runc",
    ),
    "axis not a string": (lambda d: d["results"][2]["cell"].update(engine=["docker"]), "$.results[2].cell.engine"),
    "spec without section": (lambda d: d["results"][4].update(spec={"url": "x"}), "$.results[4].spec"),
    "run tools not strings": (lambda d: d["run"]["tools"].update(docker=20), "$.run.tools.docker"),
    "run host missing": (lambda d: d["run"].pop("host"), "$.run: missing required 'host'"),
    "unknown top-level key": (lambda d: d.update(extra=1), "$: Additional properties"),
    "results not a list": (lambda d: d.update(results={}), "$.results"),
}


@pytest.mark.parametrize("mutation", MUTATIONS, ids=list(MUTATIONS))
def test_each_problem_is_reported_with_its_json_path(mutation):
    mutate, expected = MUTATIONS[mutation]
    problems = results_problems(broken(mutate))
    assert problems, f"{mutation} was not detected"
    assert any(p.startswith(expected) for p in problems), problems


@pytest.mark.parametrize("mutation", MUTATIONS, ids=list(MUTATIONS))
def test_fast_and_reference_validators_agree(mutation):
    """The compiled check (draft-07 semantics) must refuse exactly what jsonschema 2020-12 refuses."""
    data = broken(MUTATIONS[mutation][0])
    reference = list(schema._validator().iter_errors(data))
    fast = schema._fast_check()
    assert fast is not None, "fastjsonschema is a dependency"
    assert bool(reference) == (not schema._passes_fast(fast, data))
    good = broken(lambda d: None)
    assert schema._passes_fast(fast, good) and not list(schema._validator().iter_errors(good))


def test_wrong_schema_id_is_said_alone():
    assert results_problems({"schema": "ocimatrix/results/v0", "run": 1}) == [
        '$.schema: expected "ocimatrix/results/v1", found "ocimatrix/results/v0"'
    ]


def test_problems_are_capped_and_in_document_order():
    def many(d):
        for record in d["results"]:
            record["outcome"] = "nope"

    problems = results_problems(broken(many), limit=5)
    assert problems == [f"$.results[{i}].outcome: 'nope' is not one of {list(schema_outcomes())}" for i in range(5)]


def schema_outcomes():
    return json.loads(schema.results_schema_path().read_text())["$defs"]["outcome"]["enum"]


def test_validate_file_names_the_file_and_paths(tmp_path):
    path = tmp_path / "shard.json"
    path.write_text(json.dumps(broken(lambda d: d["results"][7].update(outcome="ok"))))
    with pytest.raises(UsageError) as caught:
        validate_results_file(path)
    message = str(caught.value)
    assert str(path) in message and "$.results[7].outcome" in message and "ocimatrix/results/v1" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [("{not json", "not JSON: line 1 column 2"), (b"\xff\xfe", "not UTF-8"), (None, "no such results file")],
)
def test_unreadable_files_are_named(tmp_path, content, expected):
    path = tmp_path / "r.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(UsageError, match=expected) as caught:
        validate_results_file(path)
    assert str(path) in str(caught.value)


def test_checked_load_keeps_the_merge_notes():
    results = load_checked_results(DATA / "run.json")
    assert len(results.results) == 45 and results.run.host == "ci-amd64-1"
    original = json.loads((DATA / "run.json").read_text())
    assert [r.to_json() for r in results.results] == [_versions_as_evidence(r) for r in original["results"]]


def _versions_as_evidence(record: dict) -> dict:
    """An older record as it reads back: the versions its cell carried are evidence now."""
    cell = dict(record["cell"])
    versions = cell.pop("versions", None)
    evidence = {**({"versions": versions} if versions is not None else {}), **record["evidence"]}
    return {**record, "cell": cell, "evidence": evidence}


def test_an_older_records_versions_read_back_as_evidence():
    old = json.loads((DATA / "run.json").read_text())["results"][0]
    assert "versions" in old["cell"] and "versions" not in old["evidence"]
    read = load_checked_results(DATA / "run.json").results[0]
    assert "versions" not in read.cell and read.versions == old["cell"]["versions"]


def test_a_large_file_is_checked_quickly(tmp_path):
    """50,000 records cost about a second, not the 25 s of jsonschema alone."""
    import time

    data = json.loads((DATA / "run.json").read_text())
    data["results"] = [copy.deepcopy(r) for r in data["results"] for _ in range(400)]  # 18,000 records
    start = time.perf_counter()
    assert results_problems(data) == []
    data["results"][-1]["outcome"] = "bogus"
    assert results_problems(data)[0].startswith(f"$.results[{len(data['results']) - 1}].outcome")
    assert time.perf_counter() - start < 10
