"""The claims report a customer reads (DIR/index.html) and one evidence page per cell
(DIR/evidence/N.html): static, self-contained, no scripts or fonts from elsewhere, works from file://."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from ocimatrix.results import Record

VERDICT_LABELS = {
    "verified": "verified",
    "contradicted": "contradicted",
    "error": "error (not judged)",
    "unverifiable": "unverifiable here",
}
STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem}
body{color:#1a1a1a}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid #ddd}
th{background:#f4f4f4} code,pre{font:13px/1.4 ui-monospace,"DejaVu Sans Mono",monospace}
pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;white-space:pre-wrap;word-break:break-word}
.v{font-weight:600;padding:.1rem .45rem;border-radius:3px;white-space:nowrap;color:#fff}
.verified{background:#2e7d32}.contradicted{background:#c62828}.error{background:#6a1b9a}.unverifiable{background:#b26a00}
.passed{color:#2e7d32}.failed{color:#c62828}.error-o{color:#6a1b9a}.skipped{color:#b26a00}
.meta td:first-child{width:12rem;color:#555}
.cells{font-size:13px;margin:.3rem 0 0 0} .cells td{border:0;padding:.1rem .4rem}
.muted{color:#666}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>\n"
    )


def _verdict(verdict: str) -> str:
    return f'<span class="v {verdict}">{escape(VERDICT_LABELS.get(verdict, verdict))}</span>'


def _outcome(outcome: str) -> str:
    css = "error-o" if outcome == "error" else outcome
    return f'<span class="{css}">{escape(outcome)}</span>'


def index_html(report: dict[str, Any], site_link: str | None) -> str:
    counts = report["counts"]
    fp = report["fingerprint"]
    run = report["run"]
    subjects = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in report["subjects"].items())
    meta = (
        '<table class="meta">'
        f"{subjects}"
        f"<tr><td>claims file</td><td><code>{escape(report['claims_file'])}</code></td></tr>"
        f"<tr><td>host</td><td>{escape(run['host'])} ({escape(run['arch'])}, kernel {escape(run['kernel'])})</td></tr>"
        f"<tr><td>run</td><td>{escape(run['started'])} to {escape(run['finished'])}</td></tr>"
        f"<tr><td>tools</td><td>{escape(_pairs(run['tools']) or 'none recorded')}</td></tr>"
        f"<tr><td>fingerprint</td><td><code>{escape(fp['sha256'])}</code><br><span class='muted'>claims file "
        f"{escape(fp['claims_file'])}; images {escape(', '.join(fp['images']) or 'none')}; "
        f"ocimatrix {escape(fp['ocimatrix'])}"
        "</span></td></tr></table>"
    )
    summary = " · ".join(f"{_verdict(k)} {n}" for k, n in counts.items())
    rows = "".join(_claim_row(c) for c in report["claims"])
    links = (
        '<p><a href="badge.svg">badge</a> · <a href="claims.json">claims.json</a> · <a href="junit.xml">junit.xml</a>'
    )
    links += ' · <a href="cells/results.json">every cell (results.json)</a>'
    if site_link:
        links += f' · <a href="{escape(site_link)}">the cells as a compatibility matrix</a>'
    links += "</p>"
    body = (
        f"<h1>{escape(' '.join(p for p in (report['vendor'], report['product'], report.get('product_version')) if p))}"
        ": "
        "supportability claims</h1>"
        f'<p><img src="badge.svg" alt="ocimatrix badge"> {summary}</p>{links}{meta}'
        "<h2>Claims</h2><p class='muted'>A claim is verified only when every cell it rests on passed and shows it "
        "ran (or examined) the claimed platform; a skipped or errored cell never verifies a claim.</p>"
        "<table><thead><tr><th>verdict</th><th>claim</th><th>why, and the cells behind it</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        f"{_attestations(report.get('attestations') or [])}"
    )
    return _page(f"{report['product']}: claims", body)


def _attestations(found: list[dict[str, Any]]) -> str:
    """The attestation manifests of the image's index, as the cells read them."""
    if not found:
        return ""
    rows = "".join(
        f"<tr><td>{escape(a['where'])}</td><td><code>{escape(a['digest'])}</code></td>"
        f"<td><code>{escape(a['subject'])}</code> ({escape(a.get('subject_platform') or 'not in the index')})</td>"
        f"<td>{escape(', '.join(a['predicate_types']) or 'none')}</td>"
        f"<td>{escape('; '.join(a.get('problems') or []) or 'none')}</td></tr>"
        for a in found
    )
    return (
        "<h2>Attestations</h2><p class='muted'>The attestation manifests of the image's index (BuildKit's "
        "<code>attestation-manifest</code> entries): the image manifest each is about, and its statements.</p>"
        "<table><thead><tr><th>read</th><th>attestation manifest</th><th>about (subject)</th>"
        f"<th>predicate types</th><th>problems</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _claim_row(claim: dict[str, Any]) -> str:
    spec = f' <a href="{escape(claim["spec"])}">spec</a>' if claim.get("spec") else ""
    cells = "".join(
        "<tr>"
        f"<td>{_outcome(c['outcome'])}</td>"
        f'<td><a href="{escape(c["evidence"])}">{escape(_cell_label(c))}</a></td>'
        f"<td>{escape(c['platform'] and 'platform ' + c['platform'])}</td>"
        f"<td class='tools'>{escape(_cell_tools(c))}</td>"
        f"<td class='muted'>{escape(c['note'])}</td>"
        "</tr>"
        for c in claim["cells"]
    )
    cells_table = f'<table class="cells">{cells}</table>' if cells else ""
    return (
        f'<tr id="{escape(claim["id"])}"><td>{_verdict(claim["verdict"])}</td>'
        f"<td>{escape(claim['title'])}<br><code class='muted'>{escape(claim['id'])}</code>{spec}</td>"
        f"<td>{escape(claim['reason'])}{cells_table}</td></tr>"
    )


def _pairs(values: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in values.items())


def _cell_label(cell: dict[str, Any]) -> str:
    test = cell["test"].split("::", 1)[-1]
    return test


def _cell_tools(cell: dict[str, Any]) -> str:
    """The versions of the cell's own engine and runtime (``docker@trixie 26.1.5``): what it ran."""
    versions = cell.get("versions") or {}
    tools = [cell["cell"].get(axis) for axis in ("engine", "runtime")]
    return ", ".join(f"{t} {versions[t]}" for t in tools if t and versions.get(t))


def evidence_html(index: int, record: dict[str, Any]) -> str:
    read = Record.from_json(record)  # older records kept the versions in the cell
    cell, versions = read.cell, read.versions
    spec = record.get("spec") or {}
    body = (
        f'<p><a href="../index.html">back to the claims</a></p><h1>{escape(record["test"])}</h1>'
        '<table class="meta">'
        f"<tr><td>outcome</td><td>{_outcome(record['outcome'])}</td></tr>"
        f"<tr><td>cell</td><td>{escape(', '.join(f'{k}={v}' for k, v in cell.items()))}</td></tr>"
        f"<tr><td>versions</td><td>{escape(_pairs(versions) or 'none recorded')}</td></tr>"
        f"<tr><td>spec</td><td>{escape(spec.get('section', ''))} "
        + (f'<a href="{escape(spec["url"])}">link</a>' if spec.get("url") else "")
        + "</td></tr>"
        f"<tr><td>duration</td><td>{record.get('duration_s', 0)} s</td></tr></table>"
        + (f"<h2>Reason</h2><pre>{escape(record.get('reason') or '')}</pre>" if record.get("reason") else "")
        + "<h2>Repro</h2><pre>"
        + escape("\n".join(record.get("repro") or []) or "(no commands recorded)")
        + "</pre><h2>Evidence</h2><pre>"
        + escape(json.dumps(record.get("evidence") or {}, indent=1))
        + "</pre>"
    )
    return _page(f"cell {index}: {record['test']}", body)


def write_html(out: Path, report: dict[str, Any], records: list[dict[str, Any]], site_link: str | None) -> Path:
    evidence_dir = out / "evidence"
    evidence_dir.mkdir(parents=True, exist_ok=True)
    for index, record in enumerate(records):
        (evidence_dir / f"{index}.html").write_text(evidence_html(index, record))
    path = out / "index.html"
    path.write_text(index_html(report, site_link))
    return path
