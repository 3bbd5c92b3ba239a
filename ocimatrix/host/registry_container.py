"""Registries that run from a container image, started with testcontainers (matrix key ``image:``).

This is how a user's CI would test zot, Harbor's registry or distribution 3 with the suites:
``image: {ref: ghcr.io/project-zot/zot-linux-amd64:v2.1.0, env: {...}}``. The container runs
with the host's network (the harness's dockerd has no bridge), so the registry must listen on
``127.0.0.1:{port}``: ``{port}`` in ``env`` values and ``command`` words is replaced by a free port
(the default env is distribution's ``REGISTRY_HTTP_ADDR=127.0.0.1:{port}``).

``image: {build: docker-registry}`` is an image the harness builds itself, FROM scratch, from
Debian's ``/usr/bin/docker-registry`` and the shared libraries ``ldd`` says it needs, so the
container path can be tested on a machine that pulls nothing.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import tarfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from ocimatrix.errors import OcimatrixError
from ocimatrix.host.registry_service import registry_config
from ocimatrix.system.process import free_port

BUILTIN_TAG = "ocimatrix.local/docker-registry"  # fully qualified, never pulled: built here
DEFAULT_ENV = {"REGISTRY_HTTP_ADDR": "127.0.0.1:{port}"}
READY_TIMEOUT = 60.0
# Inside the container: the address is overridden through REGISTRY_HTTP_ADDR at start.
CONTAINER_CONFIG = registry_config("/var/lib/registry", "127.0.0.1:5000").encode()


def container_daemon(endpoints: Any) -> tuple[str, str, str]:
    """The dockerd a registry container runs on: (its address, why it did not start, why it is not here)."""
    if endpoints is None:
        return "", "", "no dockerd endpoint"
    errors = getattr(endpoints, "errors", {}) or {}
    absent = getattr(endpoints, "absent", {}) or {}
    return getattr(endpoints, "docker", ""), errors.get("docker", ""), absent.get("docker", "no dockerd endpoint")


def shared_libraries(binary: Path) -> list[Path]:
    """The files ``ldd`` lists for ``binary`` (empty for a static one), loader included."""
    result = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:  # "not a dynamic executable"
        return []
    libs: list[Path] = []
    for line in result.stdout.splitlines():
        words = line.split()
        path = next((w for w in words if w.startswith("/")), None)
        if path:
            libs.append(Path(path))
    return libs


def _add_file(tar: tarfile.TarFile, source: Path, arcname: str, mode: int = 0o755) -> None:
    data = source.resolve().read_bytes()
    info = tarfile.TarInfo(arcname)
    info.size, info.mode, info.mtime = len(data), mode, 0
    tar.addfile(info, io.BytesIO(data))


def registry_build_context(binary: str = "docker-registry") -> tuple[bytes, str]:
    """A docker build context (tar) for the builtin image, and a tag naming its content."""
    path = shutil.which(binary)
    if not path:
        raise OcimatrixError(f"{binary} not found: install Debian's docker-registry (ocimatrix provision)")
    binary_path = Path(path)
    libs = shared_libraries(binary_path)
    lines = [
        "FROM scratch",
        "COPY docker-registry /bin/registry",
        "COPY config.yml /etc/docker/registry/config.yml",
    ]
    lines += [f"COPY lib{i} {lib}" for i, lib in enumerate(libs)]
    lines += ['ENTRYPOINT ["/bin/registry", "serve", "/etc/docker/registry/config.yml"]']
    dockerfile = ("\n".join(lines) + "\n").encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in (("Dockerfile", dockerfile), ("config.yml", CONTAINER_CONFIG)):
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
        _add_file(tar, binary_path, "docker-registry")
        for i, lib in enumerate(libs):
            _add_file(tar, lib, f"lib{i}")
    context = raw.getvalue()
    return context, f"{BUILTIN_TAG}:{hashlib.sha256(context).hexdigest()[:12]}"


def build_registry_image(docker_client: Any, binary: str = "docker-registry") -> str:
    """Build the builtin image on ``docker_client`` (docker-py) unless it exists; returns its tag."""
    import docker.errors

    context, tag = registry_build_context(binary)
    try:
        docker_client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    try:
        docker_client.images.build(
            fileobj=io.BytesIO(context),
            custom_context=True,
            tag=tag,
            rm=True,
            network_mode="none",
            pull=False,
        )
    except docker.errors.BuildError as exc:
        log = "".join(str(chunk.get("stream", "")) for chunk in exc.build_log)[-2000:]
        raise OcimatrixError(f"building {tag} failed: {exc.msg}\n{log}") from None
    return tag


def _fill(value: str, port: int) -> str:
    return value.replace("{port}", str(port))


class ContainerRegistry:
    """One registry container on the host network; ``start()`` returns its base URL."""

    def __init__(self, image: str | Mapping[str, Any], docker_endpoint: str) -> None:
        self.spec: dict[str, Any] = {"ref": image} if isinstance(image, str) else dict(image)
        self.docker_endpoint = docker_endpoint
        self.port = 0
        self.container = None
        self.ref = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        import docker
        from testcontainers.core.config import testcontainers_config
        from testcontainers.core.container import DockerContainer

        # No reaper container: it would need an image pull, and stop() removes what we started.
        testcontainers_config.ryuk_disabled = True
        docker_kw = {"environment": {"DOCKER_HOST": self.docker_endpoint}}
        if self.spec.get("build"):
            client = docker.from_env(**docker_kw)
            try:
                self.ref = build_registry_image(client)
            finally:
                client.close()
        else:
            self.ref = str(self.spec["ref"])
        self.port = free_port()
        env = {k: _fill(str(v), self.port) for k, v in (self.spec.get("env") or DEFAULT_ENV).items()}
        command = [_fill(str(w), self.port) for w in self.spec.get("command") or []] or None
        container = DockerContainer(self.ref, docker_client_kw=docker_kw, env=env, command=command)
        container.with_kwargs(network_mode="host")
        self.container = container.start()
        self._wait_ready()
        return self.url

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        last = ""
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/v2/", timeout=2).status_code in (200, 401):
                    return
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.2)
        logs = ""
        try:
            out, err = self.container.get_logs()
            logs = (out + err).decode(errors="replace")[-1500:]
        except Exception:  # noqa: BLE001 - the logs only decorate the error
            pass
        self.stop()
        raise OcimatrixError(
            f"registry container {self.ref} did not answer {self.url}/v2/ "
            f"within {READY_TIMEOUT:.0f}s ({last}); "
            f"it must listen on 127.0.0.1:{{port}} (see 'env'). Logs:\n{logs}"
        )

    def stop(self) -> None:
        if self.container is not None:
            try:
                self.container.stop()
            finally:
                self.container = None
