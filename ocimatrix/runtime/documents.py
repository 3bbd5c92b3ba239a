"""Checks of the runtime-spec documents a runtime emits or reads: state, features, config.json.

The schemas are in ``schemas/runtime/`` (JSON Schema 2020-12): state and config written from runtime-spec
v1.2.0; features one per release that defines it (``features/<release>.schema.json``), since features.md
forbids properties the release a runtime declares (``ociVersionMax``) does not define, so a document is
read against that release's schema (``features_release``). What a schema can't say is checked here:
``ociVersionMax`` not below ``ociVersionMin``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from ocimatrix.oci.schemas import schema_dir

SCHEMA_FILES = {
    "state": "state.schema.json",
    "config": "config.schema.json",
}
FEATURES_RELEASES = ("1.1.0", "1.2.0", "1.2.1", "1.3.0")
"""The runtime-spec releases with a features schema here, oldest first (features.md came in 1.1.0)."""
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def schema_path(kind: str) -> Path:
    """``state``, ``config``, or ``features/<release>`` (one of FEATURES_RELEASES)."""
    # schemas/ of the checkout, or OCIMATRIX_SCHEMA_DIR for a relocated install, as for the OCI schemas.
    if kind.startswith("features/"):
        return schema_dir() / "runtime" / f"{kind}.schema.json"
    return schema_dir() / "runtime" / SCHEMA_FILES[kind]


@cache
def _validator(kind: str) -> Draft202012Validator:
    schema = json.loads(schema_path(kind).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@dataclass(frozen=True)
class FeaturesRelease:
    """The release whose schema a features document is read against, and how it was chosen."""

    release: str
    exact: bool  # the declared ociVersionMax names this release: undefined properties are errors
    why: str


def features_release(declared: Any) -> FeaturesRelease:
    """The pinned release a features document's ``ociVersionMax`` names.

    SemVer's build metadata (crun's ``1.1.0+dev``) is no part of the version, and a pre-release
    (``1.2.0-rc.1``) is read as its release. A version before 1.1.0 (runc 1.1.5's ``1.0.2-dev``) predates
    features.md: it is read against 1.1.0, the first release that defines the document. A release between
    or after the pinned ones is read against the newest pinned one before it, and properties that schema
    lacks are then not judged (``exact`` False): the release may define them.
    """
    key = semver_key(declared) if isinstance(declared, str) else None
    newest = FEATURES_RELEASES[-1]
    if key is None:
        return FeaturesRelease(newest, False, f"ociVersionMax {declared!r} is not SemVer: read as {newest}")
    core = ".".join(str(n) for n in key[:3])
    if core in FEATURES_RELEASES:
        return FeaturesRelease(core, True, f"ociVersionMax {declared} names runtime-spec {core}")
    first = FEATURES_RELEASES[0]
    if key[:3] < semver_key(first)[:3]:
        return FeaturesRelease(
            first, True, f"ociVersionMax {declared} predates features.md: read as {first}, the first to define it"
        )
    below = [r for r in FEATURES_RELEASES if semver_key(r)[:3] < key[:3]][-1]
    return FeaturesRelease(
        below, False, f"ociVersionMax {declared} has no schema here: read as {below}, properties beyond it not judged"
    )


def _where(error) -> str:
    return "/" + "/".join(str(p) for p in error.absolute_path)


def problems(kind: str, document: Any) -> list[str]:
    """Every way ``document`` breaks the ``kind`` schema (and the spec's rules beyond it), as 'where: what'."""
    found = []
    release = None
    if kind == "features":
        release = features_release(document.get("ociVersionMax") if isinstance(document, dict) else None)
        kind = f"features/{release.release}"
    for error in sorted(_validator(kind).iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        subschema = error.schema if isinstance(error.schema, dict) else {}
        message = subschema.get("x-ocimatrix-message") or error.message
        if release is not None and error.validator == "additionalProperties":
            if not release.exact:
                continue
            message = f"{message} (not defined in runtime-spec {release.release}: {release.why})"
        found.append(f"{_where(error)}: {message[:400]}")
    if release is not None and isinstance(document, dict):
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


def undefined_features(document: Any) -> list[str]:
    """The properties of a features document that the release its ``ociVersionMax`` names does not define,
    as paths (``/linux/netDevices``); empty when that release has no schema here (not judged)."""
    if not isinstance(document, dict):
        return []
    release = features_release(document.get("ociVersionMax"))
    if not release.exact:
        return []
    found = []
    for error in _validator(f"features/{release.release}").iter_errors(document):
        if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
            continue
        defined = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        found += [f"{_where(error).rstrip('/')}/{key}" for key in error.instance if key not in defined]
    return sorted(found)
