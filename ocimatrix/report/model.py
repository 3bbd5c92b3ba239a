"""Turn results into the compact data the static site's JavaScript reads.

A nightly can hold 50,000 records, so the page gets two kinds of data file:
- ``data/index.js``: one column per field (numbers and indexes into a string table), enough to draw
  the grid, the filters and every row; a few megabytes that the browser parses in well under a second;
- ``data/details-NNNN.js``: full reason, repro commands, evidence and versions, ``CHUNK`` records a
  file, loaded only when a reader opens a record.
Both are JavaScript calling a global loader, because a page opened from file:// may not fetch JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ocimatrix.axes import AXES, SUITES
from ocimatrix.results import OUTCOMES, Record, Results
from ocimatrix.results.merge import CHANGE_KINDS, Diff, axes_label, case_key

AXIS_ORDER = AXES  # the matrix's own order; axes it doesn't know follow, sorted
SUITE_ORDER = SUITES
CHUNK = 500
REASON_SNIPPET = 200


class StringTable:
    """Interning: the same engine name or spec URL is stored once, records carry its index."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        index = self._index.get(text)
        if index is None:
            index = self._index[text] = len(self.items)
            self.items.append(text)
        return index


def present_axes(records: list[Record]) -> list[str]:
    seen = {axis for r in records for axis in r.cell}
    known = [a for a in AXIS_ORDER if a in seen]
    return known + sorted(seen - set(known))


def split_test_id(test: str) -> tuple[str, str]:
    """``file::func[param]`` -> (``file::func``, ``param``); the param part repeats the cell."""
    if test.endswith("]") and "[" in test:
        base, _, param = test.partition("[")
        return base, param[:-1]
    return test, ""


def snippet(reason: str) -> str:
    first = next((line.strip() for line in reason.splitlines() if line.strip()), "")
    return first if len(first) <= REASON_SNIPPET else first[: REASON_SNIPPET - 1] + "…"


def _suite_rank(suite: str) -> tuple[int, str]:
    return (SUITE_ORDER.index(suite) if suite in SUITE_ORDER else len(SUITE_ORDER), suite)


def sort_records(records: list[Record]) -> list[Record]:
    """Grouped by suite, then spec section, then test, then cell: the order of the results list."""
    return sorted(
        records,
        key=lambda r: (
            _suite_rank(r.suite),
            r.spec.section if r.spec else "",
            split_test_id(r.test)[0],
            axes_label_of(r),
        ),
    )


def axes_label_of(record: Record) -> str:
    return axes_label(case_key(record)[1])


@dataclass
class SiteData:
    index: dict[str, Any]
    chunks: list[list[dict[str, Any]]] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)  # in page order: ``index["r"]`` columns follow it


def build_site_data(
    results: Results,
    diff: Diff | None = None,
    baseline_info: dict[str, Any] | None = None,
    title: str = "OCI compatibility matrix",
) -> SiteData:
    records = sort_records(results.results)
    axes = present_axes(records)
    strings = StringTable()
    cells: list[dict[str, Any]] = []
    cell_ids: dict[tuple, int] = {}
    groups: list[list[int]] = []
    group_ids: dict[tuple, int] = {}
    names = ("test", "param", "group", "cell", "out", "dur", "reason", "chg", "flag")
    columns: dict[str, list[Any]] = {name: [] for name in names}
    chunks: list[list[dict[str, Any]]] = []
    change_codes = {kind: i + 1 for i, kind in enumerate(CHANGE_KINDS)}

    for position, record in enumerate(records):
        versions = record.versions
        cell_key = (
            tuple(record.cell.get(a) for a in axes),
            tuple(sorted(versions.items())),
        )
        cell_index = cell_ids.get(cell_key)
        if cell_index is None:
            cell_index = cell_ids[cell_key] = len(cells)
            cells.append(
                {
                    "a": [strings(str(v)) if v is not None else -1 for v in cell_key[0]],
                    "v": [[strings(t), strings(str(ver))] for t, ver in cell_key[1]],
                }
            )
        section = record.spec.section if record.spec else ""
        url = record.spec.url if record.spec else ""
        group_key = (record.suite, section, url)
        group_index = group_ids.get(group_key)
        if group_index is None:
            group_index = group_ids[group_key] = len(groups)
            groups.append([strings(record.suite), strings(section), strings(url)])

        base, param = split_test_id(record.test)
        change = diff.by_case.get(case_key(record)) if diff else None
        merge = record.evidence.get("merge") if isinstance(record.evidence.get("merge"), dict) else None
        columns["test"].append(strings(base))
        columns["param"].append(param)
        columns["group"].append(group_index)
        columns["cell"].append(cell_index)
        columns["out"].append(OUTCOMES.index(record.outcome))
        columns["dur"].append(round(record.duration_s * 1000))
        columns["reason"].append(strings(snippet(record.reason)) if record.reason else -1)
        columns["chg"].append(change_codes[change.kind] if change else 0)
        columns["flag"].append({"duplicate": 1, "conflict": 2}.get(merge.get("kind"), 0) if merge else 0)

        if position % CHUNK == 0:
            chunks.append([])
        chunks[-1].append(
            {
                "test": record.test,
                "reason": record.reason,
                "repro": record.repro,
                "evidence": record.evidence,
                "before": change.before if change else None,
            }
        )

    run = results.run
    merge = run.merge or {}
    index = {
        "v": 1,
        "title": title,
        "run": {
            "host": run.host,
            "kernel": run.kernel,
            "arch": run.arch,
            "started": run.started,
            "finished": run.finished,
            "matrix": run.matrix,
            "ocimatrix_version": run.ocimatrix_version,
            "tools": run.tools,
        },
        "sources": merge.get("sources") or [],
        "mergeNotes": {"duplicates": merge.get("duplicates", 0), "conflicts": merge.get("conflicts", 0)},
        "baseline": baseline_info,
        "outcomes": list(OUTCOMES),
        "changeKinds": list(CHANGE_KINDS),
        "missing": [[c.test, c.cell, c.before] for c in diff.changes if c.kind == "missing"] if diff else [],
        "axes": axes,
        "strings": strings.items,
        "cells": cells,
        "groups": groups,
        "chunk": CHUNK,
        "chunks": len(chunks),
        "r": columns,
    }
    return SiteData(index=index, chunks=chunks, records=records)
