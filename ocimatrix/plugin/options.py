"""The plugin's command-line options, and which matrix a run uses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ocimatrix.matrix import DEFAULT_MATRIX
from ocimatrix.plugin.items import MATRIX_ENV
from ocimatrix.resources import SUITES_DIR


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ocimatrix", "ocimatrix conformance matrix")
    group.addoption("--matrix", default=None, help="matrix file (default: matrix/default.yaml for suites/)")
    group.addoption("--results", default="reports/results.json", help="where to write results.json")
    group.addoption(
        "--endpoints",
        default=None,
        help="endpoints.json of services already running (default: start the embedded services)",
    )
    group.addoption("--ocimatrix-progress", action="store_true", help="print one line per finished cell")
    group.addoption(
        "--shard",
        default=None,
        metavar="K/N",
        help="run only the K-th of N deterministic slices of the cells (hosts of a nightly each take one)",
    )


def matrix_path(config: pytest.Config) -> str | None:
    explicit = config.getoption("matrix") or os.environ.get(MATRIX_ENV)
    if explicit:
        return explicit
    # Running suites/ without --matrix means "the default matrix", as `ocimatrix run` would.
    for arg in config.args:
        path = Path(arg.split("::")[0]).resolve()
        if path == SUITES_DIR or SUITES_DIR in path.parents:
            return str(DEFAULT_MATRIX)
    return None
