"""The Debian packages the default matrix needs, and installing the missing ones."""

from __future__ import annotations

import os
import shutil
import subprocess

from ocimatrix.errors import OcimatrixError

# Package -> the binary whose presence shows it is usable.
REQUIRED = {
    "docker.io": "dockerd",
    "containerd": "containerd",
    "runc": "runc",
    "crun": "crun",
    "podman": "podman",
    "buildah": "buildah",
    "skopeo": "skopeo",
    "umoci": "umoci",
    "docker-registry": "docker-registry",
    "busybox-static": "busybox",
    "qemu-user-static": "qemu-aarch64-static",
    "binfmt-support": "update-binfmts",
}


def installed(package: str) -> bool:
    result = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Status}", package], capture_output=True, text=True)
    return result.returncode == 0 and result.stdout.strip() == "installed"


def missing_packages(packages: dict[str, str] = REQUIRED) -> list[str]:
    if not shutil.which("dpkg-query"):
        return [p for p, binary in packages.items() if not shutil.which(binary)]
    return [p for p in packages if not installed(p)]


def install(packages: list[str], log=print) -> None:
    if not packages:
        return
    if os.geteuid() != 0:
        raise OcimatrixError(f"installing {' '.join(packages)} needs root (run as root, e.g. with sudo)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log(f"apt-get install {' '.join(packages)}")
    result = _apt(["install", "-y", "-q", *packages], env)
    if result.returncode != 0:
        # A stale or missing package list is the usual reason on a fresh machine.
        log("apt-get install failed; running apt-get update and trying again")
        _apt(["update", "-q"], env)
        result = _apt(["install", "-y", "-q", *packages], env)
    if result.returncode != 0:
        raise OcimatrixError(f"apt-get install failed:\n{result.stdout[-2000:]}")


def _apt(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["apt-get", *args], env=env, capture_output=True, text=True)
