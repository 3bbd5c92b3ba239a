"""The harness's registries with auth in front: a second and third registry setup to test against.

- ``TokenAuthRegistry``: distribution with ``auth: token`` (realm, service, issuer,
  rootcertbundle) and the harness's token server (``ocimatrix.host.token_server``), plain HTTP.
  The bearer-token flow a user's Harbor, GitLab or Docker Hub would ask for.
- ``BasicAuthRegistry``: distribution with ``auth: htpasswd`` (bcrypt) behind TLS, with a CA made
  at start (clients trust it via ``tls_verify: <ca path>``).

Each makes a user with a random password at start. The password stays in memory and in a
``credentials.json`` (mode 0600) inside the state directory, removed at stop; ``settings()``
returns a matrix-style registry entry naming that file, never the password itself.

``AuthRegistries.start(state_dir)`` starts both (a failure becomes an entry in ``errors``, never
an exception), ``.settings`` maps ``token``/``basic`` to their entries for
``Endpoints.registries``, ``.stop()`` stops what started.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import ssl
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import httpx

from ocimatrix.host.certs import make_ca, make_signing_cert
from ocimatrix.host.registry_service import registry_config
from ocimatrix.host.supervision import Probe
from ocimatrix.host.tools import ToolMissing, require
from ocimatrix.system.process import Daemon, free_port

SERVICE = "ocimatrix-registry"
ISSUER = "ocimatrix-token-server"
USERNAME = "ocimatrix"


def registry_version(binary: str = "docker-registry") -> str:
    """``2.8.2+ds1`` from ``docker-registry --version``; empty when it can't be read."""
    path = shutil.which(binary)
    if not path:
        return ""
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    words = out.split()
    return words[-1] if words else ""


def htpasswd_line(username: str, password: str) -> str:
    # Cost 4 (the minimum): these throwaway users guard nothing, and every token request checks one.
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    return f"{username}:{hashed}\n"


def _write_private(path: Path, text: str) -> None:
    path.write_text(text)
    os.chmod(path, 0o600)


@dataclass
class _AuthRegistry:
    state_dir: Path
    binary: str = "docker-registry"
    username: str = USERNAME
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    port: int = 0
    daemons: list[Daemon] = field(default_factory=list)

    kind = ""
    scheme = "http"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def credentials_file(self) -> Path:
        return self.state_dir / "credentials.json"

    def _prepare(self) -> Path:
        path = require(self.binary, "Debian's docker-registry")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        _write_private(self.state_dir / "htpasswd", htpasswd_line(self.username, self.password))
        _write_private(self.credentials_file, json.dumps({"username": self.username, "password": self.password}))
        self.port = free_port()
        return Path(path)

    def _start_registry(self, binary: Path, tls: str, auth: str, verify: Any = False) -> None:
        config = self.state_dir / "config.yml"
        config.write_text(
            registry_config(
                self.state_dir / "data",
                f"127.0.0.1:{self.port}",
                http_secret=secrets.token_hex(16),
                extra=tls + auth,
            )
        )
        daemon = Daemon(
            f"docker-registry ({self.kind} auth)",
            [str(binary), "serve", str(config)],
            self.state_dir / "registry.log",
        )
        self.daemons.append(daemon)
        # Any answer to /v2/ (401 here: auth is on) means it is serving.
        daemon.start(lambda: httpx.get(f"{self.url}/v2/", timeout=2, verify=verify).status_code in (200, 401))

    def settings(self) -> dict[str, Any]:
        raise NotImplementedError

    def supervised(self) -> list[tuple[str, Daemon, Probe]]:
        """The daemons to watch, by service name; the registry is always the last one started."""
        registry = self.daemons[-1]
        # Any HTTP answer shows it serves; the certificate is not what a liveness probe checks.
        return [(f"registry-{self.kind}", registry, Probe("http", f"{self.url}/v2/"))]

    def stop(self) -> None:
        for daemon in reversed(self.daemons):
            daemon.stop()
        self.daemons.clear()


class TokenAuthRegistry(_AuthRegistry):
    kind = "token"
    token_port: int = 0

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.token_port}/token"

    def start(self) -> None:
        binary = self._prepare()
        signer = make_signing_cert(self.state_dir / "certs")
        self.token_port = free_port()
        token_config = self.state_dir / "token-server.json"
        token_config.write_text(
            json.dumps(
                {
                    "port": self.token_port,
                    "issuer": ISSUER,
                    "service": SERVICE,
                    "ttl": 300,
                    "htpasswd": str(self.state_dir / "htpasswd"),
                    "key": str(signer.key),
                    "cert": str(signer.certificate),
                },
                indent=1,
            )
        )
        server = Daemon(
            "token server",
            [sys.executable, "-m", "ocimatrix.host.token_server", str(token_config)],
            self.state_dir / "token-server.log",
        )
        self.daemons.append(server)
        health = f"http://127.0.0.1:{self.token_port}/healthz"
        server.start(lambda: httpx.get(health, timeout=2).status_code == 200, timeout=30)
        auth = (
            "auth:\n  token:\n"
            f"    realm: {self.realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n"
            f"    rootcertbundle: {signer.certificate}\n"
        )
        self._start_registry(binary, "", auth)

    def supervised(self) -> list[tuple[str, Daemon, Probe]]:
        token_server = Probe("http", f"http://127.0.0.1:{self.token_port}/healthz")
        return [("token-server", self.daemons[0], token_server), *super().supervised()]

    def settings(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "plain_http": True,
            "version": registry_version(self.binary),
            "auth": {"type": "bearer", "credentials_file": str(self.credentials_file)},
            "description": f"distribution with token auth (realm {self.realm}, service {SERVICE})",
        }


class BasicAuthRegistry(_AuthRegistry):
    kind = "basic"
    scheme = "https"

    def start(self) -> None:
        binary = self._prepare()
        self.tls = make_ca(self.state_dir / "certs")
        tls = f"  tls:\n    certificate: {self.tls.certificate}\n    key: {self.tls.key}\n"
        auth = f"auth:\n  htpasswd:\n    realm: ocimatrix\n    path: {self.state_dir / 'htpasswd'}\n"
        self._start_registry(binary, tls, auth, verify=ssl.create_default_context(cafile=str(self.tls.ca)))

    def settings(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "tls_verify": str(self.tls.ca),
            "version": registry_version(self.binary),
            "auth": {"type": "basic", "credentials_file": str(self.credentials_file)},
            "description": "distribution with htpasswd basic auth over TLS (the harness's own CA)",
        }


@dataclass
class AuthRegistries:
    """Both auth setups under one state directory, started and stopped together."""

    registries: list[_AuthRegistry] = field(default_factory=list)
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> matrix-style entry
    errors: dict[str, str] = field(default_factory=dict)  # "registry-<kind>" -> why it didn't start
    absent: dict[str, str] = field(default_factory=dict)  # "registry-<kind>" -> the tool that isn't installed

    @classmethod
    def start(cls, state_dir: Path, kinds: tuple[str, ...] = ("token", "basic"), log=print) -> AuthRegistries:
        started = cls()
        classes = {"token": TokenAuthRegistry, "basic": BasicAuthRegistry}
        for kind in kinds:
            registry = classes[kind](state_dir / f"registry-{kind}")
            try:
                registry.start()
            except Exception as exc:  # noqa: BLE001 - recorded: its cells skip (not installed) or error
                registry.stop()
                (started.absent if isinstance(exc, ToolMissing) else started.errors)[f"registry-{kind}"] = str(exc)
                continue
            started.registries.append(registry)
            started.settings[kind] = registry.settings()
            log(f"registry   {registry.url} ({kind} auth)")
        return started

    def supervised(self) -> list[tuple[str, Daemon, Probe]]:
        return [entry for registry in self.registries for entry in registry.supervised()]

    def stop(self) -> None:
        for registry in self.registries:
            registry.stop()
        self.registries.clear()
