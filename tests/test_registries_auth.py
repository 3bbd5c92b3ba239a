"""The harness's auth registries and the client's auth: token flow, basic over TLS, refusals."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from distribution_fixtures import auth_registries_fixture, endpoints_for  # noqa: F401

from ocimatrix import evidence
from ocimatrix.distribution import pull, push
from ocimatrix.distribution.context import DistContext
from ocimatrix.host.token_server import parse_scope
from ocimatrix.plugin.verdicts import decide
from ocimatrix.registries import RegistryAuthError, http_client, resolve_target


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _target(auth_registries, kind: str):
    return resolve_target(f"embedded-{kind}", {"embedded": kind}, endpoints_for(None, auth_registries))


def test_settings_name_a_credentials_file_never_the_password(auth_registries):
    for kind, registry in zip(("token", "basic"), auth_registries.registries, strict=True):
        settings = auth_registries.settings[kind]
        assert registry.password not in json.dumps(settings)
        path = Path(settings["auth"]["credentials_file"])
        assert json.loads(path.read_text())["password"] == registry.password
        assert path.stat().st_mode & 0o777 == 0o600


def test_token_flow_fetches_one_token_per_repository_scope(auth_registries):
    target = _target(auth_registries, "token")
    evidence.begin()
    ctx = DistContext(target, "authtest")
    try:
        pull.pull_blob(ctx)  # POST+PUT (push scope) then GET
        pull.pull_blob(ctx)  # another repository: its own token
    finally:
        ctx.close()
    tokens = [line for line in evidence.current().repro if line.startswith("OCIMATRIX_REGISTRY_TOKEN=$(curl")]
    assert 2 <= len(tokens) <= 4, tokens
    assert all(
        "service=ocimatrix-registry" in line and "scope=repository%3Aocimatrix%2Fdist" in line for line in tokens
    )


def test_the_token_is_an_es256_jwt_signed_by_the_trusted_certificate(auth_registries):
    registry = auth_registries.registries[0]
    response = httpx.get(
        registry.realm,
        params=[("service", "ocimatrix-registry"), ("scope", "repository:a/b:pull,push")],
        auth=(registry.username, registry.password),
        timeout=10,
    )
    assert response.status_code == 200
    token = response.json()["token"]
    header_b64, claims_b64, signature_b64 = token.split(".")
    header, claims = json.loads(_b64url_decode(header_b64)), json.loads(_b64url_decode(claims_b64))
    assert header["alg"] == "ES256"
    assert claims["aud"] == "ocimatrix-registry" and claims["iss"] == "ocimatrix-token-server"
    assert claims["access"] == [{"type": "repository", "name": "a/b", "actions": ["pull", "push"]}]
    cert = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    trusted = x509.load_pem_x509_certificate((registry.state_dir / "certs" / "token-signer.pem").read_bytes())
    assert cert == trusted
    raw = _b64url_decode(signature_b64)
    signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    cert.public_key().verify(signature, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))


def test_the_token_server_refuses_wrong_credentials(auth_registries):
    registry = auth_registries.registries[0]
    response = httpx.get(registry.realm, params={"service": "ocimatrix-registry"}, auth=(registry.username, "wrong"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_wrong_credentials_are_the_setups_error_not_the_registrys_failure(auth_registries, tmp_path):
    creds = tmp_path / "wrong.json"
    creds.write_text(json.dumps({"username": "ocimatrix", "password": "not-the-password"}))
    for kind, registry in zip(("token", "basic"), auth_registries.registries, strict=True):
        settings = dict(
            auth_registries.settings[kind],
            auth={"type": registry.settings()["auth"]["type"], "credentials_file": str(creds)},
        )
        target = resolve_target(f"wrong-{kind}", settings)
        evidence.begin()
        ctx = DistContext(target, "authtest")
        try:
            with pytest.raises(RegistryAuthError) as info:
                pull.api_version_check(ctx)
        finally:
            ctx.close()
        message = str(info.value)
        if kind == "token":
            assert (
                "token endpoint http://127.0.0.1:" in message
                and "answered 401 Unauthorized (check the credentials)" in message
            )
        else:
            assert "answered 401 to GET /v2/ with the configured credentials (basic auth)" in message
        assert "not-the-password" not in message
        assert decide(info.value).outcome == "error"


def test_basic_registry_serves_tls_with_the_harness_ca(auth_registries):
    target = _target(auth_registries, "basic")
    assert target.base_url.startswith("https://127.0.0.1:")
    with http_client(target) as client:
        assert client.get("/v2/").status_code == 200
    with pytest.raises(httpx.ConnectError):  # the system trust store doesn't know our CA
        httpx.get(target.base_url + "/v2/", timeout=5)


@pytest.mark.parametrize("kind", ["token", "basic"])
def test_unauthenticated_check_sees_the_challenge(auth_registries, kind):
    evidence.begin()
    ctx = DistContext(_target(auth_registries, kind), "authtest")
    try:
        pull.api_version_check_unauthenticated(ctx)
        push.mount_blob(ctx)  # a mount's challenge names two repositories: the token must cover both
    finally:
        ctx.close()
    challenge = evidence.current().evidence["challenge"]
    assert challenge.startswith("bearer realm=http://127.0.0.1:" if kind == "token" else "basic realm=ocimatrix")


def test_parse_scope_keeps_registry_ports_in_names():
    assert parse_scope("repository:127.0.0.1:5000/a:pull") == {
        "type": "repository",
        "name": "127.0.0.1:5000/a",
        "actions": ["pull"],
    }
    assert parse_scope("nonsense") is None
