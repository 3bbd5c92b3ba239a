"""Finding processes a runtime left behind, on this test's own children."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from ocimatrix.runtime.leftovers import describe, kill_all, mark, start_time
from ocimatrix.system.process import processes_mentioning


def test_a_process_is_found_by_a_path_in_its_command_line_and_killed(tmp_path):
    marker = str(tmp_path / "bundle-xyz")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", marker])
    try:
        deadline = time.monotonic() + 10
        while not processes_mentioning(marker) and time.monotonic() < deadline:
            time.sleep(0.01)  # until the child has exec'd into the command that names the marker
        assert processes_mentioning(marker) == [child.pid]
        seen = mark(child.pid)
        assert seen is not None and seen.alive()
        assert marker in describe(child.pid)
        kill_all([child.pid])
        child.wait(timeout=10)
        assert not seen.alive()
        assert processes_mentioning(marker) == []
    finally:
        child.kill()


def test_a_zombie_or_missing_process_is_not_alive():
    child = subprocess.Popen(["true"])
    seen = mark(child.pid)
    deadline = time.monotonic() + 10
    while start_time(child.pid) is not None and time.monotonic() < deadline:
        time.sleep(0.01)  # once it exits it is a zombie until waited for, and no longer alive
    assert seen is None or not seen.alive()
    child.wait()
    assert start_time(child.pid) is None


def test_own_process_is_never_listed():
    assert os.getpid() not in processes_mentioning(sys.argv[0] or "python")


def test_remove_cgroups_removes_matching_dirs_children_first(tmp_path):
    from ocimatrix.runtime.leftovers import remove_cgroups

    for controller in ("memory", "pids"):
        (tmp_path / controller / "parent" / "om-x" / "child").mkdir(parents=True)
        (tmp_path / controller / "om-other").mkdir()
    removed = remove_cgroups("om-x", root=tmp_path)
    assert len(removed) == 4
    assert not (tmp_path / "memory" / "parent" / "om-x").exists()
    assert (tmp_path / "memory" / "om-other").exists() and (tmp_path / "pids" / "parent").exists()
