"""Which versions: for each test, how each version of each tool fared, and where a newer version
fixed or broke it.

A change is read between like cells: the same test and every other axis the same (builder, runtime,
format, compression...), only the version (or generation) of one tool differs. ``docker 20.10.24
(bookworm)`` xfailed a zstd pull that ``docker 26.1.5 (trixie)`` passed: *fixed in 26.1.5*.
Errors and skips say nothing about a version, so they never make a change.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ocimatrix.report.cell_tools import ROLES, ToolId
from ocimatrix.report.model import split_test_id
from ocimatrix.results import OUTCOMES, Record

NOT_WORKING = ("failed", "xfailed")
EXAMPLE_CELLS = 3


@dataclass
class TestVersions:
    test: str
    suite: str
    section: str
    url: str
    counts: dict[ToolId, list[int]] = field(default_factory=dict)
    # (role, tool, context) -> ToolId -> outcomes of its like cells
    like_cells: dict[tuple, dict[ToolId, list[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )


def _context_label(context: tuple[tuple[str, str], ...]) -> str:
    return " ".join(f"{axis}={value}" for axis, value in context if value) or "(no other axis)"


def _one_outcome(outcomes: list[str]) -> str | None:
    """The outcome all the like cells of one version agree on; None when they differ or say nothing."""
    telling = {o for o in outcomes if o not in ("skipped", "error")}
    return next(iter(telling)) if len(telling) == 1 else None


def _changes(entry: TestVersions) -> list[dict[str, Any]]:
    found: dict[tuple, dict[str, Any]] = {}
    for (role, tool, context), by_version in entry.like_cells.items():
        ordered = sorted(by_version, key=ToolId.sort_key)
        for older, newer in zip(ordered, ordered[1:], strict=False):
            was, now = _one_outcome(by_version[older]), _one_outcome(by_version[newer])
            if was in NOT_WORKING and now == "passed":
                kind = "fixed"
            elif was == "passed" and now in NOT_WORKING:
                kind = "broken"
            else:
                continue
            key = (kind, role, tool, older.label, newer.label, was, now)
            change = found.setdefault(
                key,
                {
                    "kind": kind,
                    "role": role,
                    "tool": tool,
                    "from": older.label,
                    "to": newer.label,
                    "toValue": newer.value,
                    "was": was,
                    "now": now,
                    "cells": 0,
                    "where": [],
                },
            )
            change["cells"] += 1
            if len(change["where"]) < EXAMPLE_CELLS:
                change["where"].append(_context_label(context))
    return sorted(found.values(), key=lambda c: (c["kind"] != "broken", c["role"], c["tool"], c["to"]))


def _rate(counts: list[int]) -> float | None:
    passed = counts[OUTCOMES.index("passed")]
    ran = passed + sum(counts[OUTCOMES.index(o)] for o in ("failed", "error", "xfailed"))
    return passed / ran if ran else None


def versions_by_test(records: list[Record], tools: list[dict[str, ToolId]], axes: list[str]) -> list[dict[str, Any]]:
    """One entry per test function: its tools' versions with outcome counts, and the changes between
    versions. Tests with a change come first, then those whose versions differ, then the rest."""
    tests: dict[str, TestVersions] = {}
    for record, identities in zip(records, tools, strict=True):
        if not identities:
            continue
        test = split_test_id(record.test)[0]
        entry = tests.get(test)
        if entry is None:
            section, url = (record.spec.section, record.spec.url) if record.spec else ("", "")
            entry = tests[test] = TestVersions(test, record.suite, section, url)
        outcome_index = OUTCOMES.index(record.outcome)
        cell = tuple((axis, str(record.cell.get(axis, ""))) for axis in axes)
        for role, tool in identities.items():
            entry.counts.setdefault(tool, [0] * len(OUTCOMES))[outcome_index] += 1
            at = axes.index(role) if role in axes else len(cell)
            context = cell[:at] + cell[at + 1 :]  # every other axis: the like cells of this tool's versions
            entry.like_cells[(role, tool.tool, context)][tool].append(record.outcome)

    out = []
    for position, entry in enumerate(tests.values()):
        groups: dict[tuple[str, str], list[ToolId]] = defaultdict(list)
        for tool in entry.counts:
            groups[(tool.role, tool.tool)].append(tool)
        rates = {_rate(c) for c in entry.counts.values()} - {None}
        changes = _changes(entry)
        rank = 0 if changes else 1 if len(rates) > 1 else 2
        tools = [
            {
                "role": role,
                "tool": name,
                "rows": [
                    {"label": t.label, "value": t.value, "counts": entry.counts[t]}
                    for t in sorted(groups[(role, name)], key=ToolId.sort_key)
                ],
            }
            for role, name in sorted(groups, key=lambda k: (ROLES.index(k[0]), k[1]))
        ]
        out.append(
            (
                rank,
                position,
                {
                    "test": entry.test,
                    "suite": entry.suite,
                    "section": entry.section,
                    "url": entry.url,
                    "tools": tools,
                    "changes": changes,
                    "differs": len(rates) > 1,
                },
            )
        )
    return [item for _, _, item in sorted(out, key=lambda x: (x[0], x[1]))]
