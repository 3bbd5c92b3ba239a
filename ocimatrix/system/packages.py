"""The distribution packages the matrix needs: which are missing, and installing them with visible progress."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ocimatrix.errors import OcimatrixError
from ocimatrix.system import distro

Log = Callable[[str], None]

# Package -> the binary whose presence shows it is usable, on Debian 12 (kept for callers of old).
REQUIRED = {r.package: r.binary for r in distro.DEBIAN_12.requirements}
HEARTBEAT_S = 15.0
# apt's lines worth a person's eye: downloads, unpacking, setup, errors; the rest is noise.
APT_PROGRESS = re.compile(r"^(Get:|Err:|E:|W:|Fetched |Need to get |Setting up |\d+ upgraded, )")


@dataclass
class Survey:
    """What provisioning would install, and what Docker's own packages already provide."""

    missing: list[str] = field(default_factory=list)
    optional_missing: list[str] = field(default_factory=list)
    provided_by_vendor: dict[str, str] = field(default_factory=dict)  # package -> "binary from vendor package"


def installed(package: str) -> bool:
    result = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Status}", package], capture_output=True, text=True)
    return result.returncode == 0 and result.stdout.strip() == "installed"


def survey(
    distribution: distro.Distribution | None = None,
    is_installed: Callable[[str], bool] | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> Survey:
    """Each requirement is met by its package, or by a conflicting Docker package that ships its binary."""
    distribution = distribution or distro.current()
    # Without dpkg (a container, a test) a package counts as present when its binary is on PATH.
    by_binary = is_installed is None and not shutil.which("dpkg-query")
    if is_installed is None:
        is_installed = installed if not by_binary else (lambda _package: False)
    found = Survey()
    for requirement in distribution.requirements:
        if is_installed(requirement.package) or (by_binary and which(requirement.binary)):
            continue
        vendor = next((v for v in requirement.vendor_packages if is_installed(v)), None)
        if vendor and which(requirement.binary):
            found.provided_by_vendor[requirement.package] = f"{requirement.binary} from {vendor}"
            continue
        (found.optional_missing if requirement.optional else found.missing).append(requirement.package)
    return found


def missing_packages(distribution: distro.Distribution | None = None) -> list[str]:
    return survey(distribution).missing


class Heartbeat:
    """Says every ``every`` seconds that ``what`` is still running, unless a line was shown since."""

    def __init__(self, log: Log, what: str, every: float = HEARTBEAT_S) -> None:
        self.log, self.what, self.every = log, what, every
        self.started = self.last = time.monotonic()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def touch(self) -> None:
        self.last = time.monotonic()

    def _beat(self) -> None:
        while not self._done.wait(1.0):
            now = time.monotonic()
            if now - self.last >= self.every:
                self.log(f"... {self.what}: still running ({now - self.started:.0f}s)")
                self.last = now

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        self._thread.join()


def install(packages: list[str], log: Log = print, optional: list[str] | None = None) -> None:
    """apt-get install the packages; optional ones are tried afterwards and may be missing from the archive."""
    optional = optional or []
    if not packages and not optional:
        return
    if os.geteuid() != 0:
        raise OcimatrixError(f"installing {' '.join(packages + optional)} needs root (run as root, e.g. with sudo)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if packages:
        code, tail = _apt(["install", "-y", "-q", *packages], env, log)
        if code != 0:
            # A stale or missing package list is the usual reason on a fresh machine.
            log("apt-get install failed; running apt-get update and trying again")
            _apt(["update", "-q"], env, log)
            code, tail = _apt(["install", "-y", "-q", *packages], env, log)
        if code != 0:
            raise OcimatrixError(f"apt-get install failed:\n{tail}")
    for package in optional:
        code, tail = _apt(["install", "-y", "-q", package], env, log)
        if code != 0:
            log(f"optional package {package} not installed (its cells will say so): {tail.splitlines()[-1:]}")


def _apt(args: list[str], env: dict[str, str], log: Log) -> tuple[int, str]:
    """Run apt-get, passing its progress lines through; returns the exit code and the output's tail."""
    command = f"apt-get {' '.join(args)}"
    log(f"running {command}")
    tail: deque[str] = deque(maxlen=30)
    with Heartbeat(log, "apt-get " + args[0]) as beat:
        proc = subprocess.Popen(
            ["apt-get", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
        )
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip()
            tail.append(line)
            if APT_PROGRESS.match(line):
                log(f"  apt: {line}")
                beat.touch()
        code = proc.wait()
    return code, "\n".join(tail)[-2000:]
