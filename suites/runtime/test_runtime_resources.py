"""config-linux.md: control groups (memory, pids, cpu) and seccomp.

Cgroup limits are read where the kernel enforces them: the host's cgroup v1 hierarchy of the
container's process (state ``pid``). That is the same place for a runtime whose container sees its
own cgroup files (runc, crun) and for one whose sandbox does not show them (gVisor).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_spec import RUNTIME_AXES

from ocimatrix.errors import fail_with
from ocimatrix.specs import spec

pytestmark = pytest.mark.axes(*RUNTIME_AXES)

CGROUP_ROOT = Path("/sys/fs/cgroup")
MKDIR_PROBE = "mkdir /tmp/probe-dir 2>&1 && echo mkdir=ok || echo mkdir=denied"


def host_cgroup_files(lab, resources: dict, files: dict[str, str]) -> dict[str, str]:
    """Start a container with ``resources``; read {controller/file: value} in its host cgroup.

    Skipped before acting when the host has no hierarchy for a controller the check reads."""
    for controller in sorted(set(files.values())):
        lab.needs_cgroup(controller)
    config = lab.config("echo started; while true; do sleep 0.2; done", resources=resources)
    container = lab.create(config)
    lab.start(container)
    lab.wait_for_output(container, "started")
    pid = lab.state(container)["pid"]
    paths = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            paths[controller] = path
    values = {}
    for key, controller in files.items():
        if controller not in paths:
            fail_with(
                f"the container's process {pid} is in no {controller} cgroup: /proc/{pid}/cgroup {paths}",
                step="/proc/PID/cgroup of the container's process",
                answer=f"no {controller} line: {paths}",
            )
        target = CGROUP_ROOT / controller / paths[controller].lstrip("/") / key
        values[key] = target.read_text().strip() if target.exists() else f"<no {target}>"
    lab.recorder.add("cgroup", {"pid": pid, "paths": paths, "values": values})
    return values


def expect_cgroup(seen: dict[str, str], wanted: dict[str, str], asked: str) -> None:
    if seen != wanted:
        fail_with(
            f"{asked}; the cgroup has {seen}",
            step="the host cgroup files of the container's process",
            answer=", ".join(f"{key}={value}" for key, value in seen.items()),
        )


@spec("runtime-spec/config-linux.md#memory", "config-linux: Control groups: memory.limit")
def test_memory_limit(lab):
    seen = host_cgroup_files(lab, {"memory": {"limit": 64 * 1024 * 1024}}, {"memory.limit_in_bytes": "memory"})
    expect_cgroup(seen, {"memory.limit_in_bytes": str(64 * 1024 * 1024)}, "memory.limit 64 MiB")


@spec("runtime-spec/config-linux.md#pids", "config-linux: Control groups: pids.limit")
def test_pids_limit(lab):
    seen = host_cgroup_files(lab, {"pids": {"limit": 64}}, {"pids.max": "pids"})
    expect_cgroup(seen, {"pids.max": "64"}, "pids.limit 64")


@spec("runtime-spec/config-linux.md#cpu", "config-linux: Control groups: cpu shares, quota, period")
def test_cpu_shares_and_quota(lab):
    files = {"cpu.shares": "cpu", "cpu.cfs_quota_us": "cpu", "cpu.cfs_period_us": "cpu"}
    seen = host_cgroup_files(lab, {"cpu": {"shares": 512, "quota": 50000, "period": 100000}}, files)
    wanted = {"cpu.shares": "512", "cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000"}
    expect_cgroup(seen, wanted, "cpu shares 512, quota 50000, period 100000")


def seccomp_denying_mkdir(**rule) -> dict:
    return {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", **rule}],
    }


def mkdir_unconfined(lab) -> None:
    control = lab.run_probe(MKDIR_PROBE)
    if control.value("mkdir") != "ok":
        fail_with(
            f"mkdir fails even without seccomp: {control.stdout!r}",
            step="mkdir without a seccomp profile",
            answer=control.seen,
        )


@spec("runtime-spec/config-linux.md#seccomp", "config-linux: Seccomp: a syscall denied with SCMP_ACT_ERRNO")
def test_seccomp_denies_a_syscall(lab):
    lab.needs_feature(("linux", "seccomp", "enabled"))
    lab.needs_feature(("linux", "seccomp", "actions"), "SCMP_ACT_ERRNO")
    mkdir_unconfined(lab)
    ran = lab.run_probe(MKDIR_PROBE, seccomp=seccomp_denying_mkdir())
    if ran.value("mkdir") != "denied":
        fail_with(
            "the seccomp profile denies mkdir/mkdirat, yet mkdir succeeded",
            step="mkdir under a seccomp profile that denies mkdir/mkdirat",
            answer=ran.seen,
        )


def expect_errno_ret(lab, ran, step: str) -> None:
    with lab.since("1.1.0", "seccomp errnoRet", ignored="Operation not permitted" in ran.stdout):
        if "Permission denied" not in ran.stdout:
            fail_with(f"errnoRet 13 (EACCES) was asked for; mkdir said {ran.stdout!r}", step=step, answer=ran.seen)


@spec("runtime-spec/config-linux.md#seccomp", "config-linux: Seccomp: errnoRet")
def test_seccomp_errno_ret(lab):
    # Alone in its --root: the next test shows what a filter cached there by another container does.
    lab.use_own_state_root()
    lab.needs_feature(("linux", "seccomp", "enabled"))
    lab.needs_feature(("linux", "seccomp", "actions"), "SCMP_ACT_ERRNO")
    ran = lab.run_probe(MKDIR_PROBE, seccomp=seccomp_denying_mkdir(errnoRet=13), oci_version="1.1.0")
    expect_errno_ret(lab, ran, "mkdir under a seccomp profile that denies mkdir/mkdirat with errnoRet 13")


@spec("runtime-spec/config-linux.md#seccomp", "config-linux: Seccomp: errnoRet, after a profile without it")
def test_seccomp_errno_ret_after_the_same_rule_without_it(lab):
    """Two containers in one ``--root``, as an engine's: the first denies mkdir with the default errno,
    the second asks errnoRet 13. Each container's profile is its own, whatever ran before it."""
    lab.use_own_state_root()
    lab.needs_feature(("linux", "seccomp", "enabled"))
    lab.needs_feature(("linux", "seccomp", "actions"), "SCMP_ACT_ERRNO")
    lab.run_probe(MKDIR_PROBE, seccomp=seccomp_denying_mkdir())
    ran = lab.run_probe(MKDIR_PROBE, seccomp=seccomp_denying_mkdir(errnoRet=13), oci_version="1.1.0")
    step = "mkdir under a seccomp profile that denies mkdir/mkdirat with errnoRet 13, after one without errnoRet"
    expect_errno_ret(lab, ran, f"{step} in the same --root")
