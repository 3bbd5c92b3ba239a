"""Drivers' multi-platform pieces that don't need a daemon: what ctr's pull output says, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocimatrix.endpoints import Endpoints
from ocimatrix.engines.base import Engine, Unsupported
from ocimatrix.engines.containerd_engine import ContainerdEngine
from ocimatrix.engines.docker_engine import DockerEngine

CTR_PULL = (Path(__file__).parent / "data" / "platforms" / "ctr-pull-arm-v7.txt").read_text()
ARM_V7_CONFIG = {"architecture": "arm", "os": "linux", "variant": "v7", "config": {}}


@pytest.fixture
def endpoints(tmp_path) -> Endpoints:
    return Endpoints(state_dir=str(tmp_path), containerd=str(tmp_path / "containerd.sock"), docker="unix:///nowhere")


def test_ctr_pull_output_names_the_chosen_manifest_and_config(endpoints, monkeypatch):
    engine = ContainerdEngine(endpoints, binary="/bin/true")
    monkeypatch.setattr(engine, "sh", lambda *args, **kw: type("R", (), {"stdout": CTR_PULL})())
    blobs = {"sha256:5fdf33748dd3b790c16e918279cacd9cb36df8b2a5114077c1a2dd8ccbea0932": ARM_V7_CONFIG}
    monkeypatch.setattr(engine, "_blob", blobs.__getitem__)
    engine.pull("127.0.0.1:42353/exp/d:index", platform="linux/arm/v7")
    resolved = engine.resolved_image("127.0.0.1:42353/exp/d:index", platform="linux/arm/v7")
    assert resolved.manifest_digest == "sha256:9df9756b6745383bb7b6551cd25dd0fd02668d5b52ab7c53de0c87492264ffa5"
    assert resolved.config_digest == "sha256:5fdf33748dd3b790c16e918279cacd9cb36df8b2a5114077c1a2dd8ccbea0932"
    assert (resolved.architecture, resolved.variant, resolved.os) == ("arm", "v7", "linux")
    assert resolved.digests[0] == "sha256:8abfa0688cec381bbf16aa029548a86e9a2651ac5e30bbbe647768fcba667050"
    # Another platform of the same ref was not pulled here: ctr can't tell afterwards.
    with pytest.raises(Unsupported):
        engine.resolved_image("127.0.0.1:42353/exp/d:index", platform="linux/arm64")


def test_docker_cannot_write_an_oci_index(endpoints):
    with pytest.raises(Unsupported, match="Docker manifest lists only"):
        DockerEngine(endpoints).build_index("127.0.0.1:5000/x:1", {"linux/amd64": "127.0.0.1:5000/x:a"}, format="oci")


def test_engines_without_index_support_say_so(endpoints):
    engine = ContainerdEngine(endpoints, binary="/bin/true")
    assert type(engine).build_index is Engine.build_index
    with pytest.raises(Unsupported, match="cannot create multi-platform images"):
        engine.build_index("r", {}, format="oci")
