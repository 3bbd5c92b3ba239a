"""Matrix registry entries -> targets: URLs, namespaces, TLS, credentials from env or file, checks."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest

from ocimatrix.errors import ServiceUnavailable, UsageError
from ocimatrix.matrix import parse_matrix
from ocimatrix.registries import (
    RegistryPool,
    TargetUnavailable,
    redact,
    register_secret,
    registry_settings_problems,
    require_answering,
    resolve_target,
)


def test_url_without_scheme_is_https_unless_plain_http():
    assert resolve_target("r", {"url": "reg.example:5000"}).base_url == "https://reg.example:5000"
    assert resolve_target("r", {"url": "127.0.0.1:5000", "plain_http": True}).base_url == "http://127.0.0.1:5000"
    target = resolve_target("r", {"url": "https://reg.example/", "namespace": "team/ci"})
    assert (target.base_url, target.host, target.namespace) == ("https://reg.example", "reg.example", "team/ci")


def test_embedded_uses_the_endpoints_registry():
    endpoints = SimpleNamespace(registry="127.0.0.1:5123", errors={})
    target = resolve_target("embedded", {"embedded": True}, endpoints)
    assert target.base_url == "http://127.0.0.1:5123"
    assert target.auth_type == "none"


def test_embedded_missing_says_why():
    endpoints = SimpleNamespace(registry="", errors={"registry": "docker-registry not found"})
    with pytest.raises(TargetUnavailable, match="embedded registry is not available: docker-registry not found"):
        resolve_target("embedded", {"embedded": True}, endpoints)
    with pytest.raises(TargetUnavailable, match="token-auth registry is not available"):
        resolve_target("embedded-token", {"embedded": "token"}, SimpleNamespace(registry="x", errors={}))


def test_embedded_token_takes_its_settings_from_the_endpoints(tmp_path):
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps({"username": "u", "password": "pw-embedded-1"}))
    started = {
        "url": "http://127.0.0.1:6000",
        "version": "2.8.2",
        "auth": {"type": "bearer", "credentials_file": str(creds)},
    }
    endpoints = SimpleNamespace(registry="x", registries={"token": started}, errors={})
    target = resolve_target("embedded-token", {"embedded": "token", "namespace": "mine"}, endpoints)
    assert (target.base_url, target.auth_type, target.namespace, target.version) == (
        "http://127.0.0.1:6000",
        "bearer",
        "mine",
        "2.8.2",
    )
    assert target.credentials.username == "u"
    assert "pw-embedded-1" not in repr(target) and "pw-embedded-1" not in json.dumps(target.describe())


def test_credentials_from_environment_variables():
    env = {"REG_USER": "alice", "REG_PASS": "s3cret-from-env"}
    settings = {
        "url": "https://r.example",
        "auth": {"type": "basic", "username_env": "REG_USER", "password_env": "REG_PASS"},
    }
    target = resolve_target("r", settings, env=env)
    assert (target.credentials.username, target.credentials.password) == ("alice", "s3cret-from-env")
    assert target.describe()["credentials"] == "$REG_USER / $REG_PASS"
    assert target.curl_auth_args() == ["-u", '"$REG_USER:$REG_PASS"']
    assert "s3cret-from-env" not in repr(target)
    # Loading a secret registers it: from then on it never survives redact().
    assert redact({"x": ["password is s3cret-from-env"]}) == {"x": ["password is ***"]}


def test_missing_environment_variable_skips_with_its_name():
    settings = {
        "url": "https://r.example",
        "auth": {"type": "basic", "username_env": "NOPE_U", "password_env": "NOPE_P"},
    }
    with pytest.raises(TargetUnavailable, match="NOPE_U, NOPE_P, which is not set"):
        resolve_target("r", settings, env={})


@pytest.mark.parametrize(
    ("content", "user"),
    [
        ('{"username": "bob", "password": "file-pw-json"}', "bob"),
        ("bob:file-pw-line\n", "bob"),
        (json.dumps({"auths": {"r.example": {"auth": base64.b64encode(b"bob:file-pw-docker").decode()}}}), "bob"),
    ],
    ids=["json", "user-colon-password", "docker-config"],
)
def test_credentials_from_a_file(tmp_path, content, user):
    path = tmp_path / "creds"
    path.write_text(content)
    target = resolve_target("r", {"url": "https://r.example", "auth": {"type": "basic", "credentials_file": str(path)}})
    assert target.credentials.username == user
    assert target.credentials.password.startswith("file-pw-")
    assert target.describe()["credentials"] == f"file {path}"
    assert redact(f"leak {target.credentials.password}") == "leak ***"


def test_a_docker_config_without_the_host_is_unavailable(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {"other.example": {"auth": base64.b64encode(b"a:b").decode()}}}))
    with pytest.raises(TargetUnavailable, match="has no credentials for r.example"):
        resolve_target("r", {"url": "https://r.example", "auth": {"type": "basic", "credentials_file": str(path)}})


def test_bearer_without_credentials_is_anonymous_and_token_env_is_a_static_token():
    assert resolve_target("r", {"url": "https://r.example", "auth": {"type": "bearer"}}).credentials is None
    target = resolve_target(
        "r", {"url": "https://r.example", "auth": {"type": "bearer", "token_env": "TOK"}}, env={"TOK": "static-tok-1"}
    )
    assert target.token == "static-tok-1"
    assert redact("Bearer static-tok-1") == "Bearer ***"


def test_tls_verify_may_name_a_ca_bundle(tmp_path):
    ca = tmp_path / "ca.pem"
    with pytest.raises(TargetUnavailable, match="tls_verify names .*ca.pem, which is not a readable file"):
        resolve_target("r", {"url": "https://r.example", "tls_verify": str(ca)})
    ca.write_text("")
    target = resolve_target("r", {"url": "https://r.example", "tls_verify": str(ca)})
    assert target.tls_verify == str(ca)
    assert target.curl_auth_args() == ["--cacert", str(ca)]
    assert resolve_target("r", {"url": "https://r.example", "tls_verify": False}).curl_auth_args() == ["-k"]


def test_redact_walks_nested_values_and_the_basic_encoding():
    register_secret("nested-secret-9")
    value = {"a": ("nested-secret-9",), "b": [{"c": "x nested-secret-9 y"}], "n": 3}
    assert redact(value) == {"a": ("***",), "b": [{"c": "x *** y"}], "n": 3}
    target = resolve_target(
        "r",
        {"url": "https://r.example", "auth": {"type": "basic", "username_env": "U", "password_env": "P"}},
        env={"U": "carol", "P": "pw-for-b64"},
    )
    header = target.credentials.basic_header()
    assert redact(header) == "Basic ***"


@pytest.mark.parametrize(
    ("settings", "field", "message"),
    [
        ({"url": "x", "auth": {"type": "basic", "user_env": "A"}}, ("auth", "user_env"), "unknown key"),
        ({"url": "x", "auth": {"type": "basic", "password_env": "not a name"}}, ("auth", "password_env"), "NAME"),
        ({"embedded": "tls"}, ("embedded",), "token, basic"),
        ({"url": "x", "namespace": "Upper/Case"}, ("namespace",), "lowercase"),
        ({"url": "x", "tls_verify": 3}, ("tls_verify",), "CA bundle"),
        ({"image": {"tag": "x"}}, ("image", "tag"), "unknown key"),
        ({"image": {"build": "zot"}}, ("image", "build"), "unknown build"),
    ],
)
def test_registry_settings_problems(settings, field, message):
    problems = registry_settings_problems(settings)
    assert any(where == field and message in text for where, text in problems), problems


def test_the_matrix_checker_reports_registry_problems_with_the_field():
    data = {
        "axes": {"engine": ["docker"], "builder": ["docker"]},
        "registries": {"mine": {"url": "r.example", "auth": {"type": "basic", "pasword_env": "X"}}},
    }
    with pytest.raises(UsageError, match=r"m.yaml: field 'registries.mine.auth.pasword_env': unknown key"):
        parse_matrix(data, Path("m.yaml"))


def test_the_pool_remembers_an_unavailable_registry():
    calls = []

    def endpoints():
        calls.append(1)
        return SimpleNamespace(registry="", errors={"registry": "it broke"})

    pool = RegistryPool({"embedded": {"embedded": True}, "remote": {"url": "https://r.example"}}, endpoints)
    for _ in range(2):
        with pytest.raises(TargetUnavailable, match="it broke"):
            pool.target("embedded")
    assert len(calls) == 1
    assert pool.target("remote").base_url == "https://r.example"
    with pytest.raises(TargetUnavailable, match="not defined under 'registries'"):
        pool.target("nope")
    pool.close()


def test_a_registry_down_before_the_cell_is_its_service_s_error_naming_when(tmp_path):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        target = resolve_target("down", {"url": f"127.0.0.1:{port}", "plain_http": True})
        with pytest.raises(ServiceUnavailable, match=r"down before the checks started \(ConnectError: "):
            require_answering(target, "the checks")
