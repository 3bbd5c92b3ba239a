"""A private distribution registry (Debian's ``docker-registry``) on 127.0.0.1 with filesystem storage."""

from __future__ import annotations

from pathlib import Path

import httpx

from ocimatrix.errors import OcimatrixError
from ocimatrix.host.tools import require
from ocimatrix.system.process import Daemon, free_port, port_is_free

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
  addr: {addr}
{secret}  headers:
    X-Content-Type-Options: [nosniff]
"""


def registry_config(root: str | Path, addr: str, *, http_secret: str = "", extra: str = "") -> str:
    """distribution's config.yml: filesystem storage that allows deletes, quiet logs, listening on ``addr``.

    ``extra`` is YAML appended after the ``http`` section: indented lines extend it (``  tls:``),
    unindented ones add top-level sections (``auth:``).
    """
    secret = f"  secret: {http_secret}\n" if http_secret else ""
    return CONFIG.format(root=root, addr=addr, secret=secret) + extra


class RegistryService:
    def __init__(self, state_dir: Path, binary: str = "docker-registry", port: int = 0) -> None:
        self.dir = state_dir
        self.binary = binary
        self.fixed_port = port  # 0: any free port
        self.port = 0
        self.daemon: Daemon | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self) -> None:
        path = require(self.binary, "Debian's docker-registry")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = self.fixed_port or free_port()
        if self.fixed_port and not port_is_free(self.fixed_port):
            raise OcimatrixError(f"127.0.0.1:{self.fixed_port} (the matrix's fixed registry port) is in use")
        config = self.dir / "config.yml"
        config.write_text(registry_config(self.dir / "data", self.host))
        self.daemon = Daemon("docker-registry", [path, "serve", str(config)], self.dir / "registry.log")
        self.daemon.start(lambda: httpx.get(f"{self.url}/v2/", timeout=2).status_code in (200, 401))

    def stop(self) -> None:
        if self.daemon:
            self.daemon.stop()
