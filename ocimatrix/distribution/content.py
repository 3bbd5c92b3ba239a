"""The content the conformance checks push: small, unique per call, and valid per the image-spec.

Blobs are text where possible so the curl repro lines carry them inline. Images are real OCI
images (a config listing the layer's diff_id, one gzip'd tar layer holding one file); artifacts
follow the image-spec v1.1 artifact guidance (``artifactType``, the empty config, ``subject``).
"""

from __future__ import annotations

import gzip
import io
import json
import re
import secrets
import tarfile
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ocimatrix.oci.digest import digest_bytes
from ocimatrix.oci.mediatypes import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    EMPTY_JSON,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER_TAR_GZIP,
    OCI_MANIFEST,
)

MANIFEST_ACCEPT = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST))
OCTET_STREAM = "application/octet-stream"
TEST_ARTIFACT_TYPE = "application/vnd.ocimatrix.test.v1"
_TAG_UNSAFE = re.compile(r"[^a-zA-Z0-9._-]")


@dataclass(frozen=True)
class Blob:
    data: bytes
    media_type: str = OCTET_STREAM
    algorithm: str = "sha256"

    @cached_property
    def digest(self) -> str:
        return str(digest_bytes(self.data, self.algorithm))

    @property
    def size(self) -> int:
        return len(self.data)

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size, **extra}


@dataclass(frozen=True)
class Manifest:
    """A manifest (or index) as pushed: its exact bytes, its media type and the blobs it needs."""

    body: bytes
    media_type: str
    blobs: tuple[Blob, ...] = ()
    document: dict[str, Any] = field(default_factory=dict, compare=False)
    algorithm: str = "sha256"

    @cached_property
    def digest(self) -> str:
        return str(digest_bytes(self.body, self.algorithm))

    @property
    def size(self) -> int:
        return len(self.body)

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size, **extra}


def unique(label: str) -> str:
    return f"{label}-{secrets.token_hex(8)}"


def text_blob(label: str = "blob", size: int = 0) -> Blob:
    """Unique printable bytes; ``size`` pads them to at least that many bytes."""
    text = f"ocimatrix distribution-spec probe {unique(label)}\n"
    if size > len(text):
        text += ("0123456789abcdef" * (size // 16 + 1))[: size - len(text)]
    return Blob(text.encode())


def _tar_gz_layer(label: str) -> tuple[Blob, str]:
    """A gzip'd tar with one file; returns the layer blob and its diff_id (digest of the tar)."""
    payload = f"{unique(label)}\n".encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("ocimatrix-probe.txt")
        info.size, info.mode, info.mtime = len(payload), 0o644, 0
        tar.addfile(info, io.BytesIO(payload))
    tar_bytes = raw.getvalue()
    return Blob(gzip.compress(tar_bytes, mtime=0), OCI_LAYER_TAR_GZIP), str(digest_bytes(tar_bytes))


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def make_image(label: str = "image", annotations: dict[str, str] | None = None) -> Manifest:
    layer, diff_id = _tar_gz_layer(label)
    config = Blob(
        _json(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Labels": {"org.ocimatrix.probe": unique(label)}},
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            }
        ),
        OCI_CONFIG,
    )
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.descriptor()],
    }
    if annotations:
        document["annotations"] = annotations
    return Manifest(_json(document), OCI_MANIFEST, (config, layer), document)


EMPTY_BLOB = Blob(EMPTY_JSON, OCI_EMPTY)


def make_artifact(
    subject: dict[str, Any] | None,
    artifact_type: str = TEST_ARTIFACT_TYPE,
    annotations: dict[str, str] | None = None,
) -> Manifest:
    """An image-spec v1.1 artifact: empty config, one text layer, optional ``subject``."""
    payload = Blob(text_blob("artifact").data, "text/plain")
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": EMPTY_BLOB.descriptor(),
        "layers": [payload.descriptor()],
    }
    if subject is not None:
        document["subject"] = subject
    if annotations:
        document["annotations"] = annotations
    return Manifest(_json(document), OCI_MANIFEST, (EMPTY_BLOB, payload), document)


def make_index(manifests: list[dict[str, Any]], annotations: dict[str, str] | None = None) -> Manifest:
    document: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    if annotations:
        document["annotations"] = annotations
    return Manifest(_json(document), OCI_INDEX, (), document)


def referrer_descriptor(artifact: Manifest) -> dict[str, Any]:
    """The descriptor of ``artifact`` as a referrers list holds it (artifactType, annotations copied)."""
    extra: dict[str, Any] = {}
    artifact_type = artifact.document.get("artifactType") or artifact.document.get("config", {}).get("mediaType")
    if artifact_type:
        extra["artifactType"] = artifact_type
    if artifact.document.get("annotations"):
        extra["annotations"] = artifact.document["annotations"]
    return artifact.descriptor(**extra)


def referrers_tag(digest: str) -> str:
    """The referrers tag schema: ``<alg[:32]>-<encoded[:64]>``, characters a tag can't hold as '-'."""
    algorithm, _, encoded = digest.partition(":")
    return _TAG_UNSAFE.sub("-", algorithm[:32]) + "-" + _TAG_UNSAFE.sub("-", encoded[:64])


def absent_digest() -> str:
    """The digest of bytes nobody pushed."""
    return str(digest_bytes(unique("never-pushed").encode()))
