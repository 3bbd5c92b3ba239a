"""Fixtures every suite shares: the engine drivers a cell names, ready or skipped with the reason."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from ocimatrix.cached_steps import Outcome, PullStep, PushedImage, cached_step
from ocimatrix.engines import BUILDERS, ENGINES
from ocimatrix.engines.base import Engine, runtime_versions
from ocimatrix.images.busybox import host_platform_name
from ocimatrix.images.contexts import lifecycle_context
from ocimatrix.verdicts import skip_unless_started

_instances: dict[tuple[str, bool], Engine] = {}
_versions: dict[tuple[str, bool], dict[str, str]] = {}
_runtime_versions: dict[str, str] = {}


def engine_or_skip(name: str, endpoints, *, builder: bool = False, named: dict[str, str] | None = None) -> Engine:
    """The driver for ``name``, once per worker; a tool this host lacks skips the cell with the reason.

    ``named`` is the matrix's ``endpoints:``: a daemon of the user's is driven only when named there.
    """
    key = (name, builder)
    if key not in _instances:
        table = BUILDERS if builder else ENGINES
        if name not in table:
            kind = "builder" if builder else "engine"
            pytest.skip(f"no {kind} driver for {name} on this host (drivers: {', '.join(table)})")
        endpoint = (named or {}).get(name)
        _instances[key] = table[name](endpoints, endpoint=endpoint) if endpoint else table[name](endpoints)
    engine = _instances[key]
    reason = engine.unavailable()
    if reason:
        pytest.skip(reason)
    if key not in _versions:
        _versions[key] = engine.versions()
    return engine


def note_versions(recorder, engine: Engine, runtime: str | None = None) -> None:
    recorder.versions.update(_versions.get((engine.name, False)) or _versions.get((engine.name, True)) or {})
    if runtime:
        # A CRI engine's handler may run binaries other than the host's: record only what it vouches for.
        vouched = getattr(engine, "runtime_version_of", None)
        if vouched is not None:
            recorder.versions[runtime] = vouched(runtime)
            return
        if not _runtime_versions:
            _runtime_versions.update(runtime_versions())
        recorder.versions[runtime] = _runtime_versions.get(runtime, "")


@pytest.fixture
def runner(cell, endpoints, matrix, recorder) -> Engine:
    """The engine that pulls and runs in this cell."""
    engine = engine_or_skip(cell["engine"], endpoints, named=matrix.endpoints)
    note_versions(recorder, engine, cell.get("runtime"))
    return engine


@pytest.fixture
def builder(cell, endpoints, matrix, recorder) -> Engine:
    """The tool that builds and pushes the image this cell runs."""
    engine = engine_or_skip(cell["builder"], endpoints, builder=True, named=matrix.endpoints)
    note_versions(recorder, engine)
    return engine


# --- the lifecycle probe image, shared by the suites that build, push and pull it ------------------

_built: dict = {}


@pytest.fixture
def pushed_image(cell, builder: Engine, endpoints, run_id) -> Outcome:
    """The probe built by the cell's builder and pushed to the embedded registry (``.get()`` it)."""
    skip_unless_started(endpoints, "registry", "embedded registry")
    fmt = cell.get("format", "oci")
    compression = cell.get("compression", "gzip")
    platform = host_platform_name()
    key = (builder.name, fmt, compression, platform)

    def build_and_push() -> PushedImage:
        ref = f"{endpoints.registry}/ocimatrix/lifecycle/{builder.name}-{fmt}-{compression}:{run_id}"
        # Under the services' state dir, so the build context goes when the run ends.
        workdir = Path(tempfile.mkdtemp(prefix="build-", dir=endpoints.state_dir))
        context = lifecycle_context(workdir, platform, build_id=ref)
        builder.build(context, ref, format=fmt, platform=platform)
        digest = builder.push(ref, format=fmt, compression=compression)
        # Drop the builder's copy so that a runner sharing its store (docker after docker, podman
        # after buildah) really pulls from the registry instead of finding the image at hand.
        builder.remove_image(ref)
        return PushedImage(ref, digest, builder.name)

    return cached_step(_built, key, build_and_push)


@pytest.fixture
def pulled_image(runner: Engine, pushed_image: Outcome) -> PullStep:
    return PullStep(runner, pushed_image)
