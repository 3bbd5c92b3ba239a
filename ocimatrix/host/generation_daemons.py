"""The harness's daemons from a generation's root: containerd, dockerd and the registry, chrooted.

Same flags and configs as the host's services (``ocimatrix/host/*_service.py``): own sockets and state
under the run's state dir, the network rule (no bridge, no NAT, 127.0.0.1 only), dockerd always told
which containerd to use. Paths of binaries are the root's (``/usr/bin/crun`` is trixie's crun); state
paths are the same inside and outside, since the state dir is bound into the root at its own path.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from ocimatrix.cri.containerd_config import config_version, write_containerd_config
from ocimatrix.errors import HarnessError
from ocimatrix.generations.namespace import GenerationHost
from ocimatrix.host.dockerd_service import dockerd_runtimes
from ocimatrix.host.podman_setup import write_podman_config
from ocimatrix.host.registry_service import registry_config
from ocimatrix.runtime import recording_shim
from ocimatrix.system.process import free_port
from ocimatrix.tools import catalog

# containerd's config still takes crun's binary by name (cri/containerd_config.py): the root's.

# The network rule: no bridge, no NAT, nothing reaches beyond loopback.
DOCKERD_NETWORK_FLAGS = (
    "--bridge=none",
    "--iptables=false",
    "--ip-forward=false",
    "--ip-masq=false",
    "--userland-proxy=false",
)
# Without CAP_SYS_RESOURCE the defaults (nofile 1048576) make runc and crun fail at setrlimit.
BUILD_ULIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")


def dockerd_config(insecure_registries: list[str], installed: Callable[[str], bool]) -> dict:
    """daemon.json of a generation's dockerd: the catalog's engine runtimes its root holds (their root
    paths; ``installed(path)`` says which exist), the run's registries as insecure."""
    runtimes = dockerd_runtimes(
        {name: tool.binary for name, tool in catalog.added_runtimes().items() if installed(tool.binary)}
    )
    return {
        "runtimes": runtimes,
        "insecure-registries": list(insecure_registries),
        "features": {"buildkit": False},
        "default-ulimits": {
            "nofile": {"Name": "nofile", "Soft": 1024, "Hard": 1024},
            "nproc": {"Name": "nproc", "Soft": 1024, "Hard": 1024},
        },
    }


def dockerd_argv(state_dir: Path, config: Path, containerd_socket: Path) -> list[str]:
    return [
        "dockerd",
        "--config-file",
        str(config),
        "--data-root",
        str(state_dir / "data"),
        "--exec-root",
        str(state_dir / "exec"),
        "--host",
        f"unix://{state_dir / 'docker.sock'}",
        "--pidfile",
        str(state_dir / "docker.pid"),
        # Its own containerd, never one it finds at the default socket.
        "--containerd",
        str(containerd_socket),
        "--containerd-namespace",
        "ocimatrix-moby",
        "--containerd-plugins-namespace",
        "ocimatrix-moby-plugins",
        *DOCKERD_NETWORK_FLAGS,
    ]


@dataclass
class GenerationEndpoints:
    """What the suites drive: sockets and the registry, all reachable from the host."""

    generation: str
    containerd_socket: Path
    docker_socket: Path
    registry: str  # 127.0.0.1:PORT
    podman_env: dict[str, str]

    @property
    def docker_endpoint(self) -> str:
        return f"unix://{self.docker_socket}"


def start_containerd(host: GenerationHost, sandbox_image: str, registry_hosts: list[str]) -> Path:
    state = host.state_dir / "containerd"
    socket = state / "containerd.sock"
    # The root's containerd says which config version it reads natively (sid's 2.x: version 3).
    probed = host.run(["containerd", "--version"], timeout=30)
    if probed.returncode != 0:
        raise HarnessError(f"containerd --version in the root of {host.name} failed: {probed.stderr.strip()}")
    version = config_version(probed.stdout)
    # The run's recording shim where the root sees the run's state directory (it execs the root's runc).
    run_state = host.shared[0] if host.shared else None
    layout = write_containerd_config(state, socket, sandbox_image, registry_hosts, version=version, run_state=run_state)
    probe = ["ctr", "--address", str(socket), "version"]
    host.start_daemon(
        "containerd",
        ["containerd", "--config", str(layout.config)],
        lambda: socket.exists() and host.run(probe, timeout=10).returncode == 0,
    )
    return socket


def start_dockerd(host: GenerationHost, containerd_socket: Path, insecure_registries: list[str]) -> Path:
    state = host.state_dir / "dockerd"
    state.mkdir(parents=True, exist_ok=True)
    config = state / "daemon.json"
    installed = lambda path: (host.rootfs / path.lstrip("/")).exists()  # noqa: E731 - the root's view of a path
    document = dockerd_config(insecure_registries, installed)
    if host.shared:
        # The run's recording shim, where the root sees the run's state directory: it execs the root's runc,
        # so the engine-config test reads what this generation's dockerd hands its runtime.
        document["runtimes"][recording_shim.RECORDING_RUNTIME] = {"path": str(recording_shim.install(host.shared[0]))}
    config.write_text(json.dumps(document, indent=1) + "\n")
    socket = state / "docker.sock"
    probe = ["docker", "--host", f"unix://{socket}", "version", "--format", "{{.Server.Version}}"]
    host.start_daemon(
        "dockerd",
        dockerd_argv(state, config, containerd_socket),
        lambda: socket.exists() and host.run(probe, timeout=10).returncode == 0,
    )
    return socket


def start_registry(host: GenerationHost, port: int = 0) -> str:
    state = host.state_dir / "registry"
    state.mkdir(parents=True, exist_ok=True)
    address = f"127.0.0.1:{port or free_port()}"
    config = state / "config.yml"
    config.write_text(registry_config(state / "data", address))
    host.start_daemon(
        "registry",
        ["docker-registry", "serve", str(config)],
        lambda: httpx.get(f"http://{address}/v2/", timeout=2).status_code in (200, 401),
    )
    return address


def podman_remover(host: GenerationHost, env: dict[str, str]):
    """A ``before_stop`` hook: running podman containers would keep the namespace busy."""

    def remove() -> None:
        host.run(["podman", "rm", "--all", "--force", "--time", "0"], env=env, timeout=60)

    return remove


def docker_remover(host: GenerationHost, socket: Path):
    """A ``before_stop`` hook: dockerd would otherwise wait each running container's stop timeout."""

    def remove() -> None:
        docker = ["docker", "--host", f"unix://{socket}"]
        listed = host.run([*docker, "ps", "--all", "--quiet"], timeout=30)
        ids = listed.stdout.split()
        if ids:
            host.run([*docker, "rm", "--force", *ids], timeout=60)

    return remove


def start_generation_services(
    host: GenerationHost,
    sandbox_image: str = "127.0.0.1/ocimatrix/pause:latest",
    registry_port: int = 0,
    trusted_registries: tuple[str, ...] = (),
) -> GenerationEndpoints:
    """Registry, containerd and dockerd of the generation, and podman's config; ``host.stop()`` ends them.

    ``trusted_registries`` (127.0.0.1:PORT) are trusted over plain HTTP besides the generation's own:
    the run's one registry, through which images cross generations. It is on loopback, reachable from
    inside, since only the mount namespace is private.
    """
    registry = start_registry(host, registry_port)
    registries = [*trusted_registries, registry]
    containerd = start_containerd(host, sandbox_image, registries)
    docker = start_dockerd(host, containerd, registries)
    host.before_stop.append(docker_remover(host, docker))
    podman_env = write_podman_config(host.state_dir / "podman", registries)
    host.before_stop.append(podman_remover(host, podman_env))
    return GenerationEndpoints(host.name, containerd, docker, registry, podman_env)
