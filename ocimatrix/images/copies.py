"""What a copy of an image wrote, read back as digests: from a registry, an OCI layout directory, or an
archive (an OCI layout in a tar, or a docker-archive's manifest.json).

``ImageDigests`` is one image as its manifest names it (manifest, config, layers); ``changes`` says
what differs between the original and a copy, entry by entry, so a copier that rewrote something is
named with what it rewrote.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

from ocimatrix.errors import OcimatrixError
from ocimatrix.oci import mediatypes

# Bounded reads: a manifest, an index or a docker-archive's manifest.json is small.
MAX_DOCUMENT = 4 << 20


@dataclass(frozen=True)
class ImageDigests:
    manifest: str
    config: str
    layers: tuple[str, ...]
    media_type: str = ""
    layer_types: tuple[str, ...] = ()  # each layer's media type, in order

    def summary(self) -> str:
        """One line naming every digest; each layer with the tail of its media type (``tar+gzip``)."""
        kinds = [t.rsplit(".", 1)[-1] for t in self.layer_types] or [""] * len(self.layers)
        layers = ", ".join(f"{d} ({k})" if k else d for d, k in zip(self.layers, kinds, strict=False))
        return f"manifest {self.manifest}, config {self.config}, layers [{layers}]"


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def of_manifest(body: bytes) -> ImageDigests:
    """The digests a single-image manifest's bytes name."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise OcimatrixError(f"the copied manifest is no JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("config"), dict):
        raise OcimatrixError(f"the copied document is no image manifest: {body[:200]!r}")
    entries = [layer for layer in document.get("layers") or [] if isinstance(layer, dict)]
    return ImageDigests(
        _sha256(body),
        str(document["config"].get("digest", "")),
        tuple(str(layer.get("digest", "")) for layer in entries),
        str(document.get("mediaType", "")),
        tuple(str(layer.get("mediaType", "")) for layer in entries),
    )


def changes(before: ImageDigests, after: ImageDigests) -> list[str]:
    """What the copy changed, in words (empty: every digest kept)."""
    found = []
    if after.manifest != before.manifest:
        found.append(f"manifest {before.manifest} -> {after.manifest}")
    if after.media_type and before.media_type and after.media_type != before.media_type:
        found.append(f"manifest media type {before.media_type} -> {after.media_type}")
    if after.config != before.config:
        found.append(f"config {before.config} -> {after.config}")
    if len(after.layers) != len(before.layers):
        found.append(f"{len(before.layers)} layers -> {len(after.layers)}")
    for index, (old, new) in enumerate(zip(before.layers, after.layers, strict=False)):
        if old != new:
            found.append(f"layer {index} {old} -> {new}")
    for index, (old, new) in enumerate(zip(before.layer_types, after.layer_types, strict=False)):
        if old != new:
            found.append(f"layer {index} media type {old} -> {new}")
    return found


def _blob_path(digest: str) -> str:
    algorithm, _, hexa = digest.partition(":")
    return f"blobs/{algorithm}/{hexa}"


def _single_manifest(index: dict, where: str) -> str:
    manifests = [m for m in index.get("manifests") or [] if isinstance(m, dict)]
    if len(manifests) != 1:
        raise OcimatrixError(f"{where}: index.json lists {len(manifests)} manifests, expected the one copied")
    entry = manifests[0]
    if entry.get("mediaType") in mediatypes.INDEX_TYPES:
        raise OcimatrixError(f"{where}: index.json points at another index ({entry.get('digest')})")
    return str(entry.get("digest", ""))


def of_layout(directory: Path) -> ImageDigests:
    """The one image of an OCI layout directory."""
    index = json.loads(_read_bounded((directory / "index.json").open("rb"), "index.json"))
    digest = _single_manifest(index, str(directory))
    body = _read_bounded((directory / _blob_path(digest)).open("rb"), digest)
    found = of_manifest(body)
    if found.manifest != digest:
        raise OcimatrixError(f"{directory}: blob {digest} hashes to {found.manifest}")
    return found


def _read_bounded(stream, what: str) -> bytes:
    with stream:
        data = stream.read(MAX_DOCUMENT + 1)
    if len(data) > MAX_DOCUMENT:
        raise OcimatrixError(f"{what}: larger than {MAX_DOCUMENT >> 20} MiB")
    return data


def _member(tar: tarfile.TarFile, name: str) -> bytes | None:
    for candidate in (name, f"./{name}"):
        try:
            member = tar.getmember(candidate)
        except KeyError:
            continue
        stream = tar.extractfile(member)
        if stream is None:
            return None
        return _read_bounded(stream, name)
    return None


@dataclass(frozen=True)
class ArchiveView:
    """An archive read back: an OCI layout's image (``digests``), or a docker-archive's own account."""

    kind: str  # "oci-layout" or "docker-archive"
    digests: ImageDigests | None  # the OCI layout's image; None for a docker-archive
    docker_manifest: list | None = None  # a docker-archive's manifest.json


def of_archive(path: Path) -> ArchiveView:
    """An archive as it came out: an OCI layout in a tar (index.json), else a docker-archive (manifest.json)."""
    with tarfile.open(path) as tar:
        index = _member(tar, "index.json")
        if index is not None and _member(tar, "oci-layout") is not None:
            digest = _single_manifest(json.loads(index), str(path))
            body = _member(tar, _blob_path(digest))
            if body is None:
                raise OcimatrixError(f"{path}: index.json names {digest}, which the archive doesn't hold")
            return ArchiveView("oci-layout", of_manifest(body))
        manifest = _member(tar, "manifest.json")
        if manifest is None:
            raise OcimatrixError(f"{path}: neither an OCI layout (index.json) nor a docker-archive (manifest.json)")
        return ArchiveView("docker-archive", None, json.loads(manifest))
