"""Generations as a dimension of a cell: ``docker@trixie`` in the tool axes, checked by the catalog;
engines run the runtimes of their own generation; expectations tied to the versions a cell recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocimatrix import evidence
from ocimatrix.endpoints import Endpoints, generation_service
from ocimatrix.endpoints.site import GenerationSite
from ocimatrix.engines.binding import bind
from ocimatrix.errors import ServiceUnavailable, UsageError
from ocimatrix.matrix import DEFAULT_MATRIX, load_matrix, same_generation, value_matches, versions_match
from ocimatrix.plugin import EXPECTATION_KEY, PENDING_KEY, VersionedExpectations
from ocimatrix.tools import catalog
from ocimatrix.tools.versions import parse_range


def matrix_from(text: str, tmp_path: Path):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return load_matrix(path)


def test_catalog_knows_tools_of_each_generation():
    assert catalog.lookup("docker@trixie", "engine").name == "docker"
    assert catalog.generation_of("crun@sid") == "sid"
    assert catalog.generation_of("crun") == catalog.HOST_GENERATION
    assert catalog.spelled("podman", "trixie") == "podman@trixie"
    assert catalog.spelled("podman", catalog.HOST_GENERATION) == "podman"
    with pytest.raises(UsageError, match="cri-o has no generation 'trixie'"):
        catalog.lookup("cri-o@trixie", "engine")
    with pytest.raises(UsageError, match="unknown engine"):
        catalog.lookup("dokcer@trixie", "engine")


def test_a_generations_tool_works_through_that_generations_daemons():
    assert catalog.embedded_services("docker@trixie") == ("dockerd@trixie", "containerd@trixie")
    assert catalog.embedded_services("docker") == ("dockerd", "containerd")
    assert catalog.root_generations(["docker@trixie", "runc", "podman@sid", "crun@trixie"]) == ("sid", "trixie")


def test_engines_run_runtimes_of_their_own_generation(tmp_path):
    assert same_generation({"engine": "docker@trixie", "runtime": "crun@trixie"})
    assert not same_generation({"engine": "docker@trixie", "runtime": "crun"})
    assert same_generation({"builder": "podman@trixie", "format": "oci"})
    matrix = matrix_from(
        "axes: {builder: [podman, podman@trixie], engine: [docker, docker@trixie], runtime: [runc, runc@trixie]}\n",
        tmp_path,
    )
    cells = matrix.cells_for(["builder", "engine", "runtime"])
    assert len(cells) == 4  # two builders x (docker+runc, docker@trixie+runc@trixie)
    assert all(catalog.generation_of(c["engine"]) == catalog.generation_of(c["runtime"]) for c in cells)
    assert matrix.generations() == ("trixie",)


def test_an_include_pairing_generations_wrongly_names_the_field(tmp_path):
    with pytest.raises(UsageError, match=r"m.yaml:4: field 'include.0.runtime': runtime runc is of another generation"):
        matrix_from(
            "axes: {builder: [podman], engine: [docker]}\ninclude:\n  - {engine: docker@trixie,\n     runtime: runc}\n",
            tmp_path,
        )


def test_suite_include_adds_cells_to_that_suite_only(tmp_path):
    matrix = matrix_from(
        """
axes: {builder: [podman], engine: [docker]}
suites:
  lifecycle:
    include:
      - {builder: podman@sid, engine: containerd-cri@sid, runtime: crun@sid}
  image: {}
""",
        tmp_path,
    )
    lifecycle = matrix.cells_for(["builder", "engine", "runtime"], "lifecycle")
    assert {"builder": "podman@sid", "engine": "containerd-cri@sid", "runtime": "crun@sid"} in lifecycle
    assert all(c["builder"] == "podman" for c in matrix.cells_for(["builder"], "image"))
    assert matrix.generations() == ("sid",)
    assert matrix.generations(("image",)) == ()


def test_unknown_generation_in_an_axis_names_the_line(tmp_path):
    with pytest.raises(UsageError, match=r"m.yaml:1: field 'axes.engine.1': docker has no generation 'bullseye'"):
        matrix_from("axes: {builder: [podman], engine: [docker, docker@bullseye]}\n", tmp_path)


def test_expectation_versions_are_checked_ranges(tmp_path):
    head = "axes: {builder: [podman], engine: [docker]}\nexpectations:\n  - test: t\n    match: x\n    reason: r\n"
    matrix = matrix_from(head + "    versions: {docker: '<23', runc@trixie: '>=1.1,<1.2'}\n", tmp_path)
    ranges = matrix.expectations[0]["versions"]
    assert ranges["docker"].admits("20.10.24+dfsg1") and not ranges["docker"].admits("26.1.5+dfsg1")
    with pytest.raises(UsageError, match=r"field 'expectations.0.versions.docker': version range clause"):
        matrix_from(head + "    versions: {docker: 'newer'}\n", tmp_path)
    with pytest.raises(UsageError, match=r"field 'expectations.0.versions.dokcer': unknown tool"):
        matrix_from(head + "    versions: {dokcer: '<23'}\n", tmp_path)


def test_a_bare_tool_in_an_expectation_stands_for_every_generation():
    assert value_matches("docker@trixie", ("docker",))
    assert value_matches("docker", ("docker",))
    assert not value_matches("docker", ("docker@trixie",))
    assert not value_matches("podman@trixie", ("docker",))


def test_versions_decide_whether_a_known_incompatibility_applies():
    below_23 = {"docker": parse_range("<23")}
    # trixie's podman pushed zstd, this host's docker 20.10 pulls it: the known incompatibility.
    assert versions_match(below_23, {"podman@trixie": "5.4.2", "docker": "20.10.24+dfsg1"}) is True
    # this host's podman pushed zstd, trixie's docker 26.1 pulls it: expected to pass.
    assert versions_match(below_23, {"podman": "4.3.1", "docker@trixie": "26.1.5+dfsg1"}) is False
    assert versions_match(below_23, {"podman": "4.3.1"}) is None
    exact = {"docker@trixie": parse_range(">=26")}
    assert versions_match(exact, {"docker@trixie": "26.1.5", "docker": "20.10.24"}) is True
    assert versions_match(exact, {"docker": "26.1.5"}) is None


@pytest.mark.parametrize(
    ("recorded", "applied", "note"),
    [
        ({"podman@trixie": "5.4.2", "docker": "20.10.24+dfsg1"}, True, None),
        ({"podman": "4.3.1", "docker@trixie": "26.1.5+dfsg1"}, False, "this cell's versions are outside docker <23"),
        ({"podman": "4.3.1"}, False, "the cell recorded no version of docker <23"),
    ],
)
def test_the_plugin_applies_a_versioned_expectation_from_the_versions_the_cell_recorded(
    pytester, recorded, applied, note
):
    # What decides, run as the plugin runs it at the end of a cell's setup (the whole run through the
    # plugin is in test_mutation_expectations.py).
    item = pytester.getitem("def test_func(): pass")
    expected = {"test": "test_*", "cell": {}, "versions": {"docker": parse_range("<23")}, "match": "x", "reason": "r"}
    later = {**expected, "versions": {"docker": parse_range("<30")}, "reason": "r2"}  # fits as well
    item.stash[PENDING_KEY] = [expected, later] if applied else [expected]
    with evidence.scoped() as recorder:
        recorder.versions.update(recorded)
        VersionedExpectations().pytest_runtest_setup(item)
    marker = item.get_closest_marker("xfail")
    if applied:
        assert marker is not None and marker.kwargs == {"reason": "known: r", "strict": True}
        assert item.stash[EXPECTATION_KEY] is expected, "the first listing that fits applies, not a later one"
        assert recorder.evidence["expectation"] == "r (versions docker <23)"
        assert "expectations_not_applied" not in recorder.evidence
    else:
        assert marker is None and EXPECTATION_KEY not in item.stash
        assert recorder.evidence["expectations_not_applied"] == [f"r: {note}"]


def test_default_matrix_runs_trixie_beside_this_host():
    matrix = load_matrix(DEFAULT_MATRIX)
    # sid for go-containerregistry's registry (its crane), a registry of the distribution suite and of a
    # lifecycle subset, and for the signatures suite's writers of sid (and sid's crane registry).
    assert matrix.generations() == ("sid", "trixie")
    assert matrix.generations(("distribution",)) == ("sid", "trixie")
    assert matrix.generations(("signatures",)) == ("sid", "trixie")
    assert "sid" in matrix.generations(("lifecycle",))
    crane_users = ("distribution", "signatures", "lifecycle")
    assert "sid" not in matrix.generations(tuple(s for s in matrix.suites if s not in crane_users))
    lifecycle = matrix.cells_for(["builder", "engine", "runtime"], "lifecycle")
    engines = {c["engine"] for c in lifecycle}
    assert engines >= {"docker@trixie", "podman@trixie", "containerd@trixie", "containerd-cri@trixie"}
    assert {c["runtime"] for c in lifecycle} >= {"runc@trixie", "crun@trixie"}
    # images cross generations both ways
    assert {"builder": "podman@trixie", "engine": "docker", "runtime": "runc"} in lifecycle
    assert {"builder": "podman", "engine": "docker@trixie", "runtime": "runc@trixie"} in lifecycle


def test_a_generations_site_enters_its_root():
    site = GenerationSite("trixie", "/var/cache/ocimatrix/roots/trixie/rootfs", 4242, containerd="/s/c.sock")
    assert site.cli(["podman", "version"]) == [
        "nsenter",
        "--mount=/proc/4242/ns/mnt",
        "podman",
        "version",
    ]
    assert site.environment({"A": "1"})["PODMAN_IGNORE_CGROUPSV1_WARNING"] == "1"
    assert site.cri == "unix:///s/c.sock"


def test_a_generation_that_did_not_start_makes_its_cells_errors():
    endpoints = Endpoints(state_dir="/nonexistent")
    endpoints.errors[generation_service("trixie")] = "debootstrap trixie failed (exit 1)"
    with pytest.raises(ServiceUnavailable, match="debootstrap trixie failed"):
        endpoints.site("trixie")
    with pytest.raises(ServiceUnavailable, match="generation trixie"):
        bind("docker@trixie", endpoints, role="engine")
    endpoints.generations["trixie"] = {"generation": "trixie", "rootfs": "/r", "pid": 1, "docker": "unix:///d.sock"}
    driver = bind("docker@trixie", endpoints, role="engine")
    assert driver.endpoint == "unix:///d.sock"
    assert driver.label == "docker@trixie"
    assert driver.key.startswith("docker@trixie:")
