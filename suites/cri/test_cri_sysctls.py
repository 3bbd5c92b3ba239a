"""Sysctls of a pod (LinuxPodSandboxConfig.sysctls), seen from its container (critest's pod_linux.go).

Both belong to the pod's IPC namespace, so they are possible in a node-network pod and leave the host alone.
Which sysctls are "safe" is the kubelet's choice; the runtime applies whatever it is given."""

from __future__ import annotations

from pathlib import Path

import pytest
from cri_probe import SERVE

from ocimatrix.errors import fail_with
from ocimatrix.specs import spec

AXES = ("engine", "runtime")
SYSCTLS = {
    "safe": ("kernel.shm_rmid_forced", "1"),
    "unsafe": ("fs.mqueue.msg_max", "100"),
}


@pytest.mark.axes(*AXES)
@pytest.mark.parametrize("kind", list(SYSCTLS))
@spec("cri/api.proto", "LinuxPodSandboxConfig.sysctls (IPC namespace), read in the pod's container")
def test_pod_sysctl_is_applied(cell, cri, new_pod, probe, kind, recorder):
    name, value = SYSCTLS[kind]
    path = "/proc/sys/" + name.replace(".", "/")
    host_before = Path(path).read_text().strip()
    pod = new_pod(f"sysctl-{kind}", sysctls={name: value})
    container_id = pod.start("sysctl", probe, command=SERVE)
    result = cri.exec_sync(container_id, ["cat", path], timeout=10)
    recorder.add("sysctl", {"name": name, "asked": value, "read": result.stdout.decode(errors="replace")})
    if result.exit_code != 0 or result.stdout.decode(errors="replace").strip() != value:
        fail_with(
            f"the pod asked {name}={value}; its container must read {value} in {path}",
            step=f"ExecSync cat {path}",
            answer=f"exit {result.exit_code}, stdout {result.stdout!r}, stderr {result.stderr!r}",
        )
    # Stricter than critest: the node's own value (the harness's IPC namespace) is left as it was.
    host_after = Path(path).read_text().strip()
    if host_after != host_before:
        fail_with(
            f"the pod's {name}={value} changed the node's own {path}",
            step=f"the node's {path} after RunPodSandbox",
            answer=f"{host_before} before, {host_after} after",
        )
