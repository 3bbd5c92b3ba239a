"""The conformance checks fail, with the right message, against a registry that misbehaves.

A real distribution registry sits behind ``FaultyProxy``, which breaks one thing per test. Each
test runs the check a vendor would see fail and asserts the sentence it fails with; the last two
run the real suite through the plugin to show the right cell fails while the run goes on.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time

import httpx
import pytest
from distribution_fixtures import FaultyProxy, ProxyExchange, plain_registry_fixture, run_suite  # noqa: F401

from ocimatrix import evidence
from ocimatrix.distribution import discovery, management, pull, push
from ocimatrix.distribution.client import CheckFailed
from ocimatrix.distribution.context import DistContext
from ocimatrix.errors import ServiceUnavailable
from ocimatrix.registries import register_secret, resolve_target


def _ctx(url: str, timeout: float = 5.0) -> DistContext:
    evidence.begin()
    return DistContext(resolve_target("faulty", {"url": url, "plain_http": True}), "selftest", timeout=timeout)


def _fails(check, url: str, *args, timeout: float = 5.0, **kwargs) -> str:
    ctx = _ctx(url, timeout)
    try:
        with pytest.raises(CheckFailed) as info:
            check(ctx, *args, **kwargs)
    finally:
        ctx.close()
    return str(info.value)


def _passes(check, url: str, *args, **kwargs) -> None:
    ctx = _ctx(url)
    try:
        check(ctx, *args, **kwargs)
    finally:
        ctx.close()


def _is(method: str, fragment: str, exchange: ProxyExchange) -> bool:
    return exchange.method == method and fragment in exchange.path


def test_checks_pass_through_an_honest_proxy(plain_registry):
    """The proxy itself changes nothing: the same checks pass through it untouched."""
    with FaultyProxy(plain_registry.url) as proxy:
        for check in (pull.api_version_check, pull.pull_blob, pull.head_blob, push.push_blob_chunked):
            _passes(check, proxy.url)
        _passes(pull.pull_manifest, proxy.url, by="digest")


def test_corrupted_blob_bytes_fail_the_pull(plain_registry):
    def corrupt(exchange: ProxyExchange) -> None:
        if _is("GET", "/blobs/sha256:", exchange) and exchange.status == 200:
            exchange.body = bytes(b ^ 0x20 for b in exchange.body)  # same length, other bytes

    with FaultyProxy(plain_registry.url, corrupt) as proxy:
        message = _fails(pull.pull_blob, proxy.url)
    assert message.startswith("pull blob: GET /v2/")
    assert "not the requested sha256:" in message
    assert "wrong or corrupted content" in message


def test_a_lying_digest_header_fails(plain_registry):
    def lie(exchange: ProxyExchange) -> None:
        if _is("GET", "/manifests/", exchange) and exchange.status == 200:
            exchange.headers = {k: v for k, v in exchange.headers.items() if k.lower() != "docker-content-digest"}
            exchange.headers["Docker-Content-Digest"] = "sha256:" + "0" * 64

    with FaultyProxy(plain_registry.url, lie) as proxy:
        message = _fails(pull.pull_manifest, proxy.url, by="tag")
    assert "Docker-Content-Digest: 'sha256:" + "0" * 64 + "'" in message
    assert "MUST match the content" in message


def test_a_server_error_is_called_one(plain_registry):
    def explode(exchange: ProxyExchange) -> None:
        if _is("GET", "/manifests/", exchange):
            exchange.status, exchange.body = 500, b"upstream exploded"
            exchange.headers = {"Content-Type": "text/plain"}

    with FaultyProxy(plain_registry.url, explode) as proxy:
        message = _fails(pull.pull_manifest, proxy.url, by="digest")
    assert "answered 500 Internal Server Error (a server error); expected 200" in message
    assert "'upstream exploded'" in message


def test_garbage_instead_of_json_fails_the_tag_list(plain_registry):
    def garbage(exchange: ProxyExchange) -> None:
        if _is("GET", "/tags/list", exchange):
            exchange.body = b"\x00\xffnot json{"

    with FaultyProxy(plain_registry.url, garbage) as proxy:
        message = _fails(discovery.tags_list, proxy.url)
    assert "tag list: GET /v2/" in message
    assert "with a body that is not JSON" in message


def test_a_malformed_error_body_fails_against_the_schema(plain_registry):
    def bad_errors(exchange: ProxyExchange) -> None:
        if exchange.status == 404 and exchange.method == "GET":
            exchange.body = json.dumps({"errors": [{"code": "manifest-unknown", "message": 7}]}).encode()

    with FaultyProxy(plain_registry.url, bad_errors) as proxy:
        message = _fails(pull.pull_unknown_manifest, proxy.url, by="tag")
    assert "breaks the spec's error format (distribution-spec §Error Codes)" in message
    assert "/errors/0/code" in message
    assert "/errors/0/message" in message


def test_an_unexpected_error_code_fails(plain_registry):
    def wrong_code(exchange: ProxyExchange) -> None:
        if exchange.status == 404 and exchange.method == "DELETE":
            exchange.body = json.dumps({"errors": [{"code": "DENIED", "message": "no"}]}).encode()

    with FaultyProxy(plain_registry.url, wrong_code) as proxy:
        message = _fails(management.delete_unknown_blob, proxy.url)
    assert "error code(s) DENIED; expected BLOB_UNKNOWN or NAME_UNKNOWN" in message


def test_a_hanging_registry_times_out(plain_registry):
    def hang(exchange: ProxyExchange) -> None:
        if exchange.path == "/v2/":
            exchange.delay = 3.0

    with FaultyProxy(plain_registry.url, hang) as proxy:
        started = time.monotonic()
        ctx = _ctx(proxy.url, 0.5)
        try:
            with pytest.raises(ServiceUnavailable) as info:
                pull.api_version_check(ctx)
        finally:
            ctx.close()
        elapsed = time.monotonic() - started
    assert str(info.value) == (
        f"registry {proxy.url} does not answer: API version check: GET /v2/: no complete answer within 0.5s (timeout)"
    )
    assert not isinstance(info.value, CheckFailed)  # an error of the harness's world, never a failed cell
    assert elapsed < 2.5


def test_a_registry_late_with_one_answer_but_answering_others_fails_the_check(plain_registry):
    """Past the client's deadline on one request while GET /v2/ is answered: the registry's late answer."""

    def hang(exchange: ProxyExchange) -> None:
        if _is("GET", "/blobs/sha256:", exchange):
            exchange.delay = 3.0

    with FaultyProxy(plain_registry.url, hang) as proxy:
        ctx = _ctx(proxy.url, 1.0)
        try:
            with pytest.raises(CheckFailed) as info:
                pull.pull_blob(ctx)
        finally:
            ctx.close()
    assert info.value.step == "pull blob"
    assert info.value.answer == "no complete answer within 1s (timeout)"
    assert "while the registry answers other requests" in str(info.value)


def test_an_unreachable_registry_is_unavailable_not_failed():
    ctx = _ctx("http://127.0.0.1:9", 2)
    try:
        with pytest.raises(ServiceUnavailable) as info:
            pull.api_version_check(ctx)
    finally:
        ctx.close()
    assert info.value.service == "registry http://127.0.0.1:9"
    assert "API version check: GET /v2/: ConnectError" in info.value.detail


def test_a_broken_answer_from_a_live_registry_fails_the_check(plain_registry):
    """A registry that answers, but with a truncated message, did the wrong thing: failed, not error."""

    def truncate(exchange: ProxyExchange) -> None:
        if _is("GET", "/blobs/sha256:", exchange) and exchange.status == 200:
            exchange.headers["Content-Length"] = str(len(exchange.body) + 100)
            exchange.truncate = True

    with FaultyProxy(plain_registry.url, truncate) as proxy:
        message = _fails(pull.pull_blob, proxy.url)
    assert "got a broken HTTP answer (RemoteProtocolError" in message
    assert "while the registry answers other requests" in message


def test_a_tag_delete_refused_without_unsupported_fails(plain_registry):
    """distribution 2.8.2's answer to DELETE /manifests/<tag>: 400 DIGEST_INVALID, which is not a lawful refusal."""
    message = _fails(management.delete_tag, plain_registry.url)
    assert "refused tag deletion with 400 and error code(s) DIGEST_INVALID" in message
    assert "MUST answer 405, or 400 with the code UNSUPPORTED" in message


def test_a_server_error_disclosing_paths_says_so(plain_registry):
    message = _fails(pull.pull_manifest_malformed_digest, plain_registry.url)
    assert "answered 500 Internal Server Error (a server error)" in message
    assert "The body also discloses server file paths: /docker/registry/v2/repositories/" in message


def test_a_missing_range_header_fails_the_chunked_upload(plain_registry):
    def drop_range(exchange: ProxyExchange) -> None:
        if exchange.method == "PATCH":
            exchange.headers = {k: v for k, v in exchange.headers.items() if k.lower() != "range"}

    with FaultyProxy(plain_registry.url, drop_range) as proxy:
        message = _fails(push.push_blob_chunked, proxy.url)
    assert "without a Range header (each chunk's 202 MUST carry Range: 0-<end>)" in message


def test_a_registry_storing_under_a_wrong_digest_fails(plain_registry):
    def accept_anything(exchange: ProxyExchange) -> None:
        if exchange.method == "PUT" and "/manifests/sha256:" in exchange.path and exchange.status == 400:
            exchange.status, exchange.body = 201, b""

    with FaultyProxy(plain_registry.url, accept_anything) as proxy:
        message = _fails(push.push_manifest_digest_mismatch, proxy.url)
    assert "breaks content addressability" in message


def test_credentials_echoed_by_a_registry_are_redacted(plain_registry):
    """A registry that echoes the Authorization header into an error body can't leak it to a report."""
    password = "echo-me-" + hashlib.sha256(str(time.time()).encode()).hexdigest()[:12]

    def echo(exchange: ProxyExchange) -> None:
        if _is("GET", "/manifests/", exchange):
            exchange.status = 500
            exchange.body = f"auth was {exchange.request_headers.get('Authorization', '')} pw={password}".encode()

    with FaultyProxy(plain_registry.url, echo) as proxy:
        register_secret(password)
        evidence.begin()
        target = resolve_target(
            "faulty",
            {"url": proxy.url, "plain_http": True, "auth": {"type": "basic", "username_env": "U", "password_env": "P"}},
            env={"U": "someone", "P": password},
        )
        ctx = DistContext(target, "selftest", timeout=5)
        try:
            # Basic is only sent after a challenge; preload it so the echo has something to show.
            ctx.client.http.headers["Authorization"] = target.credentials.basic_header()
            with pytest.raises(CheckFailed) as info:
                pull.pull_manifest(ctx, by="tag")
        finally:
            ctx.close()
    message = str(info.value)
    assert "500" in message and "***" in message
    assert password not in message
    assert base64.b64encode(f"someone:{password}".encode()).decode() not in message
    assert password not in json.dumps(evidence.current().repro + [json.dumps(evidence.current().evidence)])


def test_the_suite_fails_only_the_broken_cell_and_goes_on(plain_registry, tmp_path):
    """Through the plugin: a registry serving corrupt blobs fails test_pull_blob, the rest still run."""

    def corrupt(exchange: ProxyExchange) -> None:
        if _is("GET", "/blobs/sha256:", exchange) and exchange.status == 200:
            exchange.body = exchange.body[::-1]

    with FaultyProxy(plain_registry.url, corrupt) as proxy:
        process, results = run_suite(
            tmp_path,
            {"honest": {"url": plain_registry.url}, "faulty": {"url": proxy.url, "plain_http": True}},
            ["suites/distribution/test_pull.py", "-k", "test_pull_blob or test_api_version_check or test_head_blob"],
        )
    outcomes = {r["test"].split("::")[1]: (r["outcome"], r["reason"]) for r in results.get("results", [])}
    assert outcomes, process.stdout + process.stderr
    assert outcomes["test_pull_blob[faulty]"][0] == "failed"
    assert "wrong or corrupted content" in outcomes["test_pull_blob[faulty]"][1]
    for name in (
        "test_pull_blob[honest]",
        "test_api_version_check[faulty]",
        "test_api_version_check[honest]",
        "test_head_blob[faulty]",
        "test_head_blob[honest]",
    ):
        assert outcomes[name][0] == "passed", (name, outcomes[name])
    record = next(r for r in results["results"] if r["test"].endswith("test_pull_blob[faulty]"))
    assert any(line.startswith("curl -sS -i ") and "/blobs/sha256:" in line for line in record["repro"])
    assert record["spec"]["url"].endswith("spec.md#pulling-blobs")


def test_what_a_check_starts_or_pushes_is_cleaned_up(plain_registry):
    ctx = _ctx(plain_registry.url)
    push.upload_status(ctx)  # leaves an upload session open on purpose
    pull.pull_manifest(ctx, by="tag")  # pushes two blobs and a manifest
    (upload,) = ctx.cleanup.uploads
    pushed = list(ctx.cleanup.manifests) + list(ctx.cleanup.blobs)
    done = ctx.close()
    assert done == {"uploads_cancelled": 1, "manifests_deleted": 1, "blobs_deleted": 2, "not_deleted": 0}
    with httpx.Client(timeout=5) as client:
        assert client.get(upload).status_code == 404
        for repo, digest in pushed:
            kind = "manifests" if (repo, digest) in pushed[:1] else "blobs"
            assert client.head(f"{plain_registry.url}/v2/{repo}/{kind}/{digest}").status_code == 404
