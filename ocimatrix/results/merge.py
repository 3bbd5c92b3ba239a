"""Combine shards of results into one file, and compare a run with a baseline.

Nightly CI runs one shard per engine/arch host; ``merge_results`` joins them. Two records are the
same *case* when they share the test id and the matrix axes of their cell (tool versions excluded:
they are what differs between hosts). A case seen more than once is never dropped silently: one
record is kept (the most telling outcome, see ``KEEP_ORDER``), the others travel inside its
``evidence["merge"]``, and ``run.merge.notes`` lists every duplicate and conflict.

``diff_results`` classifies each case against a baseline run (regression, fix, new failure, ...).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocimatrix.results import Record, Results, Run

# Which record of a duplicated case stands for it: a failure seen anywhere is the news, a cell that
# ran beats one that was skipped.
KEEP_ORDER = ("failed", "error", "passed", "xfailed", "skipped")
GOOD = frozenset({"passed", "xfailed"})
BAD = frozenset({"failed", "error"})

CaseKey = tuple[str, tuple[tuple[str, str], ...]]


def cell_axes(cell: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The axes of a cell as a sorted tuple (a ``Record``'s cell holds axes only: what it observed is evidence)."""
    return tuple(sorted((k, str(v)) for k, v in cell.items()))


def axes_label(axes: tuple[tuple[str, str], ...]) -> str:
    return " ".join(f"{k}={v}" for k, v in axes) or "(no axes)"


def cell_label(cell: dict[str, Any]) -> str:
    return axes_label(cell_axes(cell))


def case_key(record: Record) -> CaseKey:
    return (record.test, cell_axes(record.cell))


@dataclass
class Source:
    """One input of a merge: a file name to report, and what it holds."""

    name: str
    results: Results


@dataclass
class MergeNote:
    kind: str  # "duplicate" (same outcome everywhere, or skipped beside a run) or "conflict"
    test: str
    cell: str
    outcomes: list[dict[str, str]]
    kept: str

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def describe(self) -> str:
        seen = ", ".join(
            f"{o['outcome']} in {o['source']}" + (f" ({o['host']})" if o.get("host") else "") for o in self.outcomes
        )
        return f"{self.kind}: {self.test} [{self.cell}]: {seen}; kept {self.kept}"


@dataclass
class Merged:
    results: Results
    notes: list[MergeNote] = field(default_factory=list)

    @property
    def conflicts(self) -> list[MergeNote]:
        return [n for n in self.notes if n.kind == "conflict"]

    @property
    def duplicates(self) -> list[MergeNote]:
        return [n for n in self.notes if n.kind == "duplicate"]


def _sources_of(source: Source) -> list[dict[str, Any]]:
    """A merged file brings its own shard list along, so merging merges keeps every host."""
    run = source.results.run
    inner = (run.merge or {}).get("sources")
    if inner:
        return [dict(s) for s in inner]
    return [
        {
            "file": source.name,
            "host": run.host,
            "kernel": run.kernel,
            "arch": run.arch,
            "started": run.started,
            "finished": run.finished,
            "tools": dict(run.tools),
            "records": len(source.results.results),
        }
    ]


def _joined(values: Iterable[str]) -> str:
    return ", ".join(dict.fromkeys(v for v in values if v))


def _merged_tools(runs: Sequence[Run]) -> dict[str, str]:
    tools: dict[str, list[str]] = {}
    for run in runs:
        for tool, version in run.tools.items():
            seen = tools.setdefault(tool, [])
            if version not in seen:
                seen.append(version)
    return {tool: " | ".join(versions) for tool, versions in tools.items()}


def _merged_run(sources: Sequence[Source]) -> Run:
    runs = [s.results.run for s in sources]
    started = sorted(r.started for r in runs if r.started)
    finished = sorted(r.finished for r in runs if r.finished)
    return Run(
        started=started[0] if started else "",
        finished=finished[-1] if finished else "",
        matrix=_joined(r.matrix for r in runs),
        ocimatrix_version=_joined(r.ocimatrix_version for r in runs),
        tools=_merged_tools(runs),
        host=_joined(r.host for r in runs),
        kernel=_joined(r.kernel for r in runs),
        arch=_joined(r.arch for r in runs),
    )


def _other_entry(record: Record, origin: dict[str, str]) -> dict[str, Any]:
    return {
        **origin,
        "outcome": record.outcome,
        "reason": record.reason,
        "duration_s": record.duration_s,
        "versions": record.versions,
        "repro": list(record.repro),
        "evidence": record.evidence,
    }


def merge_results(sources: Sequence[Source]) -> Merged:
    """Join shards; every duplicate or conflicting case is kept inside the record that stands for it."""
    multi_host = len({s.results.run.host for s in sources}) > 1
    cases: dict[CaseKey, list[tuple[Record, dict[str, str]]]] = {}
    for source in sources:
        for record in source.results.results:
            origin = {"source": source.name, "host": source.results.run.host}
            # Only evidence is written to below, so a copy of that dict keeps the inputs untouched.
            copied = dataclasses.replace(record, evidence=dict(record.evidence))
            cases.setdefault(case_key(record), []).append((copied, origin))

    merged: list[Record] = []
    notes: list[MergeNote] = []
    for (test, axes), seen in cases.items():
        # sorted() is stable: among equal outcomes the first input wins.
        ranked = sorted(seen, key=lambda item: KEEP_ORDER.index(item[0].outcome))
        kept, kept_origin = ranked[0]
        if multi_host and "host" not in kept.evidence:
            kept.evidence["host"] = kept_origin["host"]
        if len(seen) > 1:
            ran = {record.outcome for record, _ in seen if record.outcome != "skipped"}
            kind = "conflict" if len(ran) > 1 else "duplicate"
            note = MergeNote(
                kind=kind,
                test=test,
                cell=axes_label(axes),
                outcomes=[{**origin, "outcome": record.outcome} for record, origin in seen],
                kept=kept.outcome,
            )
            notes.append(note)
            earlier = kept.evidence.get("merge") or {}
            kept.evidence["merge"] = {
                "kind": "conflict" if "conflict" in (kind, earlier.get("kind")) else kind,
                "kept_from": kept_origin,
                "others": [_other_entry(record, origin) for record, origin in ranked[1:]]
                + list(earlier.get("others") or []),
            }
        merged.append(kept)

    run = _merged_run(sources)
    run.merge = {
        "sources": [entry for s in sources for entry in _sources_of(s)],
        "duplicates": sum(1 for n in notes if n.kind == "duplicate"),
        "conflicts": sum(1 for n in notes if n.kind == "conflict"),
        "notes": [n.to_json() for n in notes],
    }
    # Keep earlier merges' notes: merging merged files must not forget what they found.
    for source in sources:
        for old in (source.results.run.merge or {}).get("notes") or []:
            run.merge["notes"].append(old)
            run.merge[old["kind"] + "s"] = run.merge.get(old["kind"] + "s", 0) + 1
    return Merged(results=Results(run=run, results=merged), notes=notes)


def merge_files(paths: Sequence[Path]) -> Merged:
    """Validate each file against the results schema, then merge them (file names in the notes)."""
    from ocimatrix.results.claims_reports import find_claims_reports
    from ocimatrix.results.schema import load_checked_results

    sources = [Source(name=str(p), results=load_checked_results(p)) for p in paths]
    merged = merge_results(sources)
    # Claims reports beside the shards (ocimatrix verify's) travel with the merge, as earlier merges' do.
    known = [c for s in sources for c in (s.results.run.merge or {}).get("claims") or []]
    claims = find_claims_reports(list(paths), known)
    if claims:
        merged.results.run.merge["claims"] = claims
    return merged


# ---------------------------------------------------------------- diff against a baseline

CHANGE_KINDS = ("regression", "new-failure", "fix", "now-skipped", "now-running", "missing")


@dataclass
class Change:
    kind: str
    test: str
    cell: str
    before: str | None  # None: the case is not in the baseline
    after: str | None  # None: the case is gone from this run


def classify(before: str | None, after: str | None) -> str | None:
    """How a case changed between baseline and now, or None when nothing worth telling changed."""
    if after is None:
        return "missing" if before is not None else None
    if before is None:
        return "new-failure" if after in BAD else None
    if before in GOOD and after in BAD:
        return "regression"
    if before in BAD and after in GOOD:
        return "fix"
    if before != "skipped" and after == "skipped":
        return "now-skipped"
    if before == "skipped" and after != "skipped":
        return "now-running"
    # failed <-> error and passed <-> xfailed: same verdict for the matrix.
    return None


@dataclass
class Diff:
    changes: list[Change]
    by_case: dict[CaseKey, Change]

    def count(self, kind: str) -> int:
        return sum(1 for c in self.changes if c.kind == kind)


def diff_results(baseline: Results, current: Results) -> Diff:
    before = {case_key(r): r.outcome for r in baseline.results}
    after = {case_key(r): r.outcome for r in current.results}
    changes: list[Change] = []
    by_case: dict[CaseKey, Change] = {}
    for key in list(after) + [k for k in before if k not in after]:
        kind = classify(before.get(key), after.get(key))
        if kind is None:
            continue
        test, axes = key
        change = Change(kind, test, axes_label(axes), before.get(key), after.get(key))
        changes.append(change)
        by_case[key] = change
    changes.sort(key=lambda c: (CHANGE_KINDS.index(c.kind), c.test, c.cell))
    return Diff(changes=changes, by_case=by_case)
