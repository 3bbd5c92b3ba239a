"""The distribution suite's verdicts: what confirms a listed finding, what is the setup's fault, what
the registry lawfully declares.

The first half replays, for every registry expectation of ``matrix/default.yaml`` and
``matrix/nightly.yaml``, the answer distribution 2.8.2 really gave (recorded from a suite run: it
must be ``xfailed``) and answers it did not give to that step (a 500 to a setup push, another
status, an empty body, a refused connection: never ``xfailed``). The second half runs the checks
against answers replayed through ``httpx.MockTransport`` (a small in-memory registry whose answers
each test bends): credentials refused and token endpoints failing are ``error``, malformed JSON where
the spec requires it is ``failed``, the referrers API is judged only after its presence is known, a
blob redirect is followed and checked, a bare 405 to a deletion is a skip, and chunks honour
``OCI-Chunk-Min-Length``.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from verdict_cases import as_the_suite_fails, raised, tool_findings

from ocimatrix import evidence
from ocimatrix.distribution import discovery, management, pull, push, shapes
from ocimatrix.distribution.client import CheckFailed, NotApplicable
from ocimatrix.distribution.context import DistContext
from ocimatrix.errors import HarnessError, ServiceUnavailable
from ocimatrix.matrix import load_matrix
from ocimatrix.plugin.verdicts import decide
from ocimatrix.registries import RegistryAuthError, resolve_target
from ocimatrix.registries.auth import RegistryAuth
from ocimatrix.registries.targets import EMBEDDED_IMPLEMENTATIONS

ROOT = Path(__file__).resolve().parents[1]
MATRICES = ("matrix/default.yaml", "matrix/nightly.yaml")

# --- recorded answers: (step, answer) as CheckFailed carried them in a suite run on distribution 2.8.2 ---

_TAGS = '["t6","t8","t3","t4","t5","t1","t7","t2"]'
_NOT_OBJECT_500 = (
    '500 Internal Server Error; body: \'{"errors":[{"code":"UNKNOWN","message":"unknown error","detail":'
    '{"Path":"/docker/registry/v2/repositories/ocimatrix/dist/x/_manifests/tags/sha256:totallywrong/current/link",'
    '"DriverName":"filesystem"}}]}\\n\''
)
_UPLOAD_INVALID = (
    '404 Not Found; body: \'{"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"blob upload invalid"}]}\\n\''
)
_DIGEST_INVALID = (
    '400 Bad Request; body: \'{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match '
    "uploaded content\"}]}\\n'"
)
_ROUTER_404 = "404 Not Found; Content-Type: text/plain; charset=utf-8; body: '404 page not found\\n'"

RECORDED: dict[str, list[tuple[str, str]]] = {
    "test_out_of_order_chunk_is_416": [
        ("chunked upload, out-of-order chunk (bytes 20-29 after 0-9)", "202 Accepted; Range: 0-19; body: (empty body)")
    ],
    "test_tags_list_is_in_lexical_order": [
        ("tag list order", f'200 OK; body: \'{{"name":"ocimatrix/dist/r-gw1-tags-order-deb9db","tags":{_TAGS}}}\\n\'')
    ],
    "test_tags_list_pagination_with_*": [
        ("tag list with n=3", f'200 OK; body: \'{{"name":"ocimatrix/dist/r-gw1-tags-n-5b4264","tags":{_TAGS}}}\\n\''),
        (
            "tag list with n=3&last=t3",
            f'200 OK; body: \'{{"name":"ocimatrix/dist/r-gw1-tags-last-930de0","tags":{_TAGS}}}\\n\'',
        ),
    ],
    "test_delete_tag": [("delete tag", _DIGEST_INVALID)],
    "test_resent_chunk_is_416": [
        ("chunked upload, the first chunk (bytes 0-32) sent again to its first URL", _UPLOAD_INVALID)
    ],
    "test_upload_status_from_a_stale_url": [
        ("upload status from the session's first URL (before the chunk was sent)", _UPLOAD_INVALID)
    ],
    "test_malformed_digest_is_refused": [
        ("GET manifest by the malformed digest sha256:totallywrong", _NOT_OBJECT_500),
        ("HEAD manifest by the malformed digest sha256:totallywrong", "500 Internal Server Error; body: (empty body)"),
    ],
    "test_manifest_put_by_malformed_digest_is_400": [
        ("push of a manifest under the malformed digest sha256:baddigeststring", _NOT_OBJECT_500)
    ],
    "test_invalid_tag_is_404": [("GET manifest by the invalid tag .INVALID_MANIFEST_NAME", _ROUTER_404)],
    "test_invalid_repository_name_is_refused": [
        ("GET manifest of a repository whose name breaks the grammar", _ROUTER_404)
    ],
    "test_unsatisfiable_blob_range_is_416": [
        (
            "GET blob with Range: bytes=500-0",
            "broken HTTP message: RemoteProtocolError: peer closed connection without sending complete message body "
            "(received 14 bytes, expected 2048)",
        )
    ],
    "test_content_shape_non_distributable_layers": [
        (
            "non-distributable-layers: pushing manifest sha256:411c16bc24c9... by digest",
            '500 Internal Server Error; body: \'{"errors":[{"code":"UNKNOWN","message":"unknown error"},'
            '{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:f090"}]}\\n\'',
        )
    ],
    "test_content_shape_sha512": [("sha512: pushing manifest sha512:25e5c991b378... by digest", _DIGEST_INVALID)],
}

# Answers distribution never gave to the listed step: a setup push's 500, the spec's own answer in
# a wrong place, other statuses, an empty answer.
SETUP_STEPS = ("setup: pushing the test image", "setup: pushing a blob", "setup: pushing a referrer")
OTHER_ANSWERS = (
    "500 Internal Server Error; body: (empty body)",
    "404 Not Found; body: (empty body)",
    '416 Requested Range Not Satisfiable; body: \'{"errors":[{"code":"BLOB_UPLOAD_INVALID"}]}\'',
    "202 Accepted; Range: 0-29; body: (empty body)",
    '200 OK; body: \'{"name":"r","tags":["t1","t2","t3"]}\'',
    '400 Bad Request; body: \'{"errors":[{"code":"UNSUPPORTED"}]}\'',
    "405 Method Not Allowed; body: (empty body)",
    "503 Service Unavailable; body: 'upstream gone'",
    "no complete answer within 30s (timeout)",
    "",
)
# Among those, the ones that are the listed finding itself (a 500 to a malformed digest is, body or none).
SAME_FINDING = {
    "test_malformed_digest_is_refused": {"500 Internal Server Error; body: (empty body)"},
    "test_manifest_put_by_malformed_digest_is_400": {"500 Internal Server Error; body: (empty body)"},
}


def _registry_expectations() -> list:
    """Distribution's listings; another implementation's (crane's) have their own recorded answers
    (tests/test_crane_registry_verdicts.py), and so do the signatures suite's (tests/test_signatures_verdicts.py)."""
    signatures = tool_findings()
    found = []
    for name in MATRICES:
        matrix = load_matrix(ROOT / name)
        others = {n for n, s in matrix.registries.items() if s.get("embedded") in EMBEDDED_IMPLEMENTATIONS}
        for index, expected in enumerate(matrix.expectations):
            if expected["test"].partition("[")[0] in signatures:
                continue
            if "registry" in expected["cell"] and not set(expected["cell"]["registry"]) <= others:
                found.append(pytest.param(expected, id=f"{Path(name).stem}-{index}-{expected['test']}"))
    return found


@pytest.mark.parametrize("expected", _registry_expectations())
def test_every_registry_expectation_names_a_step_and_has_recorded_answers(expected):
    assert expected.get("step"), "a registry finding names the step it answered"
    assert expected["test"] in RECORDED, "record the registry's real answer for this expectation"


@pytest.mark.parametrize("expected", _registry_expectations())
def test_the_recorded_answer_confirms_the_listing(expected):
    for step, answer in RECORDED[expected["test"]]:
        verdict = decide(as_the_suite_fails(step, answer), expected=expected)
        assert verdict.outcome == "xfailed", (step, answer, verdict.reason)


@pytest.mark.parametrize("expected", _registry_expectations())
def test_a_different_failure_never_confirms_the_listing(expected):
    recorded = RECORDED[expected["test"]]
    # The finding's own answer, but to a setup step: a setup push's 500 is not "500 on a malformed digest".
    for setup in SETUP_STEPS:
        for _, answer in recorded:
            assert decide(as_the_suite_fails(setup, answer), expected=expected).outcome == "failed"
    # Another answer to the finding's own step.
    for step, real in recorded:
        for answer in OTHER_ANSWERS:
            if answer == real or answer in SAME_FINDING.get(expected["test"], ()):
                continue
            verdict = decide(as_the_suite_fails(step, answer), expected=expected)
            assert verdict.outcome == "failed", (step, answer)
    # Nothing answered: the registry is gone, whatever the message says.
    assert decide(raised(ConnectionRefusedError(111, "Connection refused")), expected=expected).outcome == "error"
    unavailable = ServiceUnavailable("registry http://127.0.0.1:5000", f"{recorded[0][0]}: ConnectError")
    assert decide(raised(unavailable), expected=expected).outcome == "error"
    # The harness's words, the listing's own pattern included, are no answer.
    assert decide(raised(AssertionError(expected["match"])), expected=expected).outcome == "failed"


# --- an in-memory registry behind httpx.MockTransport ------------------------------------------

Override = Callable[[httpx.Request], "httpx.Response | None"]
_PATH = re.compile(r"^/v2/(?P<repo>.+?)/(?P<kind>blobs/uploads|blobs|manifests|tags|referrers)(?:/(?P<ref>[^/]*))?$")
INDEX = "application/vnd.oci.image.index.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _error(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"code": code, "message": code.lower()}]})


class FakeRegistry:
    """Just enough of distribution-spec to run the checks; ``overrides`` bend single answers."""

    def __init__(
        self, *, referrers_api: bool = True, subject_header: bool = True, chunk_min: int | None = None
    ) -> None:
        self.referrers_api = referrers_api
        self.subject_header = subject_header and referrers_api
        self.chunk_min = chunk_min
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.uploads: dict[str, bytearray] = {}
        self.patches: list[int] = []  # each PATCH's size
        self.overrides: list[Override] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        for override in self.overrides:
            answer = override(request)
            if answer is not None:
                return answer
        return self.answer(request)

    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/":
            return httpx.Response(200, json={})
        match = _PATH.match(request.url.path)
        if match is None:
            return httpx.Response(404, text="404 page not found\n")
        repo, kind, ref = match["repo"], match["kind"], match["ref"] or ""
        handler = getattr(self, f"_{kind.replace('/', '_')}")
        return handler(request, repo, ref)

    def _blobs_uploads(self, request: httpx.Request, repo: str, ref: str) -> httpx.Response:
        method, body = request.method, request.read()
        if method == "POST":
            session = uuid.uuid4().hex
            self.uploads[session] = bytearray()
            headers = {"Location": f"/v2/{repo}/blobs/uploads/{session}", "Range": "0-0"}
            if self.chunk_min is not None:
                headers["OCI-Chunk-Min-Length"] = str(self.chunk_min)
            return httpx.Response(202, headers=headers)
        if ref not in self.uploads:
            return _error(404, "BLOB_UPLOAD_UNKNOWN")
        data = self.uploads[ref]
        location = {"Location": f"/v2/{repo}/blobs/uploads/{ref}"}
        if method == "PATCH":
            start = request.headers.get("Content-Range", f"{len(data)}-").split("-")[0]
            if int(start) != len(data):
                return _error(416, "BLOB_UPLOAD_INVALID")
            self.patches.append(len(body))
            data += body
            return httpx.Response(202, headers={**location, "Range": f"0-{len(data) - 1}"})
        if method == "GET":
            return httpx.Response(204, headers={**location, "Range": f"0-{max(len(data) - 1, 0)}"})
        if method == "DELETE":
            del self.uploads[ref]
            return httpx.Response(204)
        data += body
        digest = request.url.params.get("digest", "")
        if _digest(bytes(data)) != digest:
            return _error(400, "DIGEST_INVALID")
        self.blobs[digest] = bytes(data)
        del self.uploads[ref]
        return httpx.Response(201, headers={"Location": f"/v2/{repo}/blobs/{digest}", "Docker-Content-Digest": digest})

    def _blobs(self, request: httpx.Request, repo: str, ref: str) -> httpx.Response:
        if ref not in self.blobs:
            return _error(404, "BLOB_UNKNOWN")
        if request.method == "DELETE":
            del self.blobs[ref]
            return httpx.Response(202)
        data = self.blobs[ref]
        headers = {"Docker-Content-Digest": ref, "Content-Length": str(len(data))}
        return httpx.Response(200, headers=headers, content=b"" if request.method == "HEAD" else data)

    def _manifests(self, request: httpx.Request, repo: str, ref: str) -> httpx.Response:
        if request.method == "PUT":
            body = request.read()
            media_type = request.headers["Content-Type"]
            digest = _digest(body)
            self.manifests[(repo, ref)] = self.manifests[(repo, digest)] = (body, media_type)
            headers = {"Location": f"/v2/{repo}/manifests/{digest}", "Docker-Content-Digest": digest}
            subject = json.loads(body).get("subject")
            if subject and self.subject_header:
                headers["OCI-Subject"] = subject["digest"]
            return httpx.Response(201, headers=headers)
        if (repo, ref) not in self.manifests:
            return _error(404, "MANIFEST_UNKNOWN")
        body, media_type = self.manifests[(repo, ref)]
        if request.method == "DELETE":
            for key in [k for k, v in self.manifests.items() if k[0] == repo and v[0] == body]:
                del self.manifests[key]
            return httpx.Response(202)
        headers = {"Content-Type": media_type, "Docker-Content-Digest": _digest(body), "Content-Length": str(len(body))}
        return httpx.Response(200, headers=headers, content=b"" if request.method == "HEAD" else body)

    def _tags(self, request: httpx.Request, repo: str, ref: str) -> httpx.Response:
        tags = sorted({r for (name, r), _ in self.manifests.items() if name == repo and ":" not in r})
        return httpx.Response(200, json={"name": repo, "tags": tags})

    def _referrers(self, request: httpx.Request, repo: str, ref: str) -> httpx.Response:
        if not self.referrers_api:
            return _error(404, "NAME_UNKNOWN")
        listed = []
        for (name, reference), (body, media_type) in self.manifests.items():
            document = json.loads(body)
            if (
                name == repo
                and reference.startswith("sha256:")
                and (document.get("subject") or {}).get("digest") == ref
            ):
                descriptor = {"mediaType": media_type, "digest": reference, "size": len(body)}
                artifact_type = document.get("artifactType") or document.get("config", {}).get("mediaType")
                if artifact_type:
                    descriptor["artifactType"] = artifact_type
                if document.get("annotations"):
                    descriptor["annotations"] = document["annotations"]
                listed.append(descriptor)
        index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": listed}
        return httpx.Response(200, headers={"Content-Type": INDEX}, content=json.dumps(index).encode())


def _ctx(registry: Callable[[httpx.Request], httpx.Response], settings: dict | None = None) -> DistContext:
    """A DistContext whose client answers from ``registry``; its liveness probe finds nobody at port 9."""
    evidence.begin()
    target = resolve_target("replayed", {"url": "http://127.0.0.1:9", "plain_http": True, **(settings or {})})
    ctx = DistContext(target, "replay", timeout=2)
    ctx.client.http.close()
    ctx.client.http = httpx.Client(
        base_url=target.base_url,
        transport=httpx.MockTransport(registry),
        auth=RegistryAuth(target),
        follow_redirects=False,
    )
    return ctx


def _run(check, registry, *args, settings: dict | None = None, **kwargs):
    ctx = _ctx(registry, settings)
    try:
        return check(ctx, *args, **kwargs)
    finally:
        ctx.close()


def _failure(check, registry, *args, **kwargs) -> CheckFailed:
    with pytest.raises(CheckFailed) as info:
        _run(check, registry, *args, **kwargs)
    assert decide(raised(info.value)).outcome == "failed"
    return info.value


def test_the_in_memory_registry_passes_the_checks_it_serves():
    registry = FakeRegistry()
    for check in (pull.api_version_check, pull.head_blob, pull.pull_blob, push.push_blob_chunked, push.upload_status):
        _run(check, registry)
    _run(discovery.referrers_of_unknown_subject, registry)
    _run(discovery.referrers_api, registry)
    _run(management.tags_list_after_manifest_delete, registry)
    _run(shapes.round_trip, registry, "artifacts-with-subject")


# --- item: the setup's credentials and token endpoint are error, never failed ----------------------


def _challenge(scheme: str) -> Override:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if request.url.host == "auth.example":
            return httpx.Response(500, text="token service down")
        if "Authorization" not in request.headers:
            realm = (
                'Bearer realm="http://auth.example/token",service="registry"'
                if scheme == "bearer"
                else 'Basic realm="r"'
            )
            return httpx.Response(401, headers={"WWW-Authenticate": realm}, json={"errors": [{"code": "UNAUTHORIZED"}]})
        return None

    return answer


def _refuse_everyone(request: httpx.Request) -> httpx.Response | None:
    if "Authorization" in request.headers:
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'}, text="bad credentials")
    return None


@pytest.fixture
def credentials(tmp_path: Path) -> dict:
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps({"username": "someone", "password": "not-the-password"}))
    return {"credentials_file": str(creds)}


def test_a_token_endpoint_answering_500_is_the_setups_error(credentials):
    registry = FakeRegistry()
    registry.overrides.append(_challenge("bearer"))
    with pytest.raises(RegistryAuthError) as info:
        _run(pull.api_version_check, registry, settings={"auth": {"type": "bearer", **credentials}})
    assert "token endpoint http://auth.example/token answered 500 Internal Server Error" in str(info.value)
    assert isinstance(info.value, HarnessError) and decide(raised(info.value)).outcome == "error"


def test_credentials_the_registry_refuses_are_the_setups_error(credentials):
    registry = FakeRegistry()
    registry.overrides += [_challenge("basic"), _refuse_everyone]
    with pytest.raises(RegistryAuthError) as info:
        _run(push.push_blob_post_put, registry, settings={"auth": {"type": "basic", **credentials}})
    assert "answered 401 to POST /v2/" in str(info.value) and "with the configured credentials" in str(info.value)
    assert "not-the-password" not in str(info.value)
    assert decide(raised(info.value)).outcome == "error"


def test_a_registry_asking_for_credentials_the_matrix_does_not_give_is_the_setups_error():
    registry = FakeRegistry()
    registry.overrides.append(_challenge("basic"))
    with pytest.raises(RegistryAuthError, match="but its settings give none"):
        _run(pull.api_version_check, registry)


# --- item: a late answer, and malformed JSON where the spec requires it, are failed -------------


def _hang_on(fragment: str) -> Override:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if fragment in request.url.path and request.method == "GET":
            raise httpx.ReadTimeout("timed out", request=request)
        return None

    return answer


def test_a_late_answer_from_a_registry_that_answers_is_failed():
    registry = FakeRegistry()
    registry.overrides.append(_hang_on("/blobs/sha256:"))
    ctx = _ctx(registry)
    ctx.client.alive = lambda: True  # a fresh GET /v2/ is answered
    try:
        with pytest.raises(CheckFailed) as info:
            pull.pull_blob(ctx)
    finally:
        ctx.close()
    assert info.value.step == "pull blob" and info.value.answer == "no complete answer within 2s (timeout)"
    assert decide(raised(info.value)).outcome == "failed"


def test_a_registry_that_answers_nothing_at_all_is_unavailable():
    registry = FakeRegistry()
    registry.overrides.append(_hang_on("/blobs/sha256:"))
    with pytest.raises(ServiceUnavailable) as info:
        _run(pull.pull_blob, registry)  # the liveness probe finds nothing at 127.0.0.1:9
    assert decide(raised(info.value)).outcome == "error"


def _body_at(fragment: str, body: bytes, content_type: str = "application/json") -> Override:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if fragment in request.url.path and request.method == "GET":
            return httpx.Response(200, headers={"Content-Type": content_type}, content=body)
        return None

    return answer


@pytest.mark.parametrize("body", [b"[]", b'"tags"', b"null", b'{"name": "x", "tags": "t1"}'])
def test_a_tag_list_that_is_no_json_object_fails_the_check(body):
    registry = FakeRegistry()
    registry.overrides.append(_body_at("/tags/list", body))
    failure = _failure(management.tags_list_after_manifest_delete, registry)
    assert failure.step == "tag list before the delete" and failure.answer.startswith("200 OK; body: ")
    failure = _failure(discovery.tags_list_order, registry)
    assert "breaks the spec's format" in str(failure)


@pytest.mark.parametrize("body", [b"[]", b'{"schemaVersion": 2, "manifests": ["sha256:abc"]}', b"17"])
def test_a_referrers_list_that_is_no_image_index_fails_the_check(body):
    registry = FakeRegistry()
    registry.overrides.append(_body_at("/referrers/", body, INDEX))
    failure = _failure(discovery.referrers_api, registry)
    assert failure.step == "referrers API" and failure.answer.startswith("200 OK; body: ")


@pytest.mark.parametrize("body", [b"[]", b'{"manifests": {"digest": "x"}}', b'{"manifests": [{"digest": ["x"]}]}'])
def test_a_shapes_referrers_list_that_is_no_image_index_fails_the_check(body):
    registry = FakeRegistry()
    registry.overrides.append(_body_at("/referrers/", body, INDEX))
    failure = _failure(shapes.round_trip, registry, "artifacts-with-subject")
    assert failure.step.startswith("artifacts-with-subject: referrers of ")


# --- item: the referrers list of an unknown subject; HEAD on a redirected blob --------------------


def _unknown_subject_404(registry: FakeRegistry) -> Override:
    def answer(request: httpx.Request) -> httpx.Response | None:
        if "/referrers/" in request.url.path:
            subject = request.url.path.rsplit("/", 1)[1]
            if not any(r == subject for _, r in registry.manifests):
                return _error(404, "MANIFEST_UNKNOWN")
        return None

    return answer


def test_with_the_referrers_api_an_unknown_subject_answered_404_fails():
    registry = FakeRegistry(referrers_api=True)
    registry.overrides.append(_unknown_subject_404(registry))
    failure = _failure(discovery.referrers_of_unknown_subject, registry)
    assert failure.step == "referrers of a digest nobody pushed" and failure.answer.startswith("404 Not Found")
    assert "MUST answer 200" in str(failure)


def test_without_oci_subject_the_api_is_established_by_a_known_subject_before_the_unknown_one():
    # No OCI-Subject on push, but the known subject's referrers are listed: the API is there.
    registry = FakeRegistry(referrers_api=True, subject_header=False)
    registry.overrides.append(_unknown_subject_404(registry))
    failure = _failure(discovery.referrers_of_unknown_subject, registry)
    assert failure.step == "referrers of a digest nobody pushed"


def test_a_registry_without_the_referrers_api_is_skipped_with_how_that_was_established():
    registry = FakeRegistry(referrers_api=False)
    with pytest.raises(NotApplicable, match="no OCI-Subject on pushing a referrer"):
        _run(discovery.referrers_of_unknown_subject, registry)


def test_a_registry_declaring_the_api_by_oci_subject_may_not_answer_404():
    registry = FakeRegistry(referrers_api=True)
    registry.overrides.append(lambda r: _error(404, "NAME_UNKNOWN") if "/referrers/" in r.url.path else None)
    failure = _failure(discovery.referrers_api, registry)
    assert "answered OCI-Subject" in str(failure)


CDN = "http://cdn.example/blob"


def _redirect_blobs(registry: FakeRegistry, serve: str | None, status: int = 307) -> Override:
    """Blobs redirected to a CDN that serves them ``reversed`` (same length), ``short``, or not at all."""

    def answer(request: httpx.Request) -> httpx.Response | None:
        path = request.url.path
        if request.url.host == "cdn.example":
            if serve is None:
                return httpx.Response(404, text="gone")
            data = next(iter(registry.blobs.values()))
            data = data[::-1] if serve == "reversed" else data[:-1]
            headers = {"Content-Length": str(len(data))}
            return httpx.Response(200, headers=headers, content=b"" if request.method == "HEAD" else data)
        if "/blobs/sha256:" in path and request.method in ("GET", "HEAD"):
            digest = path.rsplit("/", 1)[1]
            if digest in registry.blobs:
                return httpx.Response(status, headers={"Location": CDN})
        return None

    return answer


def test_head_blob_follows_a_redirect_to_a_place_that_serves_the_blob():
    registry = FakeRegistry()
    served: dict[str, bytes] = {}

    def cdn(request: httpx.Request) -> httpx.Response | None:
        if request.url.host == "cdn.example":
            data = next(iter(registry.blobs.values()))
            served["bytes"] = data
            headers = {"Content-Length": str(len(data))}
            return httpx.Response(200, headers=headers, content=b"" if request.method == "HEAD" else data)
        if "/blobs/sha256:" in request.url.path and request.method == "HEAD":
            return httpx.Response(307, headers={"Location": CDN})
        return None

    registry.overrides.append(cdn)
    _run(pull.head_blob, registry)
    assert served["bytes"]


@pytest.mark.parametrize(
    ("serve", "says"), [("reversed", "hashing to"), ("short", "answered Content-Length"), (None, "answered 404")]
)
def test_head_blob_redirected_to_the_wrong_content_fails(serve, says):
    registry = FakeRegistry()
    registry.overrides.append(_redirect_blobs(registry, serve))
    failure = _failure(pull.head_blob, registry)
    assert says in str(failure) and "redirect target" in failure.step


# --- item: a bare 405 is the registry's declaration; chunks honour OCI-Chunk-Min-Length -----------


def _bare_405(request: httpx.Request) -> httpx.Response | None:
    if request.method == "DELETE" and "/uploads/" not in request.url.path:
        return httpx.Response(405)
    return None


@pytest.mark.parametrize(
    ("check", "feature"),
    [
        (management.delete_manifest, "manifest deletion"),
        (management.delete_blob, "blob deletion"),
        (management.delete_tag, "tag deletion"),
        (management.delete_unknown_blob, "blob deletion"),
    ],
)
def test_a_bare_405_to_a_deletion_is_a_skip_with_the_registrys_answer(check, feature):
    registry = FakeRegistry()
    registry.overrides.append(_bare_405)
    with pytest.raises(NotApplicable) as info:
        _run(check, registry)
    assert str(info.value).startswith(f"{feature} disabled by this registry (405 Method Not Allowed)")


def test_a_405_disclosing_server_paths_still_fails():
    registry = FakeRegistry()
    registry.overrides.append(
        lambda r: httpx.Response(405, text="open /var/lib/registry/docker/x: denied") if r.method == "DELETE" else None
    )
    failure = _failure(management.delete_blob, registry)
    assert "discloses server file paths" in str(failure)


@pytest.mark.parametrize(
    "check",
    [
        push.push_blob_chunked,
        lambda ctx: push.push_blob_chunked(ctx, final_chunk_in_put=True),
        push.upload_status,
        lambda ctx: push.push_blob_bad_digest(ctx, "chunked"),
    ],
)
def test_chunks_honour_oci_chunk_min_length(check):
    registry = FakeRegistry(chunk_min=1000)
    refused: list[int] = []

    def minimum(request: httpx.Request) -> httpx.Response | None:
        if request.method == "PATCH" and len(request.read()) < 1000:
            refused.append(len(request.content))
            return _error(416, "BLOB_UPLOAD_INVALID")
        return None

    registry.overrides.append(minimum)
    _run(check, registry)
    assert not refused and registry.patches and min(registry.patches) >= 1000


def test_an_out_of_order_chunk_keeps_the_minimum_too():
    registry = FakeRegistry(chunk_min=500)
    _run(push.push_chunk_out_of_order, registry)  # the fake answers 416 to a chunk past the end
    assert registry.patches == [500]


def test_a_chunk_minimum_that_is_no_number_fails_with_the_header():
    registry = FakeRegistry()
    registry.overrides.append(
        lambda r: (
            httpx.Response(202, headers={"Location": f"{r.url.path}x", "OCI-Chunk-Min-Length": "lots"})
            if r.method == "POST"
            else None
        )
    )
    failure = _failure(push.push_blob_chunked, registry)
    assert "OCI-Chunk-Min-Length: lots" in failure.answer
