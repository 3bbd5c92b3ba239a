"""A generation's tools at work: its root as the `/` of a private mount namespace, with its daemons.

One process holds the namespace (``pid``). In it the root is bind-mounted onto itself, ``/proc``,
``/sys`` and ``/dev`` are rbound and made rslave, and ``/run``, ``/tmp`` and ``/var/tmp`` are tmpfs
of its own, so nothing the daemons write lands in the cached root. The run's state directory is bound
into the root at its own path: a socket at ``STATE/docker.sock`` inside is the same file outside, so
the host's docker-py, httpx and grpc reach the generation's daemons directly.

Then the holder makes the root the namespace's own ``/`` (``pivot_root``), not a chroot: entering a
mount namespace (``setns``, as ``nsenter``, ``runc exec`` and ``crun exec`` do) puts a process at the
namespace's root mount, whatever chroot its caller was in. Under a chroot, a container's ``pivot_root``
replaces the chroot's mount and leaves the host's ``/`` as its namespace's root, so every exec into
the container landed in the host's ``/`` (ExecSync: "chdir to /srv/cri: No such file or directory").
Commands run as ``nsenter --mount=/proc/PID/ns/mnt ARGV``, which starts them in the root.

Every mount lives in that namespace only (private propagation); it goes away with the last process
in it, which ``stop`` makes sure of. The host's mount table never sees any of them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ocimatrix.endpoints.site import CHROOT_ENV, enter_command
from ocimatrix.errors import HarnessError
from ocimatrix.system.process import Daemon, is_running, mounts_under, processes_mentioning, tail

# Ephemeral directories of the root that get a tmpfs of their own in the namespace.
SCRATCH_DIRS = ("run", "tmp", "var/tmp")
# podman 5 says cgroup v1 is deprecated on every command; the host is cgroup v1 hybrid.
READY_MARK = "ocimatrix-namespace-ready"
START_TIMEOUT_S = 30.0

_HOLDER_SCRIPT = f"""set -e
root=$1; state=$2
mount --bind "$root" "$root"
for fs in proc sys dev; do
  mount --rbind "/$fs" "$root/$fs"
  mount --make-rslave "$root/$fs"
done
mount -t tmpfs -o mode=0755 ocimatrix-run "$root/run"
mount -t tmpfs -o mode=1777 ocimatrix-tmp "$root/tmp"
mount -t tmpfs -o mode=1777 ocimatrix-tmp "$root/var/tmp"
mkdir -p "$root$state"
mount --bind "$state" "$root$state"
shift 2
for shared in "$@"; do
  mkdir -p "$root$shared"
  mount --bind "$shared" "$root$shared"
done
# The old root goes on top of the new one and is detached at once (pivot_root(2)'s ". ." idiom);
# from here on, commands are the root's own.
cd "$root"
pivot_root . .
umount -l .
cd /
echo {READY_MARK}
exec sleep infinity
"""


def holder_command(rootfs: Path, state_dir: Path, shared: tuple[Path, ...] = ()) -> list[str]:
    """The namespace holder: sets up the mounts, then sleeps until ``stop`` kills it. ``shared``
    directories (under the scratch tmpfs, e.g. the run's state dir) are bound in at their own paths."""
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        _HOLDER_SCRIPT,
        "sh",
        str(rootfs),
        str(state_dir),
        *(str(p) for p in shared),
    ]


def missing_ancestors(rootfs: Path, path: Path) -> list[Path]:
    """The directories ``mkdir -p ROOT/path`` would create in the root itself (not on a scratch tmpfs)."""
    relative = path.relative_to("/")
    if any(relative.parts[: len(Path(s).parts)] == Path(s).parts for s in SCRATCH_DIRS):
        return []
    created = []
    current = rootfs
    for part in relative.parts:
        current = current / part
        if not current.exists():
            created.append(current)
    return created


def mount_namespace(pid: int | str) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return ""


def _parents() -> dict[int, int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name (which may contain spaces), closed by the last ")".
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def processes_in_namespace(namespace: str, also: list[int] = ()) -> list[int]:
    """PIDs in mount namespace ``namespace``, plus ``also``, and every descendant of them.

    Containers have mount namespaces of their own, but their processes descend from a shim or a
    conmon that lives in this one.
    """
    parents = _parents()
    members = {pid for pid in parents if pid != os.getpid() and mount_namespace(pid) == namespace}
    members |= {pid for pid in also if pid in parents}
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in members and pid not in members}
        grew = bool(children)
        members |= children
    members.discard(os.getpid())
    return sorted(members)


@dataclass
class StopReport:
    killed: list[int] = field(default_factory=list)  # processes still there after the daemons stopped
    leftover_processes: list[int] = field(default_factory=list)
    leftover_mounts: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return not self.leftover_processes and not self.leftover_mounts


class GenerationHost:
    """The root of one generation, running in a private mount namespace with a state dir on the real disk."""

    def __init__(self, name: str, rootfs: Path, state_dir: Path, shared: tuple[Path, ...] = ()) -> None:
        self.name = name
        self.rootfs = Path(rootfs)
        self.state_dir = Path(state_dir).absolute()
        # Seen inside at their own paths; only directories under the root's scratch tmpfs (/var/tmp ...),
        # so nothing is created in the cached root.
        self.shared = tuple(Path(p).absolute() for p in shared)
        for path in self.shared:
            if missing_ancestors(self.rootfs, path):
                raise HarnessError(f"generation {name}: sharing {path} would create it in the cached root")
        self.holder: subprocess.Popen | None = None
        self.namespace = ""
        self.daemons: list[Daemon] = []
        self.before_stop: list[Callable[[], None]] = []
        self._created_dirs: list[Path] = []
        self._last_members: set[int] = set()  # the namespace's processes when stop began

    # --- the namespace ---------------------------------------------------------------------

    @property
    def pid(self) -> int:
        if self.holder is None:
            raise HarnessError(f"generation {self.name}: its namespace is not started")
        return self.holder.pid

    def start(self) -> GenerationHost:
        if not (self.rootfs / "usr" / "bin").is_dir():
            raise HarnessError(f"generation {self.name}: no prepared root at {self.rootfs} (ocimatrix provision)")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._created_dirs = missing_ancestors(self.rootfs, self.state_dir)
        log_path = self.state_dir / "namespace.log"
        with open(log_path, "ab") as log:
            self.holder = subprocess.Popen(
                holder_command(self.rootfs, self.state_dir, self.shared),
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C aimed at the harness must not end it before cleanup
            )
        assert self.holder.stdout is not None
        line = self.holder.stdout.readline().decode(errors="replace").strip()  # the script's only line
        if line != READY_MARK:
            self.holder.wait(START_TIMEOUT_S)
            self._remove_created_dirs()
            raise HarnessError(
                f"generation {self.name}: the mount namespace around {self.rootfs} failed to start "
                f"(exit {self.holder.returncode}):\n{tail(log_path)}"
            )
        self.namespace = mount_namespace(self.holder.pid)
        return self

    def cli(self, argv: list[str]) -> list[str]:
        """``argv`` run by the generation's own binaries: nsenter into the namespace, whose ``/`` is the root."""
        return enter_command(self.pid, self.rootfs, argv)

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment for ``cli`` commands: the harness's own plus what the root's tools need."""
        return {**os.environ, **CHROOT_ENV, **(extra or {})}

    def run(self, argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 120.0, **kwargs):
        return subprocess.run(
            self.cli(argv), env=self.environment(env), timeout=timeout, capture_output=True, text=True, **kwargs
        )

    # --- daemons ---------------------------------------------------------------------------

    def start_daemon(
        self,
        name: str,
        argv: list[str],
        ready_probe: Callable[[], bool],
        *,
        timeout: float = 90.0,
        env: dict[str, str] | None = None,
    ) -> Daemon:
        """Start ``argv`` in the namespace (its ``/`` the root) and wait until ``ready_probe`` says it answers.

        nsenter execs, so the daemon's own process is the one that gets SIGTERM at ``stop``.
        """
        daemon = Daemon(f"{name} ({self.name})", self.cli(argv), self.state_dir / f"{name}.log", self.environment(env))
        self.daemons.append(daemon)
        try:
            daemon.start(ready_probe, timeout=timeout)
        except Exception as exc:
            raise HarnessError(str(exc)) from exc
        return daemon

    # --- stopping ---------------------------------------------------------------------------

    def stop(self, daemon_timeout: float = 30.0) -> StopReport:
        """Stop the daemons (last started first), end every process left in the namespace, drop it.

        Idempotent. What it could not remove is listed in the report, never silently left.
        """
        started = time.monotonic()
        report = StopReport()
        if self.holder is None:
            return report
        # Who belonged to the namespace before the end: once it is gone the kernel may hand its id to
        # a namespace another run creates, whose processes are not this generation's leftovers.
        self._last_members = set(self._members())
        for hook in reversed(self.before_stop):
            with contextlib.suppress(Exception):
                hook()  # e.g. podman rm -af: a running podman container keeps the namespace busy
        for daemon in reversed(self.daemons):
            daemon.stop(timeout=daemon_timeout)
        self.daemons.clear()
        report.killed = self._kill_the_rest()
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.wait(10)
        if self.holder.stdout:
            self.holder.stdout.close()
        self._remove_created_dirs()
        report.leftover_processes = self.leftover_processes()
        report.leftover_mounts = self.leftover_mounts()
        self.holder = None
        report.seconds = time.monotonic() - started
        return report

    def _kill_the_rest(self) -> list[int]:
        holder = self.holder.pid if self.holder else -1
        killed: list[int] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            others = [pid for pid in self._members() if pid != holder]
            if not others:
                break
            for pid in others:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                if pid not in killed:
                    killed.append(pid)
            time.sleep(0.1)
        return killed

    def _members(self) -> list[int]:
        mentioning = processes_mentioning(str(self.state_dir))
        return processes_in_namespace(self.namespace, mentioning) if self.namespace else mentioning

    def _remove_created_dirs(self) -> None:
        for directory in reversed(self._created_dirs):
            with contextlib.suppress(OSError):
                directory.rmdir()
        self._created_dirs = []

    def leftover_processes(self) -> list[int]:
        if self.holder is not None and self.holder.poll() is None:
            candidates = set(self._members())  # still running: the namespace is certainly ours
        else:
            candidates = self._last_members | set(processes_mentioning(str(self.state_dir)))
        return sorted(pid for pid in candidates if is_running(pid))

    def leftover_mounts(self) -> list[str]:
        """Mounts of the root or the state dir in the harness's own mount table (there should be none)."""
        return sorted(set(mounts_under(self.rootfs)) | set(mounts_under(self.state_dir)))

    def __enter__(self) -> GenerationHost:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
