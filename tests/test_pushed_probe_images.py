"""The harness's own images (the pause and probe images) reach the registry even when distribution 2.8
answers a manifest PUT DIGEST_INVALID because another worker is linking the same layer at that moment;
any other refusal stays the error it is."""

from __future__ import annotations

import pytest

from ocimatrix.images import pause
from ocimatrix.oci.registry_client import RegistryClient, RegistryError

RACE = RegistryError(
    "PUT manifest ocimatrix/cri/probe:r-gw1: HTTP 400 (DIGEST_INVALID: provided digest did not match uploaded content)",
    400,
)


@pytest.fixture
def registry_calls(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(RegistryClient, "blob_exists", lambda self, repo, digest: True)
    monkeypatch.setattr(pause.time, "sleep", lambda _s: None)
    return calls


def _answers(monkeypatch, calls: list[str], answers: list[Exception | None]) -> None:
    def put_manifest(self, repo, ref, data, media_type):
        calls.append(ref)
        answer = answers.pop(0)
        if answer is not None:
            raise answer
        return "sha256:x"

    monkeypatch.setattr(RegistryClient, "put_manifest", put_manifest)


def test_a_manifest_put_racing_another_worker_s_link_is_tried_again(monkeypatch, registry_calls):
    _answers(monkeypatch, registry_calls, [RACE, RACE, None])
    pushed = pause.push_image("127.0.0.1:5000", "ocimatrix/cri/probe", "r-gw1", pause.build_pause_image())
    assert registry_calls == ["r-gw1"] * 3
    assert pushed.tag_ref == "127.0.0.1:5000/ocimatrix/cri/probe:r-gw1"


def test_a_race_that_never_ends_is_reported(monkeypatch, registry_calls):
    _answers(monkeypatch, registry_calls, [RACE] * pause.MANIFEST_ATTEMPTS)
    with pytest.raises(RegistryError, match="DIGEST_INVALID"):
        pause.push_image("127.0.0.1:5000", "ocimatrix/cri/probe", "r-gw1", pause.build_pause_image())
    assert len(registry_calls) == pause.MANIFEST_ATTEMPTS


def test_another_refusal_is_not_tried_again(monkeypatch, registry_calls):
    unknown = RegistryError("PUT manifest p:t: HTTP 400 (MANIFEST_BLOB_UNKNOWN: blob unknown to registry)", 400)
    _answers(monkeypatch, registry_calls, [unknown])
    with pytest.raises(RegistryError, match="MANIFEST_BLOB_UNKNOWN"):
        pause.push_image("127.0.0.1:5000", "p", "t", pause.build_pause_image())
    assert registry_calls == ["t"]
