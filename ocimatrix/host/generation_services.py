"""The daemons of each tool generation a run names (trixie, sid), started beside the host's own.

For each generation: its cached root is made ready (``generations.prepare``: nothing to do when it is
current), its namespace started with the run's state directory bound in, and its registry, containerd
and dockerd started (``generations.start_generation_services``), trusting the run's one registry so
images cross generations; where the root has crane, go-containerregistry's registry too
(``host/crane_registry.py``), at an address chosen before any daemon started (``reserve``), which every
daemon of the run trusts too. They are supervised like the host's daemons (``containerd@trixie`` ...), and
stopped before the host's. A generation that can't be prepared or started is recorded in
``Endpoints.errors``: its cells are errors, never skips.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from ocimatrix.endpoints.site import GenerationSite
from ocimatrix.generations.namespace import GenerationHost
from ocimatrix.generations.roots import PreparedRoot, prepare, prepared_root
from ocimatrix.host import buildkit_dockerd
from ocimatrix.host.crane_registry import (
    CraneRegistry,
    has_registry,
    reserve_address,
    service_name,
    start_crane_registry,
)
from ocimatrix.host.generation_daemons import GenerationEndpoints, docker_remover, start_generation_services
from ocimatrix.host.supervision import Probe, ServiceBook


def prepare_generation(generation: str, log) -> PreparedRoot:
    """The generation's root, ready; a cached root is used as it is when checking for newer versions fails."""
    try:
        return prepare(generation, log=log)
    except Exception as exc:
        cached = prepared_root(generation)
        if cached is None:
            raise
        log(f"generation {generation}: could not refresh its root ({exc}); using the cached one")
        return cached


def site_of(host: GenerationHost, root: PreparedRoot, started: GenerationEndpoints) -> GenerationSite:
    return GenerationSite(
        generation=host.name,
        rootfs=str(host.rootfs),
        pid=host.pid,
        containerd=str(started.containerd_socket),
        docker=started.docker_endpoint,
        registry=started.registry,
        podman_root=str(host.state_dir / "podman"),
        podman_env=dict(started.podman_env),
        tools=root.manifest.tools(),
    )


class GenerationServices:
    def __init__(self, log=print) -> None:
        self.log = log
        self.hosts: list[GenerationHost] = []
        # The registry implementations the generations will start, by generation: their addresses are
        # chosen before this host's daemons start, which must trust them (a lifecycle cell pushes there).
        self.reserved: dict[str, str] = {}

    def reserve(self, generations: tuple[str, ...]) -> list[str]:
        """The addresses (127.0.0.1:PORT) the generations' registry implementations will answer at."""
        for generation in generations:
            address = reserve_address(generation)
            if address:
                self.reserved[generation] = address
        return list(self.reserved.values())

    def start(self, generation: str, run_state: Path, endpoints, book: ServiceBook) -> None:
        from ocimatrix.endpoints import generation_service

        host: GenerationHost | None = None
        try:
            root = prepare_generation(generation, self.log)
            host = GenerationHost(generation, root.rootfs, run_state / "generations" / generation, shared=(run_state,))
            host.start()
            self.hosts.append(host)
            trusted = (*((endpoints.registry,) if endpoints.registry else ()), *self.reserved.values())
            started = start_generation_services(
                host, endpoints.sandbox_image or "127.0.0.1/ocimatrix/pause:latest", trusted_registries=trusted
            )
        except Exception as exc:  # noqa: BLE001 - recorded: the generation's cells are errors
            endpoints.errors[generation_service(generation)] = f"{type(exc).__name__}: {exc}"
            self.log(f"generation {generation}: unavailable, its cells will be errors: {exc}")
            if host is not None:
                host.stop()
            return
        site = site_of(host, root, started)
        site.buildkit_docker = self._start_buildkit(host, started, endpoints)
        endpoints.generations[generation] = asdict(site)
        crane = self._start_crane(host, root, endpoints)
        self._supervise(host, started, book, crane)
        self.log(f"generation {generation}: dockerd {started.docker_endpoint}, containerd {started.containerd_socket}")

    def _start_buildkit(self, host: GenerationHost, started: GenerationEndpoints, endpoints) -> str:
        """The dockerd BuildKit builds in, where the root has a tool that needs it: its endpoint, or ""
        (one that can't start is recorded under its own name: its cells are errors)."""
        if not buildkit_dockerd.wanted(host):
            return ""
        name = buildkit_dockerd.service_name(host.name)
        registries = [r for r in (endpoints.registry, started.registry, *self.reserved.values()) if r]
        try:
            socket = buildkit_dockerd.start_buildkit_dockerd(host, started.containerd_socket, registries)
        except Exception as exc:  # noqa: BLE001 - recorded: its cells are errors
            endpoints.errors[name] = f"{type(exc).__name__}: {exc}"
            self.log(f"generation {host.name}: BuildKit's dockerd unavailable, its cells will be errors: {exc}")
            return ""
        host.before_stop.append(docker_remover(host, socket))
        return f"unix://{socket}"

    def _start_crane(self, host: GenerationHost, root: PreparedRoot, endpoints) -> CraneRegistry | None:
        """go-containerregistry's registry, where the root has crane: a second registry implementation.
        One that can't start is recorded under its own name; the generation's other daemons still serve."""
        if not has_registry(host):
            return None
        name = service_name(host.name)
        try:
            address = self.reserved.get(host.name, "")
            port = int(address.rpartition(":")[2]) if address else 0
            crane = start_crane_registry(host, root.manifest.tools().get("crane", {}).get("version", ""), port)
        except Exception as exc:  # noqa: BLE001 - recorded: its cells are errors
            endpoints.errors[name] = f"{type(exc).__name__}: {exc}"
            self.log(f"generation {host.name}: crane's registry unavailable, its cells will be errors: {exc}")
            return None
        endpoints.registries[name] = crane.settings()
        self.log(f"generation {host.name}: crane registry {crane.url}")
        return crane

    @staticmethod
    def _supervise(
        host: GenerationHost, started: GenerationEndpoints, book: ServiceBook, crane: CraneRegistry | None = None
    ) -> None:
        """Each daemon under ``<service>@<generation>``, the names the catalog's tools of it declare."""
        by_name = {daemon.name.split(" ")[0]: daemon for daemon in host.daemons}
        g = host.name
        if "registry" in by_name:
            book.add(f"registry@{g}", by_name["registry"], Probe("http", f"http://{started.registry}/v2/"))
        if crane is not None and "crane" in by_name:
            book.add(service_name(g), by_name["crane"], Probe("http", f"{crane.url}/v2/"))
        if "containerd" in by_name:
            book.add(f"containerd@{g}", by_name["containerd"], Probe("containerd-api", str(started.containerd_socket)))
        if "dockerd" in by_name:
            pidfile = str(host.state_dir / "dockerd" / "docker.pid")
            book.add(f"dockerd@{g}", by_name["dockerd"], Probe("docker-api", str(started.docker_socket)), [pidfile])

    def stop(self) -> None:
        for host in reversed(self.hosts):
            try:
                report = host.stop()
            except Exception as exc:  # noqa: BLE001 - the state dir's sweep kills what is left
                self.log(f"generation {host.name}: stopping: {exc}")
                continue
            if not report.clean:
                self.log(
                    f"generation {host.name}: left behind processes {report.leftover_processes} "
                    f"mounts {report.leftover_mounts}"
                )
        self.hosts.clear()
