"""What every self-test shares: pytester, and an environment no test leaks into the next one."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    # An in-process run of the plugin exports OCIMATRIX_MATRIX, OCIMATRIX_RUN_ID and the endpoints file
    # for its workers: a later test (or a subprocess it starts) must not inherit them.
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)
