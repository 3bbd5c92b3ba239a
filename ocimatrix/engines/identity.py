"""Where a tool comes from: the Debian package and version installed on this host."""

from __future__ import annotations

import subprocess
from functools import cache


@cache
def package_origin(package: str) -> str:
    """``"docker.io 20.10.24+dfsg1-1+b3"``, or why it can't be said (not a dpkg host, not installed)."""
    if not package:
        return ""
    try:
        proc = subprocess.run(
            ["dpkg-query", "--show", "--showformat", "${Version}", package],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return f"{package} (dpkg-query unavailable)"
    version = proc.stdout.strip()
    return f"{package} {version}" if proc.returncode == 0 and version else f"{package} (not installed)"
