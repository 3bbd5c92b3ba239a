"""Bundles on disk (runtime-spec bundle.md): one shared busybox rootfs, one directory per container.

The rootfs is written once per run and shared read-only by every container (each ``config.json``
names it by absolute path, which the spec allows for ``root.path``). Every mount point a test uses
exists in it already, so no runtime has to create one in a read-only root.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ocimatrix.errors import HarnessError
from ocimatrix.runtime.config import RuntimeConfig

PASSWD = "root:x:0:0:root:/root:/bin/sh\nprobe:x:1000:1000:probe:/home/probe:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n"
GROUP = "root:x:0:\nprobe:x:1000:\nextra1:x:1001:\nextra2:x:1002:\nnogroup:x:65534:\n"
MOUNT_POINTS = (
    "proc",
    "sys",
    "dev",
    "tmp",
    "root",
    "home/probe",
    "srv/work",
    "mnt/ro",
    "mnt/rw",
    "mnt/tmpfs",
    "mnt/cgroup",
    "ocimatrix",
)


@dataclass(frozen=True)
class Rootfs:
    path: Path
    applets: tuple[str, ...]


def write_rootfs(dest: Path, busybox: Path) -> Rootfs:
    """A static busybox with a symlink per applet, /etc/passwd and /etc/group, and the mount points."""
    try:
        listing = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, timeout=30, check=True)
        applets = tuple(a for a in listing.stdout.split() if a and "/" not in a)
        (dest / "bin").mkdir(parents=True, exist_ok=True)
        shutil.copy2(busybox, dest / "bin" / "busybox")
        for applet in applets:
            if applet != "busybox":
                os.symlink("busybox", dest / "bin" / applet)
        (dest / "etc").mkdir(exist_ok=True)
        (dest / "etc" / "passwd").write_text(PASSWD)
        (dest / "etc" / "group").write_text(GROUP)
        (dest / "etc" / "hostname").write_text("rootfs\n")
        for point in MOUNT_POINTS:
            (dest / point).mkdir(parents=True, exist_ok=True)
        # What the masking tests hide: readable as long as nothing masks it.
        (dest / "etc" / "secret").write_text("s3cret\n")
        (dest / "srv" / "secret").mkdir(parents=True, exist_ok=True)
        (dest / "srv" / "secret" / "key").write_text("s3cret\n")
        (dest / "tmp").chmod(0o1777)
        (dest / "home" / "probe").chmod(0o777)
    except (OSError, subprocess.SubprocessError) as exc:
        raise HarnessError(f"could not write the busybox rootfs at {dest}: {exc}") from exc
    return Rootfs(dest, applets)


@dataclass(frozen=True)
class Bundle:
    path: Path
    config: dict

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"


def write_bundle(path: Path, config: RuntimeConfig) -> Bundle:
    """``path``/config.json for ``config``; a harness fault (HarnessError) if it can't be written."""
    return write_raw_bundle(path, config.to_json())


def write_raw_bundle(path: Path, document: dict) -> Bundle:
    """``path``/config.json holding ``document`` as given (an engine's config, rebased)."""
    try:
        path.mkdir(parents=True, exist_ok=False)
        (path / "config.json").write_text(json.dumps(document, indent=2) + "\n")
    except OSError as exc:
        raise HarnessError(f"could not write the bundle {path}: {exc}") from exc
    return Bundle(path, document)
