"""A running generation as the drivers see it: where its root is, how to enter it, its daemons' sockets.

The controller starts each generation a run's cells name (``host/services.py``) and writes one
``GenerationSite`` per generation into ``endpoints.json``; every pytest-xdist worker reads it back and
binds ``docker@trixie`` to ``docker``, ``podman@trixie`` to ``cli([...podman...])`` and so on. Paths of
binaries are the root's (``/usr/bin/crun`` inside it); the run's state directory is bound into the root
at its own path, so sockets, scratch files and CRI logs have one path inside and out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# What the generation's chrooted tools need in their environment.
CHROOT_ENV = {
    "PODMAN_IGNORE_CGROUPSV1_WARNING": "1",
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
}


def enter_command(pid: int, rootfs: Path, argv: list[str]) -> list[str]:
    """``argv`` started in the namespace of holder ``pid``, whose ``/`` is ``rootfs`` (kept in the
    signature for the callers' sake: the namespace, not a chroot, decides the root)."""
    del rootfs
    return ["nsenter", f"--mount=/proc/{pid}/ns/mnt", *argv]


@dataclass
class GenerationSite:
    generation: str
    rootfs: str
    pid: int  # the namespace holder: commands enter its mount namespace
    containerd: str = ""  # socket path
    docker: str = ""  # unix:// endpoint of its dockerd
    # unix:// endpoint of the dockerd on the containerd image store that BuildKit builds in ("" when
    # the root has no tool that needs it, or it did not start: see ``Endpoints.errors``)
    buildkit_docker: str = ""
    registry: str = ""  # 127.0.0.1:PORT of its registry
    podman_root: str = ""
    podman_env: dict[str, str] = field(default_factory=dict)
    tools: dict[str, dict[str, str]] = field(default_factory=dict)  # manifest.tools(): version, package, origin

    @property
    def cri(self) -> str:
        return f"unix://{self.containerd}" if self.containerd else ""

    def cli(self, argv: list[str]) -> list[str]:
        """``argv`` run by the generation's own binaries (nsenter into its namespace, chroot into its root)."""
        return enter_command(self.pid, Path(self.rootfs), [str(a) for a in argv])

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """What the chrooted tools need on top of the harness's environment (run_command adds os.environ)."""
        return {**CHROOT_ENV, **(extra or {})}

    def has(self, path: str) -> bool:
        """Whether the root holds ``path`` (an absolute path as seen inside it)."""
        return (Path(self.rootfs) / path.lstrip("/")).exists()

    def version_of(self, tool: str) -> str:
        return (self.tools.get(tool) or {}).get("version", "")

    @classmethod
    def from_json(cls, data: dict) -> GenerationSite:
        return cls(**data)
