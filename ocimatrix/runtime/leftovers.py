"""Processes a runtime left behind: found by pid and start time, or by a path in their command line.

A runtime that loses track of a container (its state gone, its sandbox still up) can't remove it
with ``delete --force``; the suite then finds the processes itself, kills them by pid, and says so.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessMark:
    """A process as it was when seen: the pid alone could be reused by the time we look again."""

    pid: int
    start_time: int

    def alive(self) -> bool:
        return start_time(self.pid) == self.start_time


def start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (clock ticks since boot); None when the process is gone or a zombie."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its closing one.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None  # dead, waiting for its parent to reap it
    return int(fields[19])


def mark(pid: int) -> ProcessMark | None:
    started = start_time(pid)
    return ProcessMark(pid, started) if started is not None else None


def describe(pid: int) -> str:
    try:
        cmdline = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        cmdline = "?"
    return f"{pid} {cmdline[:160]}"


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


CGROUP_ROOT = Path("/sys/fs/cgroup")


def remove_cgroups(name: str, root: Path = CGROUP_ROOT, max_depth: int = 4) -> list[str]:
    """rmdir every cgroup directory called ``name`` (a container id) that no process uses any more."""
    removed = []
    for top, dirs, _files in os.walk(root):
        depth = len(Path(top).relative_to(root).parts)
        if depth >= max_depth:
            dirs[:] = []
        for child in [d for d in dirs if d == name]:
            dirs.remove(child)
            removed += _rmdir_tree(Path(top) / child)
    return removed


def _rmdir_tree(path: Path) -> list[str]:
    """Children first: a cgroup directory goes with rmdir only once its sub-cgroups are gone."""
    removed = []
    for top, _dirs, _files in sorted(os.walk(path), key=lambda entry: -len(entry[0])):
        with contextlib.suppress(OSError):
            os.rmdir(top)
            removed.append(top)
    return removed
