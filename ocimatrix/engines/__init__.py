"""Engine drivers, one module per tool, all behind ``ocimatrix.engines.base.Engine``."""

from __future__ import annotations

from ocimatrix.engines.base import Engine
from ocimatrix.engines.containerd_engine import ContainerdEngine
from ocimatrix.engines.cri_engine import CriEngine, CrioEngine
from ocimatrix.engines.docker_engine import DockerEngine
from ocimatrix.engines.podman_engine import BuildahEngine, PodmanEngine

ENGINES: dict[str, type[Engine]] = {
    DockerEngine.name: DockerEngine,
    PodmanEngine.name: PodmanEngine,
    ContainerdEngine.name: ContainerdEngine,
    CriEngine.name: CriEngine,
    CrioEngine.name: CrioEngine,
}
BUILDERS: dict[str, type[Engine]] = {
    DockerEngine.name: DockerEngine,
    PodmanEngine.name: PodmanEngine,
    BuildahEngine.name: BuildahEngine,
}


def make_engine(name: str, endpoints, *, builder: bool = False) -> Engine:
    table = BUILDERS if builder else ENGINES
    if name not in table:
        from ocimatrix.errors import UsageError

        kind = "builder" if builder else "engine"
        raise UsageError(f"unknown {kind} '{name}'; known: {', '.join(table)}")
    return table[name](endpoints)
