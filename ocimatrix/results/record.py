"""The results record (``ocimatrix/results/v1``): building, writing and reading ``results.json``.

The report, merge and diff read nothing but this file, so everything a reader of the matrix needs
(versions, repro commands, evidence) travels inside each record.
"""

from __future__ import annotations

import json
import os
import platform
import socket
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ocimatrix import __version__
from ocimatrix.errors import UsageError

SCHEMA_ID = "ocimatrix/results/v1"
OUTCOMES = ("passed", "failed", "skipped", "error", "xfailed")
# Observations earlier versions wrote into ``cell``: read back as evidence (the cell holds inputs only).
# The tools' versions too: a cell names the tools, what they turned out to be is what the run saw.
OBSERVED_IN_CELL = ("selected_platform", "versions")


@dataclass
class Spec:
    section: str
    url: str = ""


@dataclass
class Record:
    test: str
    suite: str
    outcome: str
    cell: dict[str, Any] = field(default_factory=dict)
    spec: Spec | None = None
    reason: str = ""
    duration_s: float = 0.0
    repro: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Older writers put what a cell observed into the cell; it is evidence, not an axis.
        observed = {key: self.cell[key] for key in OBSERVED_IN_CELL if key in self.cell}
        if observed:
            self.cell = {k: v for k, v in self.cell.items() if k not in observed}
            self.evidence = {**observed, **self.evidence}

    @property
    def versions(self) -> dict[str, str]:
        """Tool label (``docker``, ``docker@trixie``, a CRI endpoint's) -> the version this cell recorded."""
        found = self.evidence.get("versions")
        return dict(found) if isinstance(found, dict) else {}

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.spec is None:
            data["spec"] = None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        spec = data.get("spec")
        cell = dict(data.get("cell") or {})
        evidence = dict(data.get("evidence") or {})
        return cls(
            test=data["test"],
            suite=data.get("suite", ""),
            outcome=data["outcome"],
            cell=cell,
            spec=Spec(**spec) if spec else None,
            reason=data.get("reason") or "",
            duration_s=float(data.get("duration_s") or 0.0),
            repro=list(data.get("repro") or []),
            evidence=evidence,
        )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def describe_host() -> dict[str, str]:
    uname = platform.uname()
    return {"host": socket.gethostname(), "kernel": uname.release, "arch": uname.machine}


@dataclass
class Run:
    started: str = field(default_factory=now_iso)
    finished: str = ""
    matrix: str = ""
    ocimatrix_version: str = __version__
    tools: dict[str, str] = field(default_factory=dict)
    host: str = ""
    kernel: str = ""
    arch: str = ""
    # Filled by `ocimatrix merge`: the shards that went in, duplicates and conflicts (see results_merge.py).
    merge: dict[str, Any] = field(default_factory=dict)
    # Embedded services restarted mid-run: service -> [{at, cell, why, outcome}] (see host/supervision.py).
    restarts: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, value in describe_host().items():
            if not getattr(self, key):
                setattr(self, key, value)


@dataclass
class Results:
    run: Run
    results: list[Record] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA_ID, "run": asdict(self.run), "results": [r.to_json() for r in self.results]}

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for record in self.results:
            counts[record.outcome] = counts.get(record.outcome, 0) + 1
        return counts


def write_results(results: Results, path: Path) -> None:
    """Write atomically, so a reader (or a crashed run) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(results.to_json(), indent=1, sort_keys=False) + "\n")
    tmp.replace(path)


def read_results(path: Path) -> Results:
    """Read a results file, with errors that name the file and the offending record."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such results file") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_ID:
        raise UsageError(f'{path}: not an ocimatrix results file (expected "schema": "{SCHEMA_ID}")')
    run_data = data.get("run") or {}
    known = set(Run.__dataclass_fields__)
    run = Run(**{k: v for k, v in run_data.items() if k in known})
    records = []
    for index, item in enumerate(data.get("results") or []):
        try:
            records.append(Record.from_json(item))
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{path}: results[{index}]: malformed record ({exc})") from None
    return Results(run=run, results=records)
