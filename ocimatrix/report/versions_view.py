"""Which versions: for each test, how each version of each tool fared, and where a newer version
fixed or broke it.

A change is read between like cells: the same test and every other axis the same (builder, runtime,
format, compression...), only the version (or generation) of one tool differs. ``docker 20.10.24
(bookworm)`` xfailed a zstd pull that ``docker 26.1.5 (trixie)`` passed: *fixed in 26.1.5*.
Errors and skips say nothing about a version, so they never make a change.

Only the tools a test's outcome speaks about are rated (``blame``): the CRI suite's findings are the
CRI engine's, and the runc or crun it was set up with is shown beside it as context, not at 0%.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from ocimatrix.report.blame import Blame, LikeCells, version_steps
from ocimatrix.report.cell_tools import ToolId, role_rank
from ocimatrix.report.model import split_test_id
from ocimatrix.report.observed import ROLE as observed_role
from ocimatrix.report.observed import observed
from ocimatrix.results import OUTCOMES, Record

EXAMPLE_CELLS = 3


@dataclass
class TestVersions:
    test: str
    suite: str
    section: str
    url: str
    counts: dict[ToolId, list[int]] = field(default_factory=dict)
    seen: dict[ToolId, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # what its cells saw


def _context_label(context: tuple[tuple[str, str], ...]) -> str:
    return " ".join(f"{axis}={value}" for axis, value in context if value) or "(no other axis)"


def _changes(groups: LikeCells) -> list[dict[str, Any]]:
    found: dict[tuple, dict[str, Any]] = {}
    for (role, tool, context), by_version in groups.items():
        for kind, older, newer, was, now in version_steps(by_version):
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


def _seen(facts: Counter[str] | None) -> list[list[Any]]:
    """What the cells of one version saw (``observed``), the most frequent first: [fact, cells]."""
    return [[fact, n] for fact, n in sorted((facts or {}).items(), key=lambda item: (-item[1], item[0]))]


def _rate(counts: list[int]) -> float | None:
    passed = counts[OUTCOMES.index("passed")]
    ran = passed + sum(counts[OUTCOMES.index(o)] for o in ("failed", "error", "xfailed"))
    return passed / ran if ran else None


def versions_by_test(records: list[Record], tools: list[dict[str, ToolId]], axes: list[str]) -> list[dict[str, Any]]:
    """One entry per test function: its tools' versions with outcome counts, and the changes between
    versions. A tool the test's suite doesn't test, and whose version turns nothing, is marked
    ``context``: it was in the cells, its counts are the tested tool's. Tests with a change come
    first, then those whose tested versions differ, then the rest."""
    blame = Blame(records, tools, axes)
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
        fact = observed(record)
        for tool in identities.values():
            entry.counts.setdefault(tool, [0] * len(OUTCOMES))[outcome_index] += 1
            if fact and tool.role == observed_role:
                entry.seen[tool][fact] += 1

    out = []
    for position, entry in enumerate(tests.values()):
        groups: dict[tuple[str, str], list[ToolId]] = defaultdict(list)
        for tool in entry.counts:
            groups[(tool.role, tool.tool)].append(tool)
        tested = {key for key in groups if blame.is_blamed(entry.test, *key)}
        rates = {_rate(c) for t, c in entry.counts.items() if (t.role, t.tool) in tested} - {None}
        changes = _changes(blame.like_cells.get(entry.test, {}))
        rank = 0 if changes else 1 if len(rates) > 1 else 2
        tools = [
            {
                "role": role,
                "tool": name,
                "context": (role, name) not in tested,
                "rows": [
                    {"label": t.label, "value": t.value, "counts": entry.counts[t], "seen": _seen(entry.seen.get(t))}
                    for t in sorted(groups[(role, name)], key=ToolId.sort_key)
                ],
            }
            # The tested tools first, the context after them.
            for role, name in sorted(groups, key=lambda k: (k not in tested, role_rank(k[0]), k[1]))
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
