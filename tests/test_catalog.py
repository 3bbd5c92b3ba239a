"""The tool catalog: one line per tool, read by the matrix checker, the fixtures and the services."""

from __future__ import annotations

import pytest

from ocimatrix.endpoints import Endpoints
from ocimatrix.engines.base import Engine, Unsupported
from ocimatrix.engines.binding import bind
from ocimatrix.errors import UsageError
from ocimatrix.matrix import ENDPOINT_KEYS, KNOWN_VALUES, parse_matrix
from ocimatrix.results import Record
from ocimatrix.tools import capabilities, catalog


def _endpoints(tmp_path) -> Endpoints:
    return Endpoints(state_dir=str(tmp_path), docker="unix:///nowhere.sock", containerd="/nowhere.sock")


def test_the_matrix_knows_what_the_catalog_lists():
    assert KNOWN_VALUES["engine"] == ("docker", "podman", "containerd", "containerd-cri", "cri-o")
    assert KNOWN_VALUES["builder"] == ("docker", "podman", "buildah", "buildx")
    assert KNOWN_VALUES["runtime"] == ("runc", "crun", "runsc")
    assert {"docker", "containerd", "containerd-cri", "cri-o"} == ENDPOINT_KEYS


def test_every_driver_line_names_an_importable_driver_of_that_name():
    for tool in catalog.TOOLS:
        if tool.driver:
            assert tool.driver_class().name == tool.name


def test_every_module_a_tool_declares_its_own_exists():
    import importlib.util

    for tool in catalog.TOOLS:
        for module in tool.modules:
            assert importlib.util.find_spec(module) is not None, f"{tool.name}: no module {module}"


def test_a_daemon_s_health_protocol_is_one_supervision_speaks():
    from ocimatrix.host.supervision import Probe

    # An unknown kind would be taken for a bare connect, which proves little: each must be documented there.
    for tool in catalog.TOOLS:
        if tool.daemon_api:
            assert f"``{tool.daemon_api}``" in str(Probe.__doc__), tool.name


def test_a_generation_is_spelled_name_at_generation(tmp_path):
    assert catalog.lookup("docker@bookworm").name == "docker"
    assert catalog.lookup("docker@trixie").name == "docker"
    with pytest.raises(UsageError, match="docker has no generation 'bullseye'; known: bookworm, trixie, sid"):
        catalog.lookup("docker@bullseye")
    matrix = parse_matrix({"axes": {"engine": ["podman@bookworm"], "builder": ["buildah"]}}, tmp_path / "m.yaml")
    assert matrix.axes["engine"] == ("podman@bookworm",)


def test_a_tool_in_the_wrong_role_is_refused_with_the_known_ones(tmp_path):
    with pytest.raises(UsageError, match="unknown builder 'containerd'; known: docker, podman, buildah"):
        parse_matrix({"axes": {"engine": ["docker"], "builder": ["containerd"]}}, tmp_path / "m.yaml")


def test_capabilities_are_asked_not_inferred_from_types(tmp_path):
    docker = bind("docker", _endpoints(tmp_path), role="engine")
    assert docker.supports("build") and docker.supports("push_format", "docker")
    assert not docker.supports("push_format", "oci") and not docker.supports("cri")
    cri = bind("containerd-cri", _endpoints(tmp_path), role="engine")
    assert cri.supports("cri") and not cri.supports("save") and not cri.supports("platform_choice")
    assert cri.why_not("save") == "containerd-cri has no command that saves an image to an archive"
    ctr = bind("containerd", _endpoints(tmp_path), role="engine")
    assert ctr.supports("save", "oci") and not ctr.supports("save", "docker")
    with pytest.raises(Unsupported, match=r"ctr .* run has no --user flag"):
        ctr.require("user_override")
    with pytest.raises(UsageError, match="unknown capability"):
        ctr.supports("teleport")


def test_podman_cannot_push_uncompressed_but_buildah_can(tmp_path):
    podman = catalog.lookup("podman").capabilities
    buildah = catalog.lookup("buildah").capabilities
    assert capabilities.supports(buildah, "push_compression", "none")
    assert not capabilities.supports(podman, "push_compression", "none")
    assert not capabilities.supports(buildah, "run")


def test_one_driver_class_binds_to_different_daemons(tmp_path):
    embedded = bind("docker", _endpoints(tmp_path), role="engine")
    named = bind("docker", _endpoints(tmp_path), role="engine", endpoint="unix:///run/other.sock")
    assert type(embedded) is type(named) and isinstance(named, Engine)
    assert (embedded.endpoint, named.endpoint) == ("unix:///nowhere.sock", "unix:///run/other.sock")
    assert embedded.key != named.key
    assert embedded.embedded_services == ("dockerd", "containerd") and named.embedded_services == ()


def test_identity_says_what_where_and_from_which_package(tmp_path, monkeypatch):
    podman = bind("podman", _endpoints(tmp_path), role="engine", binary="/opt/podman/bin/podman")
    monkeypatch.setattr(type(podman), "version", lambda self: "4.3.1")
    identity = podman.identity()
    assert identity["tool"] == "podman" and identity["version"] == "4.3.1"
    assert identity["generation"] == "bookworm" and identity["binary"] == "/opt/podman/bin/podman"
    assert identity["package"].startswith("podman")
    assert identity["origin"] == "this host"


def test_a_selected_platform_an_older_writer_put_in_the_cell_is_read_as_evidence():
    record = Record.from_json(
        {"test": "t", "outcome": "passed", "cell": {"engine": "docker", "selected_platform": "linux/arm64"}}
    )
    assert record.cell == {"engine": "docker"}
    assert record.evidence["selected_platform"] == "linux/arm64"
