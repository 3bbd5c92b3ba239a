"""The sandbox (pause) image the harness builds for containerd's CRI, and pushing it."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest

from ocimatrix.endpoints import Endpoints
from ocimatrix.errors import UsageError
from ocimatrix.images import pause
from ocimatrix.images.busybox import HOST_BUSYBOX
from ocimatrix.oci import mediatypes

pytestmark = pytest.mark.skipif(not HOST_BUSYBOX.exists(), reason="needs /bin/busybox (busybox-static)")


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_pause_image_is_reproducible():
    first, second = pause.build_pause_image(), pause.build_pause_image()
    assert first == second
    assert first.manifest_digest == _sha(first.manifest)


def test_pause_image_blobs_are_consistent():
    image = pause.build_pause_image()
    manifest = json.loads(image.manifest)
    assert manifest["mediaType"] == mediatypes.OCI_MANIFEST and manifest["schemaVersion"] == 2
    assert manifest["config"] == {
        "mediaType": mediatypes.OCI_CONFIG,
        "digest": _sha(image.config),
        "size": len(image.config),
    }
    [layer] = manifest["layers"]
    assert layer == {"mediaType": mediatypes.OCI_LAYER_TAR_GZIP, "digest": _sha(image.layer), "size": len(image.layer)}
    config = json.loads(image.config)
    assert config["rootfs"] == {"type": "layers", "diff_ids": [_sha(gzip.decompress(image.layer))]}
    assert config["os"] == "linux" and config["architecture"]
    assert config["config"]["Entrypoint"] == pause.PAUSE_ENTRYPOINT


def test_pause_layer_holds_busybox_and_its_applets():
    layer = gzip.decompress(pause.build_pause_image().layer)
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert tar.extractfile("bin/busybox").read() == HOST_BUSYBOX.read_bytes()
    assert members["bin/busybox"].mode == 0o755
    for applet in pause.PAUSE_APPLETS:
        assert members[f"bin/{applet}"].issym() and members[f"bin/{applet}"].linkname == "busybox"
    assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 for m in members.values())


def test_extra_files_and_directories_land_in_the_layer():
    image = pause.build_busybox_image(
        {"User": "x"},
        applets=("sh",),
        files=[pause.ImageFile("etc", None, 0o755), pause.ImageFile("etc/passwd", b"x:x:1:1::/:/bin/sh\n")],
    )
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(image.layer))) as tar:
        assert tar.getmember("etc").isdir()
        assert tar.extractfile("etc/passwd").read() == b"x:x:1:1::/:/bin/sh\n"
    assert json.loads(image.config)["config"] == {"User": "x"}


@pytest.mark.parametrize("registry", ["10.0.0.5:5000", "registry.example.com", "192.168.1.1:443"])
def test_pushes_only_to_loopback(registry):
    with pytest.raises(UsageError, match="127.0.0.1"):
        pause.check_loopback(registry)


@pytest.mark.parametrize("registry", ["127.0.0.1:5000", "localhost:5000", "[::1]:5000"])
def test_loopback_registries_are_accepted(registry):
    pause.check_loopback(registry)


def test_no_registry_disables_cri_cells(tmp_path):
    endpoints = Endpoints(state_dir=str(tmp_path))
    pause.publish_sandbox_image(endpoints)
    assert endpoints.sandbox_image == ""
    assert "no embedded registry" in endpoints.errors["cri"]


def test_a_failed_push_keeps_the_name_and_says_why(tmp_path):
    # Nothing listens on port 1: the push fails, containerd still gets a sandbox_image to start with.
    endpoints = Endpoints(state_dir=str(tmp_path), registry="127.0.0.1:1")
    pause.publish_sandbox_image(endpoints)
    assert endpoints.sandbox_image == "127.0.0.1:1/ocimatrix/pause:1"
    assert endpoints.errors["cri"].startswith("could not push the CRI sandbox image 127.0.0.1:1/ocimatrix/pause:1")
