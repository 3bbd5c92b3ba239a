"""What a copy wrote, read back as digests (registry manifests, OCI layouts, archives), and the copies
suite's listings confirmed only by the answers the copiers really gave (skopeo 1.9, podman 4.3 and 5.4,
dockerd 26.1, recorded from suite runs), never by another rewrite."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from ocimatrix.errors import ImplementationFailure, OcimatrixError
from ocimatrix.images import copies
from ocimatrix.matrix import load_matrix
from ocimatrix.plugin.verdicts import decide

ROOT = Path(__file__).resolve().parents[1]
EMPTY = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
GZ = "application/vnd.oci.image.layer.v1.tar+gzip"
TAR = "application/vnd.oci.image.layer.v1.tar"


def manifest(layers: list[tuple[str, str]], config: str = "sha256:" + "c" * 64) -> bytes:
    document = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
        "layers": [{"mediaType": t, "digest": d, "size": 1} for d, t in layers],
    }
    return json.dumps(document).encode()


def test_a_copy_that_keeps_everything_has_no_changes():
    body = manifest([("sha256:" + "a" * 64, GZ)])
    assert copies.changes(copies.of_manifest(body), copies.of_manifest(body)) == []


def test_each_rewrite_is_named():
    before = copies.of_manifest(manifest([("sha256:" + "a" * 64, GZ), (EMPTY, TAR)]))
    after = copies.of_manifest(manifest([("sha256:" + "a" * 64, GZ), ("sha256:" + "b" * 64, GZ)]))
    changed = copies.changes(before, after)
    assert changed[0].startswith(f"manifest {before.manifest} -> ")
    assert f"layer 1 {EMPTY} -> sha256:{'b' * 64}" in changed
    assert f"layer 1 media type {TAR} -> {GZ}" in changed
    assert f"{EMPTY} (tar)" in before.summary()


def test_no_manifest_is_an_error_not_a_crash():
    with pytest.raises(OcimatrixError):
        copies.of_manifest(b"not json")
    with pytest.raises(OcimatrixError):
        copies.of_manifest(b'{"manifests": []}')


def _layout_files(body: bytes) -> dict[str, bytes]:
    digest = copies.of_manifest(body).manifest
    index = {
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest}],
    }
    return {
        "oci-layout": b'{"imageLayoutVersion": "1.0.0"}',
        "index.json": json.dumps(index).encode(),
        f"blobs/sha256/{digest.split(':')[1]}": body,
    }


def test_an_oci_layout_directory_and_archive_are_read_back(tmp_path):
    body = manifest([("sha256:" + "a" * 64, GZ)])
    files = _layout_files(body)
    for name, data in files.items():
        (tmp_path / "layout" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "layout" / name).write_bytes(data)
    assert copies.of_layout(tmp_path / "layout") == copies.of_manifest(body)
    archive = tmp_path / "saved.tar"
    with tarfile.open(archive, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    view = copies.of_archive(archive)
    assert view.kind == "oci-layout" and view.digests == copies.of_manifest(body)


def test_a_docker_archive_is_recorded_as_it_is(tmp_path):
    archive = tmp_path / "image.tar"
    listed = [{"Config": "abc.json", "RepoTags": ["x:y"], "Layers": ["l/layer.tar"]}]
    data = json.dumps(listed).encode()
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    view = copies.of_archive(archive)
    assert view.kind == "docker-archive" and view.digests is None and view.docker_manifest == listed


def test_an_archive_of_neither_kind_is_an_error(tmp_path):
    archive = tmp_path / "other.tar"
    with tarfile.open(archive, "w"):
        pass
    with pytest.raises(OcimatrixError):
        copies.of_archive(archive)


# --- the listings, on recorded answers -----------------------------------------------------------------

_BASE = "sha256:4460f701b686946cf973fd68bebf05cdc57bed75d8ffaedd772221dcead39be4"
_CONFIG = "sha256:76fbf1bbd0660f94b3bd0d0f3bc4ad3bd4a9e4c1b2e14106d52ca911e0cdfc78"
_TOP = "sha256:7dea5b81d75447cff2d7f4bc798e3e0e3091b01c71dd7aeb8f3dd8c738fbe95d"
SKOPEO_ZERO_BYTE = (
    f"before: manifest sha256:ca0ddad211b5b5b89fc904e4167385909e8e30bd7984851c812655523fd7e609, config {_CONFIG}, "
    f"layers [{_BASE} (tar+gzip), {EMPTY} (tar), {_TOP} (tar+gzip)]; "
    f"after: manifest sha256:3cf2f12ff2bf3bc07d4506ba046f5d5dc02186ce141d5c92de74375a91b34dc8, config {_CONFIG}, "
    f"layers [{_BASE} (tar+gzip), sha256:56061a2727129d03575feb70ff7d610c6b1fdc7d35159ec124ab237823ee68bd (tar+gzip), "
    f"{_TOP} (tar+gzip)]"
)
_XCONFIG = "sha256:aaa69f2c1898a701b92d5c021f4c9c4f0fa95087584d0ad2f63a59030ee6e60d"
_XBEFORE = (
    f"before: manifest sha256:9006145610801e63bc89a3b86bff63af5d9ec961420310db2505bffa82152fb6, config {_XCONFIG}, "
    f"layers [{_BASE} (tar+gzip), sha256:8f245b99aa7e36af1189fd10bde7b57f20022c937e64bd4ba045c263b9d20a50 (tar+gzip)]"
)
PODMAN_SAVE = (
    f"{_XBEFORE}; after: manifest sha256:721b57490cb77fa7929b41067d45dc1923c6efacd64d89ee935f80fff9a14fcb, "
    f"config {_XCONFIG}, layers [sha256:1c022787f75fe03af1912eaebfb14397aa17e76c452c5efc0fadf2e9817adae7 (tar+gzip), "
    "sha256:4b5d7cd86b598b582e7fe5e7ee5862c9e46470d4d2e0c9b4c4fee36b932afbd8 (tar+gzip)]"
)
DOCKER_SAVE = (
    f"{_XBEFORE}; after: manifest sha256:ab1ef9acc4cdcde38bbe97cbbe1a8693e6233d61aa2e85046f1cbe13d7c73dd2, "
    f"config {_XCONFIG}, layers [sha256:95b243dccc8ace1d4ed4ea4761e604b227112c76f3d4e79c650e91819e130df5 (tar), "
    "sha256:f4c0fd9790350f77deb6b856b1a82f918c6a1d387440c04bc96b9f478524ff91 (tar)]"
)
# The config rewritten too: not the finding listed (an engine's store keeps the config).
CONFIG_REWRITTEN = PODMAN_SAVE.replace(
    f"config {_XCONFIG}, layers [sha256:1c02", "config sha256:" + "9" * 64 + ", layers [sha256:1c02"
)
# (matrix, test pattern, step, recorded answer, another answer that must not confirm it)
CASES = [
    (
        "default",
        "test_skopeo_copy_to_an_oci_layout[zero-byte-layer*]",
        "skopeo copy docker:// -> oci:",
        SKOPEO_ZERO_BYTE,
        DOCKER_SAVE,
    ),
    (
        "nightly",
        "test_skopeo_copy_to_an_oci_layout[zero-byte-layer*]",
        "skopeo copy docker:// -> oci:",
        SKOPEO_ZERO_BYTE,
        DOCKER_SAVE,
    ),
    ("nightly", "test_engine_save_keeps_the_image", "podman save (OCI archive)", PODMAN_SAVE, CONFIG_REWRITTEN),
    ("nightly", "test_engine_save_keeps_the_image", "docker save (OCI archive)", DOCKER_SAVE, CONFIG_REWRITTEN),
]


def test_the_registry_copy_of_a_zero_byte_blob_is_deselected_not_listed():
    # skopeo 1.9 rewrote it in 7 of 9 runs here: no strict listing can hold that (the matrices say why).
    for matrix in ("default", "nightly"):
        loaded = load_matrix(ROOT / f"matrix/{matrix}.yaml")
        assert loaded.deselects("copies", "test_copy_to_another_repository[zero-byte-layer-skopeo]")
        assert not any(e["test"].startswith("test_copy_to_another_repository") for e in loaded.expectations)


def _listing(matrix: str, test: str, step: str) -> dict:
    import re

    found = [
        e
        for e in load_matrix(ROOT / f"matrix/{matrix}.yaml").expectations
        if e["test"] == test and re.search(e.get("step") or "", step)
    ]
    assert len(found) == 1, f"{matrix}: one listing of {test} at {step!r}"
    return found[0]


def _failure(step: str, answer: str) -> BaseException:
    try:
        raise ImplementationFailure("the copy rewrote what it was asked to copy", step=step, answer=answer)
    except ImplementationFailure as exc:
        return exc


@pytest.mark.parametrize(("matrix", "test", "step", "answer", "other"), CASES)
def test_the_recorded_answer_confirms_the_listing(matrix, test, step, answer, other):
    listing = _listing(matrix, test, step)
    assert decide(_failure(step, answer), expected=listing).outcome == "xfailed"
    assert decide(_failure(step, other), expected=listing).outcome == "failed"
    assert decide(_failure("another step", answer), expected=listing).outcome == "failed"
