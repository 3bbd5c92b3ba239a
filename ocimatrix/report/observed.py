"""What a cell saw, in a few words, where its outcome alone doesn't say it: the platform an engine ran from
its store, what it answered when asked for ``unknown/unknown``, how it laid out a hardlink the spec is
silent about. The front page shows these facts beside each finding and each version, so a reader sees
*which* platform podman ran, not only that the cell xfailed.

``observed(record) -> str``: "" when the record's evidence holds none of them.
"""

from __future__ import annotations

from typing import Any

from ocimatrix.results import Record

LIMIT = 160  # a fact is a phrase, never an engine's whole message
ROLE = "engine"  # whose answers these facts are: the versions view lists them beside the engine's versions


def _short(text: object) -> str:
    words = " ".join(str(text).split())
    return words if len(words) <= LIMIT else words[: LIMIT - 1] + "…"


def _store_run(run: dict[str, Any]) -> str:
    asked = run.get("asked") or "(none)"
    if run.get("refused"):
        return f"asked {asked}: refused"
    # The probe's marker is "<which image> <its platform> <the cell's tag>": the tag says nothing here.
    marker = str(run.get("marker") or "").rsplit(" ", 1)[0] or "no marker"
    return f"asked {asked}: ran {marker} ({run.get('machine') or 'no uname -m'})"


def _unknown_platform(said: dict[str, Any]) -> str:
    answer = said.get("answer") or "?"
    holds = said.get("holds") if isinstance(said.get("holds"), dict) else None
    if holds:
        return f"unknown/unknown: {answer}, holds {holds.get('os') or '?'}/{holds.get('architecture') or '?'}"
    return f"unknown/unknown: {answer}"


def observed(record: Record) -> str:
    evidence = record.evidence
    runs = evidence.get("runs")
    if record.suite == "store" and isinstance(runs, list):
        return _short("; ".join(_store_run(r) for r in runs if isinstance(r, dict)))
    unknown = evidence.get("unknown_platform")
    if isinstance(unknown, dict):
        return _short(_unknown_platform(unknown))
    if isinstance(evidence.get("cross_layer_hardlink"), str):
        return _short(f"spec silent; {evidence['cross_layer_hardlink']}")
    answer = evidence.get("engine_answer")
    if evidence.get("spec_silent") and isinstance(answer, str):
        return _short("spec silent; " + ("refused" if answer.startswith("refused:") else "ran"))
    return ""
