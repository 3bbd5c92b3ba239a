"""A container over its memory limit (LinuxContainerResources) is killed, and the runtime says so: exit code 137,
reason OOMKilled (critest's container_linux.go)."""

from __future__ import annotations

import time

import pytest

from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.cri.messages import shown
from ocimatrix.errors import fail_with
from ocimatrix.specs import spec

AXES = ("engine", "runtime")
LIMIT = 15 * 1024 * 1024  # critest's, for memory and memory+swap alike
# The probe image has no dd: the shell doubles a string until the limit stops it.
HOG = ["/bin/sh", "-c", "x=0123456789abcdef; while :; do x=$x$x; done"]
REASON_WAIT = 30.0  # critest waits up to a minute for the reason


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "LinuxContainerResources.memory_limit_in_bytes: OOM kill, exit 137, reason OOMKilled")
def test_oom_killed_container(cell, cri, pod, probe, recorder):
    config = pod.container_config("oom", probe, command=HOG)
    config.linux.resources.memory_limit_in_bytes = LIMIT
    config.linux.resources.memory_swap_limit_in_bytes = LIMIT
    container_id = pod.create_config(config)
    cri.start_container(container_id)
    status = cri.wait_for_exit(container_id, timeout=60)
    deadline = time.monotonic() + REASON_WAIT
    while status.reason != "OOMKilled" and time.monotonic() < deadline:
        time.sleep(0.5)
        status = cri.container_status(container_id)
    recorder.add("final", {"state": status.state, "exit_code": status.exit_code, "reason": status.reason})
    if status.state != api.CONTAINER_EXITED or status.reason != "OOMKilled" or status.exit_code != 137:
        fail_with(
            f"a container over its {LIMIT} byte memory limit must exit with code 137 and reason OOMKilled",
            step="ContainerStatus after the memory hog ran",
            answer=f"state {api.ContainerState.Name(status.state)}, exit code {status.exit_code}, "
            f"reason {status.reason!r}, message {status.message!r}; {shown(status.resources)}",
        )
