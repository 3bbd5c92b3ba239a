"""Where each service answers, the harness's own or one a matrix names: what every driver, suite and
the service watch read, written once by the controller into ``endpoints.json`` for every worker.

A running generation's own sockets, root and namespace are its ``GenerationSite`` (``site``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ocimatrix.endpoints.site import GenerationSite
from ocimatrix.errors import ServiceUnavailable
from ocimatrix.tools.catalog import TOOLS

ENDPOINTS_ENV = "OCIMATRIX_ENDPOINTS"


# The Endpoints fields that hold an embedded daemon's address: the registry's, and each one a catalog line names.
DAEMON_FIELDS = ("registry", *dict.fromkeys(t.embedded_endpoint for t in TOOLS if t.embedded_endpoint))


@dataclass
class Endpoints:
    """What the drivers need to reach the services; serialised so pytest-xdist workers share it."""

    state_dir: str
    registry: str = ""  # host:port of the embedded registry
    containerd: str = ""  # socket path
    docker: str = ""  # unix:// endpoint
    cri: str = ""  # unix:// endpoint of containerd's CRI
    podman_root: str = ""
    podman_env: dict[str, str] = field(default_factory=dict)
    sandbox_image: str = ""
    registries: dict[str, dict] = field(default_factory=dict)  # auth kind -> matrix-style registry settings
    # service -> why it isn't available. ``absent``: its tool isn't installed, true of the host (cells skip);
    # ``errors``: it is installed but the harness could not start it (cells are errors, never skips).
    absent: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # generation (trixie, sid) -> its GenerationSite as JSON: root, namespace, daemons (see generations/site.py)
    generations: dict[str, dict] = field(default_factory=dict)

    def address(self, daemon: str) -> str:
        """The address of embedded daemon ``daemon`` by its field name ("docker", "containerd", "cri" ...),
        as a tool's catalog line names it (``Tool.embedded_endpoint``); "" for none."""
        if not daemon or daemon not in DAEMON_FIELDS:
            return ""
        return getattr(self, daemon)

    def unavailable(self, service: str) -> tuple[str, bool] | None:
        """``(why, true_of_host)`` when ``service`` did not start; None when it did."""
        if service in self.absent:
            return self.absent[service], True
        if service in self.errors:
            return self.errors[service], False
        return None

    def site(self, generation: str):
        """The running ``generation`` (a ``GenerationSite``); ServiceUnavailable when the run did not start it:
        a root that could not be prepared or started is an error of its cells, never a skip."""
        if generation in self.generations:
            return GenerationSite.from_json(self.generations[generation])
        why = self.errors.get(generation_service(generation)) or "this run did not start it (no cell names it)"
        raise ServiceUnavailable(f"generation {generation}", why)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> Endpoints:
        return cls(**json.loads(Path(path).read_text()))


def generation_service(generation: str) -> str:
    """The name a generation's failure is recorded under in ``Endpoints.errors``."""
    return f"generation {generation}"


def service_missing(endpoints: Endpoints, service: str, what: str) -> str:
    """The skip reason when ``service`` is not installed here; raises when it is but did not start.

    Not installed is true of the host, decided before the cell; installed but not started is a
    harness fault, and a fault is never a skip.
    """
    found = endpoints.unavailable(service)
    if found is None:
        raise ServiceUnavailable(what, "the harness did not record an endpoint for it")
    why, true_of_host = found
    if true_of_host:
        return f"no {what}: {why}"
    raise ServiceUnavailable(what, f"it did not start: {why}")
