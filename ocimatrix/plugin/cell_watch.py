"""The embedded services a cell relies on: checked before it runs and again when it does not pass.

A service found dead makes the cell that found it ``error`` (with the service's last log lines as
evidence), never ``failed`` or ``skipped``; the service is restarted (at most twice per run, see
``host/supervision.py``) so the cells after it run against a live one. Only the cell's own services
count: a podman cell is not touched by a dockerd that died beside it.

A daemon the user named in the matrix's ``endpoints:`` is watched the same way (its protocol
health, see ``host/supervision.probe_once``), but never restarted: the run does not own it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache

from ocimatrix.host.supervision import PROBE_ATTEMPTS, Probe, ServiceBook, probe_once
from ocimatrix.matrix import Matrix
from ocimatrix.tools import catalog

# The services behind each kind of embedded registry; another implementation (``embedded: NAME``) is one
# service of its own name, always of a generation (supervised as NAME@GENERATION).
_REGISTRY_SERVICES = {
    True: ("registry",),
    "token": ("token-server", "registry-token"),
    "basic": ("registry-basic",),
}


@dataclass(frozen=True)
class UserEndpoint:
    """A daemon of the user's a cell drives (named in the matrix's ``endpoints:``): probed, never restarted."""

    tool: str
    endpoint: str
    probe: Probe = field(compare=False)  # one endpoint, one watch: the probe follows from the two above

    def __str__(self) -> str:
        return f"{self.tool} at {self.endpoint} (named in the matrix)"


def user_endpoint(tool: str, endpoint: str) -> UserEndpoint | None:
    """How to ask the user's ``tool`` daemon at ``endpoint`` whether it answers; None for an endpoint
    the harness has no protocol probe for (not a unix socket)."""
    if not endpoint.startswith("unix://"):
        return None
    try:
        found = catalog.lookup(tool)
    except Exception:  # noqa: BLE001 - a tool the catalog does not know is not watched
        return None
    socket = endpoint.removeprefix("unix://")
    if found.capabilities.cri:
        return UserEndpoint(tool, endpoint, Probe("cri", socket))
    return UserEndpoint(tool, endpoint, Probe(found.daemon_api, socket)) if found.daemon_api else None


def services_of_cell(cell: dict | None, matrix: Matrix) -> list[str | UserEndpoint]:
    """The harness's services (their ``ServiceBook`` names) and the user's daemons the cell relies on."""
    cell = cell or {}
    names: list[str | UserEndpoint] = []
    for axis in ("builder", "engine"):
        tool = cell.get(axis)
        if tool and tool in matrix.endpoints:  # a user's daemon: watched, never the harness's to restart
            watched = user_endpoint(tool, matrix.endpoints[tool])
            if watched is not None:
                names.append(watched)
            continue
        if not tool:
            continue
        names += catalog.embedded_services(tool)  # as the tool's catalog line declares them
    if "builder" in cell or "engine" in cell:
        names.append("registry")  # every image a cell runs passes through the embedded registry
    registry = matrix.registries.get(cell.get("registry", "")) if cell.get("registry") else None
    if registry:
        embedded = registry.get("embedded")
        kind = True if embedded in (True, "true") else embedded
        services = (kind,) if kind in catalog.registry_implementations() else _REGISTRY_SERVICES.get(kind, ())
        if registry.get("generation"):  # the registry of a generation's root, supervised as registry@trixie
            services = tuple(f"{service}@{registry['generation']}" for service in services)
        names += services
    return list(dict.fromkeys(names))


@cache
def _book() -> ServiceBook | None:
    from ocimatrix.endpoints import ENDPOINTS_ENV, Endpoints

    path = os.environ.get(ENDPOINTS_ENV)
    if not path:
        return None
    try:
        return ServiceBook(Endpoints.load(path).state_dir)
    except (OSError, ValueError, TypeError):
        return None


@dataclass
class Watch:
    """One cell's view of its services: restart counts when it started, and what it found."""

    cell: str
    services: list[str]
    restarts_at_start: dict[str, int] = field(default_factory=dict)
    user_endpoints: list[UserEndpoint] = field(default_factory=list)

    @classmethod
    def begin(cls, nodeid: str, services: list[str | UserEndpoint]) -> Watch:
        book = _book()
        names = book.names() if book else []
        watch = cls(
            nodeid,
            [s for s in services if isinstance(s, str) and s in names],
            user_endpoints=[s for s in services if isinstance(s, UserEndpoint)],
        )
        if book:
            watch.restarts_at_start = {s: book.restart_count(s) for s in watch.services}
        return watch

    def dead_on_arrival(self) -> tuple[str, dict[str, str]] | None:
        """Before the cell: a service it needs that no longer answers (then restarted)."""
        return self._findings("before this cell started")

    def broke_during(self) -> tuple[str, dict[str, str]] | None:
        """After a cell that did not pass: a service that died, or was restarted, while it ran."""
        found = self._findings("while this cell ran")
        if found:
            return found
        book = _book()
        for name in self.services:
            if book and book.restart_count(name) > self.restarts_at_start.get(name, 0):
                return f"{name} stopped answering while this cell ran (another worker restarted it)", {}
        return None

    def _findings(self, when: str) -> tuple[str, dict[str, str]] | None:
        reasons, logs = [], {}
        for user in self.user_endpoints:
            problem = None
            for _attempt in range(PROBE_ATTEMPTS):  # a slow answer on a busy host is still an answer
                problem = probe_once(user.probe)
                if problem is None:
                    break
            if problem is not None:
                reasons.append(
                    f"{user} stopped answering {when} ({problem}); the harness never restarts a user's daemon"
                )
        book = _book()
        for name in self.services if book is not None else ():
            health = book.health(name)
            if health.problem is None:
                continue
            logs[f"{name}_log"] = health.log_tail
            reasons.append(f"{name} stopped answering {when} ({health.problem}); {book.revive(name, self.cell)}")
        return ("; ".join(reasons), logs) if reasons else None
