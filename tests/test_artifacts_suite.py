"""The signatures suite's artifact checks (``suites/signatures/test_artifacts.py``), driven with a stand-in
attacher through a replayed registry without the referrers API. The stand-in pushes manifests shaped as
oras 1.2.0 and 1.3.3 wrote them in a run here (the empty config and empty layer carrying ``data: e30=``,
an ``org.opencontainers.image.created`` annotation) and keeps the referrers tag's index as oras does.

A tool that makes another shape than asked fails as the writer's answer; a tool that doesn't keep the
index fails; a registry that leaves the referrers tag out of its tag list fails with its answer.
"""

from __future__ import annotations

import base64
import hashlib
import json

import httpx
import pytest
from suite_modules import load_suite_module
from test_distribution_verdicts import FakeRegistry, _ctx
from test_signatures_verdicts import SUITE, _verdict, suite_conftest
from verdict_cases import raised

from ocimatrix import evidence
from ocimatrix.distribution.content import Blob, Manifest, make_index, referrer_descriptor, referrers_tag
from ocimatrix.engines.signing import Exported, Keyring
from ocimatrix.errors import ImplementationFailure
from ocimatrix.plugin.verdicts import decide

suite_artifacts = load_suite_module("ocimatrix_signatures_artifacts", SUITE / "test_artifacts.py")
EMPTY = {"mediaType": "application/vnd.oci.empty.v1+json", "digest": "", "size": 2, "data": "e30="}
EMPTY["digest"] = "sha256:" + hashlib.sha256(b"{}").hexdigest()
PAYLOAD = b'{"attached_by": "ocimatrix"}'


def _json(document: dict) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


class StandInAttacher:
    """Pushes oras-shaped manifests through the replayed registry; ``bend`` changes the manifest it makes."""

    label = "oras@standin"

    def __init__(self, ctx, *, bend=None, keeps_index: bool = True) -> None:
        self.ctx, self.bend, self.keeps_index = ctx, bend or (lambda document: None), keeps_index
        self.artifact_type = "application/vnd.ocimatrix.attached.standin.v1+json"

    def _push(self, repo: str, reference: str, document: dict) -> bytes:
        self.bend(document)
        for blob in (Blob(b"{}", EMPTY["mediaType"]), Blob(PAYLOAD, "application/json")):
            self.ctx.push_blob(repo, blob)
        body = _json(document)
        self.ctx.push_manifest(repo, reference, Manifest(body, document["mediaType"]))
        return body

    def _document(self, artifact_type: str, layers: list[dict]) -> dict:
        return {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": artifact_type,
            "config": dict(EMPTY),
            "layers": layers,
            "annotations": {"org.opencontainers.image.created": "2026-12-08T00:01:04Z"},
        }

    def push_artifact(self, ref, keys, artifact_type, *, with_file=True):
        repo, _, tag = ref.split("/", 1)[1].rpartition(":")
        payload = {"mediaType": "application/json", "digest": Blob(PAYLOAD).digest, "size": len(PAYLOAD)}
        document = self._document(artifact_type, [payload] if with_file else [dict(EMPTY)])
        return Exported(self._push(repo, tag, document), "Pushed")

    def attach_artifact(self, ref, keys, artifact_type):
        repo, _, digest = ref.split("/", 1)[1].partition("@")
        image = self.ctx.get_manifest(repo, digest, "stand-in: resolve the subject")
        payload = {"mediaType": "application/json", "digest": Blob(PAYLOAD).digest, "size": len(PAYLOAD)}
        document = self._document(artifact_type, [payload])
        document["subject"] = {"mediaType": image.headers["Content-Type"], "digest": digest, "size": len(image.content)}
        body = self._push(repo, "sha256:" + hashlib.sha256(_json(document)).hexdigest(), document)
        if self.keeps_index:
            manifest = Manifest(body, document["mediaType"], (), document)
            entry = referrer_descriptor(manifest)
            self.ctx.push_manifest(repo, referrers_tag(digest), make_index([entry]))
        return Exported(body, "Attached")


def _run(tmp_path, shape: str, *, registry: FakeRegistry | None = None, **standin) -> tuple[str, dict]:
    ctx = _ctx(registry or FakeRegistry(referrers_api=False))
    bench = suite_conftest.Bench(ctx)
    recorder = evidence.current()
    attacher = StandInAttacher(ctx, **standin)
    verdict = _verdict(
        lambda: suite_artifacts.test_tool_artifact_round_trip({}, bench, attacher, shape, Keyring(tmp_path), recorder)
    )
    return verdict, recorder.evidence


@pytest.mark.parametrize("shape", suite_artifacts.SHAPES)
def test_oras_shaped_artifacts_on_a_good_registry_pass(tmp_path, shape):
    verdict, seen = _run(tmp_path, shape)
    assert verdict == "passed", seen.get("answer")
    assert seen["made"]["config"] == {k: EMPTY[k] for k in ("mediaType", "digest", "size")}
    assert seen["data_fields"][0].endswith(": e30=")
    if shape == "artifact-without-files":
        assert seen["empty_layer_guidance"] == "followed"
    if shape == "attached":
        assert seen["referrers"]["path"].startswith("referrers tag sha256-")


def _config_not_empty(document: dict) -> None:
    document["config"] = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": EMPTY["digest"], "size": 2}


def _wrong_data(document: dict) -> None:
    document["config"]["data"] = base64.b64encode(b"[]").decode()


@pytest.mark.parametrize(
    ("bend", "words"),
    [(_config_not_empty, "not the empty descriptor"), (_wrong_data, "whose data is not its content")],
)
def test_a_tool_making_another_shape_fails_as_the_writers_answer(tmp_path, bend, words):
    ctx = _ctx(FakeRegistry(referrers_api=False))
    attacher = StandInAttacher(ctx, bend=bend)
    with pytest.raises(ImplementationFailure) as info:
        suite_artifacts.test_tool_artifact_round_trip(
            {}, suite_conftest.Bench(ctx), attacher, "artifact", Keyring(tmp_path), evidence.current()
        )
    assert decide(raised(info.value)).outcome == "failed" and words in str(info.value)
    assert info.value.step == "oras@standin: the manifest it exported"
    assert json.loads(info.value.answer)["artifactType"] == suite_artifacts.ARTIFACT_TYPE  # the manifest itself
    assert evidence.current().evidence["under_test"] == ["writer"]


def test_a_tool_that_keeps_no_index_fails(tmp_path):
    verdict, seen = _run(tmp_path, "attached", keeps_index=False)
    assert verdict == "failed" and seen["under_test"] == ["writer", "registry"]


def test_a_registry_leaving_the_referrers_tag_out_of_its_tag_list_fails_with_its_answer(tmp_path):
    registry = FakeRegistry(referrers_api=False)

    def no_fallback_tags(request: httpx.Request):
        if request.url.path.endswith("/tags/list"):
            return httpx.Response(200, json={"name": "x", "tags": ["latest"]})
        return None

    registry.overrides.append(no_fallback_tags)
    ctx = _ctx(registry)
    bench = suite_conftest.Bench(ctx)
    with pytest.raises(ImplementationFailure) as info:
        suite_artifacts.test_tool_artifact_round_trip(
            {}, bench, StandInAttacher(ctx), "attached", Keyring(tmp_path), evidence.current()
        )
    assert decide(raised(info.value)).outcome == "failed"
    assert info.value.step.endswith(": tag list") and info.value.answer.startswith("200")
    assert evidence.current().evidence["under_test"] == ["registry"]
