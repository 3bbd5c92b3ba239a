"""Shared and exclusive use of a resource by the run's workers (ocimatrix/system/shared_use.py); threads
stand in for worker processes, since each use opens the lock file anew."""

from __future__ import annotations

import threading
import time

import pytest

from ocimatrix.errors import HarnessError
from ocimatrix.system.shared_use import Depth, use


def test_shared_users_overlap(tmp_path):
    lock = tmp_path / "r.lock"
    with use(lock, exclusive=False, timeout=1, what="r"), use(lock, exclusive=False, timeout=1, what="r"):
        pass


def test_an_exclusive_user_waits_for_shared_ones_and_says_what_it_waited_for(tmp_path):
    lock = tmp_path / "r.lock"
    with (
        use(lock, exclusive=False, timeout=1, what="r"),
        pytest.raises(HarnessError, match="exclusive use of the runtime"),
        use(lock, exclusive=True, timeout=0.2, what="the runtime"),
    ):
        pass


def test_a_waiting_exclusive_user_goes_before_later_shared_ones(tmp_path):
    lock = tmp_path / "r.lock"
    order: list[str] = []
    first = threading.Event()
    release_first = threading.Event()

    def shared(name: str, hold: threading.Event | None = None) -> None:
        with use(lock, exclusive=False, timeout=5, what="r"):
            order.append(name)
            if hold is not None:
                first.set()
                hold.wait(5)

    def exclusive() -> None:
        with use(lock, exclusive=True, timeout=5, what="r"):
            order.append("exclusive")

    holder = threading.Thread(target=shared, args=("first", release_first))
    holder.start()
    first.wait(5)
    writer = threading.Thread(target=exclusive)
    writer.start()
    time.sleep(0.3)  # the exclusive user now holds the turnstile, waiting
    late = threading.Thread(target=shared, args=("late",))
    late.start()
    time.sleep(0.3)
    release_first.set()
    for thread in (holder, writer, late):
        thread.join(5)
    assert order == ["first", "exclusive", "late"]


def test_nested_use_takes_the_lock_once(tmp_path):
    lock = tmp_path / "r.lock"
    depth = Depth()
    with (
        depth.enter(lock, exclusive=False, timeout=1, what="r"),
        depth.enter(lock, exclusive=False, timeout=1, what="r"),
    ):
        assert depth.level == 2
    assert depth.level == 0
    with use(lock, exclusive=True, timeout=1, what="r"):
        pass
