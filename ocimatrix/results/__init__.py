"""The results record (``ocimatrix/results/v1``) and what is done with results files: the record and
its reading and writing (``record``), its schema check (``schema``), merging shards and diffing
against a baseline (``merge``), and the claims reports that travel with them (``claims_reports``)."""

from ocimatrix.results.record import (
    OUTCOMES,
    SCHEMA_ID,
    Record,
    Results,
    Run,
    Spec,
    describe_host,
    now_iso,
    read_results,
    write_results,
)

__all__ = [
    "OUTCOMES",
    "SCHEMA_ID",
    "Record",
    "Results",
    "Run",
    "Spec",
    "describe_host",
    "now_iso",
    "read_results",
    "write_results",
]
