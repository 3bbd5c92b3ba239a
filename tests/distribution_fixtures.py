"""Shared by the distribution self-tests: real registries on 127.0.0.1 and a deliberately faulty proxy.

``plain_registry`` / ``auth_registries`` start Debian's distribution (skipping when it isn't
installed); ``FaultyProxy`` sits in front of a real registry and breaks one thing on purpose
(corrupted blob bytes, a lying digest header, 500s, garbage bodies, hangs, echoed credentials) so
the tests can check that each conformance check fails, with the right message, for the right reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from ocimatrix.host.auth_registries import AuthRegistries
from ocimatrix.host.registry_service import RegistryService

REPO_ROOT = Path(__file__).resolve().parents[1]

needs_registry = pytest.mark.skipif(
    shutil.which("docker-registry") is None, reason="Debian's docker-registry is not installed (ocimatrix provision)"
)


# Imported by the test modules under these underscore names; pytest knows them by ``name=``.
@pytest.fixture(scope="session", name="plain_registry")
def plain_registry_fixture(tmp_path_factory) -> Iterator[RegistryService]:
    if shutil.which("docker-registry") is None:
        pytest.skip("Debian's docker-registry is not installed (ocimatrix provision)")
    service = RegistryService(tmp_path_factory.mktemp("plain-registry"))
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="session", name="auth_registries")
def auth_registries_fixture(tmp_path_factory) -> Iterator[AuthRegistries]:
    if shutil.which("docker-registry") is None:
        pytest.skip("Debian's docker-registry is not installed (ocimatrix provision)")
    started = AuthRegistries.start(tmp_path_factory.mktemp("auth-registries"), log=lambda _: None)
    if started.errors:
        started.stop()
        pytest.fail(f"auth registries did not start: {started.errors}")
    yield started
    started.stop()


def endpoints_for(registry: RegistryService | None, auth: AuthRegistries | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        registry=registry.host if registry else "", registries=auth.settings if auth else {}, errors={}
    )


# --- the faulty proxy ------------------------------------------------------------------------------

Fault = Callable[["ProxyExchange"], None]


class ProxyExchange:
    """One request through the proxy: what came in, what upstream answered, what goes back."""

    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.method, self.path, self.request_headers, self.request_body = method, path, headers, body
        self.status = 502
        self.headers: dict[str, str] = {}
        self.body = b""
        self.delay = 0.0
        self.truncate = False  # send the headers as they are, then close the connection mid-body
        self.upstream_length: dict[str, str] = {}


class FaultyProxy:
    """An HTTP proxy on 127.0.0.1 in front of ``upstream``; ``fault`` may rewrite each exchange."""

    def __init__(self, upstream: str, fault: Fault | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.fault = fault
        self.client = httpx.Client(timeout=10)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FaultyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.client.close()

    def _forward(self, exchange: ProxyExchange) -> None:
        headers = {k: v for k, v in exchange.request_headers.items() if k.lower() not in ("host", "connection")}
        response = self.client.request(
            exchange.method, self.upstream + exchange.path, headers=headers, content=exchange.request_body
        )
        exchange.status = response.status_code
        exchange.headers = {
            k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "transfer-encoding")
        }
        if "location" in {k.lower() for k in exchange.headers}:
            key = next(k for k in exchange.headers if k.lower() == "location")
            exchange.headers[key] = exchange.headers[key].replace(self.upstream, self.url)
        exchange.body = response.content
        if "content-length" in response.headers:
            exchange.upstream_length = {"content-length": response.headers["content-length"]}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class's name
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                exchange = ProxyExchange(self.command, self.path, dict(self.headers.items()), body)
                proxy._forward(exchange)
                if proxy.fault is not None:
                    proxy.fault(exchange)
                if exchange.delay:
                    time.sleep(exchange.delay)
                self.send_response(exchange.status)
                if exchange.truncate:
                    for name, value in exchange.headers.items():
                        self.send_header(name, value)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(exchange.body)
                    self.close_connection = True
                    return
                for name, value in exchange.headers.items():
                    self.send_header(name, value)
                if self.command != "HEAD":  # a HEAD keeps upstream's Content-Length: it describes the GET
                    self.send_header("Content-Length", str(len(exchange.body)))
                elif "content-length" in exchange.upstream_length:
                    self.send_header("Content-Length", exchange.upstream_length["content-length"])
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(exchange.body)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

        return Handler


# --- running the real suite in a subprocess ------------------------------------------------------


def run_suite(
    tmp_path: Path, registries: dict[str, dict[str, Any]], selection: list[str], env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess, dict[str, Any]]:
    """Run suite tests through the plugin against ``registries`` (a matrix's ``registries:``)."""
    names = list(registries)
    matrix = {
        "name": "distribution-selftest",
        "axes": {"engine": ["docker"], "builder": ["docker"], "registry": names[:1]},
        "registries": registries,
        "suites": {"distribution": {"registry": names}},
    }
    (tmp_path / "matrix.yaml").write_text(json.dumps(matrix))  # JSON is YAML
    (tmp_path / "endpoints.json").write_text(json.dumps({"state_dir": str(tmp_path)}))
    results = tmp_path / "results.json"
    argv = [
        sys.executable,
        "-m",
        "pytest",
        *selection,
        "-p",
        "no:cacheprovider",
        "-q",
        "--matrix",
        str(tmp_path / "matrix.yaml"),
        "--endpoints",
        str(tmp_path / "endpoints.json"),
        "--results",
        str(results),
    ]
    run_env = {**os.environ, **(env or {})}
    run_env.pop("PYTEST_XDIST_WORKER", None)
    process = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=run_env)
    data = json.loads(results.read_text()) if results.exists() else {}
    return process, data
