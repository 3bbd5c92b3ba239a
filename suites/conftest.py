"""Fixtures every suite shares: the engine drivers a cell names, ready or skipped with the reason."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from ocimatrix import evidence
from ocimatrix.engines.base import BoundTool, Engine, runtime_versions
from ocimatrix.engines.binding import bind
from ocimatrix.engines.identity import package_origin
from ocimatrix.errors import ServiceUnavailable, UsageError
from ocimatrix.images.busybox import host_platform_name
from ocimatrix.images.contexts import lifecycle_context
from ocimatrix.plugin.shared_steps import Outcome, PullStep, PushedImage, shared_step
from ocimatrix.plugin.verdicts import skip_unless_started
from ocimatrix.registries.targets import TargetUnavailable, resolve_target
from ocimatrix.run_ids import run_token
from ocimatrix.tools import catalog


class BoundTools:
    """The drivers this worker bound, each once: ready, or the reason a cell skips. Owned by the
    session fixture ``bound_tools``, which closes their clients when the session ends."""

    def __init__(self) -> None:
        self.instances: dict[tuple[str, str, str], BoundTool] = {}
        self.versions: dict[tuple[str, str, str], dict[str, str]] = {}
        self.runtime_versions: dict[str, str] = {}

    def get(self, name: str, endpoints, *, role: str, named: dict[str, str] | None = None) -> BoundTool:
        """The driver bound for ``name`` in ``role``; a tool this host lacks skips the cell with the
        reason. ``named`` is the matrix's ``endpoints:``: a daemon of the user's is driven only when
        named there."""
        endpoint = (named or {}).get(name) or ""
        key = (name, role, endpoint)
        if key not in self.instances:
            try:
                self.instances[key] = bind(name, endpoints, role=role, endpoint=endpoint or None)
            except UsageError as exc:
                pytest.skip(f"no {role} driver for {name} on this host: {exc}")
        tool = self.instances[key]
        reason = tool.unavailable()
        if reason:
            pytest.skip(reason)
        if key not in self.versions:
            self.versions[key] = tool.versions()
        return tool

    def note(self, recorder, role: str, tool: BoundTool, runtime: str | None = None) -> None:
        """The cell's versions (``cell["versions"]``, for the report) and the tool's full identity
        (``evidence["tools"][role]``: version, generation, binary or endpoint, package origin)."""
        key = next((k for k, t in self.instances.items() if t is tool), None)
        recorder.versions.update(self.versions.get(key) or {tool.label: tool.version()})
        tools = recorder.evidence.setdefault("tools", {})
        tools[role] = tool.identity()
        if runtime:
            tools["runtime"] = self.runtime_identity(tool, runtime)
            recorder.versions[runtime] = tools["runtime"]["version"]

    def runtime_identity(self, engine: BoundTool, runtime: str) -> dict[str, str]:
        """Which OCI runtime the engine hands containers to: the root's binary for an engine of another
        generation (its version from the root's manifest), this host's otherwise."""
        name, generation = catalog.split_generation(runtime)
        tool = catalog.lookup(runtime)
        found = {"tool": name, "generation": generation, "binary": tool.binary}
        site = engine.site
        if site is not None and generation == engine.generation:
            packaged = site.tools.get(name) or {}
            found.update(
                version=packaged.get("version", ""),
                binary=f"{tool.binary} (in {site.rootfs})",
                origin=packaged.get("origin", f"the root of generation {generation}"),
                package=f"{tool.package} {packaged.get('version', '(not in the root)')}",
            )
            return found
        # A CRI engine's handler may run binaries other than the host's: record only what it vouches for.
        vouched = engine.runtime_version_of(runtime)
        if vouched is not None:
            found["version"] = vouched
        else:
            if not self.runtime_versions:
                self.runtime_versions.update(runtime_versions())
            found["version"] = self.runtime_versions.get(name, "")
        found.update(origin="this host", package=package_origin(tool.package))
        return found

    def close(self) -> None:
        for tool in self.instances.values():
            tool.close()
        self.instances.clear()


@pytest.fixture(scope="session")
def worker_cache() -> defaultdict[str, dict]:
    """What this worker keeps for the whole session, by use (steps done once, answers read once):
    held by the session, never by a module."""
    return defaultdict(dict)


@pytest.fixture(scope="session")
def bound_tools() -> Iterator[BoundTools]:
    shelf = BoundTools()
    yield shelf
    shelf.close()


@pytest.fixture
def runner(cell, endpoints, matrix, recorder, bound_tools: BoundTools) -> Engine:
    """The engine that pulls and runs in this cell."""
    engine = bound_tools.get(cell["engine"], endpoints, role="engine", named=matrix.endpoints)
    bound_tools.note(recorder, "engine", engine, cell.get("runtime"))
    return engine


@pytest.fixture
def builder(cell, endpoints, matrix, recorder, bound_tools: BoundTools) -> Engine:
    """The tool that builds and pushes the image this cell runs."""
    engine = bound_tools.get(cell["builder"], endpoints, role="builder", named=matrix.endpoints)
    bound_tools.note(recorder, "builder", engine)
    return engine


@pytest.fixture
def skopeo(endpoints, recorder, bound_tools: BoundTools):
    """skopeo, the third tool that copies images between registries, layouts and archives."""
    copier = bound_tools.get(catalog.REFERENCE_COPIER, endpoints, role="copier")
    bound_tools.note(recorder, "copier", copier)
    return copier


# --- the lifecycle probe image, shared by the suites that build, push and pull it ------------------


@pytest.fixture(scope="session")
def lifecycle_builds() -> dict:
    """This worker's view of the run's shared builds: (builder, format, compression, platform) -> Outcome."""
    return {}


def lifecycle_registry(cell, matrix, endpoints) -> tuple[str, str]:
    """(name, 127.0.0.1:PORT) of the registry the cell's image travels through: the embedded one, or
    a registry implementation the run started from a generation's root (go-containerregistry's), whose
    address every engine was told to trust before it started. Any other registry is skipped: the
    engines were not told to trust it."""
    name = cell.get("registry", "")
    settings = dict(matrix.registries.get(name) or {}) if name else {}
    if not name or (settings.get("embedded") is True and not settings.get("generation")):
        skip_unless_started(endpoints, "registry", "embedded registry")
        return name, endpoints.registry
    if settings.get("embedded") not in catalog.registry_implementations():
        pytest.skip(
            f"registry '{name}': the lifecycle suite pushes only where every engine was told at start to pull "
            "from (the embedded registry, a registry implementation from a generation's root)"
        )
    try:
        target = resolve_target(name, settings, endpoints)
    except TargetUnavailable as exc:
        # The harness was to start it: a registry that isn't there is the harness's fault.
        raise ServiceUnavailable(f"registry '{name}'", str(exc)) from None
    recorder = evidence.current()
    recorder.add("registry", target.describe())
    if target.version:
        recorder.versions[f"registry:{target.name}"] = target.version
    return name, target.host


@pytest.fixture
def pushed_image(cell, builder: Engine, endpoints, matrix, lifecycle_builds: dict) -> Outcome:
    """The probe built by the cell's builder and pushed to the cell's registry, the embedded one unless
    the cell names another (``.get()`` it).

    Built once per builder, generation, format, compression and registry for the whole run: the first
    worker to ask builds it, every runner of every worker pulls that same image.
    """
    registry, address = lifecycle_registry(cell, matrix, endpoints)
    fmt = cell.get("format", "oci")
    compression = cell.get("compression", "gzip")
    platform = host_platform_name()
    key = (builder.key, fmt, compression, platform, address)
    # The generation is in the name: podman and podman@trixie each push their own image.
    name = f"{builder.label.replace('@', '-')}-{fmt}-{compression}"
    # The shared step's name tells registries apart; the embedded registry's keeps the name it had.
    step = name if address == endpoints.registry else f"{name}-{registry}"

    def build_and_push() -> PushedImage:
        ref = f"{address}/ocimatrix/lifecycle/{name}:{run_token()}"
        # Under the services' state dir, so the build context goes when the run ends.
        workdir = Path(tempfile.mkdtemp(prefix="build-", dir=endpoints.state_dir))
        context = lifecycle_context(workdir, platform, build_id=ref)
        builder.build(context, ref, format=fmt, platform=platform)
        digest = builder.push(ref, format=fmt, compression=compression)
        # Drop the builder's copy so that a runner sharing its store (docker after docker, podman
        # after buildah) really pulls from the registry instead of finding the image at hand.
        builder.remove_image(ref)
        return PushedImage(ref, digest, builder.label)

    if key not in lifecycle_builds:
        # Per run: services kept up across runs (`ocimatrix services`) must not replay another run's build.
        shared = Path(endpoints.state_dir) / "lifecycle-builds" / run_token()
        lifecycle_builds[key] = shared_step(shared, step, build_and_push, asdict, lambda data: PushedImage(**data))
    return lifecycle_builds[key]


@pytest.fixture
def pulled_image(runner: Engine, pushed_image: Outcome, worker_cache) -> PullStep:
    return PullStep(runner, pushed_image, worker_cache["pulls"])
