"""Streaming as the kubelet's clients use it: Exec, Attach and PortForward through the runtime's own
streaming server (on 127.0.0.1), and following a container's log while it writes, across a rotation.

The sessions speak WebSocket (v4.channel.k8s.io, ocimatrix/cri/streaming.py); a wrong answer fails the
cell with the session's output and status as the runtime's answer. Stdin is scripted: each message is
sent once the output shows the command is ready for it, so the checks wait on the container, not on
a clock. A non-TTY stdin cannot be half-closed over v4, so such commands end themselves.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from cri_probe import APPLETS, SERVE

from ocimatrix import evidence
from ocimatrix.cri import streaming
from ocimatrix.cri.client import CriError
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.cri.kubelet import KubeletCri
from ocimatrix.errors import HarnessError, OcimatrixError, ServiceUnavailable, fail_with
from ocimatrix.images.pause import ImageFile, PushedImage, build_busybox_image, push_image
from ocimatrix.plugin.verdicts import skip_unless_started
from ocimatrix.specs import spec

AXES = ("engine", "runtime")
BODY = b"hello-from-pod\n"
# Waits (in the container) until the terminal has the size the client asked for, then prints it: the
# resize and the input that follows it travel on two channels, which the server handles apart.
WAIT_SIZE = (
    'W() { i=0; while [ "$(stty size)" != "$1" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; '
    'echo "size:$(stty size)"; }; '
)


@dataclass
class StreamingImage:
    image: PushedImage
    used: dict[str, KubeletCri] = field(default_factory=dict)


@pytest.fixture(scope="session")
def streaming_image(endpoints, run_id) -> Iterator[StreamingImage]:
    """The probe's busybox with the applets a terminal and a web server need, and a page to serve."""
    skip_unless_started(endpoints, "registry", "embedded registry")
    try:
        built = build_busybox_image(
            {"Env": ["PATH=/bin"], "Labels": {"io.ocimatrix.probe": "cri-streaming"}},
            applets=(*APPLETS, "stty", "tty", "httpd"),
            files=[ImageFile("tmp", None, 0o1777), ImageFile("www", None, 0o755), ImageFile("www/index.html", BODY)],
        )
        pushed = push_image(endpoints.registry, "ocimatrix/cri/streaming", run_id, built)
    except HarnessError:
        raise
    except OcimatrixError as exc:
        raise HarnessError(f"could not build and push the CRI streaming image: {exc}") from exc
    held = StreamingImage(pushed)
    yield held
    for cri in held.used.values():
        with evidence.scoped(), contextlib.suppress(CriError, ServiceUnavailable):
            cri.remove_image(pushed.tag_ref)


@pytest.fixture
def image(cri: KubeletCri, streaming_image: StreamingImage, recorder) -> PushedImage:
    recorder.add("streaming_image", streaming_image.image.tag_ref)
    streaming_image.used[cri.endpoint] = cri
    if cri.image_status(streaming_image.image.tag_ref) is None:
        cri.pull_image(streaming_image.image.tag_ref)
    return streaming_image.image


def _expect(ok: bool, message: str, result: streaming.StreamResult | streaming.ForwardResult) -> None:
    if not ok:
        fail_with(f"{message}; the runtime answered: {result.summary()}", step=result.step, answer=result.summary())


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
        time.sleep(0.1)
    return False


# ------------------------------------------------------------------ the streaming server


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/Exec (the streaming server: on the loopback address only)")
def test_streaming_server_on_loopback_only(cell, cri, pod, image, recorder):
    container = pod.start("server", image, command=SERVE)
    url = cri.exec_url(container, ["/bin/true"])  # never opened: the one-shot token just expires
    step = "Exec (the URL of the streaming server)"
    streaming.ws_url(url, step)  # a host off the loopback address fails here, with the URL as the answer
    port = urlsplit(url).port
    if port is None:
        fail_with("the streaming URL names no port", step=step, answer=url)
    addresses = streaming.listening_addresses(port)
    recorder.add("streaming_server", {"url": url, "listening_on": addresses})
    if not addresses:
        fail_with(f"nothing listens on port {port} of the URL the runtime handed out", step=step, answer=url)
    exposed = [address for address in addresses if not streaming.is_loopback_address(address)]
    if exposed:
        fail_with(
            f"the streaming server listens beyond the loopback address: {exposed}",
            step=step,
            answer=f"{url}; port {port} listened on at {addresses}",
        )


# ------------------------------------------------------------------ Exec


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/Exec (streaming: stdout, stderr and the exit code, no TTY)")
def test_exec_stream_output_and_exit_code(cell, cri, pod, image):
    container = pod.start("server", image, command=SERVE)
    result = streaming.exec_stream(cri, container, ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], timeout=20)
    _expect(result.protocol == streaming.CHANNEL_PROTOCOL, f"negotiated {result.protocol!r}", result)
    _expect(result.stdout == b"out\n", "stdout is not the command's", result)
    _expect(result.stderr == b"err\n", "stderr is not the command's", result)
    _expect(result.exit_code == 3, f"the command exited 3, the session's status says {result.exit_code}", result)
    ok = streaming.exec_stream(cri, container, ["/bin/echo", "ok"], timeout=20)
    _expect((ok.stdout, ok.exit_code) == (b"ok\n", 0), "echo ok did not end in Success with its output", ok)


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/Exec (streaming: stdin)")
def test_exec_stream_stdin(cell, cri, pod, image):
    container = pod.start("server", image, command=SERVE)
    script = 'echo ready; read a; echo "got:$a"; read b; echo "$b-$a"; exit 5'
    sends = [streaming.stdin("one\n", after="ready"), streaming.stdin("two\n", after="got:one")]
    result = streaming.exec_stream(cri, container, ["/bin/sh", "-c", script], sends=sends, timeout=20)
    _expect(result.stdout == b"ready\ngot:one\ntwo-one\n", "the command did not read what was sent", result)
    _expect(result.exit_code == 5, f"the command exited 5, the session's status says {result.exit_code}", result)


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/Exec (streaming: a TTY and its resize)")
def test_exec_stream_tty_resize(cell, cri, pod, image):
    container = pod.start("server", image, command=SERVE)
    script = WAIT_SIZE + 'tty; read a; W "30 100"; read b; W "43 132"; exit 7'
    sends = [
        streaming.resize(100, 30),
        streaming.stdin("a\n", after="/dev/"),
        streaming.resize(132, 43, after="size:"),
        streaming.stdin("b\n", after="size:"),
    ]
    result = streaming.exec_stream(cri, container, ["/bin/sh", "-c", script], sends=sends, tty=True, timeout=30)
    _expect(b"/dev/pts/" in result.stdout, "the command's stdout is no terminal", result)
    _expect(b"size:30 100" in result.stdout, "the first resize (100x30) did not reach the terminal", result)
    _expect(b"size:43 132" in result.stdout, "the second resize (132x43) did not reach the terminal", result)
    _expect(result.stderr == b"", "a TTY session has one output stream, yet stderr came", result)
    _expect(result.exit_code == 7, f"the command exited 7, the session's status says {result.exit_code}", result)


# ------------------------------------------------------------------ Attach


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/Attach (stdin, stdout and stderr of a running container)")
def test_attach_stdio(cell, cri, pod, image):
    # A pause before exiting: what a container writes at the instant it exits can race the end of the
    # session (containerd lost the last stderr line once in a few dozen runs); that race is not this check.
    loop = 'while read l; do echo "seen:$l"; echo "e:$l" >&2; [ "$l" = quit ] && sleep 1 && exit 4; done'
    container = pod.start("reader", image, command=["/bin/sh", "-c", loop], stdin=True)
    sends = [streaming.stdin("a\n"), streaming.stdin("quit\n", after="seen:a")]
    result = streaming.attach(cri, container, sends=sends, timeout=20)
    _expect(result.stdout == b"seen:a\nseen:quit\n", "the container's stdout is not what it answered", result)
    _expect(result.stderr == b"e:a\ne:quit\n", "the container's stderr is not what it answered", result)
    status = cri.wait_for_exit(container, timeout=10)
    if status.exit_code != 4:
        fail_with(
            f"the attached container exited 4, ContainerStatus says {status.exit_code}",
            step="ContainerStatus after the attached container exited",
            answer=f"exit_code {status.exit_code}",
        )


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/Attach (a TTY and its resize)")
def test_attach_tty_resize(cell, cri, pod, image):
    script = WAIT_SIZE + 'read a; W "25 90"; read b; W "26 91"; exit 0'
    container = pod.start("terminal", image, command=["/bin/sh", "-c", script], tty=True, stdin=True)
    sends = [
        streaming.resize(90, 25),
        streaming.stdin("x\n"),
        streaming.resize(91, 26, after="size:25 90"),
        streaming.stdin("y\n", after="size:25 90"),
    ]
    result = streaming.attach(cri, container, sends=sends, tty=True, timeout=30)
    _expect(b"size:25 90" in result.stdout, "the first resize (90x25) did not reach the container's terminal", result)
    _expect(b"size:26 91" in result.stdout, "the second resize (91x26) did not reach the container's terminal", result)
    _expect(result.stderr == b"", "a TTY session has one output stream, yet stderr came", result)


# ------------------------------------------------------------------ PortForward


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/PortForward (a port a host-network pod listens on at 127.0.0.1)")
def test_port_forward_to_listening_port(cell, cri, pod, image):
    port = _free_loopback_port()
    container = pod.start("web", image, command=["httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", "/www"])
    if not _listening(port, timeout=10):
        state = api.ContainerState.Name(cri.container_status(container).state)
        fail_with(
            f"busybox httpd in the pod never listened on 127.0.0.1:{port}",
            step="StartContainer (httpd)",
            answer=f"container {state}, nothing listening on 127.0.0.1:{port} after 10 s",
        )
    request = f"GET /index.html HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    result = streaming.port_forward(cri, pod.id, port, request, timeout=15)
    status_line = result.data.split(b"\r\n", 1)[0]
    _expect(b" 200 " in status_line, "no 200 answer came back through the forwarded port", result)
    _expect(result.data.endswith(BODY), "the page served in the pod did not come back through the stream", result)
    _expect(result.error_text == "", "the error channel reported a failure", result)


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/PortForward (a port nothing listens on: the error channel says so)")
def test_port_forward_to_closed_port(cell, cri, pod, image, recorder):
    port = _free_loopback_port()
    result = streaming.port_forward(cri, pod.id, port, b"GET / HTTP/1.0\r\n\r\n", timeout=15)
    _expect(result.data == b"", "data came back from a port nothing listens on", result)
    # containerd 1.7 now and then closes the session with its error channel still empty (seen once in
    # CI): kept as evidence; what it does say must name the port.
    recorder.add("port_forward_error_text", result.error_text or "(the session closed with no error text)")
    if result.error_text:
        _expect(str(port) in result.error_text, f"the error channel does not name port {port}", result)


# ------------------------------------------------------------------ following logs


@pytest.mark.axes(*AXES)
@spec(
    "cri/api.proto", "RuntimeService/ReopenContainerLog (following a log while the container writes, across a rotation)"
)
def test_follow_log_across_reopen(cell, cri, pod, image, recorder):
    lines = 30
    writer = f"i=0; while [ $i -lt {lines} ]; do echo line$i; i=$((i+1)); sleep 0.1; done"
    container = pod.start("writer", image, command=["/bin/sh", "-c", writer])
    follower = cri.follow_log(container)
    step = "the container's CRI log file while it writes"
    try:

        def seen(text: str):
            return lambda got: any(line.content == text for line in got)

        def read_so_far() -> str:
            return " ".join(f"{line.stream}:{line.content}" for line in follower.lines[-30:]) or "nothing"

        if not follower.follow(seen("line3"), timeout=15):
            fail_with("the first lines never reached the log file", step=step, answer=read_so_far())
        state = cri.container_status(container).state
        if state != api.CONTAINER_RUNNING:
            fail_with(
                "the follower saw line3 only after the container had ended",
                step=step,
                answer=f"{api.ContainerState.Name(state)} after {read_so_far()}",
            )
        # The kubelet's rotation: move the file away, then ask the runtime to open a new one at log_path.
        rotated = follower.path.with_name(follower.path.name + ".1")
        follower.path.rename(rotated)
        cri.reopen_container_log(container)
        if not follower.path.exists():
            fail_with(
                "after ReopenContainerLog there is no log file at log_path",
                step="ReopenContainerLog",
                answer=f"{follower.path} missing",
            )
        if not follower.follow(seen(f"line{lines - 1}"), timeout=30):
            fail_with(
                "the lines written after the rotation never reached the new log file", step=step, answer=read_so_far()
            )
    finally:
        follower.close()
    recorder.add("log_files_followed", follower.lines_per_file)
    contents = [line.content for line in follower.lines if line.stream == "stdout"]
    expected = [f"line{i}" for i in range(lines)]
    if contents != expected:
        fail_with(
            "following the log across the rotation lost, repeated or reordered lines",
            step=step,
            answer=" ".join(contents),
        )
    if follower.files_followed != 2 or 0 in follower.lines_per_file:
        fail_with(
            "the lines after ReopenContainerLog did not go to the new file",
            step="ReopenContainerLog",
            answer=f"lines per file followed: {follower.lines_per_file}",
        )
