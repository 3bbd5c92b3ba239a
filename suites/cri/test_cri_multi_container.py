"""Two running containers in one pod, each with its own log and its own exec (critest's multi_container_linux.go;
its network check needs a pod network, not possible here)."""

from __future__ import annotations

import time

import pytest

from ocimatrix.errors import fail_with
from ocimatrix.specs import spec

AXES = ("engine", "runtime")
NAMES = ("first", "second")
LOG_WAIT = 20.0  # critest waits up to a minute for the line; the echo runs first thing


def _serving(name: str) -> list[str]:
    return ["/bin/sh", "-c", f"echo {name}-says-hello; while :; do sleep 1 & wait $!; done"]


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "two containers of one pod: each log holds its own output, ExecSync reaches each")
def test_two_containers_in_one_pod(cell, cri, pod, probe, recorder):
    ids = {name: pod.start(f"multi-{name}", probe, command=_serving(name)) for name in NAMES}
    recorder.add("containers", ids)

    for name, container_id in ids.items():
        result = cri.exec_sync(container_id, ["echo", name], timeout=10)
        if (result.exit_code, result.stdout, result.stderr) != (0, f"{name}\n".encode(), b""):
            fail_with(
                f"ExecSync echo {name} in the {name} container must print exactly {name!r} and exit 0",
                step=f"ExecSync in the {name} container",
                answer=f"exit {result.exit_code}, stdout {result.stdout!r}, stderr {result.stderr!r}",
            )

    for name, container_id in ids.items():
        other = next(n for n in NAMES if n != name)
        deadline = time.monotonic() + LOG_WAIT
        while True:
            text = cri.container_log(container_id).stdout
            if f"{name}-says-hello" in text or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        # Stricter than critest: the other container's line must not be in this one's log.
        if f"{name}-says-hello" not in text or f"{other}-says-hello" in text:
            fail_with(
                f"the {name} container's log must hold its own line {name}-says-hello and not the {other} one's",
                step=f"the {name} container's log (ContainerStatus log_path)",
                answer=repr(text[-500:]),
            )
