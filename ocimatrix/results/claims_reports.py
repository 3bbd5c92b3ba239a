"""Claims reports (``ocimatrix verify``'s claims.json) beside results files: found and summarised,
so ``ocimatrix merge`` keeps them with the merged results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CLAIMS_SCHEMA_ID = "ocimatrix/claims-report/v1"


def _candidates(results_path: Path) -> list[Path]:
    """verify writes DIR/claims.json and DIR/cells/results.json; a site may also keep them in claims/."""
    here = results_path.parent
    return [here / "claims.json", here.parent / "claims.json", *sorted(here.glob("claims/*/claims.json"))]


def summarise(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("schema") != CLAIMS_SCHEMA_ID:
        return None
    badge = path.parent / "badge.svg"
    return {
        "file": str(path),
        "vendor": str(data.get("vendor", "")),
        "product": str(data.get("product", "")),
        "counts": dict(data.get("counts") or {}),
        "fingerprint": str((data.get("fingerprint") or {}).get("sha256", "")),
        "report": str(path.parent / "index.html"),
        "badge": str(badge) if badge.exists() else "",
    }


def find_claims_reports(results_paths: list[Path], known: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Summaries of the claims reports beside ``results_paths``, after ``known`` ones (from earlier merges)."""
    found: dict[str, dict[str, Any]] = {str(k.get("file")): dict(k) for k in known or [] if k.get("file")}
    for results_path in results_paths:
        for candidate in _candidates(Path(results_path)):
            key = str(candidate)
            if key not in found and candidate.is_file():
                summary = summarise(candidate)
                if summary is not None:
                    found[key] = summary
    return list(found.values())
