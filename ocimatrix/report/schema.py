"""Moved to ``ocimatrix.results_schema`` (the results record's own check); kept for older imports."""

from __future__ import annotations

from ocimatrix.results_schema import (  # noqa: F401
    load_checked_results,
    load_json,
    results_from_data,
    results_problems,
    results_schema_path,
    validate_results_data,
    validate_results_file,
)
