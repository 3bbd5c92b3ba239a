"""The plain results table (reports/index.html): one row per record, readable without JavaScript."""

from __future__ import annotations

import html
from pathlib import Path

from ocimatrix.results import Results

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1b1f24}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;
vertical-align:top}th{background:#f6f8fa}.passed{background:#dafbe1}.failed,.error{background:#ffebe9}
.skipped{background:#fff8c5}.xfailed{background:#ddf4ff}pre{white-space:pre-wrap;margin:0;font-size:12px}
"""


def cell_text(cell: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in cell.items())


def render_table(results: Results, site_link: str | None = None) -> str:
    counts = results.counts()
    rows = []
    for r in results.results:
        spec = ""
        if r.spec:
            spec = (
                f'<a href="{html.escape(r.spec.url)}">{html.escape(r.spec.section)}</a>'
                if r.spec.url
                else html.escape(r.spec.section)
            )
        detail = html.escape(r.reason)
        if r.outcome in ("failed", "error") and r.repro:
            detail += "<pre>" + html.escape("\n".join(r.repro)) + "</pre>"
        rows.append(
            f'<tr class="{r.outcome}"><td>{html.escape(r.outcome)}</td><td>{html.escape(r.suite)}</td>'
            f"<td>{html.escape(r.test.split('::')[-1])}</td><td>{html.escape(cell_text(r.cell))}</td>"
            f"<td>{spec}</td><td>{r.duration_s:.2f}</td><td>{detail}</td></tr>"
        )
    tools = ", ".join(f"{k} {v}" for k, v in results.run.tools.items())
    link = f'<p><a href="{html.escape(site_link)}">Compatibility matrix</a></p>' if site_link else ""
    summary = ", ".join(f"{n} {o}" for o, n in counts.items())
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>ocimatrix results</title>"
        f"<style>{STYLE}</style></head><body><h1>ocimatrix results</h1>{link}"
        f"<p>{html.escape(summary)}</p><p>Host {html.escape(results.run.host)} ({html.escape(results.run.arch)}, "
        f"kernel {html.escape(results.run.kernel)}); matrix {html.escape(results.run.matrix)}; "
        f"{html.escape(results.run.started)} to {html.escape(results.run.finished)}</p><p>{html.escape(tools)}</p>"
        "<table><thead><tr><th>outcome</th><th>suite</th><th>test</th><th>cell</th><th>spec</th><th>s</th>"
        f"<th>reason / repro</th></tr></thead><tbody>{''.join(rows)}</tbody></table></body></html>\n"
    )


def write_table(results: Results, path: Path, site_link: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_table(results, site_link))
    return path
