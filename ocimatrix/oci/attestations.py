"""Attestation manifests as BuildKit stores them in an image index (its attestation-storage document).

An attestation is an index entry like an image's, told apart by its annotations:
``vnd.docker.reference.type: attestation-manifest`` and ``vnd.docker.reference.digest``, the digest of the
image manifest it is about (its *subject*), which must be an entry of the same index. Its platform is
``unknown/unknown``, so that a runner choosing by platform never takes it for an image. Its layers are
in-toto statements (``application/vnd.in-toto+json``), each naming the subject manifest's digest among
the statement's own ``subject``s and its predicate type in the layer's ``in-toto.io/predicate-type``
annotation.

This module only reads documents: the walker (``oci/walker.py``) reports what it finds with the rules
``attestation.*`` (``oci/rules.py``), and the platforms and image suites use the same reading.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

REFERENCE_TYPE = "vnd.docker.reference.type"
REFERENCE_DIGEST = "vnd.docker.reference.digest"
ATTESTATION_MANIFEST = "attestation-manifest"
IN_TOTO = "application/vnd.in-toto+json"
PREDICATE_TYPE = "in-toto.io/predicate-type"
UNKNOWN_PLATFORM = {"os": "unknown", "architecture": "unknown"}
STATEMENT_TYPES = ("https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")


def annotations_of(descriptor: Mapping) -> Mapping:
    found = descriptor.get("annotations")
    return found if isinstance(found, Mapping) else {}


def is_attestation(descriptor: Mapping) -> bool:
    """Whether an index entry says it is an attestation manifest."""
    return annotations_of(descriptor).get(REFERENCE_TYPE) == ATTESTATION_MANIFEST


def subject_of(descriptor: Mapping) -> str:
    """The digest the attestation entry names as its subject ("" when it names none)."""
    value = annotations_of(descriptor).get(REFERENCE_DIGEST)
    return value if isinstance(value, str) else ""


def index_problems(index: Mapping) -> Iterator[tuple[str, int, str]]:
    """(rule id, entry number, message) for every attestation entry of ``index`` whose own descriptor
    is wrong: no subject, a subject that is no image entry of this index, a platform other than
    unknown/unknown."""
    manifests = index.get("manifests")
    if not isinstance(manifests, list):
        return
    # Hostile input may put anything where a digest goes: only strings can name a subject.
    entries = [m for m in manifests if isinstance(m, Mapping) and isinstance(m.get("digest"), str)]
    images = {m["digest"] for m in entries if not is_attestation(m)}
    attestations = {m["digest"] for m in entries if is_attestation(m)}
    for i, entry in enumerate(manifests):
        if not isinstance(entry, Mapping) or not is_attestation(entry):
            continue
        subject = subject_of(entry)
        if not _DIGEST.match(subject):
            yield (
                "attestation.subject-annotation",
                i,
                f"attestation manifest without a {REFERENCE_DIGEST} digest (got {subject or None!r})",
            )
        elif subject in attestations:
            yield "attestation.subject-missing", i, f"attestation manifest names another attestation ({subject})"
        elif subject not in images:
            yield (
                "attestation.subject-missing",
                i,
                f"attestation manifest is about {subject}, which is not a manifest of this index",
            )
        platform = entry.get("platform")
        if not isinstance(platform, Mapping) or {k: platform.get(k) for k in UNKNOWN_PLATFORM} != UNKNOWN_PLATFORM:
            yield (
                "attestation.platform",
                i,
                f"attestation manifest's platform is {dict(platform) if isinstance(platform, Mapping) else None}, "
                "not unknown/unknown: a runner choosing by platform may take it for an image",
            )


def statement_problems(statement: object, subject: str, layer: Mapping) -> Iterator[tuple[str, str]]:
    """(rule id, message) for the parsed in-toto layer of an attestation about ``subject``."""
    if not isinstance(statement, dict):
        yield "attestation.statement", f"the in-toto layer is a JSON {type(statement).__name__}, not a statement"
        return
    kind = statement.get("_type")
    if kind not in STATEMENT_TYPES:
        yield "attestation.statement", f"_type is {kind!r}, not an in-toto statement ({', '.join(STATEMENT_TYPES)})"
    named = _subject_digests(statement.get("subject"))
    if subject and subject not in named:
        yield (
            "attestation.statement",
            f"the statement's subjects are {sorted(named) or 'none'}, not the manifest it is attached to ({subject})",
        )
    declared = annotations_of(layer).get(PREDICATE_TYPE)
    predicate = statement.get("predicateType")
    if declared is not None and declared != predicate:
        yield (
            "attestation.predicate-type",
            f"the layer's {PREDICATE_TYPE} is {declared!r}, the statement's predicateType {predicate!r}",
        )


def _subject_digests(subjects: object) -> set[str]:
    found: set[str] = set()
    for item in subjects if isinstance(subjects, list) else []:
        digests = item.get("digest") if isinstance(item, dict) else None
        for algorithm, value in (digests or {}).items() if isinstance(digests, dict) else ():
            found.add(f"{algorithm}:{value}")
    return found


def summary(descriptor: Mapping, manifest: Mapping) -> dict:
    """What a reader of the index needs of one attestation: its digest, subject, platform and layers."""
    layers = manifest.get("layers") if isinstance(manifest.get("layers"), list) else []
    return {
        "digest": descriptor.get("digest", ""),
        "subject": subject_of(descriptor),
        "platform": dict(platform) if isinstance(platform := descriptor.get("platform"), Mapping) else {},
        "layers": [
            {
                "media_type": layer.get("mediaType", ""),
                "digest": layer.get("digest", ""),
                "predicate_type": annotations_of(layer).get(PREDICATE_TYPE, ""),
            }
            for layer in layers
            if isinstance(layer, Mapping)
        ],
    }
