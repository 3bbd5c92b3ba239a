"""The pytest plugin: matrix cells become parameters, outcomes become results records.

Suite tests ask for a ``cell`` fixture and say which axes they vary over with
``@pytest.mark.axes(...)``; the plugin parametrizes them with the matrix's cells. One module per job:
``options`` (command line, which matrix), ``parametrize`` (cells and shards), ``expectations``
(known incompatibilities), ``judging`` (each phase's verdict and the test's record), ``controller``
(services, progress, ``results.json``) and ``fixtures``. This module is what pytest registers: the
hooks and fixtures below are the plugin's surface.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from ocimatrix.errors import OcimatrixError
from ocimatrix.matrix import load_matrix
from ocimatrix.plugin.controller import Controller, collect_tool_versions, eta_text
from ocimatrix.plugin.expectations import VersionedExpectations
from ocimatrix.plugin.fixtures import endpoints, matrix, recorder, run_id
from ocimatrix.plugin.items import EXPECTATION_KEY, MATRIX_ENV, MATRIX_KEY, PENDING_KEY, RECORD_KEY, cell_of, suite_of
from ocimatrix.plugin.judging import build_record, pytest_runtest_makereport, pytest_runtest_setup
from ocimatrix.plugin.options import matrix_path, pytest_addoption
from ocimatrix.plugin.parametrize import (
    cell_id,
    in_shard,
    parse_shard,
    pytest_collection_modifyitems,
    pytest_generate_tests,
)
from ocimatrix.run_ids import RUN_ID_ENV

__all__ = [
    "EXPECTATION_KEY",
    "MATRIX_ENV",
    "MATRIX_KEY",
    "PENDING_KEY",
    "RECORD_KEY",
    "Controller",
    "VersionedExpectations",
    "build_record",
    "cell_id",
    "cell_of",
    "collect_tool_versions",
    "endpoints",
    "eta_text",
    "in_shard",
    "matrix",
    "parse_shard",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
    "pytest_unconfigure",
    "recorder",
    "run_id",
    "suite_of",
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "axes(*names): the matrix axes a suite test is parametrized over")
    config.addinivalue_line("markers", "spec(section, url): the spec section a suite test checks")
    path = matrix_path(config)
    if path is None:
        return
    try:
        loaded = load_matrix(path)
    except OcimatrixError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[MATRIX_KEY] = loaded
    config.pluginmanager.register(VersionedExpectations(), "ocimatrix-versioned-expectations")
    parse_shard(config.getoption("shard"))  # a bad --shard is refused before any service starts
    from ocimatrix.plugin.allure_labels import register as register_allure_labels

    register_allure_labels(config)  # suite, spec section and cell axes as Allure labels, when --alluredir
    if hasattr(config, "workerinput"):
        return  # workers reuse what the controller started (through the environment)
    os.environ[MATRIX_ENV] = str(Path(path).resolve())
    os.environ.setdefault(RUN_ID_ENV, secrets.token_hex(4))
    controller = Controller(config, loaded)
    config.pluginmanager.register(controller, "ocimatrix-controller")
    controller.start_services()


def pytest_unconfigure(config: pytest.Config) -> None:
    controller = config.pluginmanager.get_plugin("ocimatrix-controller")
    if controller is not None:
        controller.stop_services()
