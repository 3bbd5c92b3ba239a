"""go-containerregistry's registry (``crane registry serve``): a second registry implementation beside
distribution's, run from the root of a generation whose crane has it (sid's crane 0.20.7).

It runs in the generation's namespace like that generation's own registry, with its blobs on disk under
the run's state directory (``--disk``), and is supervised under the tool's cell spelling
(``crane@sid``) with the registries' health probe: any answer to ``GET /v2/``. Nothing it does should
reach beyond loopback, so its proxy variables point at a closed loopback port: a lookup it might
attempt fails here instead of resolving a public name.

The run records where it answers in ``Endpoints.registries`` under the same spelling, as matrix-style
settings (``url``, ``plain_http``, ``version``); ``registries.targets`` reads them for a matrix's
``embedded: crane`` entry. A crane that could not start is recorded in ``Endpoints.errors`` under that
name: its cells are errors, never skips.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from ocimatrix.generations.namespace import GenerationHost
from ocimatrix.system.offline import OFFLINE_ENV
from ocimatrix.system.process import free_port
from ocimatrix.tools import catalog

TOOL = "crane"


def service_name(generation: str) -> str:
    """What supervision, ``Endpoints.registries`` and ``Endpoints.errors`` call the crane of ``generation``."""
    return catalog.spelled(TOOL, generation)


def has_registry(host: GenerationHost) -> bool:
    """Whether ``host``'s root installs crane (the catalog says so) and holds its binary."""
    if host.name not in catalog.generations_of(TOOL):
        return False
    tool = catalog.lookup(service_name(host.name))
    return tool.in_root(host.name) and (host.rootfs / tool.binary.lstrip("/")).exists()


def reserve_address(generation: str) -> str:
    """127.0.0.1:PORT for the crane of ``generation``, chosen before any daemon starts so that every one
    of them can be told to trust it ("" for a generation whose root has no crane)."""
    return f"127.0.0.1:{free_port()}" if generation in catalog.generations_of(TOOL) else ""


def serve_argv(generation: str, address: str, disk: str) -> list[str]:
    binary = catalog.lookup(service_name(generation)).binary
    return [binary, "registry", "serve", "--address", address, "--disk", disk]


def answers(url: str) -> bool:
    """The registries' health: any HTTP answer to ``GET /v2/`` (401 included)."""
    try:
        httpx.get(f"{url}/v2/", timeout=2)
    except httpx.HTTPError:
        return False
    return True


@dataclass
class CraneRegistry:
    """A started crane registry: where it answers and what the run records of it."""

    generation: str
    address: str  # 127.0.0.1:PORT
    version: str = ""

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def settings(self) -> dict[str, Any]:
        """Matrix-style settings, as ``Endpoints.registries`` holds the harness's own registries."""
        return {"url": self.url, "plain_http": True, "version": self.version}


def start_crane_registry(host: GenerationHost, version: str = "", port: int = 0) -> CraneRegistry:
    """``crane registry serve`` in ``host``'s namespace, its storage under the generation's state dir;
    returns once ``GET /v2/`` answers (``host.stop()`` ends it)."""
    state = host.state_dir / "crane-registry"
    disk = state / "blobs"
    disk.mkdir(parents=True, exist_ok=True)
    address = f"127.0.0.1:{port or free_port()}"
    url = f"http://{address}"
    host.start_daemon(TOOL, serve_argv(host.name, address, str(disk)), lambda: answers(url), env=dict(OFFLINE_ENV))
    return CraneRegistry(host.name, address, version)
