"""Start, probe and stop the daemons the harness owns, and sweep up what they leave behind."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ocimatrix.errors import OcimatrixError


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now (the daemon binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_running(pid: int) -> bool:
    """Alive and not a zombie: a killed process stays a zombie until its parent (or init) reaps it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def spawn(argv: list[str], log_path: Path, env: dict[str, str] | None = None, banner: str = "") -> subprocess.Popen:
    """Start a daemon with its output appended to ``log_path``.

    A session of its own, so a Ctrl-C aimed at the harness doesn't kill the daemon mid-cleanup.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        if banner:
            log.write(banner.encode())
            log.flush()
        return subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True
        )


@dataclass
class Daemon:
    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] | None = None
    process: subprocess.Popen | None = None

    def start(self, ready: Callable[[], bool], timeout: float = 60.0) -> None:
        self.process = spawn(self.argv, self.log, self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise OcimatrixError(
                    f"{self.name} exited with {self.process.returncode} while starting; "
                    f"last log lines:\n{tail(self.log)}\ncommand: {' '.join(self.argv)}"
                )
            try:
                if ready():
                    return
            except Exception:  # noqa: BLE001 - any probe failure just means "not yet"
                pass
            time.sleep(0.2)
        self.stop()
        raise OcimatrixError(f"{self.name} did not become ready in {timeout:.0f}s; last log lines:\n{tail(self.log)}")

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def processes_mentioning(needle: str) -> list[int]:
    """PIDs whose command line contains ``needle`` (shims and conmons keep the state dir in theirs)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmdline:
            pids.append(int(entry.name))
    return sorted(pids)


def kill_processes_mentioning(needle: str) -> list[int]:
    pids = processes_mentioning(needle)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids


def mounts_under(root: Path) -> list[str]:
    prefix = str(root).rstrip("/") + "/"
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point.startswith(prefix) or point == str(root):
            points.append(point)
    return points


def unmount_all_under(root: Path) -> list[str]:
    """Unmount deepest first; lazy so a busy overlay doesn't block cleanup forever."""
    done = []
    for _ in range(3):
        points = sorted(set(mounts_under(root)), key=lambda p: p.count("/"), reverse=True)
        if not points:
            break
        for point in points:
            if subprocess.run(["umount", point], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True)
            done.append(point)
    return done
