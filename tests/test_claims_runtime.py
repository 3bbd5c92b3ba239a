"""Runtime claims: an OCI runtime binary's runtime-spec areas, expanded to the runtime suite's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocimatrix.claims.judge import judge
from ocimatrix.claims.load import load_claims, parse_claims
from ocimatrix.claims.plan import all_claims, matrix_document, runtime_expectations, write_run_inputs
from ocimatrix.errors import UsageError
from ocimatrix.matrix import load_matrix
from ocimatrix.results import Record
from ocimatrix.tools.catalog import HOST_GENERATION, spelled

LIFECYCLE = "suites/runtime/test_runtime_lifecycle.py"
HOOKS = "suites/runtime/test_runtime_hooks.py"


def _file(runtime: dict) -> dict:
    return {"claims": 1, "vendor": "V", "product": "P", "runtime": runtime}


def _claims(runtime: dict):
    claims_file = parse_claims(_file(runtime), Path("c.yaml"), "", "sha256:" + "0" * 64)
    return claims_file, all_claims(claims_file, {})


def _error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "claims.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as info:
        load_claims(path)
    assert info.value.exit_code == 2
    return str(info.value)


def test_each_area_is_one_runtime_suite_file_on_cells_of_that_runtime():
    _, claims = _claims({"name": "crun", "version": ">=1.8", "areas": ["lifecycle", "tools-parity"]})
    assert [c.id for c in claims] == ["runtime.crun.lifecycle", "runtime.crun.tools-parity"]
    assert [s.path for c in claims for s in c.selections] == [
        LIFECYCLE,
        "suites/runtime/test_runtime_tools_parity.py",
    ]
    lifecycle = claims[0]
    assert lifecycle.subject == "runtime" and lifecycle.cell == {"runtime": ("crun",)}
    assert lifecycle.title.startswith("crun >=1.8: runtime-spec lifecycle")
    assert lifecycle.selects(f"{LIFECYCLE}::test_create_start_delete[crun]", {"runtime": "crun"})
    assert not lifecycle.selects(f"{LIFECYCLE}::test_create_start_delete[runc]", {"runtime": "runc"})
    assert not lifecycle.selects("suites/runtime/test_engine_configs.py::test_x[crun]", {"runtime": "crun"})


def test_a_binary_names_the_catalogs_runtime():
    claims_file, claims = _claims({"binary": "/usr/bin/crun", "areas": ["hooks"]})
    assert claims_file.runtime.name == "crun" and claims_file.runtime.binary == "/usr/bin/crun"
    assert claims[0].cell == {"runtime": ("crun",)}


def test_this_hosts_generation_is_spelled_bare():
    claims_file, _ = _claims({"name": f"runc@{HOST_GENERATION}", "areas": ["hooks"]})
    assert claims_file.runtime.name == "runc"


@pytest.mark.parametrize(
    ("runtime", "field", "words"),
    [
        ("{name: kata, areas: [hooks]}", "runtime.name", "unknown runtime 'kata'"),
        ("{name: docker, areas: [hooks]}", "runtime.name", "unknown runtime 'docker'"),
        ("{binary: /opt/x/bin/youki, areas: [hooks]}", "runtime.binary", "not a runtime binary the catalog knows"),
        ("{name: runc, binary: /usr/bin/crun, areas: [hooks]}", "runtime.binary", "crun's binary, not runc's"),
        ("{areas: [hooks]}", "runtime", "name the runtime"),
        ("{name: crun, areas: [pods]}", "runtime.areas.0", "'pods' is not one of: lifecycle"),
        ("{name: crun, version: '>>1', areas: [hooks]}", "runtime.version", ""),
        ("{name: crun, areas: []}", "runtime.areas", ""),
        ("{name: crun, area: [hooks]}", "runtime.area", "unknown key"),
    ],
)
def test_bad_runtime_claims_name_the_field(tmp_path, runtime, field, words):
    message = _error(tmp_path, f"claims: 1\nvendor: V\nproduct: P\nruntime: {runtime}\n")
    assert f"field '{field}'" in message and words in message


def test_the_generated_matrix_carries_the_runtimes_known_incompatibilities(tmp_path):
    claims_file, claims = _claims({"name": "runc", "areas": ["hooks"]})
    document = matrix_document(claims_file, claims, "linux/amd64")
    assert document["axes"]["runtime"] == ["runc"] and document["axes"]["engine"] == ["podman"]
    assert all(set(e["cell"]) == {"runtime"} for e in document["expectations"])
    assert any("poststart" in e["reason"] and e["test"].endswith("lifecycle_order") for e in document["expectations"])
    matrix_path, _ = write_run_inputs(tmp_path, claims_file, claims, "linux/amd64")
    matrix = load_matrix(matrix_path)
    assert matrix.cells_for(["runtime"], "runtime") == [{"runtime": "runc"}]


def test_only_runtime_claims_bring_expectations():
    document = {"claims": 1, "vendor": "V", "product": "P", "registry": {"embedded": True, "workflows": ["pull"]}}
    claims_file = parse_claims(document, Path("c.yaml"))
    assert "expectations" not in matrix_document(claims_file, all_claims(claims_file, {}), "linux/amd64")
    assert runtime_expectations()


def test_another_generations_runtime_gets_an_engine_of_its_generation(tmp_path):
    claims_file, claims = _claims({"name": "crun@trixie", "areas": ["lifecycle"]})
    document = matrix_document(claims_file, claims, "linux/amd64")
    assert document["axes"]["engine"] == [spelled("podman", "trixie")]
    matrix = load_matrix(write_run_inputs(tmp_path, claims_file, claims, "linux/amd64")[0])
    assert matrix.cells_for(["runtime"], "runtime") == [{"runtime": "crun@trixie"}]


def _record(outcome: str, runtime: str = "runc", version: str = "1.1.5", test: str = HOOKS, **kw) -> Record:
    cell = {"runtime": runtime, "versions": {runtime: version} if version else {}}
    return Record(test=f"{test}::test_x[{runtime}]", suite="runtime", outcome=outcome, cell=cell, **kw)


@pytest.fixture
def hooks_claim():
    return _claims({"name": "runc", "version": ">=1.1", "areas": ["hooks"]})[1][0]


def test_passed_cells_of_a_version_in_range_verify(hooks_claim):
    assert judge(hooks_claim, [_record("passed"), _record("passed")]).verdict == "verified"


def test_a_known_incompatibility_contradicts_with_its_reason(hooks_claim):
    known = "known: runc 1.1 runs poststart hooks at create"
    found = judge(hooks_claim, [_record("passed"), _record("xfailed", reason=known)])
    assert found.verdict == "contradicted" and known in found.reason


def test_a_runtimes_refusal_or_a_version_outside_the_range_never_verifies(hooks_claim):
    skipped = judge(hooks_claim, [_record("passed"), _record("skipped", reason="runc create refused (exit 1)")])
    assert skipped.verdict == "unverifiable" and "runc create refused" in skipped.reason
    older = judge(hooks_claim, [_record("passed", version="1.0.2")])
    assert older.verdict == "unverifiable" and "outside the claimed >=1.1" in older.reason
    unshown = judge(hooks_claim, [_record("passed", version="")])
    assert unshown.verdict == "unverifiable" and "recorded no version of runc" in unshown.reason


def test_other_runtimes_cells_do_not_count(hooks_claim):
    found = judge(hooks_claim, [_record("failed", runtime="crun", version="1.8.1"), _record("passed")])
    assert found.verdict == "verified"
