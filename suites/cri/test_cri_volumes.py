"""A host directory mounted into a container through the CRI (ContainerConfig.mounts), as critest's container.go
starts one: given by its path, or by a symlink to it."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from cri_probe import SERVE

from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.errors import fail_with
from ocimatrix.specs import spec

AXES = ("engine", "runtime")
FLAG = "testVolume.file"
# ls -A in the shell alone (the probe image has no ls): every entry, dotfiles too, one a line.
LIST = 'cd "$1" && for f in * .[!.]* ..?*; do [ -e "$f" ] && echo "$f"; done; true'


@pytest.mark.axes(*AXES)
@pytest.mark.parametrize("given", ["directory", "symlink"])
@spec("cri/api.proto", "ContainerConfig.mounts (host_path a directory, or a symlink to one)")
def test_container_with_volume(cell, cri, pod, probe, endpoints, given, recorder):
    # Under the run's state dir: a generation's root sees it at the same path, so the symlink resolves there too.
    base = Path(endpoints.state_dir) / "cri" / "volumes" / f"volume-{uuid.uuid4().hex[:8]}"
    link = base.with_name(base.name + "-symlink")
    content = f"flag of {base.name}\n"
    base.mkdir(parents=True)
    try:
        (base / FLAG).write_text(content)
        host_path = base
        if given == "symlink":
            link.symlink_to(base)
            host_path = link
        mount = api.Mount(container_path=str(host_path), host_path=str(host_path), selinux_relabel=True)
        container_id = pod.start(f"volume-{given}", probe, command=SERVE, mounts=[mount])
        recorder.add("mount", {"host_path": str(host_path), "container_path": str(host_path)})
        listed = cri.exec_sync(container_id, ["/bin/sh", "-c", LIST, "sh", str(host_path)], timeout=10)
        # critest wants the listing non-empty; here it must be exactly the flag file, with its content.
        if listed.exit_code != 0 or listed.stdout.decode(errors="replace").split() != [FLAG]:
            fail_with(
                f"the volume at {host_path} ({given}) must show exactly the host directory's {FLAG}",
                step=f"ExecSync: list {host_path} (ls -A)",
                answer=f"exit {listed.exit_code}, stdout {listed.stdout!r}, stderr {listed.stderr!r}",
            )
        read = cri.exec_sync(container_id, ["cat", f"{host_path}/{FLAG}"], timeout=10)
        if read.exit_code != 0 or read.stdout.decode(errors="replace") != content:
            fail_with(
                f"{FLAG} in the volume must read as the host wrote it ({content!r})",
                step=f"ExecSync cat {host_path}/{FLAG}",
                answer=f"exit {read.exit_code}, stdout {read.stdout!r}, stderr {read.stderr!r}",
            )
    finally:
        link.unlink(missing_ok=True)
        shutil.rmtree(base, ignore_errors=True)
