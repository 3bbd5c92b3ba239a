"""The harness's NRI plugin against a scripted runtime: the trunk's frames, ttrpc's envelope, the
handshake (RegisterPlugin, Configure, Synchronize), events by StateChange and by their own methods,
and what a held or failing hook answers. The runtime side is written here from NRI's and ttrpc's wire
formats; the live peers are containerd 1.7 and 2.1 in suites/cri/test_cri_nri.py."""

from __future__ import annotations

import json
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from ocimatrix.errors import ImplementationFailure
from ocimatrix.matrix import load_matrix
from ocimatrix.nri import plugin as nri_plugin
from ocimatrix.nri.gen import nri_pb2 as nri
from ocimatrix.nri.gen import ttrpc_pb2
from ocimatrix.nri.mux import PLUGIN_SERVICE_CONN, RUNTIME_SERVICE_CONN
from ocimatrix.nri.plugin import NriPlugin, NriUnavailable
from ocimatrix.nri.ttrpc import UNIMPLEMENTED
from ocimatrix.plugin.verdicts import decide
from ocimatrix.resources import MATRIX_DIR

FRAME = struct.Struct(">II")
MESSAGE = struct.Struct(">IIBB")
POD = nri.PodSandbox(id="p" * 64, name="web", uid="uid-1", namespace="default")
CONTAINER = nri.Container(id="c" * 64, pod_sandbox_id="p" * 64, name="app")
# NRI's event numbers, bit (n - 1) each: Run 1, Stop 2, Remove 3, Create 4, Start 6, Stop 10, Remove 11.
EVERY_LIFECYCLE_EVENT_MASK = 0b110_0010_1111


class ScriptedRuntime:
    """The runtime's end of one plugin connection: reads the plugin's frames, answers RegisterPlugin,
    and calls the plugin's methods (odd stream ids, as a ttrpc client)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.next_stream = 1
        self.registered: nri.RegisterPluginRequest | None = None

    def _send(self, conn: int, stream: int, kind: int, payload: bytes) -> None:
        message = MESSAGE.pack(len(payload), stream, kind, 0) + payload
        # Split across two frames: a reader must reassemble a message from a connection's stream.
        half = len(message) // 2
        for part in (message[:half], message[half:]):
            self.sock.sendall(FRAME.pack(conn, len(part)) + part)

    def _read_message(self, conn: int) -> tuple[int, int, bytes]:
        buffer = b""
        while True:
            got_conn, length = FRAME.unpack(self._read(FRAME.size))
            data = self._read(length)
            assert got_conn == conn, f"frame on connection {got_conn}, expected {conn}"
            buffer += data
            if len(buffer) >= MESSAGE.size:
                size, stream, kind, _ = MESSAGE.unpack_from(buffer)
                if len(buffer) >= MESSAGE.size + size:
                    return stream, kind, buffer[MESSAGE.size : MESSAGE.size + size]

    def _read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            assert chunk, "the plugin closed the connection"
            data += chunk
        return data

    def accept_registration(self) -> None:
        stream, kind, payload = self._read_message(RUNTIME_SERVICE_CONN)
        request = ttrpc_pb2.Request.FromString(payload)
        assert (kind, request.service, request.method) == (1, nri_plugin.RUNTIME_SERVICE, "RegisterPlugin")
        self.registered = nri.RegisterPluginRequest.FromString(request.payload)
        answer = ttrpc_pb2.Response(status=ttrpc_pb2.Status(code=0), payload=nri.Empty().SerializeToString())
        self._send(RUNTIME_SERVICE_CONN, stream, 2, answer.SerializeToString())

    def call(self, method: str, message) -> ttrpc_pb2.Response:
        stream = self.next_stream
        self.next_stream += 2
        request = ttrpc_pb2.Request(
            service=nri_plugin.PLUGIN_SERVICE, method=method, payload=message.SerializeToString()
        )
        self._send(PLUGIN_SERVICE_CONN, stream, 1, request.SerializeToString())
        answered, kind, payload = self._read_message(PLUGIN_SERVICE_CONN)
        assert (answered, kind) == (stream, 2)
        return ttrpc_pb2.Response.FromString(payload)

    def handshake(self, pods=(POD,), containers=(CONTAINER,)) -> nri.ConfigureResponse:
        self.accept_registration()
        configured = self.call("Configure", nri.ConfigureRequest(runtime_name="scripted", runtime_version="0.0"))
        self.call("Synchronize", nri.SynchronizeRequest(pods=list(pods), containers=list(containers)))
        return nri.ConfigureResponse.FromString(configured.payload)


@pytest.fixture
def connected(tmp_path) -> Iterator[tuple[NriPlugin, ScriptedRuntime]]:
    """A plugin connected through a real unix socket to the scripted runtime, handshake done."""
    path = tmp_path / "nri.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    plugin = NriPlugin(path, "watch", "07")
    runtime_end: list[ScriptedRuntime] = []

    def serve() -> None:
        conn, _ = server.accept()
        runtime = ScriptedRuntime(conn)
        runtime_end.append(runtime)
        runtime.handshake()

    thread = threading.Thread(target=serve)
    thread.start()
    plugin.connect(timeout=5)
    thread.join(5)
    yield plugin, runtime_end[0]
    plugin.close()
    runtime_end[0].sock.close()
    server.close()


def test_the_plugin_registers_subscribes_and_is_synchronized(connected):
    plugin, runtime = connected
    assert (runtime.registered.plugin_name, runtime.registered.plugin_idx) == ("watch", "07")
    assert plugin.runtime == "scripted 0.0"
    assert plugin.synced_pod_ids == [POD.id]
    assert plugin.synced_container_ids == [CONTAINER.id]


def test_the_subscription_names_every_lifecycle_event(tmp_path):
    plugin = NriPlugin(tmp_path / "unused.sock", "mask")
    answer = nri.ConfigureResponse.FromString(plugin._configure(nri.ConfigureRequest()))
    assert answer.events == EVERY_LIFECYCLE_EVENT_MASK


def test_events_by_state_change_and_by_their_own_method_are_recorded_alike(connected):
    plugin, runtime = connected
    runtime.call("StateChange", nri.StateChangeEvent(event=nri.RUN_POD_SANDBOX, pod=POD))
    created = runtime.call("CreateContainer", nri.CreateContainerRequest(pod=POD, container=CONTAINER))
    runtime.call("StateChange", nri.StateChangeEvent(event=nri.START_CONTAINER, pod=POD, container=CONTAINER))
    assert created.status.code == 0
    events = plugin.received()
    assert [(e.kind, e.via) for e in events] == [
        ("RunPodSandbox", "StateChange"),
        ("CreateContainer", "CreateContainer"),
        ("StartContainer", "StateChange"),
    ]
    assert (events[1].pod_uid, events[1].container_name) == ("uid-1", "app")
    assert events[0].at < events[1].at < events[2].at


def test_a_failing_hook_answers_an_error_once_and_only_for_its_pod(connected):
    plugin, runtime = connected
    other = nri.PodSandbox(id="q" * 64, name="other", uid="uid-2")
    failure = plugin.fail_once("RunPodSandbox", lambda e: e.pod_uid == "uid-1", "no")
    by_other = runtime.call("StateChange", nri.StateChangeEvent(event=nri.RUN_POD_SANDBOX, pod=other))
    first = runtime.call("StateChange", nri.StateChangeEvent(event=nri.RUN_POD_SANDBOX, pod=POD))
    retry = runtime.call("StateChange", nri.StateChangeEvent(event=nri.RUN_POD_SANDBOX, pod=POD))
    assert (by_other.status.code, first.status.code, retry.status.code) == (0, 2, 0)
    assert first.status.message == "no"
    assert failure.event is not None and failure.event.pod_id == POD.id


def test_a_held_hook_answers_only_once_released(connected):
    plugin, runtime = connected
    hold = plugin.hold("CreateContainer", lambda e: e.container_id == CONTAINER.id)
    answers: list[ttrpc_pb2.Response] = []
    caller = threading.Thread(
        target=lambda: answers.append(
            runtime.call("CreateContainer", nri.CreateContainerRequest(pod=POD, container=CONTAINER))
        )
    )
    caller.start()
    assert hold.reached.wait(5)
    caller.join(0.3)
    assert not answers, "the runtime had its answer while the hook was held"
    hold.release()
    caller.join(5)
    assert answers and answers[0].status.code == 0


def test_a_method_the_plugin_does_not_serve_is_unimplemented(connected):
    _plugin, runtime = connected
    answer = runtime.call("ValidateContainerAdjustment", nri.Empty())
    assert answer.status.code == UNIMPLEMENTED


def test_a_runtime_that_never_configures_is_named_in_the_error(tmp_path):
    path = tmp_path / "nri.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    accepted: list[socket.socket] = []

    def register_only() -> None:
        conn, _ = server.accept()
        accepted.append(conn)
        ScriptedRuntime(conn).accept_registration()

    thread = threading.Thread(target=register_only)
    thread.start()
    plugin = NriPlugin(path, "ignored", "00")
    with pytest.raises(NriUnavailable, match="registered NRI plugin 00-ignored but never configured it"):
        plugin.connect(timeout=1)
    plugin.close()
    thread.join(5)
    for conn in accepted:
        conn.close()
    server.close()


def test_no_socket_is_unavailable_naming_it(tmp_path):
    plugin = NriPlugin(tmp_path / "absent.sock", "lonely")
    with pytest.raises(NriUnavailable, match="absent.sock"):
        plugin.connect(timeout=1)
    plugin.close()


def test_crio_s_create_container_without_a_name_is_recorded_as_it_came(connected):
    """critest (ba03eabc, nri_linux.go) records that CRI-O sends CreateContainer with an empty container
    name: the event keeps the empty name, for the suite to judge against what was created."""
    plugin, runtime = connected
    nameless = nri.Container(id=CONTAINER.id, pod_sandbox_id=POD.id)
    runtime.call("CreateContainer", nri.CreateContainerRequest(pod=POD, container=nameless))
    assert [(e.kind, e.container_id, e.container_name) for e in plugin.received()] == [
        ("CreateContainer", CONTAINER.id, "")
    ]


LIFECYCLE_STEP = "the plugin's events for a container created, started, stopped and removed"


@pytest.mark.parametrize("matrix", ["default.yaml", "nightly.yaml"])
def test_crio_s_nameless_event_confirms_only_its_listing(matrix):
    """The CRI-O listing is confirmed by an event that names no container, never by another name or failure."""
    listed = next(
        e
        for e in load_matrix(MATRIX_DIR / matrix).expectations
        if e["test"] == "test_container_lifecycle_events_in_order" and "cri-o" in e["cell"].get("engine", ())
    )
    nameless = ImplementationFailure(
        "CreateContainer names the container '', not 'app'",
        step=LIFECYCLE_STEP,
        answer=f"container {'c' * 64} named ''",
    )
    assert decide(nameless, expected=listed).outcome == "xfailed"
    misnamed = ImplementationFailure(
        "CreateContainer names the container 'k8s_app', not 'app'",
        step=LIFECYCLE_STEP,
        answer=f"container {'c' * 64} named 'k8s_app'",
    )
    out_of_order = ImplementationFailure(
        "StartContainer reached the plugin before CreateContainer",
        step=LIFECYCLE_STEP,
        answer="StartContainer via StateChange",
    )
    assert decide(misnamed, expected=listed).outcome == "failed"
    assert decide(out_of_order, expected=listed).outcome == "failed"


def test_the_watch_command_prints_what_the_runtime_sends(tmp_path):
    """A failing NRI cell's repro runs the plugin on its own: it prints the connection and each event."""
    path = tmp_path / "nri.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    command = [
        sys.executable,
        "-m",
        "ocimatrix.nri.watch",
        str(path),
        "--name",
        "repro",
        "--fail-once",
        "RunPodSandbox",
    ]
    watcher = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        server.settimeout(15)
        conn, _ = server.accept()
        runtime = ScriptedRuntime(conn)
        runtime.handshake()
        refused = runtime.call("StateChange", nri.StateChangeEvent(event=nri.RUN_POD_SANDBOX, pod=POD))
        assert refused.status.code == 2
        connected = json.loads(watcher.stdout.readline())
        event = json.loads(watcher.stdout.readline())
        assert connected == {"connected": "scripted 0.0", "plugin": "00-repro"}
        assert (event["event"], event["pod"]) == ("RunPodSandbox", POD.id)
        watcher.send_signal(signal.SIGTERM)
        assert watcher.wait(10) == 0
        conn.close()
    finally:
        watcher.kill()
        watcher.communicate()
        server.close()


def test_the_watch_command_names_a_bad_hold():
    done = subprocess.run(
        [sys.executable, "-m", "ocimatrix.nri.watch", "/nonexistent.sock", "--hold", "RunPod=3"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "--hold 'RunPod=3': expected KIND=SECONDS" in done.stderr


def test_the_plugin_s_repro_command_carries_its_holds_and_failures(tmp_path):
    plugin = NriPlugin(tmp_path / "nri.sock", "watch", "10")
    plugin.hold("RunPodSandbox", lambda _e: True)
    plugin.fail_once("CreateContainer", lambda _e: True)
    assert plugin.watch_argv(10) == [
        "python3", "-m", "ocimatrix.nri.watch", str(tmp_path / "nri.sock"), "--name", "watch", "--index", "10",
        "--hold", "RunPodSandbox=10", "--fail-once", "CreateContainer",
    ]  # fmt: skip
