"""The session fixtures every suite may ask for: the matrix, the run's id, the services' endpoints,
and the test's recorder."""

from __future__ import annotations

import os

import pytest

from ocimatrix import evidence
from ocimatrix.matrix import Matrix
from ocimatrix.plugin.items import MATRIX_KEY
from ocimatrix.run_ids import run_id as worker_run_id


@pytest.fixture(scope="session")
def matrix(request: pytest.FixtureRequest) -> Matrix:
    loaded = request.config.stash.get(MATRIX_KEY, None)
    if loaded is None:
        pytest.skip("no matrix loaded (run through `ocimatrix run` or `pytest suites/`)")
    return loaded


@pytest.fixture(scope="session")
def run_id() -> str:
    """Unique per run and per xdist worker, so parallel cells never share an image name."""
    return worker_run_id()


@pytest.fixture(scope="session")
def endpoints():
    from ocimatrix.endpoints import ENDPOINTS_ENV, Endpoints

    path = os.environ.get(ENDPOINTS_ENV)
    if not path:
        pytest.skip("no embedded services are running (run through `ocimatrix run`)")
    return Endpoints.load(path)


@pytest.fixture
def recorder() -> evidence.Recorder:
    """This test's repro commands and evidence (drivers write into it too)."""
    return evidence.current()
