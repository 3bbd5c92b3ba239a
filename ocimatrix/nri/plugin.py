"""An NRI plugin that watches a runtime's pod and container lifecycle, as NRI's own stub would.

It dials the runtime's NRI socket, registers under a name and an index, answers Configure with the
events it wants and Synchronize with no changes, and records every lifecycle event it is sent, with
the pod and container it names and when it arrived. A test can hold an event's hook (the runtime waits
for the answer) or fail it, for events its own predicate picks: other tests' pods on the same runtime
pass through untouched.

Runtimes of NRI 0.x send the events without an answer of their own (RunPodSandbox, StartContainer ...)
through StateChange; newer ones call a method per event. Both are served, and recorded the same way.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf.message import DecodeError, Message

from ocimatrix.nri import mux
from ocimatrix.nri.gen import nri_pb2 as nri
from ocimatrix.nri.ttrpc import UNIMPLEMENTED, Channel, ChannelClosed, RpcStatus

PLUGIN_SERVICE = "nri.pkg.api.v1alpha1.Plugin"
RUNTIME_SERVICE = "nri.pkg.api.v1alpha1.Runtime"

# The lifecycle events, by the names NRI gives them (and the CRI calls they hook).
RUN_POD_SANDBOX = "RunPodSandbox"
STOP_POD_SANDBOX = "StopPodSandbox"
REMOVE_POD_SANDBOX = "RemovePodSandbox"
CREATE_CONTAINER = "CreateContainer"
START_CONTAINER = "StartContainer"
STOP_CONTAINER = "StopContainer"
REMOVE_CONTAINER = "RemoveContainer"
POD_EVENTS = (RUN_POD_SANDBOX, STOP_POD_SANDBOX, REMOVE_POD_SANDBOX)
CONTAINER_EVENTS = (CREATE_CONTAINER, START_CONTAINER, STOP_CONTAINER, REMOVE_CONTAINER)

_EVENT_NUMBERS = {
    RUN_POD_SANDBOX: nri.RUN_POD_SANDBOX,
    STOP_POD_SANDBOX: nri.STOP_POD_SANDBOX,
    REMOVE_POD_SANDBOX: nri.REMOVE_POD_SANDBOX,
    CREATE_CONTAINER: nri.CREATE_CONTAINER,
    START_CONTAINER: nri.START_CONTAINER,
    STOP_CONTAINER: nri.STOP_CONTAINER,
    REMOVE_CONTAINER: nri.REMOVE_CONTAINER,
}
_EVENT_NAMES = {number: name for name, number in _EVENT_NUMBERS.items()}

# The request each per-event method carries; CreateContainer and StopContainer answer messages of
# their own, the others Empty.
_EVENT_REQUESTS: dict[str, type[Message]] = {
    RUN_POD_SANDBOX: nri.RunPodSandboxRequest,
    STOP_POD_SANDBOX: nri.StopPodSandboxRequest,
    REMOVE_POD_SANDBOX: nri.RemovePodSandboxRequest,
    CREATE_CONTAINER: nri.CreateContainerRequest,
    START_CONTAINER: nri.StartContainerRequest,
    STOP_CONTAINER: nri.StopContainerRequest,
    REMOVE_CONTAINER: nri.RemoveContainerRequest,
}
_EVENT_ANSWERS: dict[str, type[Message]] = {
    CREATE_CONTAINER: nri.CreateContainerResponse,
    STOP_CONTAINER: nri.StopContainerResponse,
}


class NriUnavailable(Exception):
    """The runtime's NRI socket could not be reached, or it never configured and synchronized the plugin."""


@dataclass(frozen=True)
class NriEvent:
    """One lifecycle event as the plugin received it."""

    kind: str
    pod_id: str
    pod_name: str
    pod_uid: str
    pod_namespace: str
    container_id: str = ""
    container_name: str = ""
    at: int = 0  # time.monotonic_ns() on arrival: the order the runtime sent them in
    via: str = ""  # the ttrpc method that carried it

    def evidence(self) -> dict[str, str]:
        shown = {"event": self.kind, "via": self.via, "pod": self.pod_id, "pod_name": self.pod_name}
        if self.container_id:
            shown.update(container=self.container_id, container_name=self.container_name)
        return shown


Predicate = Callable[[NriEvent], bool]


@dataclass
class Hold:
    """A hook the test holds: the first matching event waits in the plugin until ``release``."""

    kind: str
    match: Predicate
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    event: NriEvent | None = None

    def release(self) -> None:
        self.released.set()


@dataclass
class Failure:
    """A hook that answers the first matching event with an error (the runtime must fail the call)."""

    kind: str
    match: Predicate
    message: str
    event: NriEvent | None = None


@dataclass
class SyncHold:
    """Holds the plugin's Synchronize until ``release``; ``reached`` once the runtime called it."""

    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


class NriPlugin:
    """A plugin named ``name`` at index ``index`` (two digits: the runtime calls plugins in index order),
    subscribed to ``events``. ``connect`` dials; ``close`` disconnects and lets every held hook go."""

    def __init__(
        self,
        socket_path: Path,
        name: str,
        index: str = "00",
        events: Iterable[str] = POD_EVENTS + CONTAINER_EVENTS,
        hold_timeout: float = 30.0,
    ) -> None:
        self.socket_path = Path(socket_path)
        self.name = name
        self.index = index
        self.events = tuple(events)
        self.hold_timeout = hold_timeout
        self.runtime = ""  # "name version", from Configure
        self.request_timeout_ms = 0
        self.closed_why = ""
        self._received: list[NriEvent] = []
        self._synced_pods: list[nri.PodSandbox] = []
        self._synced_containers: list[nri.Container] = []
        self._lock = threading.Condition()
        self._holds: list[Hold] = []
        self._failures: list[Failure] = []
        self._sync_hold: SyncHold | None = None
        self._configured = threading.Event()
        self._synchronized = threading.Event()
        self._trunk: mux.Trunk | None = None
        self._served: Channel | None = None
        self._runtime: Channel | None = None

    # ---------------------------------------------------------------- connection

    def connect(self, timeout: float = 10.0, wait_synchronized: bool = True) -> None:
        """Dial, register, and (``wait_synchronized``) wait until the runtime has configured and
        synchronized the plugin: only then does it send lifecycle events."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(str(self.socket_path))
            sock.settimeout(None)
        except OSError as exc:
            sock.close()
            raise NriUnavailable(f"NRI socket {self.socket_path}: {exc}") from exc
        served = Channel("plugin", lambda data: self._send(mux.PLUGIN_SERVICE_CONN, data), self._serve)
        runtime = Channel("runtime", lambda data: self._send(mux.RUNTIME_SERVICE_CONN, data))
        self._served, self._runtime = served, runtime
        self._trunk = mux.Trunk(
            sock, {mux.PLUGIN_SERVICE_CONN: served.feed, mux.RUNTIME_SERVICE_CONN: runtime.feed}, self._trunk_closed
        )
        self._trunk.start()
        request = nri.RegisterPluginRequest(plugin_name=self.name, plugin_idx=self.index)
        try:
            runtime.call(RUNTIME_SERVICE, "RegisterPlugin", request.SerializeToString(), timeout)
        except (TimeoutError, ChannelClosed) as exc:
            raise NriUnavailable(f"NRI socket {self.socket_path}: RegisterPlugin got no answer: {exc}") from exc
        if wait_synchronized:
            self.wait_synchronized(timeout)

    def wait_synchronized(self, timeout: float) -> None:
        if not self._synchronized.wait(timeout):
            step = "synchronized" if self._configured.is_set() else "configured"
            raise NriUnavailable(
                f"the runtime registered NRI plugin {self.index}-{self.name} but never {step} it in {timeout:g} s"
                + (f" ({self.closed_why})" if self.closed_why else "")
            )

    def close(self) -> None:
        with self._lock:
            for hold in self._holds:
                hold.release()
            if self._sync_hold is not None:
                self._sync_hold.release()
        if self._trunk is not None:
            self._trunk.close()
        for channel in (self._served, self._runtime):
            if channel is not None:
                channel.close("the plugin closed its NRI connection")

    def __enter__(self) -> NriPlugin:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def watch_argv(self, hold_seconds: float) -> list[str]:
        """The command that runs this plugin on its own as it is set up now (``python -m ocimatrix.nri.watch``),
        its holds kept ``hold_seconds``: a repro's stand-in for the test that held them."""
        argv = [
            "python3",
            "-m",
            "ocimatrix.nri.watch",
            str(self.socket_path),
            "--name",
            self.name,
            "--index",
            self.index,
        ]
        with self._lock:
            for hold in self._holds:
                argv += ["--hold", f"{hold.kind}={hold_seconds:g}"]
            for failure in self._failures:
                argv += ["--fail-once", failure.kind]
        return argv

    # ---------------------------------------------------------------- what the test asks

    def hold(self, kind: str, match: Predicate) -> Hold:
        hold = Hold(kind, match)
        with self._lock:
            self._holds.append(hold)
        return hold

    def fail_once(
        self, kind: str, match: Predicate, message: str = "ocimatrix NRI plugin: refused on purpose"
    ) -> Failure:
        failure = Failure(kind, match, message)
        with self._lock:
            self._failures.append(failure)
        return failure

    def hold_synchronize(self) -> SyncHold:
        """Hold the next Synchronize (ask before ``connect``: the runtime synchronizes right after registering)."""
        with self._lock:
            self._sync_hold = SyncHold()
            return self._sync_hold

    @property
    def sync_hold(self) -> SyncHold | None:
        return self._sync_hold

    def received(self, match: Predicate | None = None) -> list[NriEvent]:
        with self._lock:
            return [event for event in self._received if match is None or match(event)]

    def wait_for(self, match: Predicate, count: int, timeout: float = 10.0) -> list[NriEvent]:
        """The matching events once there are ``count`` of them, or all there are after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [event for event in self._received if match(event)]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self._lock.wait(left)

    @property
    def synced_pod_ids(self) -> list[str]:
        with self._lock:
            return [pod.id for pod in self._synced_pods]

    @property
    def synced_container_ids(self) -> list[str]:
        with self._lock:
            return [container.id for container in self._synced_containers]

    # ---------------------------------------------------------------- serving the runtime

    def _send(self, conn_id: int, data: bytes) -> None:
        if self._trunk is None:
            raise ChannelClosed("not connected")
        try:
            self._trunk.send(conn_id, data)
        except mux.TrunkClosed as exc:
            raise ChannelClosed(str(exc)) from exc

    def _trunk_closed(self, reason: str) -> None:
        self.closed_why = reason
        for channel in (self._served, self._runtime):
            if channel is not None:
                channel.close(reason)

    def _serve(self, service: str, method: str, payload: bytes) -> bytes:
        if service != PLUGIN_SERVICE:
            raise RpcStatus(UNIMPLEMENTED, f"service {service} is not served by this plugin")
        try:
            if method == "Configure":
                return self._configure(nri.ConfigureRequest.FromString(payload))
            if method == "Synchronize":
                return self._synchronize(nri.SynchronizeRequest.FromString(payload))
            if method == "Shutdown":
                self.closed_why = "the runtime shut the plugin down"
                return nri.Empty().SerializeToString()
            if method == "StateChange":
                change = nri.StateChangeEvent.FromString(payload)
                kind = _EVENT_NAMES.get(change.event)
                if kind is not None:
                    self._lifecycle(
                        kind, change.pod, change.container if change.HasField("container") else None, method
                    )
                return nri.Empty().SerializeToString()
            if method in _EVENT_REQUESTS:
                request = _EVENT_REQUESTS[method].FromString(payload)
                container = getattr(request, "container", None)
                self._lifecycle(method, request.pod, container, method)
                return _EVENT_ANSWERS.get(method, nri.Empty)().SerializeToString()
        except DecodeError as exc:
            raise RpcStatus(3, f"{method}: undecodable request: {exc}") from exc  # INVALID_ARGUMENT
        raise RpcStatus(UNIMPLEMENTED, f"{method} is not served by this plugin")

    def _configure(self, request: nri.ConfigureRequest) -> bytes:
        self.runtime = f"{request.runtime_name} {request.runtime_version}".strip()
        self.request_timeout_ms = request.request_timeout
        mask = 0
        for kind in self.events:
            mask |= 1 << (_EVENT_NUMBERS[kind] - 1)
        self._configured.set()
        return nri.ConfigureResponse(events=mask).SerializeToString()

    def _synchronize(self, request: nri.SynchronizeRequest) -> bytes:
        with self._lock:
            self._synced_pods.extend(request.pods)
            self._synced_containers.extend(request.containers)
            hold = self._sync_hold
        if hold is not None and not hold.reached.is_set():
            hold.reached.set()
            hold.released.wait(self.hold_timeout)
        if not request.more:
            self._synchronized.set()
        return nri.SynchronizeResponse(more=request.more).SerializeToString()

    def _lifecycle(self, kind: str, pod: nri.PodSandbox, container: nri.Container | None, via: str) -> None:
        event = NriEvent(
            kind=kind,
            pod_id=pod.id or (container.pod_sandbox_id if container is not None else ""),
            pod_name=pod.name,
            pod_uid=pod.uid,
            pod_namespace=pod.namespace,
            container_id=container.id if container is not None else "",
            container_name=container.name if container is not None else "",
            at=time.monotonic_ns(),
            via=via,
        )
        with self._lock:
            self._received.append(event)
            self._lock.notify_all()
            hold = next((h for h in self._holds if h.kind == kind and h.event is None and h.match(event)), None)
            failure = next((f for f in self._failures if f.kind == kind and f.event is None and f.match(event)), None)
            if hold is not None:
                hold.event = event
            if failure is not None:
                failure.event = event
        if hold is not None:
            hold.reached.set()
            hold.released.wait(self.hold_timeout)
        if failure is not None:
            raise RpcStatus(2, failure.message)  # UNKNOWN: an ordinary error, not one that closes the plugin
