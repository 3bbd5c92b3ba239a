"""Bad input never crashes the validator: every field of index, manifest and config replaced by
values of the wrong type must end in violations, never in an exception."""

from __future__ import annotations

import copy
import json

import pytest
from corpus.builders import build_layout, canonical

from ocimatrix.oci.validate import validate_document, validate_layout

WEIRD = [None, 0, -1, 2**70, "", "x" * 300, [], [None], {}, {"": None}, True, 1.5]


def _paths(node, prefix=()):
    """Every (path) to a value inside a JSON document, containers included."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


def _replaced(doc, path, value):
    doc = copy.deepcopy(doc)
    if not path:
        return value
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    built = build_layout(tmp_path_factory.mktemp("template") / "l", compression="gzip")
    return built


@pytest.mark.parametrize("kind", ["index", "manifest", "config"])
def test_weird_values_never_crash(kind, template, tmp_path):
    doc = {"index": template.index, "manifest": template.manifest, "config": template.config}[kind]
    runs, unnoticed = 0, []
    for path in list(_paths(doc)):
        for value in WEIRD:
            mutated = _replaced(doc, path, value)
            where = tmp_path / f"{kind}-{runs}"
            if kind == "index":
                root = build_layout(where).root
                (root / "index.json").write_bytes(canonical(mutated))
            elif kind == "manifest":
                root = build_layout(where, manifest_edit=lambda m, w, mutated=mutated: mutated).root
            else:
                root = build_layout(where, config_edit=lambda c, mutated=mutated: mutated).root
            report = validate_layout(root)  # must not raise
            json.dumps(report.to_dict())
            if not report.violations:
                unnoticed.append((path, value))
            runs += 1
    assert runs > 50
    # A few replacements are legal (an empty manifests list, an empty string where any string goes);
    # nearly all must be caught.
    assert len(unnoticed) < runs * 0.1, unnoticed


GARBAGE = {
    "empty": b"",
    "null": b"null",
    "array": b"[]",
    "cut": b"{",
    "bom": b"\xef\xbb\xbf{}",
    "nan": b'{"a":NaN}',
    "deep": b"[" * 100000,
    "string": b'"x"',
}


@pytest.mark.parametrize("raw", list(GARBAGE.values()), ids=list(GARBAGE))
@pytest.mark.parametrize("kind", ["manifest", "index", "config", "descriptor", "layout"])
def test_garbage_documents_are_violations(kind, raw, tmp_path):
    path = tmp_path / "doc.json"
    path.write_bytes(raw)
    report = validate_document(path, as_kind=kind)
    assert report.violations and not report.ok
    json.dumps(report.to_dict())  # and the report itself always serialises
