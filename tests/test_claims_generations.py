"""Engine claims across tool generations: a version range is expanded over every generation whose
engine version is known here, each engine with its own generation's runtimes, and judged by the
versions each cell recorded. A claims file may name generations and hosts, and they are honoured."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocimatrix.claims.here import Here, root_versions
from ocimatrix.claims.judge import judge
from ocimatrix.claims.load import parse_claims
from ocimatrix.claims.plan import all_claims, matrix_document
from ocimatrix.errors import UsageError
from ocimatrix.matrix import parse_matrix
from ocimatrix.results import Record

HERE = Here(
    versions={
        "docker": "20.10.24+dfsg1",
        "podman": "4.3.1",
        "docker@trixie": "26.1.5+dfsg1-9+deb13u1+b1",
        "podman@trixie": "5.4.2+ds1-2+b2",
        "cri-o": "",
    },
    missing_roots={"sid": "its root is not prepared here (ocimatrix provision --generation sid)"},
    host="debian-12",
    host_aliases=("debian-bookworm",),
)
RUNS = "suites/claims/test_image_claims.py::test_image_runs"


def claims_of(runs_on: list[dict], **image) -> dict:
    data = {
        "claims": 1,
        "vendor": "V",
        "product": "P",
        "image": {
            "source": {"reference": "127.0.0.1:5000/v/app:1"},
            "platforms": ["linux/amd64"],
            "runs_on": runs_on,
            "runtimes": ["runc", "crun"],
            "checks": {"smoke": {"command": ["/app"]}},
            **image,
        },
    }
    claims_file = parse_claims(data, Path("c.yaml"), "", "sha256:" + "0" * 64)
    return claims_file, {c.id: c for c in all_claims(claims_file, HERE)}


def cell(engine: str, runtime: str, version: str, outcome: str = "passed") -> Record:
    return Record(
        test=f"{RUNS}[{engine}-{runtime}-linux_amd64]",
        suite="claims",
        outcome=outcome,
        cell={"engine": engine, "runtime": runtime, "platform": "linux/amd64", "versions": {engine: version}},
        evidence={"ran_platform": "linux/amd64"},
        reason="" if outcome == "passed" else "archive/tar: invalid tar header",
    )


def test_a_range_only_a_newer_generation_satisfies_runs_there_with_its_own_runtimes():
    claims_file, claims = claims_of([{"engine": "docker", "version": ">=24"}, {"engine": "podman", "version": ">=4.4"}])
    docker = claims["image.runs.linux-amd64.docker.crun"]
    assert not docker.unverifiable
    assert docker.cell["engine"] == ("docker@trixie",) and docker.cell["runtime"] == ("crun@trixie",)
    assert docker.tools == ("docker@trixie 26.1.5+dfsg1-9+deb13u1+b1",)
    assert "on docker@trixie 26.1.5" in docker.title
    matrix = matrix_document(claims_file, list(claims.values()), "linux/amd64")
    assert matrix["axes"]["engine"] == ["docker@trixie", "podman@trixie"]
    assert matrix["axes"]["runtime"] == ["runc@trixie", "crun@trixie"]
    # The generated matrix is one ocimatrix run accepts, and pairs each engine with its generation's runtimes.
    parsed = parse_matrix(matrix, Path("matrix.yaml"))
    cells = parsed.cells()
    # verify runs the claims suite, which is no matrix suite: its cells still name the roots to start.
    assert parsed.generations(("claims",)) == ("trixie",)
    assert {(c["engine"], c["runtime"]) for c in cells} == {
        (e, r) for e in ("docker@trixie", "podman@trixie") for r in ("runc@trixie", "crun@trixie")
    }


def test_a_range_several_generations_satisfy_rests_on_each_of_them():
    _, claims = claims_of([{"engine": "docker", "version": ">=20.10"}])
    claim = claims["image.runs.linux-amd64.docker.runc"]
    assert claim.cell["engine"] == ("docker", "docker@trixie")
    assert claim.cell["runtime"] == ("runc", "runc@trixie")
    passed = cell("docker@trixie", "runc@trixie", "26.1.5+dfsg1")
    failed = cell("docker", "runc", "20.10.24+dfsg1", "failed")
    found = judge(claim, [failed, passed])
    assert found.verdict == "contradicted" and "1 of 2 cells" in found.reason
    assert judge(claim, [passed, cell("docker", "runc", "20.10.24+dfsg1")]).verdict == "verified"


def test_the_old_release_line_stays_on_the_old_generation():
    _, claims = claims_of([{"engine": "docker", "version": "20.10"}])
    claim = claims["image.runs.linux-amd64.docker.runc"]
    assert claim.cell["engine"] == ("docker",) and claim.cell["runtime"] == ("runc",)
    assert judge(claim, [cell("docker", "runc", "20.10.24+dfsg1", "failed")]).verdict == "contradicted"


def test_a_cell_is_judged_by_the_version_it_recorded_under_its_own_name():
    _, claims = claims_of([{"engine": "docker", "version": ">=24"}])
    claim = claims["image.runs.linux-amd64.docker.runc"]
    # The host's docker key says 20.10, the cell's own engine (docker@trixie) recorded 26.1: 26.1 counts.
    record = cell("docker@trixie", "runc@trixie", "26.1.5")
    record.evidence["versions"]["docker"] = "20.10.24"
    assert judge(claim, [record]).verdict == "verified"
    # A root whose docker turned out older than its versions.json said is not evidence for >=24.
    older = judge(claim, [cell("docker@trixie", "runc@trixie", "23.0.1", "failed")])
    assert older.verdict == "unverifiable" and "ran docker@trixie 23.0.1, outside the claimed >=24" in older.reason


def test_a_passed_cell_without_its_engine_version_does_not_verify_a_version_claim():
    _, claims = claims_of([{"engine": "docker", "version": ">=24"}])
    record = cell("docker@trixie", "runc@trixie", "")
    record.evidence["versions"] = {}
    found = judge(claims["image.runs.linux-amd64.docker.runc"], [record])
    assert found.verdict == "unverifiable" and "recorded no version of docker@trixie" in found.reason


def test_no_generation_in_range_names_what_was_found_and_what_was_not_looked_at():
    _, claims = claims_of([{"engine": "docker", "version": ">=27"}])
    why = claims["image.runs.linux-amd64.docker.runc"].unverifiable
    assert "no docker here is inside the claimed range >=27" in why
    assert "docker 20.10.24+dfsg1, docker@trixie 26.1.5+dfsg1-9+deb13u1+b1" in why
    assert "sid: its root is not prepared here (ocimatrix provision --generation sid)" in why


def test_a_named_generation_is_the_only_one_used():
    _, claims = claims_of([{"engine": "docker", "version": ">=20", "generation": "bookworm"}])
    claim = claims["image.runs.linux-amd64.docker.runc"]
    assert claim.cell["engine"] == ("docker",)
    assert "(bookworm)" in claim.title
    other = cell("docker@trixie", "runc@trixie", "26.1.5")
    assert not claim.selects(other.test, other.cell)
    assert judge(claim, [other]).verdict == "unverifiable"
    # image-level generation is every entry's default; an entry's own wins.
    _, claims = claims_of(
        [{"engine": "docker"}, {"engine": "podman", "generation": ["bookworm"]}], generation=["trixie"]
    )
    assert claims["image.runs.linux-amd64.docker.runc"].cell["engine"] == ("docker@trixie",)
    assert claims["image.runs.linux-amd64.podman.runc"].cell["engine"] == ("podman",)


def test_a_named_generation_outside_the_range_or_not_prepared_is_unverifiable():
    _, claims = claims_of([{"engine": "docker", "version": ">=24", "generation": "bookworm"}])
    why = claims["image.runs.linux-amd64.docker.runc"].unverifiable
    assert "no docker of generation bookworm here is inside the claimed range >=24: found docker 20.10" in why
    assert "not looked at" not in why  # sid is not a generation the claim names
    _, claims = claims_of([{"engine": "docker", "generation": "sid"}])
    why = claims["image.runs.linux-amd64.docker.runc"].unverifiable
    assert why.startswith("docker of generation sid is not installed here; not looked at: sid: its root")


def test_a_claim_for_other_hosts_is_unverifiable_here():
    _, claims = claims_of([{"engine": "podman", "host": ["ubuntu-24.04"]}, {"engine": "docker"}], host="debian-12")
    assert claims["image.runs.linux-amd64.podman.runc"].unverifiable == (
        "claimed on ubuntu-24.04; this host is debian-12"
    )
    assert not claims["image.runs.linux-amd64.docker.runc"].unverifiable  # debian-12 from the image level
    _, claims = claims_of([{"engine": "docker", "host": "debian-bookworm"}])
    assert not claims["image.runs.linux-amd64.docker.runc"].unverifiable


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        ({"engine": "docker", "generation": "buster"}, "image.runs_on.0.generation", "unknown generation 'buster'"),
        ({"engine": "docker", "generation": ["trixie", "x"]}, "image.runs_on.0.generation.1", "known: bookworm"),
        ({"engine": "cri-o", "generation": "trixie"}, "image.runs_on.0.generation", "cri-o has no trixie generation"),
        ({"engine": "docker", "host": "Debian 12"}, "image.runs_on.0.host", "is not valid: the hosts"),
    ],
)
def test_bad_generations_and_hosts_name_the_field(entry, field, message):
    with pytest.raises(UsageError) as caught:
        claims_of([entry])
    assert f"field '{field}'" in str(caught.value) and message in str(caught.value)


def test_a_prepared_root_counts_by_its_versions_json(tmp_path, monkeypatch):
    from ocimatrix.generations.manifest import Manifest, write_manifest

    rootfs = tmp_path / "roots" / "trixie"
    (rootfs / "rootfs" / "usr").mkdir(parents=True)
    manifest = Manifest("trixie", "trixie", "http://mirror.example/debian", {"docker.io": "26.1.5+dfsg1-9"})
    write_manifest(rootfs / "versions.json", manifest)
    monkeypatch.setenv("OCIMATRIX_CACHE", str(tmp_path))
    found, missing = root_versions()
    assert found == {"docker@trixie": "26.1.5+dfsg1-9"}
    assert "sid" in missing and "ocimatrix provision --generation sid" in missing["sid"]
