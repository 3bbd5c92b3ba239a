"""Artifacts as the official conformance suite's redesign describes them (issue 21, item 4), on a replayed
registry: without the referrers API the pusher keeps the referrers tag schema's index, and the registry
must take it, serve it back byte for byte and list its tag; a registry that loses the tag, rewrites the
index or answers 500 fails with its own answer at the step it gave it.
"""

from __future__ import annotations

import json

import httpx
import pytest
from test_distribution_verdicts import INDEX, FakeRegistry, _error, _failure, _run

from ocimatrix import evidence
from ocimatrix.distribution import shapes
from ocimatrix.distribution.content import referrers_tag

SUBJECT_SHAPES = ("artifacts-with-subject", "index-with-subject", "missing-subject")


def _watched() -> tuple[FakeRegistry, dict[str, dict]]:
    """A registry without the API, and the referrers tag indexes pushed to it (tag -> document), kept
    apart since the check's cleanup deletes what it pushed."""
    registry, pushed = FakeRegistry(referrers_api=False), {}

    def watch(request: httpx.Request) -> None:
        last = request.url.path.rsplit("/", 1)[-1]
        if request.method == "PUT" and last.startswith("sha256-"):
            pushed[last] = json.loads(request.read())

    registry.overrides.append(watch)
    return registry, pushed


@pytest.mark.parametrize("shape", SUBJECT_SHAPES)
def test_without_the_api_the_pusher_keeps_the_referrers_tag_index(shape):
    registry, kept = _watched()
    _run(shapes.round_trip, registry, shape=shape)
    data = evidence.current().evidence
    assert data["referrers_api"].startswith("absent (404)")
    assert sorted(kept) == sorted(data["referrers_tags"])
    for document in kept.values():
        assert document["mediaType"] == INDEX and document["manifests"]
        # Each entry names a manifest the shape pushed, with the artifactType a referrers list carries.
        assert all(entry.get("artifactType") for entry in document["manifests"])


def test_the_missing_subjects_index_is_kept_though_its_subject_is_absent():
    registry, kept = _watched()
    pushed: list[str] = []
    registry.overrides.insert(0, lambda request: pushed.append(request.url.path) if request.method == "PUT" else None)
    _run(shapes.round_trip, registry, shape="missing-subject")
    [(tag, document)] = kept.items()
    subject = tag.replace("sha256-", "sha256:", 1)
    assert not any(path.endswith(subject) for path in pushed)  # the subject was never pushed
    assert document["manifests"][0]["artifactType"] == shapes.EXAMPLE_TYPE_1


def test_with_the_api_no_index_is_pushed():
    registry, kept = _watched()
    registry.referrers_api = registry.subject_header = True
    _run(shapes.round_trip, registry, shape="artifacts-with-subject")
    assert kept == {}


def _tag_list_without_fallback(request: httpx.Request) -> httpx.Response | None:
    if request.url.path.endswith("/tags/list"):
        return httpx.Response(200, json={"name": "x", "tags": ["image", "tagged-artifact1", "tagged-artifact2"]})
    return None


def test_a_registry_that_leaves_the_referrers_tag_out_of_its_tag_list_fails():
    registry = FakeRegistry(referrers_api=False)
    registry.overrides.append(_tag_list_without_fallback)
    failure = _failure(shapes.round_trip, registry, shape="artifacts-with-subject")
    assert failure.step == "artifacts-with-subject fallback: tag list"
    assert "sha256-" in str(failure) and "200" in failure.answer


def test_a_registry_that_serves_the_index_rewritten_fails_byte_for_byte():
    registry = FakeRegistry(referrers_api=False)

    def rewritten(request: httpx.Request) -> httpx.Response | None:
        last = request.url.path.rsplit("/", 1)[-1]
        if request.method == "GET" and "/manifests/" in request.url.path and last.startswith("sha256-"):
            body, media_type = registry.manifests[next(k for k in registry.manifests if k[1] == last)]
            pretty = json.dumps(json.loads(body), indent=2).encode()
            return httpx.Response(200, headers={"Content-Type": media_type}, content=pretty)
        return None

    registry.overrides.append(rewritten)
    failure = _failure(shapes.round_trip, registry, shape="artifacts-with-subject")
    assert failure.step.startswith("artifacts-with-subject fallback: GET manifest by tag sha256-")
    assert "hashing to" in failure.answer


def test_a_registry_refusing_the_index_fails_with_its_answer():
    registry = FakeRegistry(referrers_api=False)

    def refuse(request: httpx.Request) -> httpx.Response | None:
        if request.method == "PUT" and request.url.path.rsplit("/", 1)[-1].startswith("sha256-"):
            return _error(400, "TAG_INVALID")
        return None

    registry.overrides.append(refuse)
    failure = _failure(shapes.round_trip, registry, shape="index-with-subject")
    assert failure.step.startswith("index-with-subject: pushing the referrers tag sha256-")
    assert failure.answer.startswith("400") and "TAG_INVALID" in failure.answer


def test_the_referrers_tag_is_the_schemas():
    assert referrers_tag("sha256:" + "ab" * 32) == "sha256-" + "ab" * 32
