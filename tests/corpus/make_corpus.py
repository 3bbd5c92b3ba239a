"""The validation corpus: deliberately broken images and documents, each naming the rule it breaks.

Every case builds its input deterministically into a directory and returns the SOURCE to validate
plus keyword arguments for ``validate_source``. ``expect`` is the rule id the validator must
report (None: the case is valid and must produce no error). tests/test_validate_corpus.py runs
them all; vendors can write the corpus out and point their own validator at it:

    python tests/corpus/make_corpus.py OUTDIR     # writes OUTDIR/<case>/ and OUTDIR/cases.json
"""

from __future__ import annotations

import base64
import io
import json
import os
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from builders import (  # type: ignore[no-redef]
        CREATED,
        LayoutWriter,
        build_layout,
        build_manifest,
        canonical,
        compress,
        docker_save_archive,
        fake_elf,
        rootfs_layer,
        tar_bytes,
        tar_of_tree,
    )
else:
    from .builders import (
        CREATED,
        LayoutWriter,
        build_layout,
        build_manifest,
        canonical,
        compress,
        docker_save_archive,
        fake_elf,
        rootfs_layer,
        tar_bytes,
        tar_of_tree,
    )

from ocimatrix.oci import mediatypes as mt

Build = Callable[[Path], tuple[str, dict]]


@dataclass(frozen=True)
class Case:
    name: str
    expect: str | None
    build: Build
    note: str = ""


CASES: list[Case] = []


def case(name: str, expect: str | None, note: str = ""):
    def register(build: Build) -> Build:
        CASES.append(Case(name, expect, build, note))
        return build

    return register


def _layout(d: Path, **kwargs) -> tuple[str, dict]:
    build_layout(d / "layout", **kwargs)
    return str(d / "layout"), {}


def _doc(d: Path, obj, as_kind: str | None = None, raw: bytes | None = None) -> tuple[str, dict]:
    path = d / "doc.json"
    path.write_bytes(raw if raw is not None else canonical(obj))
    return str(path), ({"as_kind": as_kind} if as_kind else {})


def _set(path: list, value):
    """An edit that sets a nested key (list of keys) in a dict and returns nothing."""

    def edit(obj, *_):
        target = obj
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _drop(key: str):
    def edit(obj, *_):
        obj.pop(key, None)

    return edit


A64 = "a" * 64
EMPTY_DESC = {"mediaType": mt.OCI_EMPTY, "digest": mt.EMPTY_DIGEST, "size": 2}

# --- valid images ---------------------------------------------------------------------------------


@case("valid-uncompressed", None)
def _(d):
    return _layout(d)


@case("valid-gzip", None)
def _(d):
    return _layout(d, compression="gzip")


@case("valid-zstd", None)
def _(d):
    return _layout(d, compression="zstd")


@case("valid-arm64-variant", None)
def _(d):
    return _layout(d, arch="arm64", variant="v8")


@case("valid-multi-platform-index", None)
def _(d):
    root = d / "layout"
    writer = LayoutWriter(root)
    entries = [build_manifest(writer, arch=a, compression="gzip")[0] for a in ("amd64", "arm64", "s390x", "ppc64le")]
    writer.finish({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": entries})
    return str(root), {}


@case("valid-nested-index", None)
def _(d):
    root = d / "layout"
    writer = LayoutWriter(root)
    inner = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [build_manifest(writer)[0]]}
    writer.finish(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_INDEX,
            "manifests": [writer.descriptor(mt.OCI_INDEX, canonical(inner))],
        }
    )
    return str(root), {}


@case("valid-docker-media-types", None)
def _(d):
    return _layout(d, docker=True, compression="gzip")


@case("valid-artifact-empty-config", None)
def _(d):
    def artifact(manifest, writer):
        writer.blob(mt.EMPTY_JSON)
        manifest["config"] = dict(EMPTY_DESC)
        manifest["artifactType"] = "application/vnd.example.sbom+json"
        manifest["layers"] = [writer.descriptor("application/vnd.example.sbom+json", b'{"sbom":true}')]

    return _layout(d, manifest_edit=artifact)


@case("valid-platform-filter", None)
def _(d):
    src, _ = _layout(d, arch="arm64")
    return src, {"platform": "linux/arm64"}


@case("valid-docker-save", None)
def _(d):
    return str(docker_save_archive(d / "save.tar")), {}


@case("valid-oci-archive-gzip", None)
def _(d):
    build_layout(d / "layout")
    tar_path = tar_of_tree(d / "layout", d / "image.tar")
    (d / "image.tar.gz").write_bytes(compress(tar_path.read_bytes(), "gzip"))
    return str(d / "image.tar.gz"), {}


@case("valid-oci-archive-with-docker-manifest", None, "Docker 25+ and podman write both views over shared blobs")
def _(d):
    built = build_layout(d / "layout", compression="none")
    blob = lambda desc: "blobs/sha256/" + desc["digest"].split(":")[1]  # noqa: E731
    save = [
        {"Config": blob(built.manifest["config"]), "RepoTags": ["x:1"], "Layers": [blob(x) for x in built.layer_descs]}
    ]
    (d / "layout" / "manifest.json").write_bytes(canonical(save))
    return str(tar_of_tree(d / "layout", d / "image.tar")), {}


@case("valid-multilib-i386-in-amd64", None, "amd64 images may carry 32-bit x86 binaries")
def _(d):
    layer = tar_bytes([("bin/app", "f", fake_elf("amd64")), ("lib32/ld.so", "f", fake_elf("386"))])
    return _layout(d, layers=[layer])


# --- the layout -----------------------------------------------------------------------------------


@case("layout-no-oci-layout-file", "layout.oci-layout-missing")
def _(d):
    src, opts = _layout(d)
    os.unlink(Path(src) / "oci-layout")
    return src, opts


@case("layout-wrong-version", "layout.version")
def _(d):
    return _layout(d, layout={"imageLayoutVersion": "2.0.0"})


@case("layout-no-index", "layout.index-missing")
def _(d):
    src, opts = _layout(d)
    os.unlink(Path(src) / "index.json")
    return src, opts


@case("layout-no-blobs-dir", "layout.blobs-missing")
def _(d):
    root = d / "layout"
    root.mkdir()
    (root / "oci-layout").write_bytes(canonical({"imageLayoutVersion": "1.0.0"}))
    (root / "index.json").write_bytes(canonical({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []}))
    return str(root), {}


@case("layout-stray-file-name", "layout.blob-name")
def _(d):
    src, opts = _layout(d)
    (Path(src) / "blobs" / "sha256" / "not-a-digest").write_bytes(b"x")
    return src, opts


@case("layout-unreferenced-blob-wrong-content", "layout.blob-digest-mismatch")
def _(d):
    src, opts = _layout(d)
    (Path(src) / "blobs" / "sha256" / A64).write_bytes(b"this is not what the name says")
    return src, opts


@case("layout-blob-symlink-outside", "layout.blob-not-regular", "a blob symlinked to a host file is never read")
def _(d):
    built = build_layout(d / "layout")
    path = built.writer.blob_path(built.layer_descs[0]["digest"])
    path.unlink()
    outside = d / "outside-secret"
    outside.write_bytes(b"host file")
    path.symlink_to(outside)
    return str(d / "layout"), {}


@case("layout-blobs-dir-symlinked-outside", "blob.unreadable")
def _(d):
    build_layout(d / "elsewhere")
    root = d / "layout"
    root.mkdir()
    for name in ("index.json", "oci-layout"):
        (root / name).write_bytes((d / "elsewhere" / name).read_bytes())
    (root / "blobs").symlink_to(d / "elsewhere" / "blobs")
    return str(root), {}


# --- blobs and descriptors ------------------------------------------------------------------------


# image-layout.md#blobs: a layout MAY be missing referenced blobs (an external blob store SHOULD supply them).
@case("manifest-blob-missing", "layout.blob-absent")
def _(d):
    built = build_layout(d / "layout")
    built.writer.blob_path(built.manifest_desc["digest"]).unlink()
    return str(d / "layout"), {}


@case("layer-blob-missing", "layout.blob-absent")
def _(d):
    built = build_layout(d / "layout")
    built.writer.blob_path(built.layer_descs[0]["digest"]).unlink()
    return str(d / "layout"), {}


@case("layer-bytes-tampered", "descriptor.digest-mismatch")
def _(d):
    built = build_layout(d / "layout")
    path = built.writer.blob_path(built.layer_descs[0]["digest"])
    data = bytearray(path.read_bytes())
    data[600] ^= 0xFF  # inside bin/app's data: same size, other digest
    path.write_bytes(bytes(data))
    return str(d / "layout"), {}


@case("manifest-size-wrong", "descriptor.size-mismatch")
def _(d):
    return _layout(d, index_edit=lambda index, _w: index["manifests"][0].update(size=index["manifests"][0]["size"] + 7))


@case("layer-size-understated", "descriptor.size-mismatch", "read stops one byte past the declared size")
def _(d):
    def shrink(manifest, _w):
        manifest["layers"][0]["size"] -= 100

    return _layout(d, manifest_edit=shrink)


@case("digest-uppercase-hex", "digest.format")
def _(d):
    def upper(index, _w):
        index["manifests"][0]["digest"] = index["manifests"][0]["digest"].upper().replace("SHA256", "sha256")

    return _layout(d, index_edit=upper)


@case("digest-sha256-too-short", "digest.format")
def _(d):
    return _layout(d, index_edit=_set(["manifests", 0, "digest"], "sha256:abc123"))


@case("digest-sha512-wrong-length", "digest.format")
def _(d):
    return _doc(d, {"mediaType": mt.OCI_MANIFEST, "digest": "sha512:" + "a" * 64, "size": 1}, "descriptor")


@case("descriptor-negative-size", "descriptor.size")
def _(d):
    return _layout(d, index_edit=_set(["manifests", 0, "size"], -1))


@case("descriptor-media-type-not-rfc6838", "descriptor.media-type-format")
def _(d):
    return _layout(d, manifest_edit=_set(["layers", 0, "mediaType"], "not a media type"))


@case("descriptor-media-type-unknown", "descriptor.media-type-unknown")
def _(d):
    def add(index, writer):
        index["manifests"].append(writer.descriptor("application/x-unknown-thing", b"opaque"))

    return _layout(d, index_edit=add)


@case("descriptor-type-differs-from-content", "descriptor.media-type-mismatch")
def _(d):
    def nested(index, writer):
        inner = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []}
        desc = writer.descriptor(mt.OCI_MANIFEST, canonical(inner))
        index["manifests"].append(desc)

    return _layout(d, index_edit=nested)


@case("descriptor-embedded-data-mismatch", "descriptor.data-mismatch")
def _(d):
    doc = {"mediaType": mt.OCI_EMPTY, "digest": mt.EMPTY_DIGEST, "size": 2, "data": base64.b64encode(b"[]").decode()}
    return _doc(d, doc, "descriptor")


@case("descriptor-embedded-data-not-base64", "descriptor.data-encoding")
def _(d):
    return _doc(d, {"mediaType": mt.OCI_EMPTY, "digest": mt.EMPTY_DIGEST, "size": 2, "data": "e30=!"}, "descriptor")


@case("descriptor-empty-wrong-size", "descriptor.empty-content")
def _(d):
    return _doc(d, {"mediaType": mt.OCI_EMPTY, "digest": mt.EMPTY_DIGEST, "size": 3}, "descriptor")


@case("descriptor-url-ftp", "descriptor.url-scheme")
def _(d):
    return _layout(d, manifest_edit=_set(["layers", 0, "urls"], ["ftp://example.com/layer"]))


@case("descriptor-nondistributable-deprecated", "descriptor.media-type-deprecated")
def _(d):
    return _layout(d, layer_media_type=mt.OCI_LAYER_NONDIST_TAR)


@case("index-entry-artifact-type-differs", "descriptor.artifact-type-mismatch")
def _(d):
    return _layout(d, index_edit=_set(["manifests", 0, "artifactType"], "application/vnd.example.other"))


# --- JSON -----------------------------------------------------------------------------------------


@case("manifest-not-json", "json.invalid")
def _(d):
    return _layout(d, manifest_edit=lambda m, w: b'{"schemaVersion": 2, "config": ')


@case("manifest-duplicate-key", "json.duplicate-key")
def _(d):
    def dup(manifest, writer):
        body = canonical(manifest)
        return body[:-1] + b',"schemaVersion":2}'

    return _layout(d, manifest_edit=dup)


@case("document-not-utf8", "json.invalid")
def _(d):
    return _doc(d, None, "manifest", raw=b'{"schemaVersion": 2, "x": "\xff\xfe"}')


# --- manifest and index schema rules --------------------------------------------------------------


@case("manifest-without-layers", "manifest.schema")
def _(d):
    return _layout(d, manifest_edit=_drop("layers"))


@case("manifest-schema-version-3", "manifest.schema-version")
def _(d):
    return _layout(d, manifest_edit=_set(["schemaVersion"], 3))


@case("manifest-media-type-field-wrong", "manifest.media-type")
def _(d):
    return _layout(d, manifest_edit=_set(["mediaType"], "application/vnd.oci.image.manifest.v2+json"))


@case("manifest-no-layers", "manifest.layers-empty")
def _(d):
    return _layout(d, layers=[])


@case("manifest-layer-octet-stream", "manifest.layer-media-type")
def _(d):
    return _layout(d, layer_media_type="application/octet-stream")


@case("manifest-artifact-type-missing", "manifest.artifact-type-required")
def _(d):
    manifest = {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": EMPTY_DESC, "layers": [EMPTY_DESC]}
    return _doc(d, manifest, "manifest")


@case("manifest-subject-not-a-manifest", "manifest.subject-media-type")
def _(d):
    subject = {"mediaType": mt.OCI_LAYER_TAR, "digest": "sha256:" + A64, "size": 10}
    manifest = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "artifactType": "application/vnd.example.sig",
        "config": EMPTY_DESC,
        "layers": [EMPTY_DESC],
        "subject": subject,
    }
    return _doc(d, manifest, "manifest")


@case("docker-manifest-with-oci-layer", "docker.layer-media-type")
def _(d):
    return _layout(d, docker=True, layer_media_type=mt.OCI_LAYER_TAR)


@case("docker-schema1-in-index", "manifest.schema1")
def _(d):
    def add(index, writer):
        index["manifests"].append(writer.descriptor(mt.DOCKER_MANIFEST_V1_SIGNED, b'{"schemaVersion":1}'))

    return _layout(d, index_edit=add)


@case("index-without-manifests", "index.schema")
def _(d):
    return _doc(d, {"schemaVersion": 2, "mediaType": mt.OCI_INDEX}, "index")


@case("index-nested-too-deep", "index.nesting-too-deep")
def _(d):
    root = d / "layout"
    writer = LayoutWriter(root)
    desc = build_manifest(writer)[0]
    for _ in range(10):
        inner = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [desc]}
        desc = writer.descriptor(mt.OCI_INDEX, canonical(inner))
    writer.finish({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [desc]})
    return str(root), {}


# --- platforms ------------------------------------------------------------------------------------


@case("index-platform-differs-from-config", "index.platform-mismatch")
def _(d):
    return _layout(d, index_edit=_set(["manifests", 0, "platform", "architecture"], "arm64"))


@case("platform-architecture-x86_64", "platform.unknown-architecture")
def _(d):
    return _layout(d, index_edit=_set(["manifests", 0, "platform", "architecture"], "x86_64"))


@case("platform-os-unknown", "platform.unknown-os")
def _(d):
    return _layout(d, index_edit=_set(["manifests", 0, "platform", "os"], "beos"))


@case("platform-variant-not-in-table", "platform.unknown-variant")
def _(d):
    return _layout(d, arch="arm64", variant="v7")


@case("platform-requested-absent", "index.platform-not-found")
def _(d):
    src, _ = _layout(d)
    return src, {"platform": "linux/s390x"}


# --- config ---------------------------------------------------------------------------------------


@case("config-without-architecture", "config.schema")
def _(d):
    return _layout(d, config_edit=_drop("architecture"))


@case("config-rootfs-type-wrong", "config.rootfs-type")
def _(d):
    return _layout(d, config_edit=_set(["rootfs", "type"], "layer"))


@case("config-created-not-rfc3339", "datetime.format")
def _(d):
    return _layout(d, config_edit=_set(["created"], "2024-01-01 12:00"))


@case("config-diff-ids-count", "config.diff-ids-count")
def _(d):
    return _layout(d, config_edit=lambda c: c["rootfs"]["diff_ids"].append("sha256:" + A64) or None)


@case("config-diff-id-wrong", "config.diff-id-mismatch")
def _(d):
    return _layout(d, compression="gzip", config_edit=_set(["rootfs", "diff_ids", 0], "sha256:" + A64))


@case("config-history-count", "config.history-count")
def _(d):
    return _layout(d, config_edit=lambda c: c["history"].append({"created": CREATED, "created_by": "x"}) or None)


# --- layers ---------------------------------------------------------------------------------------


@case("layer-gzip-type-plain-bytes", "layer.compression-mismatch")
def _(d):
    return _layout(d, layer_media_type=mt.OCI_LAYER_TAR_GZIP)


@case("layer-gzip-type-zstd-bytes", "layer.compression-mismatch")
def _(d):
    return _layout(d, compression="zstd", layer_media_type=mt.OCI_LAYER_TAR_GZIP)


@case("layer-docker-gzip-type-plain-bytes", "layer.compression-mismatch")
def _(d):
    return _layout(d, docker=True)


@case("layer-bzip2", "layer.compression-unsupported")
def _(d):
    import bz2

    return _layout(d, layers=[bz2.compress(rootfs_layer())], layer_media_type=mt.OCI_LAYER_TAR_GZIP)


@case("layer-gzip-truncated", "layer.compression-corrupt")
def _(d):
    cut = compress(rootfs_layer(), "gzip")[:-20]
    return _layout(d, layers=[cut], layer_media_type=mt.OCI_LAYER_TAR_GZIP)


@case("layer-zstd-truncated", "layer.compression-corrupt")
def _(d):
    cut = compress(rootfs_layer(), "zstd")[:-9]
    return _layout(d, layers=[cut], layer_media_type=mt.OCI_LAYER_TAR_ZSTD)


@case("layer-tar-truncated", "layer.tar-malformed")
def _(d):
    return _layout(d, layers=[rootfs_layer()[:700]])


@case("layer-tar-no-end-marker", "layer.tar-malformed")
def _(d):
    return _layout(d, layers=[tar_bytes([("a", "f", b"abc")], end_marker=False)])


@case("layer-not-a-tar", "layer.tar-malformed")
def _(d):
    return _layout(d, layers=[b"this is plainly not a tar archive" * 40])


@case("layer-absolute-path", "layer.path-absolute")
def _(d):
    return _layout(d, layers=[tar_bytes([("/etc/passwd", "f", b"root::0:0::/:/bin/sh\n")])])


@case("layer-dotdot-path", "layer.path-traversal")
def _(d):
    return _layout(d, layers=[tar_bytes([("etc/../../host-file", "f", b"x")])])


@case("layer-hardlink-out-of-root", "layer.link-escape")
def _(d):
    return _layout(d, layers=[tar_bytes([("shadow", "h", "../../etc/shadow")])])


@case("layer-symlink-climbs-out", "layer.symlink-escape")
def _(d):
    return _layout(d, layers=[tar_bytes([("usr", "d", None), ("usr/host", "s", "../../../../etc")])])


@case("layer-write-through-symlink", "layer.through-symlink")
def _(d):
    return _layout(d, layers=[tar_bytes([("cfg", "s", "/etc"), ("cfg/cron.d/evil", "f", b"* * * * * root sh")])])


@case("layer-whiteout-same-layer", "layer.whiteout-same-layer")
def _(d):
    return _layout(d, layers=[tar_bytes([("a", "f", b"1"), (".wh.a", "f", b"")])])


@case("layer-duplicate-entry", "layer.duplicate-entry")
def _(d):
    return _layout(d, layers=[tar_bytes([("a", "f", b"1"), ("a", "f", b"2")])])


@case("layer-arm64-binaries-in-amd64-image", "layer.elf-arch-mismatch")
def _(d):
    return _layout(d, arch="amd64", layers=[rootfs_layer("arm64")])


@case("layer-amd64-binaries-in-arm-image", "layer.elf-arch-mismatch")
def _(d):
    return _layout(d, arch="arm", variant="v7", layers=[rootfs_layer("amd64")])


@case("layer-ppc64-big-endian-in-ppc64le-image", "layer.elf-arch-mismatch", "same e_machine, other byte order")
def _(d):
    return _layout(d, arch="ppc64le", layers=[rootfs_layer("ppc64")])


# --- annotations ----------------------------------------------------------------------------------


@case("annotation-reserved-key", "annotation.reserved-key")
def _(d):
    return _layout(d, manifest_edit=_set(["annotations"], {"org.opencontainers.image.colour": "blue"}))


@case("annotation-key-not-reverse-domain", "annotation.key-format")
def _(d):
    return _layout(d, manifest_edit=_set(["annotations"], {"maintainer": "someone"}))


@case("annotation-created-not-rfc3339", "annotation.value-format")
def _(d):
    return _layout(d, manifest_edit=_set(["annotations"], {"org.opencontainers.image.created": "yesterday"}))


@case("annotation-ref-name-invalid", "annotation.value-format")
def _(d):
    return _layout(
        d, index_edit=_set(["manifests", 0, "annotations"], {"org.opencontainers.image.ref.name": "bad tag!"})
    )


@case("annotation-value-not-string", "annotation.schema")
def _(d):
    return _layout(d, manifest_edit=_set(["annotations"], {"com.example.count": 3}))


# --- archives -------------------------------------------------------------------------------------


@case("archive-truncated", "archive.malformed")
def _(d):
    build_layout(d / "layout")
    data = tar_of_tree(d / "layout", d / "full.tar").read_bytes()
    (d / "cut.tar").write_bytes(data[: len(data) // 2 + 100])
    return str(d / "cut.tar"), {}


@case("archive-dotdot-member", "archive.unsafe-path")
def _(d):
    build_layout(d / "layout")
    evil = tarfile.TarInfo("../../tmp/evil")
    return str(tar_of_tree(d / "layout", d / "image.tar", extra=[evil])), {}


@case("archive-blob-symlink-to-host", "archive.link-escape")
def _(d):
    build_layout(d / "layout")
    link = tarfile.TarInfo("blobs/sha256/" + A64)
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    return str(tar_of_tree(d / "layout", d / "image.tar", extra=[link])), {}


@case("archive-not-an-image", "archive.unknown-format")
def _(d):
    (d / "random.tar").write_bytes(tar_bytes([("hello.txt", "f", b"hello")]))
    return str(d / "random.tar"), {}


@case("docker-save-config-name-wrong", "docker-archive.config-id")
def _(d):
    return str(docker_save_archive(d / "save.tar", config_name="b" * 64 + ".json")), {}


@case("docker-save-manifest-not-a-list", "docker-archive.schema")
def _(d):
    return str(docker_save_archive(d / "save.tar", manifest_edit=lambda m: m[0])), {}


@case("docker-save-diff-id-wrong", "config.diff-id-mismatch")
def _(d):
    return str(docker_save_archive(d / "save.tar", config_edit=_set(["rootfs", "diff_ids", 0], "sha256:" + A64))), {}


@case("docker-save-layer-missing", "blob.missing")
def _(d):
    return str(
        docker_save_archive(d / "save.tar", manifest_edit=lambda m: m[0]["Layers"].append("nope/layer.tar") or None)
    ), {}


# --- lone documents -------------------------------------------------------------------------------


@case("document-oci-layout-version", "layout.version")
def _(d):
    return _doc(d, {"imageLayoutVersion": "1.1.0"}, "layout")


@case("document-config-guessed", "config.schema", "kind guessed from the shape: rootfs present")
def _(d):
    return _doc(d, {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}})


# --- more schema and SHOULD rules -----------------------------------------------------------------


@case("descriptor-without-size", "descriptor.schema")
def _(d):
    return _doc(d, {"mediaType": mt.OCI_MANIFEST, "digest": "sha256:" + A64}, "descriptor")


@case("oci-layout-not-an-object", "layout.schema")
def _(d):
    return _layout(d, layout=b'["1.0.0"]')


@case("platform-without-os", "platform.schema")
def _(d):
    def drop_os(index, _w):
        del index["manifests"][0]["platform"]["os"]

    return _layout(d, index_edit=drop_os)


@case("platform-features-reserved", "platform.features-reserved")
def _(d):
    return _layout(d, index_edit=_set(["manifests", 0, "platform", "features"], ["sse4"]))


@case("index-entry-without-platform", "index.platform-missing")
def _(d):
    def drop_platform(index, _w):
        del index["manifests"][0]["platform"]

    return _layout(d, index_edit=drop_platform)


@case("index-schema-version-1", "index.schema-version")
def _(d):
    return _layout(d, index_edit=_set(["schemaVersion"], 1))


@case("index-media-type-field-wrong", "index.media-type")
def _(d):
    return _layout(d, index_edit=_set(["mediaType"], mt.OCI_MANIFEST))


@case("index-without-media-type", "index.media-type-missing")
def _(d):
    return _layout(d, index_edit=_drop("mediaType"))


@case("manifest-without-media-type", "manifest.media-type-missing")
def _(d):
    return _layout(d, manifest_edit=_drop("mediaType"))


@case("index-entry-is-a-layer", "index.manifest-media-type")
def _(d):
    def add(index, writer):
        index["manifests"].append(writer.descriptor(mt.OCI_LAYER_TAR, rootfs_layer()))

    return _layout(d, index_edit=add)


@case("digest-algorithm-unregistered", "descriptor.digest-unsupported")
def _(d):
    def add(index, writer):
        index["manifests"].append({"mediaType": "application/vnd.example.thing", "digest": "blake3:" + A64, "size": 1})

    return _layout(d, index_edit=add)


@case("manifest-config-is-a-layer", "manifest.config-media-type")
def _(d):
    return _layout(d, manifest_edit=_set(["config", "mediaType"], mt.OCI_LAYER_TAR))


@case("docker-manifest-with-oci-config", "docker.config-media-type")
def _(d):
    return _layout(d, docker=True, compression="gzip", manifest_edit=_set(["config", "mediaType"], mt.OCI_CONFIG))


@case("docker-manifest-without-layers", "docker-manifest.schema")
def _(d):
    return _layout(d, docker=True, compression="gzip", manifest_edit=_drop("layers"))


@case("docker-manifest-list-entry-without-platform", "docker-manifest-list.schema")
def _(d):
    entry = {"mediaType": mt.DOCKER_MANIFEST, "digest": "sha256:" + A64, "size": 1}
    return _doc(d, {"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST_LIST, "manifests": [entry]}, "index")


@case("annotation-other-oci-namespace", "annotation.reserved-namespace")
def _(d):
    return _layout(d, manifest_edit=_set(["annotations"], {"org.opencontainers.artifact.created": CREATED}))


@case("archive-member-twice", "archive.duplicate-member")
def _(d):
    build_layout(d / "layout")
    again = tarfile.TarInfo("oci-layout")
    data = canonical({"imageLayoutVersion": "1.0.0"})
    again.size = len(data)
    archive = tar_of_tree(d / "layout", d / "image.tar")
    with tarfile.open(archive, "a") as tar:
        tar.addfile(again, io.BytesIO(data))
    return str(archive), {}


# --- attestation manifests, as BuildKit stores its provenance in an index ------------------------------
# The statement and the attestation's config are the shapes buildx 0.13.1 pushed in a run here (provenance
# mode=min), trimmed; the subject is the handmade image's manifest.

ATTESTATION = {"vnd.docker.reference.type": "attestation-manifest"}


def _statement(subject: str, predicate_type: str = "https://slsa.dev/provenance/v0.2") -> dict:
    return {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": predicate_type,
        "subject": [{"name": "pkg:docker/corpus@latest?platform=linux%2Famd64", "digest": {"sha256": subject[7:]}}],
        "predicate": {"buildType": "https://mobyproject.org/buildkit@v1", "builder": {"id": ""}},
    }


def _attested(
    d: Path,
    *,
    subject: str | None = None,
    annotations: dict | None = None,
    platform: dict | None = None,
    layer_type: str = "application/vnd.in-toto+json",
    statement: dict | None = None,
    predicate_annotation: str = "https://slsa.dev/provenance/v0.2",
) -> tuple[str, dict]:
    """An index of one image and its attestation manifest; each argument breaks one part of it."""
    root = d / "layout"
    writer = LayoutWriter(root)
    image = build_manifest(writer, compression="gzip")[0]
    about = image["digest"] if subject is None else subject
    body = canonical(statement if statement is not None else _statement(image["digest"]))
    layer = writer.descriptor(layer_type, body, annotations={"in-toto.io/predicate-type": predicate_annotation})
    config = {
        "architecture": "unknown",
        "os": "unknown",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]},
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": writer.descriptor(mt.OCI_CONFIG, canonical(config)),
        "layers": [layer],
    }
    entry = writer.descriptor(mt.OCI_MANIFEST, canonical(manifest))
    entry["annotations"] = (
        annotations if annotations is not None else {**ATTESTATION, "vnd.docker.reference.digest": about}
    )
    entry["platform"] = platform if platform is not None else {"architecture": "unknown", "os": "unknown"}
    writer.finish({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [image, entry]})
    return str(root), {}


@case("valid-buildkit-provenance", None, "an image and its provenance attestation, as BuildKit pushes them")
def _(d):
    return _attested(d)


@case("attestation-subject-not-in-index", "attestation.subject-missing")
def _(d):
    return _attested(d, subject="sha256:" + "a" * 64)


@case("attestation-without-subject", "attestation.subject-annotation")
def _(d):
    return _attested(d, annotations=dict(ATTESTATION))


@case("attestation-with-a-platform", "attestation.platform", "a runner choosing by platform would take it")
def _(d):
    return _attested(d, platform={"architecture": "amd64", "os": "linux"})


@case("attestation-layer-not-in-toto", "attestation.layer-media-type")
def _(d):
    return _attested(d, layer_type="application/json")


@case("attestation-statement-about-another-image", "attestation.statement")
def _(d):
    return _attested(d, statement=_statement("sha256:" + "b" * 64))


@case("attestation-predicate-type-disagrees", "attestation.predicate-type")
def _(d):
    return _attested(d, predicate_annotation="https://spdx.dev/Document")


@case(
    "archive-attestation-blob-absent",
    "layout.blob-absent",
    "ctr export of a pulled BuildKit index: the attestation manifest listed, its blob left out (MAY)",
)
def _(d):
    root, _ = _attested(d)
    index = json.loads((Path(root) / "index.json").read_bytes())
    attestation = next(e for e in index["manifests"] if e.get("annotations", {}).get("vnd.docker.reference.type"))
    LayoutWriter(Path(root)).blob_path(attestation["digest"]).unlink()
    return str(tar_of_tree(Path(root), d / "export.tar")), {}


def write_corpus(outdir: Path) -> list[dict]:
    """Build every case under ``outdir/<name>/`` and write ``outdir/cases.json``."""
    outdir.mkdir(parents=True, exist_ok=True)
    listing = []
    for c in CASES:
        case_dir = outdir / c.name
        case_dir.mkdir()
        source, options = c.build(case_dir)
        listing.append(
            {
                "name": c.name,
                "source": os.path.relpath(source, outdir),
                "options": options,
                "expect": c.expect,
                "note": c.note,
            }
        )
    (outdir / "cases.json").write_text(json.dumps(listing, indent=2) + "\n")
    return listing


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_corpus.py OUTDIR  (OUTDIR must not exist)")
    target = Path(sys.argv[1])
    if target.exists():
        sys.exit(f"{target} exists; pick a new directory")
    cases = write_corpus(target)
    print(f"wrote {len(cases)} cases to {target}")
