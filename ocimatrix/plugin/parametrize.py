"""Cells become parameters: each suite test is parametrized with the matrix's cells projected onto
the axes it declares, and ``--shard K/N`` keeps a stable slice of them."""

from __future__ import annotations

import zlib

import pytest

from ocimatrix.plugin.expectations import apply_expectations
from ocimatrix.plugin.items import MATRIX_KEY, suite_of


def cell_id(cell: dict[str, str], quiet: dict[str, str] | None = None) -> str:
    """The cell's values joined; an axis in ``quiet`` (axis -> default value) joins only away from its default."""
    quiet = quiet or {}
    return "-".join(str(v).replace("/", "_") for k, v in cell.items() if k not in quiet or quiet[k] != v)


def quiet_defaults(marker: pytest.Mark, matrix, suite: str | None) -> dict[str, str]:
    """``@pytest.mark.axes(..., quiet=("registry",))``: axes a test took on after its cells had ids. A cell
    at the axis's default value (the suite's first) keeps the id it had, so its history and listings hold."""
    defaults: dict[str, str] = {}
    for axis in marker.kwargs.get("quiet", ()):
        values = (matrix.suites.get(suite) or {}).get(axis) if suite else None
        values = values or matrix.axes.get(axis) or ()
        if values:
            defaults[axis] = values[0]
    return defaults


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cell" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("axes")
    if marker is None:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: a test taking 'cell' needs @pytest.mark.axes(...)")
    matrix = metafunc.config.stash.get(MATRIX_KEY, None)
    if matrix is None:
        metafunc.parametrize("cell", [pytest.param(None, marks=pytest.mark.skip(reason="no matrix loaded"))])
        return
    suite = suite_of(metafunc.definition.path)
    cells = matrix.cells_for(marker.args, suite)
    if not cells:
        reason = f"matrix {matrix.name} has no cells for axes {', '.join(marker.args)}"
        metafunc.parametrize("cell", [pytest.param(None, marks=pytest.mark.skip(reason=reason))])
        return
    quiet = quiet_defaults(marker, matrix, suite)
    metafunc.parametrize("cell", cells, ids=[cell_id(c, quiet) for c in cells])


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    k, sep, n = text.partition("/")
    if not (sep and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise pytest.UsageError(f"--shard {text}: expected K/N with 1 <= K <= N, e.g. --shard 2/4")
    return int(k), int(n)


def in_shard(nodeid: str, shard: tuple[int, int] | None) -> bool:
    """Stable across hosts and Python runs (unlike hash()), so N hosts together cover every cell once."""
    if shard is None:
        return True
    k, n = shard
    return zlib.crc32(nodeid.encode()) % n == k - 1


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    matrix = config.stash.get(MATRIX_KEY, None)
    if matrix is None:
        return
    shard = parse_shard(config.getoption("shard"))
    keep, drop = [], []
    for item in items:
        suite = suite_of(item.path)
        left_out = suite and (not matrix.runs_suite(suite) or matrix.deselects(suite, item.name))
        if left_out or not in_shard(item.nodeid, shard):
            drop.append(item)
            continue
        keep.append(item)
        apply_expectations(item, matrix)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
