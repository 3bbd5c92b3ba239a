"""A private dockerd on its own socket, attached to the harness's containerd, with no bridge or iptables."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from ocimatrix.host.tools import require
from ocimatrix.runtime import recording_shim
from ocimatrix.system.process import Daemon
from ocimatrix.tools import catalog

DOCKER_CLI = "/usr/bin/docker"  # Debian's client; /usr/local/bin/docker may be another version without buildx
RUNSC = "/usr/bin/runsc"  # gVisor (Debian's runsc): dockerd runs it under containerd's runc shim, as gVisor documents


class DockerdService:
    def __init__(self, state_dir: Path, containerd_socket: Path, insecure_registries: list[str]) -> None:
        self.dir = state_dir
        self.containerd_socket = containerd_socket
        self.insecure_registries = insecure_registries
        self.socket = state_dir / "docker.sock"
        self.daemon: Daemon | None = None

    @property
    def endpoint(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        binary = require("dockerd", "Debian's docker.io")
        self.dir.mkdir(parents=True, exist_ok=True)
        config = self.dir / "daemon.json"
        config.write_text(
            json.dumps(
                {
                    "runtimes": self.runtimes(),
                    "insecure-registries": self.insecure_registries,
                    "features": {"buildkit": False},
                },
                indent=1,
            )
        )
        argv = [
            binary,
            "--config-file",
            str(config),
            "--data-root",
            str(self.dir / "data"),
            "--exec-root",
            str(self.dir / "exec"),
            "--host",
            self.endpoint,
            "--pidfile",
            str(self.dir / "docker.pid"),
            # Without --containerd, dockerd 20.10 attaches to the system containerd if one runs.
            "--containerd",
            str(self.containerd_socket),
            "--containerd-namespace",
            "ocimatrix-moby",
            "--containerd-plugins-namespace",
            "ocimatrix-moby-plugins",
            # The network rule: no bridge, no NAT, nothing reaches beyond loopback.
            "--bridge=none",
            "--iptables=false",
            "--ip-forward=false",
            "--ip-masq=false",
            "--userland-proxy=false",
        ]
        self.daemon = Daemon("dockerd", argv, self.dir / "dockerd.log")
        self.daemon.start(self._ready, timeout=90)

    def runtimes(self) -> dict[str, dict[str, str]]:
        """daemon.json's ``runtimes``: the catalog's engine runtimes installed here (with the flags
        engines pass them) and the run's recording shim (``ocimatrix/runtime/recording_shim.py``,
        written under the run's state directory)."""
        found = {name: shutil.which(Path(t.binary).name) or t.binary for name, t in catalog.added_runtimes().items()}
        runtimes = dockerd_runtimes({name: path for name, path in found.items() if os.access(path, os.X_OK)})
        runtimes[recording_shim.RECORDING_RUNTIME] = {"path": str(recording_shim.install(self.dir.parent))}
        return runtimes

    def _ready(self) -> bool:
        probe = [DOCKER_CLI, "--host", self.endpoint, "version", "--format", "{{.Server.Version}}"]
        return self.socket.exists() and subprocess.run(probe, capture_output=True, timeout=5).returncode == 0

    def stop(self) -> None:
        if self.daemon:
            self.daemon.stop(timeout=30)


def dockerd_runtimes(paths: dict[str, str]) -> dict[str, dict]:
    """daemon.json's ``runtimes`` for the catalog's runtimes at ``paths`` (name -> binary), each with
    the global options engines pass it (runsc's ``--network=none``)."""
    runtimes: dict[str, dict] = {}
    for name, path in paths.items():
        flags = catalog.engine_flags(name)
        runtimes[name] = {"path": path, **({"runtimeArgs": list(flags)} if flags else {})}
    return runtimes
