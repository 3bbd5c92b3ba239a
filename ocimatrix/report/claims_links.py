"""The claims reports a run or merge kept (``results/claims_reports.py`` finds them), linked from the
site's front page."""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any


def _link(target: str, out_dir: Path) -> str:
    return escape(Path(os.path.relpath(Path(target).resolve(), out_dir.resolve())).as_posix())


def claims_section(reports: list[dict[str, Any]], out_dir: Path) -> str:
    if not reports:
        return ""
    items = []
    for report in reports:
        counts = report.get("counts") or {}
        total = sum(counts.values())
        badge = f'<img src="{_link(report["badge"], out_dir)}" alt="" height="20"> ' if report.get("badge") else ""
        items.append(
            f'<li>{badge}<a href="{_link(report["report"], out_dir)}">{escape(report["vendor"])} '
            f"{escape(report['product'])}</a>: {counts.get('verified', 0)}/{total} verified"
            + "".join(f", {n} {escape(k)}" for k, n in counts.items() if n and k != "verified")
            + "</li>"
        )
    return (
        '<div class="card" id="claims"><h3>Supportability claims</h3>'
        "<p>Vendors' claims verified against these engines (<code>ocimatrix verify</code>).</p>"
        f"<ul>{''.join(items)}</ul></div>"
    )
