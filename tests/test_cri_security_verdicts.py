"""The security-context checks' verdicts, replayed: what containerd 1.6.20's containers printed (recorded
from a run here) passes, and the same output with one value wrong fails with that value as the answer,
which is what a listed expectation would be read against. The suite's own test functions run on a
stand-in pod that answers with the recorded output; nothing else is faked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType

import pytest
from suite_modules import load_suite_module

from ocimatrix import evidence
from ocimatrix.cri import logs, messages
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.errors import ImplementationFailure
from ocimatrix.images.pause import PushedImage
from ocimatrix.plugin.verdicts import decide
from ocimatrix.resources import SUITES_DIR

CELL = {"engine": "containerd-cri", "runtime": "runc"}
PROBE = PushedImage(
    tag_ref="127.0.0.1:41234/ocimatrix/cri/probe:run1-gw0",
    digest_ref="127.0.0.1:41234/ocimatrix/cri/probe@sha256:" + "4d" * 32,
    manifest_digest="sha256:" + "4d" * 32,
    config_digest="sha256:" + "3c" * 32,
    config={},
)


def _suite_module(name: str) -> ModuleType:
    return load_suite_module(f"cri_suite_{name}", SUITES_DIR / "cri" / f"{name}.py")


suite = _suite_module("test_cri_security_context")

# What /proc/self/status said (the two lines the check reads), containerd 1.6.20 with runc 1.1.5.
STATUS = {
    "kubelet-defaults": "Name:\tcat\nNoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n",
    "restricted": "Name:\tcat\nCapBnd:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n",
    "no-seccomp-field": "Name:\tcat\nNoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n",
}
# The paths probe's report as the container printed it, and its mountinfo lines for those paths.
PATHS_REPORT = """masked /proc/asound absent
masked /proc/acpi dir 0
masked /proc/kcore absent
masked /proc/keys file 0
masked /proc/latency_stats absent
masked /proc/timer_list file 0
masked /proc/timer_stats absent
masked /proc/sched_debug absent
masked /proc/scsi absent
masked /sys/firmware dir 0
masked /sys/devices/virtual/powercap absent
readonly /proc/bus /proc/bus/pci/00/00.0 /bin/sh: can't create /proc/bus/pci/00/00.0: Read-only file system
readonly /proc/fs nofile
readonly /proc/irq /proc/irq/24/smp_affinity /bin/sh: can't create /proc/irq/24/smp_affinity: Read-only file system
readonly /proc/sys /proc/sys/abi/vsyscall32 /bin/sh: can't create /proc/sys/abi/vsyscall32: Read-only file system
readonly /proc/sysrq-trigger absent
"""
MOUNTS = {
    "/proc/acpi": "ro,relatime",
    "/proc/keys": "rw,nosuid",
    "/proc/timer_list": "rw,nosuid",
    "/sys/firmware": "ro,relatime",
    "/proc/bus": "ro,nosuid,nodev,noexec,relatime",
    "/proc/fs": "ro,nosuid,nodev,noexec,relatime",
    "/proc/irq": "ro,nosuid,nodev,noexec,relatime",
    "/proc/sys": "ro,nosuid,nodev,noexec,relatime",
}


def mountinfo(mounts: dict[str, str]) -> str:
    lines = ["1000 999 254:0 / / rw,relatime - overlay overlay rw"]
    lines += [
        f"{1001 + n} 1000 0:5 / {point} {options} - proc proc rw" for n, (point, options) in enumerate(mounts.items())
    ]
    return "\n".join(lines) + "\n"


@dataclass
class ReplayCri:
    output: str
    exit_code: int = 0

    def start_container(self, container_id: str) -> None:
        pass

    def wait_for_exit(self, container_id: str, timeout: float = 20) -> api.ContainerStatus:
        return api.ContainerStatus(id=container_id, state=api.CONTAINER_EXITED, exit_code=self.exit_code)

    def container_log(self, container_id: str) -> logs.ContainerLog:
        return logs.ContainerLog(
            [logs.LogLine("2026-12-07T23:00:00Z", 0, "stdout", False, line) for line in self.output.splitlines()]
        )


@dataclass
class ReplayPod:
    """A pod whose every container prints ``output``; the configs it is asked for are the real messages."""

    output: str
    security: object = None
    created: list[api.ContainerConfig] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cri = ReplayCri(self.output)
        self.config = messages.pod_sandbox_config("p", "ns", "uid", "/logs", security=self.security)

    def container_config(self, name: str, image: PushedImage, **overrides) -> api.ContainerConfig:
        return messages.container_config(self.config, name, image.tag_ref, pod_security=self.security, **overrides)

    def create_config(self, config: api.ContainerConfig) -> str:
        self.created.append(config)
        return f"c{len(self.created)}"

    def run_to_exit(self, name: str, image: PushedImage, timeout: float = 20, **overrides):
        container = self.create_config(self.container_config(name, image, **overrides))
        return self.cri.wait_for_exit(container), self.cri.container_log(container)


def new_pod_printing(output: str):
    def new_pod(label: str = "pod", security=None, privileged: bool = False) -> ReplayPod:
        return ReplayPod(output, security)

    return new_pod


def _judged(call) -> tuple[str, ImplementationFailure | None]:
    """The cell's verdict (decide) and the failure it rests on."""
    with evidence.scoped() as recorder:
        try:
            call(recorder)
        except ImplementationFailure as exc:
            return decide(exc).outcome, exc
    return "passed", None


@pytest.mark.parametrize("case", list(STATUS))
def test_recorded_status_lines_pass(case):
    outcome, _ = _judged(
        lambda recorder: suite.test_seccomp_no_new_privs_and_capabilities(
            CELL, new_pod_printing(STATUS[case]), PROBE, recorder, case
        )
    )
    assert outcome == "passed"


def test_a_container_left_unconfined_fails_with_its_status_line():
    unconfined = STATUS["restricted"].replace("Seccomp:\t2", "Seccomp:\t0")
    outcome, failure = _judged(
        lambda recorder: suite.test_seccomp_no_new_privs_and_capabilities(
            CELL, new_pod_printing(unconfined), PROBE, recorder, "restricted"
        )
    )
    assert outcome == "failed"
    assert failure.answer == "Seccomp: 0 NoNewPrivs: 1 CapBnd: 0000000000000000"
    assert failure.step == "CreateContainer (restricted)"


def test_no_new_privs_ignored_fails_with_its_status_line():
    ignored = STATUS["restricted"].replace("NoNewPrivs:\t1", "NoNewPrivs:\t0")
    _, failure = _judged(
        lambda recorder: suite.test_seccomp_no_new_privs_and_capabilities(
            CELL, new_pod_printing(ignored), PROBE, recorder, "restricted"
        )
    )
    assert failure is not None and failure.answer == "Seccomp: 2 NoNewPrivs: 0 CapBnd: 0000000000000000"


def test_capabilities_kept_despite_drop_all_fail_with_the_bounding_set():
    kept = STATUS["restricted"].replace("CapBnd:\t0000000000000000", "CapBnd:\t00000000a80425fb")
    _, failure = _judged(
        lambda recorder: suite.test_seccomp_no_new_privs_and_capabilities(
            CELL, new_pod_printing(kept), PROBE, recorder, "restricted"
        )
    )
    assert failure is not None and failure.answer == "Seccomp: 2 NoNewPrivs: 1 CapBnd: 00000000a80425fb"


def test_recorded_paths_pass_and_an_unmasked_or_writable_path_fails():
    recorded = PATHS_REPORT + "MOUNTINFO\n" + mountinfo(MOUNTS)

    def run(output: str):
        return _judged(
            lambda recorder: suite.test_kubelet_default_masked_and_readonly_paths(
                CELL, new_pod_printing(output), PROBE, recorder
            )
        )

    assert run(recorded)[0] == "passed"
    # /proc/keys with no mount over it and 120 bytes to read: not masked.
    unmasked = PATHS_REPORT.replace("masked /proc/keys file 0", "masked /proc/keys file 120")
    outcome, failure = run(unmasked + "MOUNTINFO\n" + mountinfo({k: v for k, v in MOUNTS.items() if k != "/proc/keys"}))
    assert outcome == "failed" and failure.answer == "/proc/keys (file) shows 120 bytes"
    # /proc/sys mounted read-write, and a write into it opened the file.
    writable = PATHS_REPORT.replace(
        "/proc/sys/abi/vsyscall32 /bin/sh: can't create /proc/sys/abi/vsyscall32: Read-only file system",
        "/proc/sys/abi/vsyscall32 opened for writing",
    )
    _, failure = run(writable + "MOUNTINFO\n" + mountinfo({**MOUNTS, "/proc/sys": "rw,nosuid,nodev,noexec,relatime"}))
    assert failure.answer == (
        "/proc/sys: its mount is rw,nosuid,nodev,noexec,relatime; /proc/sys: a write to /proc/sys/abi/vsyscall32 "
        "opened for writing"
    )


@pytest.mark.parametrize(
    ("readonly", "recorded", "wrong"),
    [
        (True, "write=/bin/sh: can't create /ocimatrix-write: Read-only file system", "write=ok"),
        (False, "write=ok", "write=/bin/sh: can't create /ocimatrix-write: Read-only file system"),
    ],
    ids=["readonly-root", "writable-root"],
)
def test_readonly_rootfs_verdicts(readonly, recorded, wrong):
    def run(output: str):
        return _judged(
            lambda recorder: suite.test_readonly_rootfs(CELL, new_pod_printing(output), PROBE, recorder, readonly)
        )

    assert run(recorded)[0] == "passed"
    outcome, failure = run(wrong)
    assert outcome == "failed" and failure.answer == wrong.removeprefix("write=")


def test_run_as_and_groups_verdicts():
    def run(output: str):
        return _judged(
            lambda recorder: suite.test_run_as_user_group_and_supplemental_groups(
                CELL, new_pod_printing(output), PROBE, recorder
            )
        )

    assert run("uid=1501\ngid=1600\ngroups=1600 1700 1800 1900\n")[0] == "passed"
    # A runtime that drops fsGroup and keeps the image User's group.
    outcome, failure = run("uid=1501\ngid=1600\ngroups=1600 1700 1800 2345\n")
    assert outcome == "failed" and failure.answer == "uid=1501 gid=1600 groups=1600 1700 1800 2345"
