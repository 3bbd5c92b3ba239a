"""`ocimatrix validate` on the layers suite's shapes: it flags what layer.md forbids or leaves to chance,
passes what it allows, and never crashes on a hostile layer (cut, corrupted, or aimed out of the root)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from ocimatrix.images import layer_shapes
from ocimatrix.images.layer_shapes import Entry, Layer
from ocimatrix.oci import mediatypes
from ocimatrix.oci.layer import check_layer
from ocimatrix.oci.validate import validate_layout

SENTINEL = "/var/tmp/ocimatrix-layers-sentinel"
SHAPES = layer_shapes.all_shapes(SENTINEL, (100,))

# What each shape's own layers make the validator say (rule ids); absent: nothing.
EXPECTED = {
    "whiteout-before-its-file": {"layer.whiteout-same-layer"},
    "whiteout-after-its-file": {"layer.whiteout-same-layer"},
    "hardlink-across-layers": {"layer.hardlink-target-absent"},
    "symlink-escape": {"layer.symlink-escape"},
    "zero-byte-layer": {"layer.tar-malformed"},
}


def _tar(*entries: Entry) -> bytes:
    return Layer(tuple(entries)).tar()


BASE = _tar(Entry("bin", "dir"), Entry("bin/sh", data=b"#!not a shell\n", mode=0o755))


def _layer_rules(shape: layer_shapes.Shape) -> set[str]:
    found: set[str] = set()
    for blob, media in shape.compressed():
        result = check_layer(io.BytesIO(blob), media_type=media)
        found |= {rule for rule, _, _ in result.problems}
    return found


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_layers_give_the_expected_rules(name):
    assert _layer_rules(SHAPES[name]) == EXPECTED.get(name, set())


def _write_layout(root: Path, image: layer_shapes.ShapeImage) -> Path:
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for blob in (image.config, image.manifest, *image.blobs):
        (blobs / hashlib.sha256(blob).hexdigest()).write_bytes(blob)
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    manifest = {
        "mediaType": mediatypes.OCI_MANIFEST,
        "digest": image.digest,
        "size": len(image.manifest),
        "platform": {"os": "linux", "architecture": "amd64"},
    }
    index = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": [manifest]}
    (root / "index.json").write_text(json.dumps(index))
    return root


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_whole_shape_image_validates_without_crashing(name, tmp_path):
    image = layer_shapes.build_shape_image(SHAPES[name], "linux/amd64", base=BASE)
    report = validate_layout(_write_layout(tmp_path, image), check_elf=False)
    found = set(report.rule_ids())
    assert EXPECTED.get(name, set()) <= found, sorted(found)
    # Nothing but the layers' own findings (a zero-byte blob is also empty content for its descriptor).
    extra = found - EXPECTED.get(name, set()) - ({"descriptor.empty-content"} if name == "zero-byte-layer" else set())
    assert not extra, f"{name}: unexpected {sorted(extra)}"


HOSTILE = {
    "whiteout of the root": (_tar(Entry(".wh.")), "layer.whiteout-invalid"),
    "whiteout of the parent": (_tar(Entry("a", "dir"), Entry("a/.wh...")), "layer.whiteout-invalid"),
    "whiteout of the directory itself": (_tar(Entry("a", "dir"), Entry("a/.wh..")), "layer.whiteout-invalid"),
    "reserved aufs name": (_tar(Entry(".wh..wh.plnk", "dir")), "layer.whiteout-invalid"),
    "hardlink to a directory": (
        _tar(Entry("d", "dir"), Entry("d2", "hardlink", link="d")),
        "layer.hardlink-to-directory",
    ),
    "hardlink to itself": (_tar(Entry("self", "hardlink", link="self")), "layer.hardlink-target-absent"),
    "hardlink out of the root": (_tar(Entry("out", "hardlink", link="../../etc/shadow")), "layer.link-escape"),
    "absolute path": (_tar(Entry("/etc/passwd", data=b"x")), "layer.path-absolute"),
    "path climbing out": (_tar(Entry("a/../../escape", data=b"x")), "layer.path-traversal"),
    "write through its own symlink": (
        _tar(Entry("up", "symlink", link="/"), Entry("up/etc", "dir")),
        "layer.through-symlink",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_forbidden_shape_is_flagged(case):
    raw, rule = HOSTILE[case]
    result = check_layer(io.BytesIO(raw), media_type=mediatypes.OCI_LAYER_TAR)
    assert rule in {r for r, _, _ in result.problems}, result.problems


def test_opaque_marker_at_the_root_is_allowed():
    raw = _tar(Entry(layer_shapes.OPAQUE), Entry("new", data=b"x"))
    assert check_layer(io.BytesIO(raw), media_type=mediatypes.OCI_LAYER_TAR).problems == []


def _mutations(raw: bytes):
    for cut in (1, 100, 511, 512, 513, 1024, len(raw) // 2, len(raw) - 1):
        yield f"cut at {cut}", raw[:cut]
    for offset in (0, 124, 148, 156, 257, 345, 512, 600, len(raw) // 3):
        if offset < len(raw):
            flipped = bytearray(raw)
            flipped[offset] ^= 0xFF
            yield f"byte {offset} flipped", bytes(flipped)
    yield "garbage", b"\x1f\x8b" + raw[2:200]


@pytest.mark.parametrize("name", sorted(n for n in SHAPES if not n.startswith("many-layers")))
def test_hostile_variants_never_crash(name):
    for raw in SHAPES[name].uncompressed():
        for label, bad in _mutations(raw):
            for media in (mediatypes.OCI_LAYER_TAR, mediatypes.OCI_LAYER_TAR_GZIP, None):
                try:
                    result = check_layer(io.BytesIO(bad), media_type=media)
                except Exception as exc:  # noqa: BLE001 - the point: report any crash with its input
                    pytest.fail(f"{name}, {label}, {media}: check_layer raised {exc!r}")
                assert all(isinstance(p, tuple) and len(p) == 3 for p in result.problems)


def test_pax_xattrs_survive_the_writer():
    raw = layer_shapes.xattrs().uncompressed()[0]
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        headers = {m.name: m.pax_headers for m in tar}
    assert headers["x/busybox"]["SCHILY.xattr.security.capability"].encode("latin-1") == layer_shapes.CAPABILITY_XATTR
    assert headers["x/user"]["SCHILY.xattr.user.ocimatrix"] == "layer-shapes"
