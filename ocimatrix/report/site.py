"""Write the static compatibility-matrix site: ``index.html`` + ``assets/`` + ``data/``.

Entry points: ``write_site(results_paths, out_dir, baseline=None, history=None) -> Path`` (what
``ocimatrix run`` calls; returns index.html) and ``build_site`` (same, returning what the CLI prints).
The page works from file:// and any static host: nothing is fetched from the network, the data is
JavaScript files next to the page, the chart is inline SVG drawn here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from string import Template
from typing import Any

from ocimatrix import __version__
from ocimatrix.errors import UsageError
from ocimatrix.report.cell_tools import resolve_tools
from ocimatrix.report.engine_configs import link_engine_configs
from ocimatrix.report.findings import find_findings
from ocimatrix.report.fs_defaults import link_fs_defaults
from ocimatrix.report.history import history_path, pass_rate, update_history
from ocimatrix.report.interop import add_tool_identities
from ocimatrix.report.model import SiteData, build_site_data
from ocimatrix.report.signed_copies import link_signed_copies
from ocimatrix.report.svg import history_svg, history_table
from ocimatrix.report.versions_view import versions_by_test
from ocimatrix.results import OUTCOMES, Results
from ocimatrix.results.merge import Diff, MergeNote, Source, diff_results, merge_results
from ocimatrix.results.schema import load_checked_results

HERE = Path(__file__).resolve().parent
ASSETS = ("app.js", "style.css")
SYMBOLS = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "–", "xfailed": "×"}


@dataclass
class SiteReport:
    index: Path
    results: Results
    notes: list[MergeNote] = field(default_factory=list)
    diff: Diff | None = None
    history: Path | None = None


def load_inputs(results_paths: list[Path]) -> tuple[Results, list[MergeNote]]:
    """One file as it is; several merged the way ``ocimatrix merge`` does, notes included."""
    if not results_paths:
        raise UsageError("no results file given")
    sources = [Source(name=str(p), results=load_checked_results(p)) for p in results_paths]
    if len(sources) == 1:
        return sources[0].results, []
    merged = merge_results(sources)
    return merged.results, merged.notes


def build_site(
    results_paths: list[Path],
    out_dir: Path,
    baseline: Path | None = None,
    history: Path | None = None,
    title: str = "OCI compatibility matrix",
) -> SiteReport:
    results, notes = load_inputs([Path(p) for p in results_paths])
    diff = None
    baseline_info = None
    if baseline is not None:
        old = load_checked_results(Path(baseline))
        diff = diff_results(old, results)
        baseline_info = {"file": Path(baseline).name, "host": old.run.host, "started": old.run.started}
    out_dir = Path(out_dir)
    _prepare_out_dir(out_dir)
    hist_file = history_path(Path(history) if history is not None else out_dir)
    entries = update_history(hist_file, results)

    data = build_site_data(results, diff, baseline_info, title)
    _add_front_page_views(data)
    # A new build id per content makes browsers drop cached copies of app.js and the data files.
    fingerprint = json.dumps([__version__, data.index["r"]["out"], data.index["r"]["cell"]]).encode()
    build = hashlib.sha256(fingerprint).hexdigest()[:10]
    _write_assets(out_dir)
    data_dir = out_dir / "data"
    data_dir.mkdir(exist_ok=True)
    for stale in data_dir.glob("details-*.js"):
        stale.unlink()
    _write_js(data_dir / "index.js", "OCIMATRIX.load(", data.index)
    for number, chunk in enumerate(data.chunks):
        _write_js(data_dir / f"details-{number:04d}.js", f"OCIMATRIX.details({number}, ", chunk)
    page = _render_page(results, entries, notes, [Path(p) for p in results_paths], title, build)
    page = _with_claims(page, results, [Path(p) for p in results_paths], out_dir)
    page = link_engine_configs(page, results, out_dir)  # engine-configs.html, what each engine tells runc
    page = link_fs_defaults(page, results, out_dir)  # fs-defaults.html, what each engine puts in the rootfs
    page = link_signed_copies(page, results, out_dir)  # signed-copies.html, what each copier keeps
    index = out_dir / "index.html"
    _atomic_write(index, page)
    return SiteReport(index=index, results=results, notes=notes, diff=diff, history=hist_file)


def write_site(
    results_paths: list[Path], out_dir: Path, baseline: Path | None = None, history: Path | None = None
) -> Path:
    """Render the site for ``results_paths`` into ``out_dir``; returns the path of index.html."""
    return build_site(results_paths, out_dir, baseline=baseline, history=history).index


def _add_front_page_views(data: SiteData) -> None:
    """What breaks, builder x runner, which versions: the first questions, answered in the index data."""
    tools = resolve_tools(data.records)
    add_tool_identities(data, tools)
    axes = data.index["axes"]
    data.index["findings"] = [f.to_json() for f in find_findings(data.records, tools, axes)]
    data.index["versions"] = versions_by_test(data.records, tools, axes)


# ---------------------------------------------------------------- files


def _prepare_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir}: exists and is not a directory")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{out_dir}: cannot create the output directory ({exc.strerror})") from None


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _write_assets(out_dir: Path) -> None:
    target = out_dir / "assets"
    target.mkdir(exist_ok=True)
    for name in ASSETS:
        shutil.copyfile(HERE / "assets" / name, target / name)


def _write_js(path: Path, opener: str, payload: Any) -> None:
    """``opener JSON.parse('...'));``: V8 parses a JSON string faster than the same data written as
    an object literal, which matters at tens of megabytes."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    literal = text.replace("\\", "\\\\").replace("'", "\\'")
    _atomic_write(path, f"{opener}JSON.parse('{literal}'));\n")


# ---------------------------------------------------------------- static parts of the page


def _render_page(
    results: Results,
    entries: list[dict[str, Any]],
    notes: list[MergeNote],
    inputs: list[Path],
    title: str,
    build: str,
) -> str:
    template = Template((HERE / "templates" / "index.html").read_text(encoding="utf-8"))
    return template.substitute(
        title=escape(title),
        version=escape(__version__),
        build=build,
        run_meta=_run_meta(results),
        totals=_totals(results),
        history=_history_section(entries),
        tools=_tools_table(results),
        hosts=_hosts_table(results),
        merge=_merge_section(results, notes),
        generated=escape(datetime.now(UTC).isoformat(timespec="seconds")),
        inputs=escape(", ".join(p.name for p in inputs)),
    )


def _with_claims(page: str, results: Results, inputs: list[Path], out_dir: Path) -> str:
    """Link the claims reports found beside the inputs (or kept by a merge) before the hosts card."""
    from ocimatrix.report.claims_links import claims_section
    from ocimatrix.results.claims_reports import find_claims_reports

    section = claims_section(find_claims_reports(inputs, (results.run.merge or {}).get("claims")), out_dir)
    marker = '<div class="card"><h3>Hosts</h3>'
    return page.replace(marker, section + marker, 1) if section and marker in page else page


def _run_meta(results: Results) -> str:
    run = results.run
    parts = [
        f"host <code>{escape(run.host)}</code>" if run.host else "",
        f"{escape(run.arch)}, kernel {escape(run.kernel)}" if run.kernel else "",
        f"started {escape(run.started)}" if run.started else "",
        f"finished {escape(run.finished)}" if run.finished else "",
        f"matrix <code>{escape(run.matrix)}</code>" if run.matrix else "",
    ]
    return " · ".join(p for p in parts if p)


def _totals(results: Results) -> str:
    counts = results.counts()
    rate = pass_rate(counts)
    items = [
        f'<li class="rate"><span class="big">{"–" if rate is None else f"{rate:.1%}"}</span>pass rate</li>',
        f'<li class="rate"><span class="big">{len(results.results):,}</span>results</li>',
    ]
    for outcome in OUTCOMES:
        if counts.get(outcome):
            items.append(
                f'<li class="o-{outcome}"><span class="big">{counts[outcome]:,}</span>'
                f'<span aria-hidden="true">{SYMBOLS[outcome]}</span> {outcome}</li>'
            )
    return f'<ul class="totals" aria-label="Totals">{"".join(items)}</ul>'


def _history_section(entries: list[dict[str, Any]]) -> str:
    if not entries:
        return ""
    return (
        '<section id="history" aria-labelledby="history-h"><h2 id="history-h">Pass rate history</h2>'
        f'<div class="card">{history_svg(entries)}'
        f"<details><summary>The numbers</summary>{history_table(entries)}</details></div></section>"
    )


def _tools_table(results: Results) -> str:
    tools = dict(results.run.tools)
    # Versions recorded per cell count too: a merged run may have no run-level list.
    for record in results.results:
        for tool, version in record.versions.items():
            seen = tools.get(tool, "")
            if version not in seen.split(" | "):
                tools[tool] = f"{seen} | {version}" if seen else version
    if not tools:
        return '<div class="card"><h3>Tools</h3><p class="meta">No tool versions were recorded.</p></div>'
    rows = "".join(f'<tr><th scope="row">{escape(t)}</th><td>{escape(v)}</td></tr>' for t, v in sorted(tools.items()))
    return f'<div class="card"><h3>Tool versions</h3><table class="plain"><tbody>{rows}</tbody></table></div>'


def _hosts_table(results: Results) -> str:
    sources = (results.run.merge or {}).get("sources") or []
    run = results.run
    if not sources:
        sources = [
            {"file": "", "host": run.host, "arch": run.arch, "kernel": run.kernel, "started": run.started}
            | {"records": len(results.results)}
        ]
    rows = "".join(
        f'<tr><th scope="row">{escape(s.get("host", ""))}</th><td>{escape(s.get("arch", ""))}</td>'
        f"<td>{escape(s.get('kernel', ''))}</td><td>{escape(s.get('started', ''))}</td>"
        f"<td>{s.get('records', 0):,}</td><td>{escape(s.get('file', ''))}</td></tr>"
        for s in sources
    )
    columns = ("host", "arch", "kernel", "started", "records", "file")
    head = "".join(f'<th scope="col">{h}</th>' for h in columns)
    return (
        f'<div class="card"><h3>Hosts</h3><table class="plain"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )


def _merge_section(results: Results, notes: list[MergeNote]) -> str:
    merge = results.run.merge or {}
    recorded = merge.get("notes") or [n.to_json() for n in notes]
    if not recorded:
        return ""
    conflicts = sum(1 for n in recorded if n["kind"] == "conflict")
    duplicates = len(recorded) - conflicts
    items = "".join(_merge_note_item(n) for n in recorded)
    return (
        '<div class="card" id="merge-notes"><h3>Shard merge</h3>'
        f"<p>{conflicts:,} conflicting and {duplicates:,} duplicated cases across shards. Each is kept once, "
        "with the most telling outcome; the others are in its record's details.</p>"
        f"<details><summary>List them</summary><ul>{items}</ul></details></div>"
    )


def _merge_note_item(note: dict[str, Any]) -> str:
    style = "conflict" if note["kind"] == "conflict" else "now-skipped"
    seen = ", ".join(f"{escape(o['outcome'])} in {escape(o['source'])}" for o in note["outcomes"])
    return (
        f'<li><span class="change c-{style}">{escape(note["kind"])}</span> '
        f"<code>{escape(note['test'])}</code> "
        f"[{escape(note['cell'])}]: {seen}; kept {escape(note['kept'])}</li>"
    )
