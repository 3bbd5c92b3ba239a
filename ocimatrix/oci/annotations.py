"""Annotation rules of annotations.md: key naming, the reserved namespaces, pre-defined values.

Public API: ``PREDEFINED_KEYS``, ``REF_NAME``, ``annotation_problems(annotations)`` yielding
(rule_id, key, message).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from ocimatrix.oci.digest import digest_problem

IMAGE_PREFIX = "org.opencontainers.image."
OCI_PREFIX = "org.opencontainers."

PREDEFINED_KEYS = frozenset(
    IMAGE_PREFIX + name
    for name in (
        "created",
        "authors",
        "url",
        "documentation",
        "source",
        "version",
        "revision",
        "vendor",
        "licenses",
        "ref.name",
        "title",
        "description",
        "base.digest",
        "base.name",
    )
)

# Reverse domain notation: at least two dot-separated labels, e.g. com.example.key.
REVERSE_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9_-]+)+(?:[./-][A-Za-z0-9_-]+)*$")

# annotations.md: ref ::= component ("/" component)*; component ::= alphanum (separator alphanum)*;
# separator ::= [-._:@+] | "--"
REF_NAME = re.compile(
    r"^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$"
)

RFC3339 = re.compile(
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)"
    r"(\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)


def annotation_problems(annotations: object) -> Iterator[tuple[str, str, str]]:
    if not isinstance(annotations, Mapping):
        return  # the schema reports the wrong type
    for key, value in annotations.items():
        if not REVERSE_DOMAIN.match(key):
            yield "annotation.key-format", key, f"key {key!r} SHOULD use reverse domain notation (com.example.key)"
        if key.startswith(IMAGE_PREFIX) and key not in PREDEFINED_KEYS:
            yield (
                "annotation.reserved-key",
                key,
                f"key {key!r} is in the reserved org.opencontainers.image namespace but not defined by the spec",
            )
        elif key.startswith(OCI_PREFIX) and not key.startswith(IMAGE_PREFIX):
            yield (
                "annotation.reserved-namespace",
                key,
                f"key {key!r} uses the org.opencontainers prefix reserved for OCI specs",
            )
        # annotations.md: "While the value MUST be present, it MAY be an empty string" - for every key,
        # so an empty pre-defined value (buildah's base.digest of a FROM scratch image) is no violation.
        if not isinstance(value, str) or value == "":
            continue
        if key == IMAGE_PREFIX + "created" and not RFC3339.match(value):
            yield "annotation.value-format", key, f"{key} must be an RFC 3339 date-time, got {value!r}"
        elif key == IMAGE_PREFIX + "ref.name" and not REF_NAME.match(value):
            yield "annotation.value-format", key, f"{key} {value!r} does not match the ref grammar"
        elif key == IMAGE_PREFIX + "base.digest" and digest_problem(value):
            yield "annotation.value-format", key, f"{key}: {digest_problem(value)}"
