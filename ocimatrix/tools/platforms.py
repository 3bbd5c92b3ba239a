"""One table of the platforms the harness knows: how Debian, Go, the kernel and QEMU name each."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Platform:
    name: str  # the OCI platform, os/architecture[/variant]
    debian_arch: str  # the Debian architecture whose busybox-static runs on it
    goarch: str  # the OCI (Go) architecture
    machines: tuple[str, ...]  # ``uname -m`` a process sees on it, natively or under QEMU's default CPU
    qemu: str = ""  # the binfmt handler (qemu-user-static) that runs it on another machine


PLATFORMS: tuple[Platform, ...] = (
    Platform("linux/amd64", "amd64", "amd64", ("x86_64",), "qemu-x86_64"),
    Platform("linux/386", "i386", "386", ("i686", "i386", "i486", "i586"), "qemu-i386"),
    Platform("linux/arm64", "arm64", "arm64", ("aarch64",), "qemu-aarch64"),
    Platform("linux/arm64/v8", "arm64", "arm64", ("aarch64",), "qemu-aarch64"),
    Platform("linux/arm/v7", "armhf", "arm", ("armv7l",), "qemu-arm"),
    Platform("linux/arm/v6", "armel", "arm", ("armv6l",), "qemu-arm"),
    Platform("linux/arm/v5", "armel", "arm", ("armv5tejl", "armv5tel"), "qemu-arm"),
    Platform("linux/s390x", "s390x", "s390x", ("s390x",), "qemu-s390x"),
    Platform("linux/ppc64le", "ppc64el", "ppc64le", ("ppc64le",), "qemu-ppc64le"),
    Platform("linux/riscv64", "riscv64", "riscv64", ("riscv64",), "qemu-riscv64"),
    Platform("linux/mips64le", "mips64el", "mips64le", ("mips64",), "qemu-mips64el"),
)

# OCI platform -> Debian architecture name.
# The first Debian release with a port for an architecture newer than the host's release.
FIRST_DEBIAN_RELEASE = {"riscv64": "trixie", "loong64": "forky"}
DEBIAN_ARCH = {p.name: p.debian_arch for p in PLATFORMS}
# OCI platform -> the ``uname -m`` its first machine name reports (the one a native kernel prints).
UNAME_MACHINE = {p.name: p.machines[0] for p in PLATFORMS}
# OCI platform -> every ``uname -m`` a process may see on it.
MACHINES = {p.name: set(p.machines) for p in PLATFORMS}
# uname -m -> GOARCH of the host's kernel (a machine name counts for the first platform that has it).
HOST_GOARCH: dict[str, str] = {}
for _platform in PLATFORMS:
    for _machine in _platform.machines:
        HOST_GOARCH.setdefault(_machine, _platform.goarch)
# GOARCH -> the QEMU binfmt handler that runs it.
QEMU_HANDLERS = {p.goarch: p.qemu for p in PLATFORMS if p.qemu}


def platform_of_machine(machine: str) -> str:
    """The OCI platform a native kernel reporting ``machine`` runs (``linux/<machine>`` if unknown)."""
    return next((p.name for p in PLATFORMS if p.machines[0] == machine), f"linux/{machine}")


def host_goarch(machine: str | None = None) -> str:
    """The GOARCH of this host's kernel (or of ``machine``, a ``uname -m`` value)."""
    machine = machine or os.uname().machine
    return HOST_GOARCH.get(machine, machine)
