"""Error-body rules of the distribution checks, on answers recorded from real registries.

The bodies below are what distribution 2.8.2 (Debian's docker-registry) answered in the suite's runs,
plus hand-made variants for what it never does; no registry is needed.
"""

from __future__ import annotations

import httpx
import pytest

from ocimatrix import evidence
from ocimatrix.distribution import expect
from ocimatrix.distribution.client import CheckFailed
from ocimatrix.distribution.disclosure import body_text, disclosed_paths

# GET /v2/<name>/manifests/sha256:totallywrong on distribution 2.8.2 (the repository path shortened).
RECORDED_500 = (
    b'{"errors":[{"code":"UNKNOWN","message":"unknown error","detail":{"Path":"/docker/registry/v2/repositories/'
    b'ocimatrix/dist/x/_manifests/tags/sha256:totallywrong/current/link","DriverName":"filesystem"}}]}\n'
)
RECORDED_TAG_DELETE = (
    b'{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]}\n'
)
RECORDED_ROUTER_404 = b"404 page not found\n"


def _answer(status: int, body: bytes, method: str = "GET", content_type: str = "application/json") -> httpx.Response:
    request = httpx.Request(method, "http://127.0.0.1:5000/v2/ns/repo/manifests/x")
    return httpx.Response(status, content=body, headers={"Content-Type": content_type}, request=request)


@pytest.fixture(autouse=True)
def _recorder():
    evidence.begin()


@pytest.mark.parametrize(
    ("text", "paths"),
    [
        (
            body_text(RECORDED_500),
            ["/docker/registry/v2/repositories/ocimatrix/dist/x/_manifests/tags/sha256:totallywrong/current/link"],
        ),
        ("open /var/lib/docker-registry/blobs/data: no such file", ["/var/lib/docker-registry/blobs/data"]),
        (
            "panic: /go/src/github.com/distribution/registry/handlers/app.go:123",
            ["/go/src/github.com/distribution/registry/handlers/app.go:123"],
        ),
        ("cannot open C:\\ProgramData\\registry\\data now", ["C:\\ProgramData\\registry\\data"]),
        ('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}', []),
        ("GET /v2/ns/repo/blobs/sha256:ab failed; see https://registry.example/var/lib/docs", []),
        ("repository name not known to registry: library/etc", []),
    ],
)
def test_disclosed_paths(text, paths):
    assert disclosed_paths(text) == paths


def test_json_escaped_slashes_are_undone_before_the_search():
    assert disclosed_paths(body_text(b'{"detail":"\\/tmp\\/uploads\\/abc\\/data"}')) == ["/tmp/uploads/abc/data"]


def test_a_spec_error_body_passes_and_returns_its_codes():
    body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}'
    assert expect.error_body(_answer(404, body), "probe", {"MANIFEST_UNKNOWN"}) == ["MANIFEST_UNKNOWN"]


@pytest.mark.parametrize(
    ("status", "body", "content_type", "says"),
    [
        (404, RECORDED_ROUTER_404, "text/plain; charset=utf-8", "404 with a body that is not JSON (text/plain"),
        (404, b"", "application/json", "404 with an empty body"),
        (400, b'{"errors":[{"code":"RANGE_INVALID"}]}', "application/json", "breaks the spec's error format"),
        (500, RECORDED_500, "application/json", "discloses server file paths (/docker/registry/v2/repositories/"),
        (
            400,
            b'{"errors":[{"code":"NAME_INVALID","message":"open /srv/registry/x: denied"}]}',
            "application/json",
            "discloses server file paths (/srv/registry/x)",
        ),
    ],
)
def test_error_bodies_that_fail(status, body, content_type, says):
    with pytest.raises(CheckFailed) as info:
        expect.error_body(_answer(status, body, content_type=content_type), "probe")
    assert says in str(info.value)


def test_a_head_answer_has_no_body_to_judge():
    assert expect.error_body(_answer(404, b"", method="HEAD"), "probe") is None


def test_a_server_error_keeps_its_body_as_evidence_and_names_disclosed_paths():
    with pytest.raises(CheckFailed) as info:
        expect.status(_answer(500, RECORDED_500), 404, "probe", "a missing manifest answers 404")
    message = str(info.value)
    assert "answered 500 Internal Server Error (a server error); expected 404" in message
    assert "The body also discloses server file paths: /docker/registry/v2/repositories/" in message
    recorded = evidence.current().evidence["server_error"]
    assert recorded["status"] == 500 and "totallywrong" in recorded["body"]


def test_a_400_refusing_an_optional_feature_must_say_unsupported():
    with pytest.raises(CheckFailed) as info:
        expect.refusal_of_optional_feature(_answer(400, RECORDED_TAG_DELETE, "DELETE"), "delete tag", "tag deletion")
    assert "refused tag deletion with 400 and error code(s) DIGEST_INVALID" in str(info.value)
    unsupported = b'{"errors":[{"code":"UNSUPPORTED","message":"tag deletion is disabled"}]}'
    assert (
        expect.refusal_of_optional_feature(_answer(400, unsupported, "DELETE"), "d", "tag deletion")
        == "400 UNSUPPORTED"
    )
    denied = b'{"errors":[{"code":"UNSUPPORTED","message":"method not allowed"}]}'
    assert expect.refusal_of_optional_feature(_answer(405, denied, "DELETE"), "d", "deletion") == "405 UNSUPPORTED"
