"""Which run and which pytest-xdist worker this process is, named once for everyone.

Images, tags, pods and labels carry these names so parallel workers never share one and a worker
sweeping its own leftovers never touches another's.
"""

from __future__ import annotations

import os

RUN_ID_ENV = "OCIMATRIX_RUN_ID"  # set by the controller, inherited by every worker


def run_token() -> str:
    """This run's id ("local" outside ``ocimatrix run``)."""
    return os.environ.get(RUN_ID_ENV, "local")


def worker_name() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


def run_id() -> str:
    """Unique per run and worker: ``<run>-<worker>``."""
    return f"{run_token()}-{worker_name()}"
