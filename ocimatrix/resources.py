"""Where the harness's data lives: the suites, the JSON schemas and the shipped matrices.

In a source checkout (and an editable install) they are the top-level ``suites/``, ``schemas/`` and
``matrix/`` folders. A wheel carries copies of them under ``ocimatrix/_data/`` (see setup.py), so an
installed ``ocimatrix`` works from any directory without the checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_DIR = PACKAGE_DIR / "_data"
DATA_FOLDERS = ("suites", "schemas", "matrix")


def data_root() -> Path:
    """``ocimatrix/_data`` of an installed wheel, else the checkout the package was imported from."""
    if (BUNDLED_DIR / "matrix" / "default.yaml").is_file():
        return BUNDLED_DIR
    return PACKAGE_DIR.parent


DATA_ROOT = data_root()
SUITES_DIR = DATA_ROOT / "suites"
MATRIX_DIR = DATA_ROOT / "matrix"


def schemas_dir() -> Path:
    """The schemas folder; ``OCIMATRIX_SCHEMA_DIR`` points elsewhere (a relocated or patched copy)."""
    override = os.environ.get("OCIMATRIX_SCHEMA_DIR")
    return Path(override) if override else DATA_ROOT / "schemas"
