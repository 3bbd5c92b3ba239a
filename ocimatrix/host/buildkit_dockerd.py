"""The dockerd BuildKit builds in: a second dockerd of a generation, on the containerd image store.

BuildKit inside dockerd (the buildx ``docker`` driver) writes multi-platform images and attestation
manifests only when dockerd keeps its images in containerd (``"features": {"containerd-snapshotter":
true}``). The generation's own dockerd keeps the classic store, so the docker cells keep the outcomes
they have; this one runs beside it, on the same containerd under a namespace of its own, with its own
sockets and state. It is started only when the root installs a tool whose catalog line works through
it (``embedded_services``), and supervised as ``dockerd-buildkit@<generation>``.

The network rule holds: no bridge, no NAT, and its proxy variables point at a closed loopback port, so
a lookup BuildKit might attempt (a frontend image, a base image by a public name) fails here at once
instead of resolving a name; the builds ask for nothing but the run's registry on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ocimatrix.errors import HarnessError
from ocimatrix.generations.namespace import GenerationHost
from ocimatrix.host.generation_daemons import dockerd_argv, dockerd_config
from ocimatrix.system.offline import OFFLINE_ENV
from ocimatrix.tools import catalog

SERVICE = "dockerd-buildkit"  # what catalog lines name in embedded_services, and supervision's name stem
CONTAINERD_NAMESPACE = "ocimatrix-buildkit"  # its images in containerd, apart from the other dockerd's


def service_name(generation: str) -> str:
    return catalog.spelled(SERVICE, generation)


def client(host: GenerationHost) -> catalog.Tool | None:
    """The tool of ``host``'s root that builds through this dockerd (its binary in the root), if any."""
    return next(
        (
            tool
            for tool in catalog.TOOLS
            if SERVICE in tool.embedded_services
            and tool.in_root(host.name)
            and (host.rootfs / tool.binary.lstrip("/")).exists()
        ),
        None,
    )


def wanted(host: GenerationHost) -> bool:
    """Whether ``host``'s root installs a tool that builds through this dockerd, and holds its binary."""
    return client(host) is not None


def buildkit_config(insecure_registries: list[str], installed) -> dict:
    """The generation dockerd's daemon.json, with BuildKit on and the containerd image store."""
    config = dockerd_config(insecure_registries, installed)
    config["features"] = {"buildkit": True, "containerd-snapshotter": True}
    # Builds here run no container (FROM scratch, no RUN): the default runtime is enough, and the
    # others' probes would only fill its log.
    config["runtimes"] = {}
    return config


def buildkit_argv(state: Path, config: Path, containerd_socket: Path) -> list[str]:
    argv = dockerd_argv(state, config, containerd_socket)
    namespace = argv.index("--containerd-namespace") + 1
    argv[namespace] = CONTAINERD_NAMESPACE
    plugins = argv.index("--containerd-plugins-namespace") + 1
    argv[plugins] = f"{CONTAINERD_NAMESPACE}-plugins"
    return argv


def start_buildkit_dockerd(host: GenerationHost, containerd_socket: Path, insecure_registries: list[str]) -> Path:
    """Start it in ``host``'s namespace; returns its socket once ``docker version`` answers."""
    state = host.state_dir / SERVICE
    state.mkdir(parents=True, exist_ok=True)
    config = state / "daemon.json"
    installed = lambda path: (host.rootfs / path.lstrip("/")).exists()  # noqa: E731 - the root's view of a path
    config.write_text(json.dumps(buildkit_config(insecure_registries, installed), indent=1) + "\n")
    socket = state / "docker.sock"
    tool = client(host)
    if tool is None:
        raise HarnessError(f"no tool of the root of {host.name} builds through {SERVICE}")
    probe = [tool.binary, "--host", f"unix://{socket}", "version", "--format", "{{.Server.Version}}"]
    host.start_daemon(
        SERVICE,
        buildkit_argv(state, config, containerd_socket),
        lambda: socket.exists() and host.run(probe, timeout=10).returncode == 0,
        env=dict(OFFLINE_ENV),
    )
    return socket


# What a reach beyond loopback leaves in dockerd's log: a name looked up (the harness names every
# service by 127.0.0.1), BuildKit resolving an image elsewhere, a request through the closed proxy, a
# dial to an address other than 127.0.0.1.
OUTSIDE = re.compile(
    r"\blookup [\w.-]+|resolve source metadata for (?!127\.0\.0\.1)|proxyconnect"
    r"|dial tcp (?!127\.0\.0\.1[:\]])[\w.\[\]:-]+"
)


def log_path(run_state: Path, generation: str) -> Path:
    """Where the run (state directory ``run_state``) keeps this dockerd's log for ``generation``."""
    return run_state / "generations" / generation / f"{SERVICE}.log"


def reaches_outside(log: str) -> list[str]:
    """The lines of a log of this dockerd that show a reach beyond loopback."""
    return [line for line in log.splitlines() if OUTSIDE.search(line)]


def pidfile(host: GenerationHost) -> Path:
    return host.state_dir / SERVICE / "docker.pid"
