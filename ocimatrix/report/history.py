"""Pass rates per engine across runs, kept in ``history.json`` next to the site (or where told).

Each report adds one entry for the run it draws; drawing the same run again replaces its entry, so
re-rendering a site never doubles a point. Pass rate = passed / cases that ran (xfailed counts as not passing)
(skips do not count either way: a skipped cell is neither evidence of support nor of breakage).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ocimatrix.errors import UsageError
from ocimatrix.results import OUTCOMES, Results

HISTORY_SCHEMA = "ocimatrix/history/v1"
HISTORY_FILE = "history.json"
NO_ENGINE = "(no engine)"
KEEP_ENTRIES = 365


def history_path(where: Path) -> Path:
    """A directory means ``DIR/history.json``; a path ending in .json is the file itself."""
    return where if where.suffix == ".json" else where / HISTORY_FILE


def run_id(results: Results) -> str:
    """Stable identity of a run (or merge): the start times and hosts of what went into it."""
    sources = (results.run.merge or {}).get("sources") or [{"host": results.run.host, "started": results.run.started}]
    text = "\n".join(sorted(f"{s.get('host', '')}@{s.get('started', '')}" for s in sources))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def pass_rate(counts: dict[str, int]) -> float | None:
    """Passed over the cases that ran. A known incompatibility (xfailed) doesn't fail the run, but it is
    still a cell that doesn't work, so it counts against the rate people choose a stack by."""
    ran = sum(counts.get(k, 0) for k in ("passed", "xfailed", "failed", "error"))
    if not ran:
        return None
    return counts.get("passed", 0) / ran


def summarize(results: Results) -> dict[str, Any]:
    engines: dict[str, dict[str, int]] = {}
    total = dict.fromkeys(OUTCOMES, 0)
    for record in results.results:
        engine = str(record.cell.get("engine") or NO_ENGINE)
        counts = engines.setdefault(engine, dict.fromkeys(OUTCOMES, 0))
        counts[record.outcome] += 1
        total[record.outcome] += 1
    return {
        "id": run_id(results),
        "started": results.run.started,
        "finished": results.run.finished,
        "host": results.run.host,
        "total": total,
        "engines": dict(sorted(engines.items())),
    }


def read_history(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        hint = "move it away to start a new history"
        raise UsageError(f"{path}: unreadable history file ({exc}); {hint}") from None
    runs = data.get("runs") if isinstance(data, dict) else None
    if data.get("schema") != HISTORY_SCHEMA or not isinstance(runs, list):
        raise UsageError(f'{path}: not an ocimatrix history file (expected "schema": "{HISTORY_SCHEMA}")')
    for index, entry in enumerate(data["runs"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("engines"), dict) or "id" not in entry:
            raise UsageError(f"{path}: runs[{index}]: malformed entry (needs id, engines)")
    return data["runs"]


def update_history(path: Path, results: Results) -> list[dict[str, Any]]:
    """Add (or replace) this run's entry, oldest first, and write the file back atomically."""
    entries = [e for e in read_history(path) if e["id"] != run_id(results)]
    entries.append(summarize(results))
    entries.sort(key=lambda e: (e.get("started") or "", e["id"]))
    entries = entries[-KEEP_ENTRIES:]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"schema": HISTORY_SCHEMA, "runs": entries}, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return entries
