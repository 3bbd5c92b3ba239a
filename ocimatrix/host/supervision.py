"""Watch the embedded services a cell relies on, and bring back one that died: at most twice per run.

The embedded services are started by the controller, but cells run in pytest-xdist workers; so what
is needed to check and restart a service (its command line, log, probe, current pid) is written to
``services.json`` in the state directory, and every process reads it. A restart takes a file lock,
so two workers that notice the same death restart it once; each restart is appended to
``restarts.json``, which the controller copies into results.json's ``run.restarts``.

Health is a protocol answer within a deadline (``probe_once``): a registry answers ``GET /v2/``
(any status, 401 included), dockerd ``GET /_ping``, containerd its gRPC ``Version``, a CRI endpoint
``Version`` and ``Status``. A process that is alive but answers nothing (hung, stopped) is as broken
as a dead one: it is killed before the restart.

A daemon the user named in ``endpoints:`` is never here: the harness never restarts a user's daemon
(``plugin/cell_watch.py`` probes those with the same ``probe_once``, and only reports them).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from ocimatrix.system.process import Daemon, is_running, spawn, tail

SERVICES_FILE = "services.json"
RESTARTS_FILE = "restarts.json"
LOCK_FILE = "supervision.lock"
MAX_RESTARTS = 2
PROBE_TIMEOUT = 3.0
# A live process whose probe got no answer is asked once more before it counts as hung: a slow
# answer on a busy host must not get a working daemon killed.
PROBE_ATTEMPTS = 2
RESTART_TIMEOUT = 90.0
KILL_TIMEOUT = 10.0
# What containerd's own version service is called (containerd/api/services/version/v1): an empty
# request, an answer of two strings; asked without generated code.
CONTAINERD_VERSION = "/containerd.services.version.v1.Version/Version"
# gRPC statuses that mean nobody answered (the call never reached a server, or got nothing back in
# time); any other status is an answer, if a refusal.
_SILENT_CODES = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED")


@dataclass
class Probe:
    """How to ask a service whether it answers, within ``PROBE_TIMEOUT`` seconds:

    - ``http``: any HTTP answer to ``GET target`` (a URL; a registry's ``/v2/``, where 401 is an answer);
    - ``docker-api``: the Docker Engine API's ``GET /_ping`` on the unix socket ``target``, answered 200;
    - ``containerd-api``: containerd's own gRPC ``Version`` on the socket ``target``;
    - ``cri``: the CRI's ``Version``, then ``Status``, on ``target`` (``unix:///path`` or a path);
    - ``unix``: a connect to the socket (for a service with no protocol to ask: a connect proves
      little, since a hung process's socket still accepts connections).
    """

    kind: str
    target: str
    verify: bool | str = False  # for https: the CA file the server's certificate chains to


@dataclass
class ServiceSpec:
    name: str
    argv: list[str]
    log: str
    pid: int
    probe: Probe | None = None
    env: dict[str, str] | None = None
    stale_files: list[str] = field(default_factory=list)  # removed before a restart (a pidfile)

    @classmethod
    def from_json(cls, data: dict) -> ServiceSpec:
        probe = data.get("probe")
        return cls(**{**data, "probe": Probe(**probe) if probe else None})


def probe_once(probe: Probe) -> str | None:
    """None when the service answers; otherwise what went wrong."""
    if probe.kind in ("containerd-api", "cri"):
        return _grpc_probe(probe)
    try:
        if probe.kind == "http":
            httpx.get(probe.target, timeout=PROBE_TIMEOUT, verify=probe.verify)
            return None
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(PROBE_TIMEOUT)
            conn.connect(probe.target)
            if probe.kind == "docker-api":
                conn.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                status = conn.recv(64).split(b"\r\n", 1)[0].decode(errors="replace")
                if " 200" not in status:
                    return f"GET /_ping answered {status or 'nothing'}"
        return None
    except (OSError, httpx.HTTPError) as exc:
        return f"{type(exc).__name__}: {exc}"


def _grpc_probe(probe: Probe) -> str | None:
    import grpc

    path = probe.target.removeprefix("unix://")
    channel = grpc.insecure_channel(f"unix://{path}")
    try:
        if probe.kind == "containerd-api":
            version = channel.unary_unary(
                CONTAINERD_VERSION, request_serializer=lambda _: b"", response_deserializer=lambda raw: raw
            )
            calls = [("Version", lambda: version(None, timeout=PROBE_TIMEOUT))]
        else:
            from ocimatrix.cri.gen import api_pb2 as api
            from ocimatrix.cri.gen import api_pb2_grpc as api_grpc

            runtime = api_grpc.RuntimeServiceStub(channel)
            calls = [
                ("Version", lambda: runtime.Version(api.VersionRequest(version="0.1.0"), timeout=PROBE_TIMEOUT)),
                ("Status", lambda: runtime.Status(api.StatusRequest(), timeout=PROBE_TIMEOUT)),
            ]
        for name, call in calls:
            try:
                call()
            except grpc.RpcError as exc:
                code = exc.code() if hasattr(exc, "code") else None
                if code is None or code.name in _SILENT_CODES:
                    details = exc.details() if hasattr(exc, "details") else ""
                    state = code.name if code is not None else "no status"
                    return f"gRPC {name} got no answer within {PROBE_TIMEOUT:g} s ({state}: {details})"
        return None
    finally:
        channel.close()


@dataclass
class Health:
    name: str
    problem: str | None  # None: answering
    log_tail: str = ""


class ServiceBook:
    """The embedded services of one state directory, as every process of the run sees them."""

    def __init__(self, state_dir: str | Path) -> None:
        self.state = Path(state_dir)

    # --- written by the controller when it starts a service ---------------------------------

    def add(self, name: str, daemon: Daemon, probe: Probe | None = None, stale_files: list[str] | None = None) -> None:
        assert daemon.process is not None, f"{name} was not started"
        pid = daemon.process.pid
        spec = ServiceSpec(name, list(daemon.argv), str(daemon.log), pid, probe, daemon.env, stale_files or [])
        with self._locked():
            specs = self._specs()
            specs[name] = spec
            self._save_specs(specs)

    # --- read by every process -----------------------------------------------------------------

    def names(self) -> list[str]:
        return list(self._specs())

    def pid(self, name: str) -> int:
        return self._specs()[name].pid

    def health(self, name: str) -> Health:
        spec = self._specs().get(name)
        if spec is None:
            return Health(name, None)
        if not is_running(spec.pid):
            return Health(name, f"its process (pid {spec.pid}) is gone", tail(Path(spec.log)))
        problem = None
        for _attempt in range(PROBE_ATTEMPTS if spec.probe else 0):
            problem = probe_once(spec.probe)
            if problem is None or not is_running(spec.pid):
                break
        if problem and is_running(spec.pid):
            problem = f"its process (pid {spec.pid}) runs but answers nothing: {problem}"
        return Health(name, problem, tail(Path(spec.log)) if problem else "")

    def restarts(self) -> dict[str, list[dict]]:
        try:
            return json.loads((self.state / RESTARTS_FILE).read_text())
        except (OSError, ValueError):
            return {}

    def restart_count(self, name: str) -> int:
        return len(self.restarts().get(name, []))

    def revive(self, name: str, cell: str) -> str:
        """Restart ``name`` if it is still down (another worker may have done it); say what happened."""
        with self._locked():
            health = self.health(name)
            if health.problem is None:
                return f"{name} answers again (restarted by another worker)"
            history = self.restarts()
            done = history.get(name, [])
            if len(done) >= MAX_RESTARTS:
                return f"{name} was already restarted {len(done)} times in this run; not restarting it again"
            spec = self._specs()[name]
            entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "cell": cell, "why": health.problem}
            try:
                if is_running(spec.pid):
                    # Alive but answering nothing: it would hold the socket and its state against the restart.
                    _kill(spec.pid)
                    entry["killed"] = spec.pid
                spec.pid = self._respawn(spec)
                entry["outcome"] = "restarted"
            except Exception as exc:  # noqa: BLE001 - reported in the cell's reason and in run.restarts
                entry["outcome"] = f"restart failed: {exc}"
            history[name] = [*done, entry]
            (self.state / RESTARTS_FILE).write_text(json.dumps(history, indent=1))
            specs = self._specs()
            specs[name] = spec
            self._save_specs(specs)
            return f"{name}: {entry['outcome']} ({len(done) + 1} of at most {MAX_RESTARTS} restarts)"

    # --- internals -----------------------------------------------------------------------------

    def _respawn(self, spec: ServiceSpec) -> int:
        for stale in spec.stale_files:
            with contextlib.suppress(OSError):
                os.unlink(stale)
        process = spawn(spec.argv, Path(spec.log), spec.env, banner=f"\n--- ocimatrix: restarting {spec.name} ---\n")
        deadline = time.monotonic() + RESTART_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"exited with {process.returncode}; last log lines:\n{tail(Path(spec.log))}")
            if spec.probe is None or probe_once(spec.probe) is None:
                return process.pid
            time.sleep(0.2)
        process.kill()
        raise RuntimeError(f"did not answer within {RESTART_TIMEOUT:.0f}s after the restart")

    def _specs(self) -> dict[str, ServiceSpec]:
        try:
            raw = json.loads((self.state / SERVICES_FILE).read_text())
        except (OSError, ValueError):
            return {}
        return {name: ServiceSpec.from_json(data) for name, data in raw.items()}

    def _save_specs(self, specs: dict[str, ServiceSpec]) -> None:
        path = self.state / SERVICES_FILE
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps({name: asdict(spec) for name, spec in specs.items()}, indent=1))
        tmp.replace(path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.state.mkdir(parents=True, exist_ok=True)
        with open(self.state / LOCK_FILE, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _kill(pid: int) -> None:
    """SIGKILL ``pid`` (a stopped process dies of it too) and wait until it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + KILL_TIMEOUT
    while is_running(pid):
        if time.monotonic() >= deadline:
            raise RuntimeError(f"pid {pid} answers nothing and outlived SIGKILL for {KILL_TIMEOUT:.0f}s")
        time.sleep(0.05)
