"""What every part of the plugin reads off a pytest item: its cell, its suite, and the stash keys
under which the parts hand each other the matrix, a test's state and its expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocimatrix.matrix import Matrix
from ocimatrix.resources import SUITES_DIR

MATRIX_ENV = "OCIMATRIX_MATRIX"  # the matrix file, for xdist workers and `ocimatrix services`
RECORD_KEY = "ocimatrix_record"  # the user property a test's record travels to the controller in

MATRIX_KEY = pytest.StashKey[Matrix]()
STATE_KEY = pytest.StashKey[dict]()
EXPECTATION_KEY = pytest.StashKey[dict]()
PENDING_KEY = pytest.StashKey[list]()


def suite_of(path: Path) -> str:
    try:
        return Path(path).resolve().relative_to(SUITES_DIR).parts[0]
    except (ValueError, IndexError):
        return ""


def cell_of(item: pytest.Item) -> dict | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("cell") if callspec else None
