"""Health is a protocol answer within a deadline: what each probe kind accepts, against real servers
in this process (a gRPC server answering as containerd's version service or a CRI runtime, an HTTP
server answering 401), and what it refuses (a socket that takes the connection and says nothing).

A process that is alive but answers nothing is killed before its restart; a daemon the user named is
probed by the cell's watch and never restarted.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.cri.gen import api_pb2_grpc as api_grpc
from ocimatrix.host import supervision
from ocimatrix.host.supervision import CONTAINERD_VERSION, Probe, ServiceBook, probe_once
from ocimatrix.matrix import load_matrix
from ocimatrix.plugin import cell_watch
from ocimatrix.plugin.cell_watch import UserEndpoint, Watch, services_of_cell, user_endpoint
from ocimatrix.system.process import Daemon, free_port, is_running


@pytest.fixture
def short_probes(monkeypatch):
    monkeypatch.setattr(supervision, "PROBE_TIMEOUT", 0.5)


@pytest.fixture
def sockdir() -> Iterator[Path]:
    # Short: pytest's tmp_path can exceed the 108-byte unix socket limit.
    directory = Path(tempfile.mkdtemp(prefix="ocm-sup-", dir="/tmp"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def _containerd_version(request: bytes, context) -> bytes:
    # VersionResponse{version: "1.6.20", revision: "x"}, encoded by hand as containerd would send it.
    return b"\x0a\x061.6.20\x12\x01x"


@pytest.fixture
def containerd_like(sockdir) -> Iterator[Path]:
    """A gRPC server answering containerd's own Version, as containerd does."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    service, method = CONTAINERD_VERSION.strip("/").split("/")
    handler = grpc.method_handlers_generic_handler(
        service,
        {
            method: grpc.unary_unary_rpc_method_handler(
                _containerd_version, request_deserializer=lambda raw: raw, response_serializer=lambda raw: raw
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
    path = sockdir / "containerd.sock"
    server.add_insecure_port(f"unix://{path}")
    server.start()
    yield path
    server.stop(None)


class _Cri(api_grpc.RuntimeServiceServicer):
    def __init__(self, status: bool) -> None:
        self.status = status

    def Version(self, request, context):
        return api.VersionResponse(version="0.1.0", runtime_name="fake", runtime_version="1", runtime_api_version="v1")

    def Status(self, request, context):
        if not self.status:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "no Status here")
        return api.StatusResponse()


def _cri_server(path: Path, status: bool) -> grpc.Server:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    api_grpc.add_RuntimeServiceServicer_to_server(_Cri(status), server)
    server.add_insecure_port(f"unix://{path}")
    server.start()
    return server


@pytest.fixture
def silent(sockdir) -> Iterator[Path]:
    """A socket that takes connections and never answers: a hung (SIGSTOPped) daemon's socket."""
    path = sockdir / "silent.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(16)
    yield path
    listener.close()


def test_containerd_answers_its_grpc_version(containerd_like):
    assert probe_once(Probe("containerd-api", str(containerd_like))) is None


@pytest.mark.parametrize("kind", ["containerd-api", "cri"])
def test_a_socket_that_accepts_and_says_nothing_is_not_healthy(short_probes, silent, kind):
    problem = probe_once(Probe(kind, f"unix://{silent}" if kind == "cri" else str(silent)))
    assert problem is not None and "got no answer within 0.5 s" in problem, problem
    # A connect alone, which it accepts, would have passed it.
    assert probe_once(Probe("unix", str(silent))) is None


@pytest.mark.parametrize("kind", ["containerd-api", "cri"])
def test_no_socket_is_not_healthy(short_probes, sockdir, kind):
    problem = probe_once(Probe(kind, str(sockdir / "gone.sock")))
    assert problem is not None and "UNAVAILABLE" in problem


@pytest.mark.parametrize("status", [True, False], ids=["status-answered", "status-refused"])
def test_a_cri_endpoint_answers_version_and_status(sockdir, status):
    path = sockdir / "cri.sock"
    server = _cri_server(path, status)
    try:
        # A refusal (UNIMPLEMENTED) is still an answer: the endpoint is alive.
        assert probe_once(Probe("cri", f"unix://{path}")) is None
    finally:
        server.stop(None)


def test_a_registry_answering_401_is_healthy():
    class Unauthorized(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Unauthorized)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert probe_once(Probe("http", f"http://127.0.0.1:{server.server_address[1]}/v2/")) is None
    finally:
        server.shutdown()
        server.server_close()


def test_a_stopped_daemon_is_hung_and_killed_before_its_restart(tmp_path, short_probes):
    port = free_port()
    argv = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    daemon = Daemon("web", argv, tmp_path / "web.log")
    probe = Probe("http", f"http://127.0.0.1:{port}/")
    daemon.start(lambda: probe_once(probe) is None, timeout=20)
    book = ServiceBook(tmp_path)
    book.add("web", daemon, probe)
    hung = daemon.process.pid
    restarted = 0
    try:
        assert book.health("web").problem is None
        os.kill(hung, signal.SIGSTOP)
        health = book.health("web")
        assert health.problem is not None and f"its process (pid {hung}) runs but answers nothing" in health.problem
        said = book.revive("web", "cell-1")
        assert said.startswith("web: restarted"), said
        restarted = book.pid("web")
        assert restarted != hung and not is_running(hung)
        assert book.health("web").problem is None
        entry = book.restarts()["web"][0]
        assert entry["killed"] == hung and entry["outcome"] == "restarted" and "answers nothing" in entry["why"]
    finally:
        for pid in (hung, restarted):
            if pid and is_running(pid):
                os.kill(pid, signal.SIGKILL)
        daemon.process.wait(10)


# ------------------------------------------------------------------ the user's daemons


def _matrix(tmp_path: Path, endpoints: dict[str, str]):
    path = tmp_path / "m.yaml"
    path.write_text(
        "axes: {engine: [cri-o, containerd-cri, docker], builder: [podman], runtime: [runc]}\n"
        f"endpoints: {json.dumps(endpoints)}\n"
    )
    return load_matrix(path)


def test_a_named_cri_endpoint_is_watched_by_its_protocol_never_restarted(tmp_path):
    matrix = _matrix(tmp_path, {"cri-o": "unix:///run/crio/crio.sock"})
    services = services_of_cell({"engine": "cri-o", "builder": "podman", "runtime": "runc"}, matrix)
    users = [s for s in services if isinstance(s, UserEndpoint)]
    assert users == [UserEndpoint("cri-o", "unix:///run/crio/crio.sock", Probe("cri", "/run/crio/crio.sock"))]
    assert users[0].probe == Probe("cri", "/run/crio/crio.sock")
    assert "registry" in services  # the harness's own services of the cell are still its own


def test_user_endpoint_probe_kinds():
    assert user_endpoint("containerd-cri", "unix:///run/c.sock").probe == Probe("cri", "/run/c.sock")
    assert user_endpoint("containerd", "unix:///run/c.sock").probe == Probe("containerd-api", "/run/c.sock")
    assert user_endpoint("docker", "unix:///run/d.sock").probe == Probe("docker-api", "/run/d.sock")
    assert user_endpoint("docker", "tcp://127.0.0.1:2375") is None


def test_a_user_endpoint_that_stopped_answering_is_a_finding_not_a_restart(monkeypatch, short_probes, silent):
    monkeypatch.setattr(cell_watch, "_book", lambda: None)
    user = UserEndpoint("cri-o", f"unix://{silent}", Probe("cri", str(silent)))
    watch = Watch.begin("suites/cri/test_x.py::test_y[cri-o-runc]", ["registry", user])
    started = time.monotonic()
    found = watch.dead_on_arrival()
    assert found is not None
    reason, logs = found
    assert f"cri-o at unix://{silent} (named in the matrix) stopped answering before this cell started" in reason
    assert "never restarts a user's daemon" in reason and logs == {}
    assert time.monotonic() - started < 10


def test_a_user_endpoint_that_answers_is_no_finding(monkeypatch, sockdir):
    monkeypatch.setattr(cell_watch, "_book", lambda: None)
    path = sockdir / "cri.sock"
    server = _cri_server(path, status=True)
    try:
        user = UserEndpoint("cri-o", f"unix://{path}", Probe("cri", str(path)))
        assert Watch.begin("cell", [user]).broke_during() is None
    finally:
        server.stop(None)
