"""Fixtures every suite shares: the engine drivers a cell names, ready or skipped with the reason."""

from __future__ import annotations

import pytest

from ocimatrix.engines import BUILDERS, ENGINES
from ocimatrix.engines.base import Engine, runtime_versions

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
