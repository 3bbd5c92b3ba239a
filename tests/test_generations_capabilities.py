"""What changes with a generation: capabilities declared per version on the catalog line, the registry
of a generation's root as a matrix's registry, and the shared directories its tools must see."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from ocimatrix.endpoints import Endpoints
from ocimatrix.endpoints.site import GenerationSite
from ocimatrix.engines.binding import bind
from ocimatrix.errors import UsageError
from ocimatrix.matrix import load_matrix
from ocimatrix.plugin.cell_watch import services_of_cell
from ocimatrix.registries.targets import TargetUnavailable, registry_settings_problems, resolve_target
from ocimatrix.tools import capabilities, catalog


def _with_trixie(tmp_path: Path, **site) -> Endpoints:
    found = GenerationSite("trixie", "/nonexistent/rootfs", 1, containerd="/nowhere.sock", **site)
    return Endpoints(state_dir=str(tmp_path), generations={"trixie": asdict(found)})


def test_ctr_gains_user_in_1_7():
    containerd = catalog.lookup("containerd")
    assert not capabilities.capabilities_at(containerd, "1.6.20~ds1").user_override
    assert capabilities.capabilities_at(containerd, "1.7.24~ds1-6+deb13u1").user_override
    assert capabilities.capabilities_at(containerd, "2.1.4~ds1").user_override
    # A version the tool could not tell: the base line, never more than declared.
    assert not capabilities.capabilities_at(containerd, "").user_override


def test_docker_saves_an_oci_layout_from_25():
    docker = catalog.lookup("docker")
    assert capabilities.capabilities_at(docker, "20.10.24+dfsg1").save_formats == ("docker",)
    later = capabilities.capabilities_at(docker, "26.1.5+dfsg1")
    assert later.save_formats == ("docker", "oci") and later.reasons == docker.capabilities.reasons


def test_a_generations_tool_is_judged_at_its_roots_version_without_asking_a_daemon(tmp_path):
    endpoints = _with_trixie(tmp_path, tools={"containerd": {"version": "1.7.24~ds1-6+deb13u1"}})
    ctr = bind("containerd@trixie", endpoints, role="engine")
    assert ctr.supports("user_override")
    nowhere = Endpoints(state_dir=str(tmp_path), containerd="/nowhere.sock")
    host_ctr = bind("containerd", nowhere, role="engine", binary=str(tmp_path / "no-ctr"))
    assert not host_ctr.supports("user_override")  # no daemon answered: the base line
    assert "run has no --user flag" in host_ctr.why_not("user_override")


def test_a_generations_registry_entry_is_checked():
    assert registry_settings_problems({"embedded": True, "generation": "trixie"}) == []
    assert registry_settings_problems({"embedded": True, "generation": "potato"}) == [
        (("generation",), "expected one of: trixie, sid")
    ]
    problems = dict(registry_settings_problems({"embedded": "token", "generation": "trixie"}))
    assert "only the plain embedded registry" in problems[("generation",)]
    problems = dict(registry_settings_problems({"embedded": True, "generation": "trixie", "port": 5000}))
    assert "free port" in problems[("port",)]


def test_a_generations_registry_resolves_to_the_one_its_root_runs(tmp_path):
    endpoints = _with_trixie(tmp_path, registry="127.0.0.1:40123", tools={"registry": {"version": "2.8.3+ds1-2"}})
    target = resolve_target("embedded-trixie", {"embedded": True, "generation": "trixie"}, endpoints)
    assert target.base_url == "http://127.0.0.1:40123" and target.version == "2.8.3+ds1-2"
    with pytest.raises(TargetUnavailable, match="generation sid is not running"):
        resolve_target("embedded-sid", {"embedded": True, "generation": "sid"}, endpoints)


def test_a_matrix_naming_a_generations_registry_starts_that_generation(tmp_path):
    path = tmp_path / "m.yaml"
    axes = "engine: [docker], builder: [docker], runtime: [runc], platform: [linux/amd64], format: [oci], "
    axes += "compression: [gzip]"
    path.write_text(
        f"axes: {{{axes}, registry: [embedded-trixie]}}\n"
        "registries: {embedded-trixie: {embedded: true, generation: trixie}}\n"
        "suites: {distribution: {}}\n"
    )
    matrix = load_matrix(path)
    assert matrix.generations() == ("trixie",)
    assert services_of_cell({"registry": "embedded-trixie"}, matrix) == ["registry@trixie"]
    path.write_text(f"axes: {{{axes}, registry: [r]}}\nregistries: {{r: {{embedded: true, generation: [trixie]}}}}\n")
    with pytest.raises(UsageError, match="generation"):
        load_matrix(path)
