"""Shared or exclusive use of one resource by the run's worker processes, through file locks.

Many users share a resource; now and then one needs it alone. A waiting exclusive user goes first: every
user passes a turnstile before taking its share, and the exclusive one holds the turnstile while it waits,
so a stream of shared users cannot starve it. Locks are per open file, so threads of one process are
users of their own too; nested use by one user must be counted by the caller (see ``Depth``).
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ocimatrix.errors import HarnessError

_POLL = 0.05


def _lock(handle: IO[str], mode: int, deadline: float, what: str) -> None:
    while True:
        try:
            fcntl.flock(handle, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise HarnessError(f"waited too long for {what} (held by another worker of this run)") from None
            time.sleep(_POLL)


@contextlib.contextmanager
def use(path: Path, *, exclusive: bool, timeout: float, what: str) -> Iterator[None]:
    """Hold ``path`` (a lock file, made if missing) shared or exclusively; HarnessError after ``timeout`` s."""
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    kind = "exclusive" if exclusive else "shared"
    with open(f"{path}.turnstile", "a+") as turnstile, open(path, "a+") as lock:
        _lock(turnstile, fcntl.LOCK_EX, deadline, f"the turnstile of {what}")
        try:
            _lock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, deadline, f"{kind} use of {what}")
        finally:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        yield


@dataclass
class Depth:
    """How deep one user is in its own nested uses: only the outermost takes the lock (an inner one would
    queue behind an exclusive user waiting for the outer one to end)."""

    level: int = 0

    @contextlib.contextmanager
    def enter(self, path: Path, *, exclusive: bool, timeout: float, what: str) -> Iterator[None]:
        if self.level:
            self.level += 1
            try:
                yield
            finally:
                self.level -= 1
            return
        with use(path, exclusive=exclusive, timeout=timeout, what=what):
            self.level = 1
            try:
                yield
            finally:
                self.level = 0
