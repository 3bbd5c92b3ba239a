"""Where a static busybox for a platform comes from.

The host's own comes from the busybox-static package; other architectures are fetched with
``apt-get download busybox-static:<debian-arch>`` (after ``dpkg --add-architecture``) and unpacked
into a cache, since nothing may be pulled from a public registry.
"""

from __future__ import annotations

import os
import platform as host_platform
from pathlib import Path

from ocimatrix.errors import OcimatrixError

HOST_BUSYBOX = Path("/bin/busybox")
CACHE = Path(os.environ.get("OCIMATRIX_CACHE", "/var/cache/ocimatrix"))

# OCI platform -> Debian architecture name.
DEBIAN_ARCH = {
    "linux/amd64": "amd64",
    "linux/386": "i386",
    "linux/arm64": "arm64",
    "linux/arm64/v8": "arm64",
    "linux/arm/v7": "armhf",
    "linux/arm/v5": "armel",
    "linux/arm/v6": "armel",
    "linux/s390x": "s390x",
    "linux/ppc64le": "ppc64el",
    "linux/riscv64": "riscv64",
    "linux/mips64le": "mips64el",
}
UNAME_MACHINE = {
    "linux/amd64": "x86_64",
    "linux/386": "i686",
    "linux/arm64": "aarch64",
    "linux/arm64/v8": "aarch64",
    "linux/arm/v7": "armv7l",
    "linux/arm/v6": "armv6l",
    "linux/arm/v5": "armv5tejl",
    "linux/s390x": "s390x",
    "linux/ppc64le": "ppc64le",
    "linux/riscv64": "riscv64",
    "linux/mips64le": "mips64",
}


def host_platform_name() -> str:
    machine = host_platform.machine()
    return next((p for p, m in UNAME_MACHINE.items() if m == machine), f"linux/{machine}")


# Beside a missing binary: why provisioning has none for this platform, the cells' skip reason.
UNAVAILABLE_NOTE = "unavailable.txt"


def busybox_cache_path(platform: str) -> Path:
    """Where ocimatrix.host.foreign_busybox puts the binary for a foreign ``platform``."""
    return CACHE / "busybox" / DEBIAN_ARCH.get(platform, platform.replace("/", "_")) / "busybox"


def busybox_for(platform: str) -> Path:
    """A static busybox binary for ``platform``; raises OcimatrixError (a skip reason) if none can be had."""
    if platform == host_platform_name():
        if not HOST_BUSYBOX.exists():
            raise OcimatrixError("no /bin/busybox: install busybox-static (ocimatrix provision)")
        return HOST_BUSYBOX
    cached = busybox_cache_path(platform)
    if cached.exists():
        return cached
    note = cached.parent / UNAVAILABLE_NOTE
    if note.is_file():  # provisioning decided why there is none (e.g. no mirror carries the architecture)
        raise OcimatrixError(note.read_text(errors="replace").strip())
    raise OcimatrixError(f"no busybox for {platform} in {cached.parent} (ocimatrix provision fetches it)")
