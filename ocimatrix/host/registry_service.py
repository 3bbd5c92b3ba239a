"""A private distribution registry (Debian's ``docker-registry``) on 127.0.0.1 with filesystem storage."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from ocimatrix.errors import OcimatrixError
from ocimatrix.host.process import Daemon, free_port

CONFIG = """\
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  headers:
    X-Content-Type-Options: [nosniff]
"""


class RegistryService:
    def __init__(self, state_dir: Path, binary: str = "docker-registry", extra_config: str = "") -> None:
        self.dir = state_dir
        self.binary = binary
        self.extra_config = extra_config
        self.port = 0
        self.daemon: Daemon | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self) -> None:
        path = shutil.which(self.binary)
        if not path:
            raise OcimatrixError(f"{self.binary} not found: install Debian's docker-registry (ocimatrix provision)")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        config = self.dir / "config.yml"
        config.write_text(CONFIG.format(root=self.dir / "data", port=self.port) + self.extra_config)
        self.daemon = Daemon("docker-registry", [path, "serve", str(config)], self.dir / "registry.log")
        self.daemon.start(lambda: httpx.get(f"{self.url}/v2/", timeout=2).status_code in (200, 401))

    def stop(self) -> None:
        if self.daemon:
            self.daemon.stop()
