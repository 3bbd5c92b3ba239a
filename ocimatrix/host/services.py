"""The embedded default: the harness's own registry, containerd, dockerd and podman storage.

Everything lives under one state directory with its own sockets, so the user's daemons are never
touched; ``stop()`` leaves no daemon, shim, container, mount or directory behind, even after a crash
of an earlier run (stale state directories whose owner is gone are swept on the next start).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ocimatrix.endpoints import Endpoints
from ocimatrix.host.auth_registries import AuthRegistries
from ocimatrix.host.containerd_service import ContainerdService
from ocimatrix.host.dockerd_service import DockerdService
from ocimatrix.host.generation_services import GenerationServices
from ocimatrix.host.podman_setup import write_podman_config
from ocimatrix.host.registry_service import RegistryService
from ocimatrix.host.supervision import Probe, ServiceBook
from ocimatrix.host.tools import ToolMissing
from ocimatrix.images.pause import publish_sandbox_image
from ocimatrix.system.process import kill_processes_mentioning, unmount_all_under

STATE_PARENT = Path(os.environ.get("OCIMATRIX_STATE_PARENT", "/var/tmp"))
STATE_PREFIX = "ocimatrix-"


def _note_failure(endpoints: Endpoints, service: str, exc: Exception) -> None:
    target = endpoints.absent if isinstance(exc, ToolMissing) else endpoints.errors
    target[service] = str(exc)


def sweep_stale_state(log=print) -> None:
    for state in STATE_PARENT.glob(f"{STATE_PREFIX}*"):
        owner = state / "owner.pid"
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            continue
        if Path(f"/proc/{pid}").exists():
            continue
        log(f"cleaning up {state} left by an earlier run (pid {pid} is gone)")
        cleanup_state_dir(state)


def cleanup_state_dir(state: Path) -> None:
    kill_processes_mentioning(str(state))
    unmount_all_under(state)
    shutil.rmtree(state, ignore_errors=True)


class EmbeddedServices:
    def __init__(self, log=print, registry_port: int = 0, generations: tuple[str, ...] = ()) -> None:
        self.log = log
        self.registry_port = registry_port  # 0: any free port
        self.generations = generations  # roots (trixie, sid) whose daemons start beside the host's
        self.generation_services = GenerationServices(log)
        self.state: Path | None = None
        self.registry: RegistryService | None = None
        self.containerd: ContainerdService | None = None
        self.dockerd: DockerdService | None = None
        self.auth_registries: AuthRegistries | None = None
        self.endpoints: Endpoints | None = None

    def start(self) -> Endpoints:
        sweep_stale_state(self.log)
        STATE_PARENT.mkdir(parents=True, exist_ok=True)
        self.state = Path(tempfile.mkdtemp(prefix=STATE_PREFIX, dir=STATE_PARENT))
        (self.state / "owner.pid").write_text(str(os.getpid()))
        endpoints = Endpoints(state_dir=str(self.state))
        self.endpoints = endpoints
        try:
            self.registry = RegistryService(self.state / "registry", port=self.registry_port)
            self.registry.start()
            endpoints.registry = self.registry.host
            self.log(f"registry   {self.registry.url}")
        except Exception as exc:  # noqa: BLE001 - recorded: its cells skip (not installed) or error
            _note_failure(endpoints, "registry", exc)
        # The same registry software behind token (bearer) and basic auth, so the distribution suite
        # compares registry setups side by side.
        self.auth_registries = AuthRegistries.start(self.state, kinds=("token", "basic"), log=self.log)
        endpoints.registries = self.auth_registries.settings
        endpoints.errors.update(self.auth_registries.errors)
        endpoints.absent.update(self.auth_registries.absent)
        hosts = [endpoints.registry] if endpoints.registry else []
        hosts += self.generation_services.reserve(self.generations)
        publish_sandbox_image(endpoints)  # the pause image containerd's CRI starts every pod with
        try:
            self.containerd = ContainerdService(self.state / "containerd", endpoints.sandbox_image, hosts)
            self.containerd.start()
            endpoints.containerd = str(self.containerd.socket)
            endpoints.cri = f"unix://{self.containerd.socket}"
            self.log(f"containerd {endpoints.cri}")
        except Exception as exc:  # noqa: BLE001
            _note_failure(endpoints, "containerd", exc)
        if endpoints.containerd:
            try:
                self.dockerd = DockerdService(self.state / "docker", Path(endpoints.containerd), hosts)
                self.dockerd.start()
                endpoints.docker = self.dockerd.endpoint
                self.log(f"dockerd    {endpoints.docker}")
            except Exception as exc:  # noqa: BLE001
                _note_failure(endpoints, "docker", exc)
        elif "containerd" in endpoints.absent:
            endpoints.absent["docker"] = "dockerd needs containerd, which is not installed"
        else:
            endpoints.errors["docker"] = "dockerd needs the harness's containerd, which did not start"
        endpoints.podman_root = str(self.state / "podman")
        endpoints.podman_env = write_podman_config(self.state / "podman", hosts)
        book = self._supervise()
        for generation in self.generations:
            self.generation_services.start(generation, self.state, endpoints, book)
        endpoints.save(self.state / "endpoints.json")
        return endpoints

    def _supervise(self) -> ServiceBook:
        """Write down how to check and restart each daemon, for every worker's cells to use."""
        book = ServiceBook(self.state)
        if self.registry and self.registry.daemon:
            book.add("registry", self.registry.daemon, Probe("http", f"{self.registry.url}/v2/"))
        if self.containerd and self.containerd.daemon:
            book.add("containerd", self.containerd.daemon, Probe("containerd-api", str(self.containerd.socket)))
        if self.dockerd and self.dockerd.daemon:
            # dockerd refuses to start while its pidfile names a pid that /proc still lists (a zombie).
            pidfile = str(self.dockerd.dir / "docker.pid")
            book.add("dockerd", self.dockerd.daemon, Probe("docker-api", str(self.dockerd.socket)), [pidfile])
        for name, daemon, probe in self.auth_registries.supervised() if self.auth_registries else ():
            book.add(name, daemon, probe)
        return book

    def restarts(self) -> dict[str, list[dict]]:
        return ServiceBook(self.state).restarts() if self.state else {}

    def stop(self) -> None:
        if self.state is None:
            return
        self.generation_services.stop()  # their daemons first: they may use the host's registry
        for service in (self.dockerd, self.containerd, self.auth_registries, self.registry):
            if service is not None:
                try:
                    service.stop()
                except Exception as exc:  # noqa: BLE001 - keep going: the sweep below kills what's left
                    self.log(f"stopping {type(service).__name__}: {exc}")
        cleanup_state_dir(self.state)
        self.state = None

    def __enter__(self) -> Endpoints:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
