"""The attestations an image carries, as BuildKit stores them in its index (``oci/attestations.py``), read
from an OCI layout or from a registry: which attestation manifests exist, the image manifest each is
about (its subject) and that manifest's platform, and each in-toto statement's predicate type.

The claims report lists them for every image; an ``attestations: [provenance]`` claim is judged on them:
every claimed platform's image must have an attestation of that kind whose statement names the image's
manifest, in an attestation entry that breaks none of the validator's ``attestation.*`` rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocimatrix.oci import attestations
from ocimatrix.oci import mediatypes as mt
from ocimatrix.oci.reference import parse_reference
from ocimatrix.oci.registry_client import RegistryClient, RegistryError

REF_NAME = "org.opencontainers.image.ref.name"
MAX_STATEMENT = 16 << 20  # a max-mode provenance statement is some kilobytes; a hostile one is refused
MAX_DOCUMENT = 8 << 20

# The predicate types each claimable kind of attestation takes (SLSA provenance v0.2 and v1; SPDX and
# CycloneDX documents, as BuildKit's scanners write them).
PREDICATES: dict[str, tuple[str, ...]] = {
    "provenance": ("https://slsa.dev/provenance/v0.2", "https://slsa.dev/provenance/v1"),
    "sbom": ("https://spdx.dev/Document", "https://cyclonedx.org/bom"),
}


class Unreadable(Exception):
    """The index, a manifest or a statement could not be read where the image is (the words say why).
    ``unanswered``: the registry answered nothing at all (a service down, not the image's fault)."""

    def __init__(self, message: str, *, unanswered: bool = False) -> None:
        super().__init__(message)
        self.unanswered = unanswered


@dataclass
class Attestation:
    """One attestation manifest of the index, and what reading it found."""

    digest: str
    subject: str  # the image manifest it is about (vnd.docker.reference.digest)
    subject_platform: str  # that manifest's platform in the index, "" when the subject is no entry
    predicate_types: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "rule: message", from the validator's rules

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "subject": self.subject,
            "subject_platform": self.subject_platform,
            "predicate_types": list(self.predicate_types),
            "problems": list(self.problems),
        }


@dataclass
class IndexAttestations:
    """What an index holds: its digest, its image manifests by platform, and its attestations."""

    digest: str
    images: dict[str, str]  # manifest digest -> platform (os/arch[/variant])
    attestations: list[Attestation]
    index_problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.digest,
            "images": dict(self.images),
            "attestations": [a.to_json() for a in self.attestations],
            "index_problems": list(self.index_problems),
        }

    def about(self, platform_matches: Callable[[str], bool]) -> dict[str, list[Attestation]]:
        """Image manifest digest -> the attestations about it, for the images whose platform matches."""
        return {
            digest: [a for a in self.attestations if a.subject == digest]
            for digest, platform in self.images.items()
            if platform_matches(platform)
        }


def _platform_text(descriptor: dict) -> str:
    platform = descriptor.get("platform")
    if not isinstance(platform, dict):
        return ""
    parts = (platform.get("os"), platform.get("architecture"), platform.get("variant"))
    return "/".join(str(p) for p in parts if p)


def _json(data: bytes, what: str) -> dict:
    try:
        found = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Unreadable(f"{what} is not JSON: {exc}") from None
    if not isinstance(found, dict):
        raise Unreadable(f"{what} is not a JSON object")
    return found


def read_attestations(
    top: dict, top_digest: str, manifest: Callable[[str], bytes], blob: Callable[[str, int], bytes]
) -> IndexAttestations:
    """The attestations of the index ``top`` (a lone manifest has none), read through ``manifest(digest)``
    and ``blob(digest, limit)``."""
    if top.get("mediaType") not in mt.INDEX_TYPES and "manifests" not in top:
        return IndexAttestations(top_digest, {}, [])
    entries = [e for e in top.get("manifests") or [] if isinstance(e, dict) and isinstance(e.get("digest"), str)]
    images = {e["digest"]: _platform_text(e) for e in entries if not attestations.is_attestation(e)}
    found = IndexAttestations(
        top_digest,
        images,
        [],
        [f"{rule}: entry {i}: {message}" for rule, i, message in attestations.index_problems(top)],
    )
    for entry in entries:
        if not attestations.is_attestation(entry):
            continue
        subject = attestations.subject_of(entry)
        item = Attestation(entry["digest"], subject, images.get(subject, ""))
        document = _json(manifest(entry["digest"]), f"attestation manifest {entry['digest']}")
        for layer in document.get("layers") or []:
            if not isinstance(layer, dict):
                continue
            declared = str(attestations.annotations_of(layer).get(attestations.PREDICATE_TYPE, ""))
            if layer.get("mediaType") != attestations.IN_TOTO:
                item.problems.append(f"attestation.layer-media-type: a layer of type {layer.get('mediaType')!r}")
                continue
            statement = _json(blob(str(layer.get("digest", "")), MAX_STATEMENT), f"in-toto layer {layer.get('digest')}")
            item.predicate_types.append(str(statement.get("predicateType") or declared))
            item.problems += [
                f"{rule}: {message}" for rule, message in attestations.statement_problems(statement, subject, layer)
            ]
        found.attestations.append(item)
    return found


def from_layout(root: Path, tag: str = "") -> IndexAttestations:
    """The attestations of the image an OCI layout holds: index.json's entry named ``tag``
    (``org.opencontainers.image.ref.name``), else its first."""

    def read(digest: str, limit: int) -> bytes:
        algorithm, _, encoded = digest.partition(":")
        path = root / "blobs" / algorithm / encoded
        try:
            if path.stat().st_size > limit:
                raise Unreadable(f"blob {digest} is over {limit} bytes")
            return path.read_bytes()
        except OSError as exc:
            raise Unreadable(f"blob {digest} missing from the layout ({exc.strerror})") from None

    try:
        entries = json.loads((root / "index.json").read_text())["manifests"]
        named = [e for e in entries if tag and (e.get("annotations") or {}).get(REF_NAME) == tag]
        top_entry = (named or entries)[0]
    except (OSError, json.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
        raise Unreadable(f"{root}/index.json names no image ({exc})") from None
    top = _json(read(top_entry["digest"], MAX_DOCUMENT), f"the layout's top document {top_entry['digest']}")
    return read_attestations(top, top_entry["digest"], lambda d: read(d, MAX_DOCUMENT), read)


def from_registry(ref: str, *, plain_http: bool = True) -> IndexAttestations:
    """The attestations of the image at ``ref`` (HOST:PORT/REPO:TAG or @DIGEST), as the registry serves it."""
    try:
        parsed = parse_reference(ref)
    except ValueError as exc:
        raise Unreadable(str(exc)) from None
    repo = parsed.repository
    with RegistryClient(parsed.registry, plain_http=plain_http) as client:

        def manifest(digest: str) -> bytes:
            return client.get_manifest(repo, digest)[0]

        def blob(digest: str, limit: int) -> bytes:
            with client.get_blob(repo, digest) as stream:
                data = stream.read(limit + 1)
            if len(data) > limit:
                raise Unreadable(f"blob {digest} is over {limit} bytes")
            return data

        try:
            body, _, digest = client.get_manifest(repo, parsed.ref)
            return read_attestations(_json(body, f"{ref}"), digest, manifest, blob)
        except RegistryError as exc:
            # No status and no deadline passed: nothing answered (refused, reset), which no image causes.
            unanswered = exc.status is None and "timed out" not in str(exc)
            raise Unreadable(f"{ref}: {exc}", unanswered=unanswered) from None
