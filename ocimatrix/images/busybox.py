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
from ocimatrix.tools.platforms import DEBIAN_ARCH, platform_of_machine

HOST_BUSYBOX = Path("/bin/busybox")
CACHE = Path(os.environ.get("OCIMATRIX_CACHE", "/var/cache/ocimatrix"))


def host_platform_name() -> str:
    return platform_of_machine(host_platform.machine())


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
