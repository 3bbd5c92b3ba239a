"""Checks of the runtime-spec documents a runtime emits or reads: state, features, config.json.

The schemas are in ``schemas/runtime/`` (JSON Schema 2020-12, written from runtime-spec v1.2.0).
What a schema can't say is checked here: ``ociVersionMax`` not below ``ociVersionMin``.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from ocimatrix.oci.schemas import schema_dir

SCHEMA_FILES = {
    "state": "state.schema.json",
    "features": "features.schema.json",
    "config": "config.schema.json",
}
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def schema_path(kind: str) -> Path:
    # schemas/ of the checkout, or OCIMATRIX_SCHEMA_DIR for a relocated install, as for the OCI schemas.
    return schema_dir() / "runtime" / SCHEMA_FILES[kind]


@cache
def _validator(kind: str) -> Draft202012Validator:
    schema = json.loads(schema_path(kind).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _where(error) -> str:
    return "/" + "/".join(str(p) for p in error.absolute_path)


def problems(kind: str, document: Any) -> list[str]:
    """Every way ``document`` breaks the ``kind`` schema (and the spec's rules beyond it), as 'where: what'."""
    found = []
    for error in sorted(_validator(kind).iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        subschema = error.schema if isinstance(error.schema, dict) else {}
        message = subschema.get("x-ocimatrix-message") or error.message
        found.append(f"{_where(error)}: {message[:300]}")
    if kind == "features" and isinstance(document, dict):
        found += _version_order_problems(document)
    return found


def _version_order_problems(features: dict[str, Any]) -> list[str]:
    low, high = features.get("ociVersionMin"), features.get("ociVersionMax")
    if not (isinstance(low, str) and isinstance(high, str)):
        return []
    parsed_low, parsed_high = semver_key(low), semver_key(high)
    if parsed_low is None or parsed_high is None:
        bad = low if parsed_low is None else high
        return [f"/ociVersion{'Min' if bad is low else 'Max'}: {bad!r} is not a SemVer version"]
    if parsed_high < parsed_low:
        return [f"/ociVersionMax: {high} is less than ociVersionMin {low}"]
    return []


def semver_key(version: str) -> tuple | None:
    """An ordering key by SemVer 2.0.0 precedence (a pre-release sorts before its release)."""
    match = _SEMVER.match(version)
    if not match:
        return None
    major, minor, patch, pre = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), 1, ())
    identifiers = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (int(major), int(minor), int(patch), 0, identifiers)
