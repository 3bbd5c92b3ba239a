"""A private containerd (with its CRI plugin) under the harness's state directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ocimatrix.cri.containerd_config import config_version, write_containerd_config
from ocimatrix.errors import HarnessError
from ocimatrix.host.supervision import Probe, probe_once
from ocimatrix.host.tools import require
from ocimatrix.system.process import Daemon


class ContainerdService:
    def __init__(self, state_dir: Path, sandbox_image: str, registry_hosts: list[str]) -> None:
        self.dir = state_dir
        self.sandbox_image = sandbox_image
        self.registry_hosts = registry_hosts
        self.socket = state_dir / "containerd.sock"
        self.daemon: Daemon | None = None

    def start(self) -> None:
        binary = require("containerd", "Debian's containerd")
        self.dir.mkdir(parents=True, exist_ok=True)
        layout = write_containerd_config(
            self.dir, self.socket, self.sandbox_image, self.registry_hosts, version=self._config_version(binary)
        )
        config = layout.config
        self.daemon = Daemon("containerd", [binary, "--config", str(config)], self.dir / "containerd.log")
        self.daemon.start(self._ready)

    @staticmethod
    def _config_version(binary: str) -> int:
        """The config version this containerd reads natively (2 for 1.x, 3 for 2.x)."""
        try:
            done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            raise HarnessError(f"{binary} --version failed: {exc}") from exc
        return config_version(done.stdout)

    def _ready(self) -> bool:
        # Ready when it answers its gRPC Version: the health the supervision checks later too.
        return self.socket.exists() and probe_once(Probe("containerd-api", str(self.socket))) is None

    def stop(self) -> None:
        if self.daemon:
            self.daemon.stop()
