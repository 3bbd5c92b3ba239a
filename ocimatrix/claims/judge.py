"""Judge each claim on the cells that ran for it.

- **verified**: every cell it rests on passed, and each passing cell shows it examined or ran the
  claimed platform (and, for an engine or runtime claim, a version of it inside the claimed range);
- **contradicted**: a cell failed (or the implementation answered that a claimed optional feature is
  absent); the failing cells are listed with their reason and repro;
- **error**: a cell it rests on errored (the harness or a service broke): never verified;
- **unverifiable** here: nothing ran that could test it, or only skipped cells, or cells that ran
  something other than what is claimed (another platform, an engine version outside the range, a
  passed cell that recorded no engine version under a version claim).

A skipped or errored cell never verifies a claim, and a cell that ran platform Q never speaks for P.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ocimatrix.claims.plan import Claim
from ocimatrix.host.platforms import platform_matches_request
from ocimatrix.results import Record
from ocimatrix.tools.catalog import generation_of

VERDICTS = ("verified", "contradicted", "error", "unverifiable")


@dataclass
class CellRef:
    record: Record
    index: int  # position in results.json, for the evidence page's name
    note: str = ""  # why this cell does not count, when it doesn't


@dataclass
class Judgement:
    claim: Claim
    verdict: str
    reason: str
    cells: list[CellRef] = field(default_factory=list)


def _fields(text: str) -> dict[str, str]:
    os_name, arch, variant = (str(text).split("/") + ["", "", ""])[:3]
    return {"os": os_name, "architecture": arch, "variant": variant}


def _engine_version(claim: Claim, record: Record) -> tuple[str, str]:
    """(the cell's engine as it names it, the version the cell recorded for it: "" when none)."""
    assert claim.engine is not None
    label = str(record.cell.get(claim.version_axis) or claim.engine.engine)
    return label, str(record.versions.get(label, ""))


def _off_claim(claim: Claim, record: Record) -> str:
    """Why a cell, whatever its outcome, is not about what the claim states ("" when it is)."""
    if claim.engine is not None:
        label, version = _engine_version(claim, record)
        generation = generation_of(label)
        if claim.engine.generations and generation not in claim.engine.generations:
            return f"ran {label} (generation {generation}), not a generation the claim names"
        if version and not claim.engine.versions.admits(version):
            return f"ran {label} {version}, outside the claimed {claim.engine.versions}"
    return ""


def _version_shown(claim: Claim, record: Record) -> str:
    """For a passed cell of an engine claim: "" when it recorded its engine's version, else why it doesn't count."""
    if claim.engine is None or not claim.engine.versions.clauses:
        return ""
    label, version = _engine_version(claim, record)
    return "" if version else f"the cell recorded no version of {label}, so it can't show {claim.engine.versions}"


def _platform_shown(claim: Claim, record: Record) -> str:
    """For a passed cell: "" when it shows it examined/ran the claimed platform, else why not."""
    if not claim.platform:
        return ""
    shown = record.evidence.get(claim.platform_evidence)
    if not shown:
        return f"the cell does not show which platform it {_verb(claim)} ({claim.platform_evidence} missing)"
    if not platform_matches_request(claim.platform, _fields(shown)):
        return f"the cell {_verb(claim)} {shown}, not {claim.platform}"
    return ""


def _verb(claim: Claim) -> str:
    return "ran" if claim.platform_evidence == "ran_platform" else "examined"


def _absent_feature(claim: Claim, record: Record) -> bool:
    """A skipped cell whose check asked the implementation, and heard the feature is absent."""
    return claim.absence_contradicts and record.outcome == "skipped" and bool(record.evidence.get("exchanges"))


def judge(claim: Claim, records: list[Record]) -> Judgement:
    if claim.unverifiable:
        return Judgement(claim, "unverifiable", claim.unverifiable)
    mine = [CellRef(r, i) for i, r in enumerate(records) if claim.selects(r.test, r.cell)]
    if not mine:
        return Judgement(claim, "unverifiable", "no cell ran for it on this host (none was collected)")
    relevant = []
    for ref in mine:
        ref.note = _off_claim(claim, ref.record)
        if not ref.note:
            relevant.append(ref)
    if not relevant:
        return Judgement(claim, "unverifiable", "; ".join(dict.fromkeys(r.note for r in mine)), mine)
    against = [r for r in relevant if r.record.outcome in ("failed", "xfailed") or _absent_feature(claim, r.record)]
    if against:
        first = against[0].record
        return Judgement(
            claim, "contradicted", f"{len(against)} of {len(relevant)} cells fail it: {_line(first.reason)}", mine
        )
    errors = [r for r in relevant if r.record.outcome == "error"]
    if errors:
        reason = f"{len(errors)} cell(s) errored (the harness or a service broke): {_line(errors[0].record.reason)}"
        return Judgement(claim, "error", reason, mine)
    skipped = [r for r in relevant if r.record.outcome == "skipped"]
    if skipped:
        reasons = "; ".join(dict.fromkeys(_line(r.record.reason) for r in skipped))
        return Judgement(
            claim, "unverifiable", f"{len(skipped)} of {len(relevant)} cells were skipped: {reasons}", mine
        )
    for ref in relevant:
        ref.note = _version_shown(claim, ref.record) or _platform_shown(claim, ref.record)
    unshown = [r for r in relevant if r.note]
    if unshown:
        return Judgement(claim, "unverifiable", "; ".join(dict.fromkeys(r.note for r in unshown)), mine)
    return Judgement(claim, "verified", f"{len(relevant)} cell(s) passed", mine)


def _line(text: str) -> str:
    first = (text or "").strip().removeprefix("Failed: ").splitlines()
    line = first[0] if first else "(no reason recorded)"
    return line if len(line) <= 400 else line[:400] + " ..."


def judge_all(claims: list[Claim], records: list[Record]) -> list[Judgement]:
    return [judge(c, records) for c in claims]


def counts(judgements: list[Judgement]) -> dict[str, int]:
    found = dict.fromkeys(VERDICTS, 0)
    for j in judgements:
        found[j.verdict] += 1
    return found


def exit_code(judgements: list[Judgement]) -> int:
    """0 all verified; 1 anything contradicted or errored; 3 some claims unverifiable here, none false."""
    found = counts(judgements)
    if found["contradicted"] or found["error"]:
        return 1
    if found["unverifiable"]:
        return 3
    return 0


def cell_json(ref: CellRef) -> dict[str, Any]:
    record = ref.record
    return {
        "test": record.test,
        "cell": dict(record.cell),
        "versions": record.versions,
        "outcome": record.outcome,
        "reason": record.reason,
        "repro": list(record.repro),
        "platform": record.evidence.get("ran_platform") or record.evidence.get("platform_examined") or "",
        "note": ref.note,
        "evidence": f"evidence/{ref.index}.html",
    }
