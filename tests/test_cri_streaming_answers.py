"""The CRI streaming client against recorded answers: frames containerd 1.6.20's streaming server sent
(tests/data/cri_streaming/, recorded through ocimatrix/cri/streaming.py against the real daemon),
replayed by a WebSocket server on 127.0.0.1 behind a gRPC RuntimeService that hands out its URLs.

So the client's reading of a session (output, status, exit code, port-forward channels) and the
verdict of each way a session can end stay right without a runtime at hand, and for CRI-O too,
whose streaming server is the same kubelet package (its sessions were not recorded: no CRI-O here).
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import grpc
import pytest
from websockets.sync.server import ServerConnection, serve

from ocimatrix import evidence
from ocimatrix.cri import streaming
from ocimatrix.cri.client import CriClient
from ocimatrix.cri.crictl_repro import CrictlScript
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.cri.gen import api_pb2_grpc as api_grpc
from ocimatrix.errors import ServiceUnavailable
from ocimatrix.plugin.verdicts import answer_of, decide

RECORDING = json.loads((Path(__file__).parent / "data/cri_streaming/containerd-1.6.20.json").read_text())
SESSIONS: dict[str, Any] = RECORDING["sessions"]
# What containerd's streaming server offers for exec/attach (v5 never): it picks the client's first it knows.
SERVER_PROTOCOLS = ["v4.channel.k8s.io", "v4.base64.channel.k8s.io", "channel.k8s.io", "base64.channel.k8s.io"]


@dataclass
class Replay:
    """A streaming server replaying recorded sessions: the path's last part names the session."""

    port: int = 0
    offered: list[str] = field(default_factory=list)  # Sec-WebSocket-Protocol of each upgrade
    unexpected: list[str] = field(default_factory=list)  # client frames that differ from the recording

    def url(self, kind: str, session: str) -> str:
        return f"http://127.0.0.1:{self.port}/{kind}/{session}"

    def process_request(self, connection: ServerConnection, request: Any):
        self.offered.append(request.headers.get("Sec-WebSocket-Protocol", ""))
        recorded = SESSIONS.get(request.path.rsplit("/", 1)[-1], {})
        if recorded.get("kind") == "refusal":
            return connection.respond(HTTPStatus(recorded["status"]), recorded["body"])
        return None

    def handle(self, ws: ServerConnection) -> None:
        name = ws.request.path.rsplit("/", 1)[-1]
        if name == "hang":
            time.sleep(3)  # upgraded, then nothing: past the client's deadline
            return
        if name == "broken":
            ws.send(b"\x01partial")
            ws.socket.shutdown(socket.SHUT_RDWR)  # no close frame: the stream broken off
            return
        for event in SESSIONS[name]["events"]:
            if event[0] == "server":
                ws.send(base64.b64decode(event[1]))
            elif event[0] == "client":
                got = ws.recv(timeout=5)
                if got != base64.b64decode(event[1]):
                    self.unexpected.append(f"{name}: {got!r}")
            else:
                ws.close(event[1], event[2] or "")


class Runtime(api_grpc.RuntimeServiceServicer):
    """Answers the streaming RPCs with the replay server's URL of the session the test names."""

    def __init__(self, replay: Replay) -> None:
        self.replay = replay
        self.session = ""
        self.requests: list[Any] = []

    def Version(self, request, context):
        return api.VersionResponse(version="0.1.0", runtime_name="replay", runtime_version=RECORDING["runtime"])

    def Exec(self, request, context):
        self.requests.append(request)
        return api.ExecResponse(url=self.replay.url("exec", self.session))

    def Attach(self, request, context):
        self.requests.append(request)
        return api.AttachResponse(url=self.replay.url("attach", self.session))

    def PortForward(self, request, context):
        self.requests.append(request)
        return api.PortForwardResponse(url=self.replay.url("portforward", self.session))


@dataclass
class Harness:
    cri: CriClient
    runtime: Runtime
    replay: Replay

    def play(self, session: str) -> Harness:
        self.runtime.session = session
        return self


@pytest.fixture
def harness(monkeypatch) -> Iterator[Harness]:
    # The harness's daemons see a closed proxy; the sessions must never go through it.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    replay = Replay()
    server = serve(
        replay.handle,
        "127.0.0.1",
        0,
        subprotocols=SERVER_PROTOCOLS,
        compression=None,
        process_request=replay.process_request,
    )
    replay.port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    directory = tempfile.mkdtemp(prefix="ocm-stream-", dir="/tmp")
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    runtime = Runtime(replay)
    api_grpc.add_RuntimeServiceServicer_to_server(runtime, grpc_server)
    grpc_server.add_insecure_port(f"unix://{directory}/cri.sock")
    grpc_server.start()
    client = CriClient(f"unix://{directory}/cri.sock", timeout=5)
    try:
        with evidence.scoped():
            yield Harness(client, runtime, replay)
    finally:
        client.close()
        grpc_server.stop(None)
        server.shutdown()
        thread.join(5)
        shutil.rmtree(directory, ignore_errors=True)
    assert not replay.unexpected, replay.unexpected


# ------------------------------------------------------------------ what a session answered


def test_exec_output_stderr_and_exit_code(harness):
    result = streaming.exec_stream(harness.play("exec_exit_3").cri, "c1", ["/bin/sh", "-c", "exit 3"], timeout=5)
    assert (result.stdout, result.stderr, result.exit_code) == (b"out\n", b"err\n", 3)
    assert result.protocol == streaming.CHANNEL_PROTOCOL
    assert result.answer.startswith("Failure NonZeroExitCode: command terminated with non-zero exit code")
    assert result.frames[0] == (1, 0), "containerd first sends an empty stdout frame: connected"
    # Only v4 is offered, alone: a client offering v5 first would be refused by an older server.
    assert harness.replay.offered == [streaming.CHANNEL_PROTOCOL]
    (request,) = harness.runtime.requests
    assert (request.stdout, request.stderr, request.stdin, request.tty) == (True, True, False, False)


def test_exec_success_is_exit_code_0(harness):
    result = streaming.exec_stream(harness.play("exec_success").cri, "c1", ["/bin/echo", "ok"], timeout=5)
    assert (result.stdout, result.exit_code, result.answer) == (b"ok\n", 0, "Success")
    assert evidence.current().evidence["streams"][-1]["exit_code"] == 0


def test_a_missing_binary_is_a_failure_without_exit_code(harness):
    result = streaming.exec_stream(harness.play("exec_missing_binary").cri, "c1", ["/nonexistent"], timeout=5)
    assert result.exit_code is None
    assert result.answer.startswith("Failure InternalError: Internal error occurred: error executing command")
    assert "no such file or directory" in result.answer


def test_exec_stdin_is_sent_when_the_command_is_ready(harness):
    sends = [streaming.stdin("one\n", after="ready"), streaming.stdin("two\n", after="got:one")]
    result = streaming.exec_stream(harness.play("exec_stdin").cri, "c1", ["sh"], sends=sends, timeout=5)
    assert (result.stdout, result.exit_code) == (b"ready\ngot:one\ntwo-one\n", 5)
    assert harness.runtime.requests[0].stdin


def test_exec_tty_resize_frames(harness):
    sends = [
        streaming.resize(100, 30),
        streaming.stdin("a\n", after="/dev/"),
        streaming.resize(132, 43, after="size:"),
        streaming.stdin("b\n", after="size:"),
    ]
    result = streaming.exec_stream(harness.play("exec_tty_resize").cri, "c1", ["sh"], sends=sends, tty=True, timeout=5)
    assert b"size:30 100\r\n" in result.stdout and b"size:43 132\r\n" in result.stdout
    assert result.exit_code == 7
    (request,) = harness.runtime.requests
    assert (request.tty, request.stdin, request.stderr) == (True, True, False), "a TTY has no stderr stream"


def test_attach_reports_success_whatever_the_exit_code(harness):
    sends = [streaming.stdin("a\n"), streaming.stdin("quit\n", after="seen:a")]
    result = streaming.attach(harness.play("attach_stdio").cri, "c1", sends=sends, timeout=5)
    assert (result.stdout, result.stderr) == (b"seen:a\nseen:quit\n", b"e:a\ne:quit\n")
    # The container exited 4 (ContainerStatus said so); Attach's status is Success regardless.
    assert result.exit_code == 0 and SESSIONS["attach_stdio"]["exit_code"] == 4


def test_port_forward_strips_the_port_prefix(harness):
    recorded = SESSIONS["port_forward_ok"]["request"]
    result = streaming.port_forward(
        harness.play("port_forward_ok").cri, "p1", recorded["port"], recorded["payload"].encode(), timeout=5
    )
    assert result.data.startswith(b"HTTP/1.1 200 OK\r\n") and result.data.endswith(b"hello-from-pod\n")
    assert result.error_text == ""
    assert list(harness.runtime.requests[0].port) == [recorded["port"]]


def test_port_forward_to_a_closed_port_reads_the_error_channel(harness):
    recorded = SESSIONS["port_forward_closed"]["request"]
    port = recorded["port"]
    result = streaming.port_forward(harness.play("port_forward_closed").cri, "p1", port, b"GET / HTTP/1.0\r\n\r\n")
    assert result.data == b""
    assert result.error_text.startswith(f"error forwarding port {port} to pod ")
    assert "connection refused" in result.error_text


def test_a_port_prefix_naming_another_port_is_the_runtime_s_error(harness):
    recorded = SESSIONS["port_forward_ok"]["request"]
    with pytest.raises(streaming.StreamError) as caught:
        streaming.port_forward(
            harness.play("port_forward_ok").cri, "p1", recorded["port"] + 1, recorded["payload"].encode(), timeout=5
        )
    assert caught.value.answer.startswith("channel 0 port prefix")


# ------------------------------------------------------------------ how a session's end is judged


def test_a_refused_upgrade_fails_with_the_server_s_status_and_body(harness):
    with pytest.raises(streaming.StreamError) as caught:
        streaming.exec_stream(harness.play("upgrade_reused_token").cri, "c1", ["/bin/true"], timeout=5)
    verdict = decide(caught.value)
    assert verdict.outcome == "failed"
    assert verdict.answer.text == "404 Not Found: 404 page not found"
    assert verdict.answer.step == "Exec session /bin/true upgrade"


def test_v5_only_was_refused_by_containerd():
    # Recorded: offering only v5.channel.k8s.io is answered 403 (no containerd serves v5), which is why
    # the client offers v4 alone.
    assert (SESSIONS["upgrade_v5_only"]["status"], SESSIONS["upgrade_v5_only"]["body"]) == (403, "")


def test_a_session_open_at_the_deadline_is_a_late_answer(harness):
    started = time.monotonic()
    with pytest.raises(streaming.StreamTimedOut) as caught:
        streaming.exec_stream(harness.play("hang").cri, "c1", ["sleep", "9"], timeout=1)
    assert time.monotonic() - started < 3
    verdict = decide(caught.value)
    assert verdict.outcome == "failed"
    assert verdict.answer.text.startswith("session still open at the client's deadline")


def test_a_stream_broken_off_while_the_runtime_answers_is_failed(harness):
    with pytest.raises(streaming.StreamError) as caught:
        streaming.exec_stream(harness.play("broken").cri, "c1", ["sh"], timeout=5)
    verdict = decide(caught.value)
    assert verdict.outcome == "failed"
    assert "b'partial'" in verdict.answer.text and "broken off" in verdict.answer.text


def test_a_streaming_server_refusing_connections_is_an_error(harness):
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        closed = spare.getsockname()[1]
    harness.replay.port = closed  # the URL points where nothing listens
    with pytest.raises(ServiceUnavailable) as caught:
        streaming.exec_stream(harness.play("exec_success").cri, "c1", ["true"], timeout=5)
    assert decide(caught.value).outcome == "error"
    assert answer_of(caught.value) is None, "silence is no answer an expectation could match"


def test_a_streaming_server_that_never_answers_the_upgrade_is_an_error(harness, monkeypatch):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts (the kernel's backlog) and never answers
    harness.replay.port = silent.getsockname()[1]
    monkeypatch.setattr(streaming, "OPEN_TIMEOUT", 0.5)
    try:
        with pytest.raises(ServiceUnavailable) as caught:
            streaming.exec_stream(harness.play("exec_success").cri, "c1", ["true"], timeout=5)
    finally:
        silent.close()
    assert decide(caught.value).outcome == "error"
    assert "no answer to the upgrade" in str(caught.value)


def test_a_url_off_the_loopback_address_is_refused_before_connecting():
    with pytest.raises(streaming.StreamError) as caught:
        streaming.ws_url("http://192.0.2.7:10010/exec/abcdefgh", "Exec session")
    assert caught.value.answer == "http://192.0.2.7:10010/exec/abcdefgh"
    assert decide(caught.value).outcome == "failed"
    assert streaming.ws_url("https://127.0.0.1:1/attach/x", "s") == "wss://127.0.0.1:1/attach/x"
    assert streaming.ws_url("http://localhost:1/exec/x", "s") == "ws://localhost:1/exec/x"


def test_listening_addresses_read_proc_net(tmp_path):
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    (tmp_path / "tcp").write_text(
        header
        + "   0: 0100007F:A0F1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n"
        + "   1: 00000000:A0F2 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2\n"
        + "   2: 0100007F:A0F2 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 3\n"
    )
    (tmp_path / "tcp6").write_text(
        header + "   0: 00000000000000000000000001000000:A0F1 00000000000000000000000000000000:0000 0A 0 0 0 0 0 4\n"
    )
    assert streaming.listening_addresses(0xA0F1, str(tmp_path)) == ["127.0.0.1", "::1"]
    assert streaming.listening_addresses(0xA0F2, str(tmp_path)) == ["0.0.0.0"]
    assert [streaming.is_loopback_address(a) for a in ("127.0.0.1", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::")] == [
        True,
        True,
        True,
        False,
        False,
    ]


# ------------------------------------------------------------------ the repro


def test_streaming_calls_have_crictl_lines():
    script = CrictlScript("unix:///run/c.sock")
    base = "crictl --runtime-endpoint unix:///run/c.sock"
    exec_tty = api.ExecRequest(container_id="c1", cmd=["sh", "-c", "stty size"], tty=True, stdin=True, stdout=True)
    assert script.lines("Exec", exec_tty) == [
        f"{base} exec -i -t c1 sh -c 'stty size'  # runtime.v1.RuntimeService/Exec"
    ]
    plain = api.ExecRequest(container_id="c1", cmd=["/bin/true"], stdout=True, stderr=True)
    assert script.lines("Exec", plain) == [f"{base} exec c1 /bin/true  # runtime.v1.RuntimeService/Exec"]
    attach = api.AttachRequest(container_id="c1", stdin=True, stdout=True, stderr=True)
    assert script.lines("Attach", attach) == [f"{base} attach -i c1  # runtime.v1.RuntimeService/Attach"]
    forward = api.PortForwardRequest(pod_sandbox_id="p1", port=[8080])
    assert script.lines("PortForward", forward) == [
        f"{base} port-forward p1 :8080  # runtime.v1.RuntimeService/PortForward"
    ]
