"""LinuxContainerSecurityContext.privileged, read back from inside the container.

The CRI says a privileged container (in a sandbox that is privileged too) gets every capability, no masked
sensitive paths, sysfs and procfs mounted read-write, no seccomp restrictions, no device restriction and
every device of the host's /dev; AppArmor and SELinux are not applied (this kernel has neither). critest
proves the privilege by adding a network bridge, which in a pod on the node's network (the only kind here)
would change the host: these checks read what the container was given instead, and change nothing.

Both pods ask for seccomp RuntimeDefault (the pod's securityContext) and every container gets the kubelet's
default masked and read-only paths, so that privileged must be seen to lift them; the container runs as
root, whose effective set is its bounding set. "Every capability" is every one this node's init holds
(``/proc/1/status`` CapBnd): a runtime cannot give more than the node has (here it lacks CAP_SYS_RESOURCE).
The host's devices are the character and block devices at the top of its /dev, read before the container
starts and again after it ran (a loop device made in between by someone else is not the runtime's to show).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest
from cri_probe import mount_points

from ocimatrix.cri.security_context import DEFAULT_MASKED_PATHS, ContainerSecurity, PodSecurity
from ocimatrix.errors import HarnessError, fail_with
from ocimatrix.specs import spec

AXES = ("engine", "runtime")
BUSYBOX = "/bin/busybox"
CAP_SYS_ADMIN = 21
# What every container has in /dev whether privileged or not (runtime-spec config-linux.md, Default Devices).
DEFAULT_DEVICES = frozenset({"null", "zero", "full", "random", "urandom", "tty", "console", "ptmx"})
SCRIPT = (
    'while read -r key value; do case $key in CapBnd:|CapEff:|Seccomp:) echo "${{key%:}}=$value";; esac; '
    "done < /proc/self/status; "
    'for p in {masked}; do if [ -e "$p" ]; then echo "present=$p"; fi; done; '
    # One record of the kernel log: the device cgroup must let a privileged container open a host device.
    f'echo "kmsg=$({BUSYBOX} timeout 5 {BUSYBOX} dd if=/dev/kmsg of=/dev/null bs=8192 count=1 2>&1 | '
    f'{BUSYBOX} head -n 1)"; '
    f"echo DEVICES; {BUSYBOX} find /dev -maxdepth 1 -type c; {BUSYBOX} find /dev -maxdepth 1 -type b; "
    "echo MOUNTINFO; cat /proc/self/mountinfo"
)


def _host_devices() -> set[str]:
    names = set()
    for entry in os.scandir("/dev"):
        mode = entry.stat(follow_symlinks=False).st_mode
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            names.add(entry.name)
    return names


def _node_bounding_set() -> int:
    for line in Path("/proc/1/status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            return int(line.split(":", 1)[1], 16)
    raise HarnessError("/proc/1/status has no CapBnd line")


def _read_only(options: str | None) -> bool:
    return options is not None and "ro" in options.split(",")


@dataclass(frozen=True)
class Seen:
    """What the container found, and the host beside it."""

    cap_bnd: int
    cap_eff: int
    seccomp: str
    present: list[str]  # the kubelet's masked paths that exist in the container
    mounts: dict[str, str]  # mount point -> per-mount options
    devices: set[str]  # the character and block devices at the top of its /dev
    kmsg: str  # what reading a record of /dev/kmsg gave
    host_devices: set[str]  # the host's, but those every container has
    node_caps: int

    @property
    def masked(self) -> list[str]:
        return sorted(p for p in self.present if p in self.mounts)

    def summary(self) -> dict[str, object]:
        return {
            "CapBnd": f"{self.cap_bnd:016x}",
            "CapEff": f"{self.cap_eff:016x}",
            "Seccomp": self.seccomp,
            "/sys": self.mounts.get("/sys", "no mount"),
            "/proc/sys": self.mounts.get("/proc/sys", "no mount of its own"),
            "masked paths mounted over": self.masked,
            "host devices seen": sorted(self.devices & self.host_devices),
            "kmsg": self.kmsg,
        }


def _probe(pod, probe, privileged: bool) -> Seen:
    node_caps = _node_bounding_set()
    host_before = _host_devices()
    script = "{ " + SCRIPT.format(masked=" ".join(DEFAULT_MASKED_PATHS)) + "; } 2>&1"
    status, log = pod.run_to_exit(
        "privileged",
        probe,
        command=["/bin/sh", "-c", script],
        security=ContainerSecurity(run_as_user=0, privileged=privileged),
    )
    head, _, rest = log.stdout.partition("DEVICES\n")
    listed, _, mountinfo = rest.partition("MOUNTINFO\n")
    if status.exit_code != 0 or not mountinfo:
        raise HarnessError(f"the privilege probe exited {status.exit_code}: {log.stdout[-400:]!r}")
    fields = [line.partition("=") for line in head.splitlines() if "=" in line]
    values = {key: value.strip() for key, _, value in fields if key != "present"}
    return Seen(
        cap_bnd=int(values.get("CapBnd", "0"), 16),
        cap_eff=int(values.get("CapEff", "0"), 16),
        seccomp=values.get("Seccomp", "absent"),
        present=[value for key, _, value in fields if key == "present"],
        mounts=mount_points(mountinfo),
        devices={Path(p).name for p in listed.split()},
        kmsg=values.get("kmsg", ""),
        host_devices=(host_before & _host_devices()) - DEFAULT_DEVICES,
        node_caps=node_caps,
    )


def _privileged_problems(seen: Seen) -> list[str]:
    """The CRI's list of what privileged mode implies, point by point (AppArmor and SELinux: not on this kernel)."""
    problems = []
    if seen.cap_bnd != seen.node_caps or seen.cap_eff != seen.node_caps:
        problems.append(
            f"1. all capabilities are added: CapBnd {seen.cap_bnd:016x}, CapEff {seen.cap_eff:016x}, where the node "
            f"holds {seen.node_caps:016x}"
        )
    if seen.masked:
        problems.append(f"2. sensitive paths are not masked: {', '.join(seen.masked)} are mounted over")
    for point in ("/sys", "/proc/sys"):
        if _read_only(seen.mounts.get(point)):
            problems.append(f"3. sysfs and procfs are mounted read-write: {point} is {seen.mounts[point]}")
    if seen.seccomp != "0":
        problems.append(
            f"5. seccomp restrictions are not applied (the pod asks RuntimeDefault): Seccomp {seen.seccomp}"
        )
    if "kmsg" in seen.host_devices and "records in" not in seen.kmsg:
        problems.append(f"6. the device cgroup restricts no device: reading /dev/kmsg gave {seen.kmsg!r}")
    unseen = sorted(seen.host_devices - seen.devices)
    if unseen:
        problems.append(f"7. all devices from the host's /dev are available: {', '.join(unseen)} are not")
    return problems


def _unprivileged_problems(seen: Seen) -> list[str]:
    """Without privileged, the same points hold the other way: the runtime's defaults and the kubelet's asks."""
    problems = []
    if seen.cap_bnd & (1 << CAP_SYS_ADMIN) or seen.cap_eff & (1 << CAP_SYS_ADMIN) or seen.cap_bnd == seen.node_caps:
        problems.append(
            f"the runtime's default capabilities, without CAP_SYS_ADMIN: CapBnd {seen.cap_bnd:016x}, "
            f"CapEff {seen.cap_eff:016x}"
        )
    unmasked = sorted(set(seen.present) - set(seen.masked))
    if unmasked:
        problems.append(f"the kubelet's masked paths are masked: {', '.join(unmasked)} are not mounted over")
    for point in ("/sys", "/proc/sys"):
        if not _read_only(seen.mounts.get(point)):
            problems.append(f"{point} is read-only: it is {seen.mounts.get(point, 'no mount of its own')}")
    if seen.seccomp != "2":
        problems.append(f"the pod's seccomp RuntimeDefault applies: Seccomp {seen.seccomp}")
    extra = sorted(seen.devices & seen.host_devices)
    if extra:
        problems.append(f"only the default devices: the host's {', '.join(extra)} are in its /dev")
    return problems


@pytest.mark.axes(*AXES)
@pytest.mark.parametrize("privileged", [True, False], ids=["privileged", "unprivileged"])
@spec("cri/api.proto", "LinuxContainerSecurityContext.privileged (LinuxSandboxSecurityContext.privileged)")
def test_privileged_container(cell, new_pod, probe, recorder, privileged):
    # A privileged container needs a privileged sandbox ("If a privileged container is to be executed within
    # it, this MUST be true").
    pod = new_pod(
        "privileged" if privileged else "unprivileged",
        security=PodSecurity(seccomp="RuntimeDefault"),
        privileged=privileged,
    )
    seen = _probe(pod, probe, privileged)
    full = (1 << (int(Path("/proc/sys/kernel/cap_last_cap").read_text()) + 1)) - 1
    recorder.add(
        "node", {"CapBnd of /proc/1": f"{seen.node_caps:016x}", "every capability of the kernel": f"{full:016x}"}
    )
    recorder.add("container", seen.summary())
    problems = _privileged_problems(seen) if privileged else _unprivileged_problems(seen)
    if problems:
        fail_with(
            f"privileged {str(privileged).lower()} (pod and container): " + "; ".join(problems),
            step=f"CreateContainer with privileged {str(privileged).lower()}",
            answer="; ".join(f"{k}: {v}" for k, v in seen.summary().items()),
        )
