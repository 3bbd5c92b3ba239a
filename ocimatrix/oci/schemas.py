"""JSON Schema checks of OCI and Docker documents against the schemas in ``schemas/``.

The schemas are JSON Schema draft 2020-12 (see schemas/README.md). Each failure maps to a rule
id: the ``x-ocimatrix-rule`` of the failing subschema, else the document kind's ``*.schema`` rule;
an ``x-ocimatrix-message`` on that subschema replaces the validator's own wording.

Public API: ``SCHEMA_KINDS``, ``schema_dir()``, ``schema_errors(kind, document)`` yielding
``(rule_id, json_pointer, message)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

from ocimatrix.errors import UsageError
from ocimatrix.resources import schemas_dir

# kind -> (schema file under schemas/, fallback rule id)
SCHEMA_KINDS: dict[str, tuple[str, str]] = {
    "descriptor": ("oci/content-descriptor.schema.json", "descriptor.schema"),
    "manifest": ("oci/image-manifest.schema.json", "manifest.schema"),
    "index": ("oci/image-index.schema.json", "index.schema"),
    "config": ("oci/image-config.schema.json", "config.schema"),
    "layout": ("oci/oci-layout.schema.json", "layout.schema"),
    "docker-manifest": ("docker/manifest-v2-2.schema.json", "docker-manifest.schema"),
    "docker-manifest-list": ("docker/manifest-list-v2-2.schema.json", "docker-manifest-list.schema"),
    "docker-save-manifest": ("docker/save-manifest.schema.json", "docker-archive.schema"),
}


def schema_dir() -> Path:
    """The schemas folder (the checkout's, or the wheel's copy); OCIMATRIX_SCHEMA_DIR overrides it."""
    path = schemas_dir()
    if not (path / "oci" / "defs.schema.json").is_file():
        raise UsageError(f"OCI schemas not found under {path} (set OCIMATRIX_SCHEMA_DIR to the schemas/ folder)")
    return path


def _refuse_remote(uri: str):
    # Every schema is registered up front; a $ref that misses must not turn into a download.
    raise NoSuchResource(ref=uri)


@cache
def _registry_and_schemas() -> tuple[Registry, dict[str, dict]]:
    root = schema_dir()
    registry = Registry(retrieve=_refuse_remote)
    by_kind: dict[str, dict] = {}
    for path in sorted(root.glob("*/*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        registry = registry.with_resource(contents["$id"], Resource.from_contents(contents))
        rel = path.relative_to(root).as_posix()
        for kind, (file, _) in SCHEMA_KINDS.items():
            if file == rel:
                by_kind[kind] = contents
    return registry.crawl(), by_kind


@cache
def _validator(kind: str) -> Draft202012Validator:
    registry, by_kind = _registry_and_schemas()
    schema = by_kind[kind]
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry)


def _pointer(path) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else "/"


def _short(message: str, limit: int = 200) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def schema_errors(kind: str, document: object) -> Iterator[tuple[str, str, str]]:
    """Every schema failure of ``document`` as (rule_id, JSON pointer, one-line message)."""
    fallback = SCHEMA_KINDS[kind][1]
    validator = _validator(kind)
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        subschema = error.schema if isinstance(error.schema, dict) else {}
        rule_id = subschema.get("x-ocimatrix-rule", fallback)
        message = _short(error.message)
        if subschema.get("x-ocimatrix-message"):
            # Set where the verdict needs explaining (e.g. where image-spec's schema and prose differ).
            message = subschema["x-ocimatrix-message"]
        elif error.validator == "pattern" and subschema.get("description"):
            # A regex says little to a vendor; the schema's description says what was expected.
            message = f"{_short(repr(error.instance), 100)} is not {subschema['description']}"
        yield rule_id, _pointer(error.absolute_path), message
