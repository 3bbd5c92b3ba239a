"""Fixtures of the platforms suite: the multi-platform index of the cell's builder and format, its
pulls by the cell's runner, and the host's ability to run a platform.

The domain work lives in ``ocimatrix.platform_images``: building and reading the index
(``index.py``), sharing that build between the xdist workers (``shared.py``), pulling and telling
which entry a runner chose (``pulls.py``). Here it is only bound to the cell.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from ocimatrix.engines.base import Engine
from ocimatrix.errors import OcimatrixError
from ocimatrix.host import platforms as host_platforms
from ocimatrix.images.busybox import busybox_for
from ocimatrix.platform_images.index import IndexEntry, PlatformIndex, build_platform_index
from ocimatrix.platform_images.pulls import Pulled, pull_for, selection
from ocimatrix.platform_images.shared import shared_index
from ocimatrix.plugin.shared_steps import Outcome
from ocimatrix.plugin.verdicts import skip_unless_started
from ocimatrix.run_ids import run_token

SUITE = "platforms"


def shared_dir(endpoints, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory every worker of this run sees: the services' state dir, which a generation's root
    sees at the same path (its builders read their build contexts there); else the base temp's
    parent under xdist."""
    if endpoints.state_dir:
        return Path(endpoints.state_dir)
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def suite_platforms(matrix) -> list[str]:
    return [c["platform"] for c in matrix.cells_for(("platform",), SUITE)]


@pytest.fixture
def platform_index(cell, builder: Engine, endpoints, matrix, tmp_path_factory, worker_cache) -> Outcome:
    """The (builder, format) index over all the suite's platforms; ``.get()`` it in the test body."""
    skip_unless_started(endpoints, "registry", "embedded registry")
    fmt = cell["format"]
    key = (builder.key, fmt)
    indexes = worker_cache["platform indexes"]
    if key not in indexes:

        def build(workdir: Path) -> PlatformIndex:
            platforms = suite_platforms(matrix)
            return build_platform_index(builder, endpoints.registry, fmt, platforms, workdir, run_token())

        shared = shared_dir(endpoints, tmp_path_factory) / "platform-indexes"
        indexes[key] = shared_index(shared, f"{builder.label.replace('@', '-')}-{fmt}", build)
    return indexes[key]


@pytest.fixture
def pull_index(
    runner: Engine, endpoints, tmp_path_factory, worker_cache
) -> Callable[[PlatformIndex, str | None, str], Outcome]:
    """``pull_index(index, platform_or_None, name) -> Outcome`` with the cell's runner."""
    locks = shared_dir(endpoints, tmp_path_factory) / "platform-indexes"

    def pull(index: PlatformIndex, platform: str | None, name: str) -> Outcome:
        return pull_for(runner, index, platform, name, worker_cache["platform pulls"], lock_dir=locks)

    return pull


@pytest.fixture
def record_selection(recorder) -> Callable[[PlatformIndex, Pulled], IndexEntry | None]:
    """``record_selection(index, pulled) -> IndexEntry | None``: what the runner chose, as evidence
    (``selected``, and ``selected_platform`` when an entry matched): observed, never part of the cell."""

    def record(index: PlatformIndex, pulled: Pulled) -> IndexEntry | None:
        entry, seen = selection(index, pulled)
        recorder.add("selected", seen)
        if entry is not None:
            recorder.add("selected_platform", entry.name)
        return entry

    return record


def support_or_skip(platform: str, executable: dict[str, str | None]) -> host_platforms.PlatformSupport:
    """How the host runs ``platform``; a platform it can't run skips the cell with the reason.
    ``executable``: platform -> why its busybox can't run here ("" when it can), asked once."""
    support = host_platforms.detect(platform)
    if not support.runnable:
        pytest.skip(f"this host can't run {platform}: {support.detail}")
    if platform not in executable:
        try:
            executable[platform] = host_platforms.can_execute(busybox_for(platform))
        except OcimatrixError as exc:
            executable[platform] = str(exc)
    if executable[platform]:
        pytest.skip(f"this host can't run {platform} ({support.detail}): {executable[platform]}")
    return support


@pytest.fixture
def host_support(worker_cache) -> Callable[[str], host_platforms.PlatformSupport]:
    """``host_support(platform) -> PlatformSupport``, skipping the cell if this host can't run it."""
    executable = worker_cache["executable platforms"]
    return lambda platform: support_or_skip(platform, executable)
