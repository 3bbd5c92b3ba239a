"""Watch the embedded services a cell relies on, and bring back one that died: at most twice per run.

The embedded services are started by the controller, but cells run in pytest-xdist workers; so what
is needed to check and restart a service (its command line, log, probe, current pid) is written to
``services.json`` in the state directory, and every process reads it. A restart takes a file lock,
so two workers that notice the same death restart it once; each restart is appended to
``restarts.json``, which the controller copies into results.json's ``run.restarts``.

A daemon the user named in ``endpoints:`` is never here: the harness never restarts a user's daemon.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from ocimatrix.host.process import Daemon, is_running, spawn, tail

SERVICES_FILE = "services.json"
RESTARTS_FILE = "restarts.json"
LOCK_FILE = "supervision.lock"
MAX_RESTARTS = 2
PROBE_TIMEOUT = 3.0
RESTART_TIMEOUT = 90.0


@dataclass
class Probe:
    """How to ask a service whether it answers: ``http`` (any HTTP answer to ``target``, a URL),
    ``docker`` (``GET /_ping`` on the unix socket ``target``), ``unix`` (a connect to the socket)."""

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
    try:
        if probe.kind == "http":
            httpx.get(probe.target, timeout=PROBE_TIMEOUT, verify=probe.verify)
            return None
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(PROBE_TIMEOUT)
            conn.connect(probe.target)
            if probe.kind == "docker":
                conn.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                status = conn.recv(64).split(b"\r\n", 1)[0].decode(errors="replace")
                if " 200" not in status:
                    return f"GET /_ping answered {status or 'nothing'}"
        return None
    except (OSError, httpx.HTTPError) as exc:
        return f"{type(exc).__name__}: {exc}"


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
        problem = probe_once(spec.probe) if spec.probe else None
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
