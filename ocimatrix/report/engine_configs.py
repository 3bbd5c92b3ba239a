"""The site's engine-config page: what each engine told runc, side by side (``engine-configs.html``).

It reads the records of the runtime suite's ``test_engine_config_is_valid`` (one per engine, and one
more per CRI runtime from ``test_cri_engine_config_of_a_restricted_pod``): their
``engine_config`` evidence (the aspects of the config.json the recording shim saved) and
``runtime_config`` (the whole document, written next to the page as ``engine-configs/<engine>.json``).
Every aspect on which engines differ is a row marked "differs", with the runtime-spec section that
defines it; the verdict rule (a difference is evidence, a broken schema or MUST a failure) is in
``ocimatrix/runtime/config_compare.py``. The page is self-contained: no script, no network.

Below it, each engine's ``ociVersion`` is crossed with every runtime (of every generation) the same
results ran the version dimension on (``test_runs_config_declared_as_<release>``,
``suites/runtime/test_runtime_spec_versions.py``): what that runtime did with the probe declared as
the release the engine writes. It is the probe's outcome, not the engine's own document handed to
that runtime; a release no record covers says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from ocimatrix.report.cards import with_card
from ocimatrix.results import Record, Results
from ocimatrix.runtime.config_compare import ASPECTS, aspects, differences
from ocimatrix.tools import catalog, generations

PAGE = "engine-configs.html"
CONFIG_DIR = "engine-configs"
TEST_NAME = "test_engine_config_is_valid"
# A CRI runtime's config for a restricted pod (RuntimeDefault, no escalation, no capabilities): its own column.
TEST_NAMES = (TEST_NAME, "test_cri_engine_config_of_a_restricted_pod")
CROSSING_TEST = "test_runtime_runs_engine_config"
DECLARED_AS = re.compile(r"test_runs_config_declared_as_(\d+)_(\d+)_(\d+)(?:\[|$)")
STYLE = """\
main.configs { padding: 1rem 1.5rem; }
table.configs { border-collapse: collapse; background: var(--paper); font-size: 13px; }
table.configs th, table.configs td {
  border: 1px solid var(--line); padding: .35rem .5rem; vertical-align: top; text-align: left;
}
table.configs thead th { position: sticky; top: 0; background: var(--head); color: #fff; }
table.configs thead th a { color: #cfe0ff; }
table.configs tr.diff th[scope=row] { background: var(--mixed-bg); color: var(--mixed-ink); }
table.configs ol, table.configs ul { margin: 0; padding-left: 1.2rem; }
table.configs code { word-break: break-all; }
.none { color: var(--muted); font-style: italic; }
.differs { font-weight: bold; }
.outcome.passed { color: #bff0cb; } .outcome.failed { color: #ffc9c4; }
"""
SYMBOLS = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "–", "xfailed": "×"}


@dataclass
class EngineColumn:
    engine: str
    record: Record
    aspects: dict[str, Any]

    @property
    def versions(self) -> str:
        versions = self.record.versions
        return ", ".join(f"{tool} {version}" for tool, version in versions.items() if version)


def engine_columns(results: Results) -> list[EngineColumn]:
    """One column per engine whose record carries a recorded config (the last record wins)."""
    columns: dict[str, EngineColumn] = {}
    for record in results.results:
        if not any(record.test.endswith(name) or f"{name}[" in record.test for name in TEST_NAMES):
            continue
        found = record.evidence.get("engine_config")
        if not isinstance(found, dict) or not isinstance(found.get("aspects"), dict):
            continue
        engine = str(found.get("engine") or record.cell.get("engine") or "?")
        document = record.evidence.get("runtime_config")
        # Read again from the whole document when the record has it: aspects added since are shown too.
        container_id = str(found.get("container_id") or "")
        read = aspects(document, container_id) if isinstance(document, dict) else found["aspects"]
        columns[engine] = EngineColumn(engine, record, read)
    return list(columns.values())


def declared_as_outcomes(results: Results) -> dict[str, dict[str, Record]]:
    """runtime (as the cell spells it, with its version) -> release -> the version dimension's record."""
    found: dict[str, dict[str, Record]] = {}
    for record in results.results:
        name = record.test.rpartition("::")[2]
        matched = DECLARED_AS.match(name)
        runtime = record.cell.get("runtime")
        if matched is None or not runtime:
            continue
        version = record.versions.get(runtime, "")
        label = f"{runtime} {version}".strip()
        found.setdefault(label, {})[".".join(matched.groups())] = record
    return found


def crossing_outcomes(results: Results) -> tuple[list[str], dict[str, dict[str, Record]]]:
    """(runtime columns, engine -> runtime -> record) of ``test_runtime_runs_engine_config``: each
    engine's recorded config.json run by each runtime, the runtime labelled with its version. A record
    skipped before its runtime said its version joins the column of that runtime's one known version.
    Rows and columns go by generation, then name."""
    read: list[tuple[str, str, Record]] = []  # (engine, runtime cell value, record)
    versions: dict[str, set[str]] = {}
    for record in results.results:
        name = record.test.rpartition("::")[2]
        runtime = record.cell.get("runtime")
        if not name.startswith(f"{CROSSING_TEST}[") or not runtime:
            continue
        crossing = record.evidence.get("engine_crossing")
        engine = (crossing.get("engine") if isinstance(crossing, dict) else None) or _engine_of_id(name, runtime)
        if not engine:
            continue
        read.append((str(engine), str(runtime), record))
        if record.versions.get(runtime):
            versions.setdefault(runtime, set()).add(record.versions[runtime])
    found: dict[str, dict[str, Record]] = {}
    labels: dict[str, tuple] = {}
    for engine, runtime, record in read:
        known = versions.get(runtime, set())
        version = record.versions.get(runtime) or (next(iter(known)) if len(known) == 1 else "")
        label = f"{runtime} {version}".strip()
        labels[label] = _by_generation(runtime)
        found.setdefault(engine, {})[label] = record
    ordered = dict(sorted(found.items(), key=lambda item: _by_generation(item[0])))
    return sorted(labels, key=lambda label: (labels[label], label)), ordered


def _by_generation(value: str) -> tuple[int, str]:
    name, generation = catalog.split_generation(value)
    return generations.order(generation), name


def _engine_of_id(name: str, runtime: str) -> str:
    """The engine a crossing record's parametrize id names: ``[config-of-docker@trixie-runc]`` with the
    cell's runtime ``runc`` -> ``docker@trixie`` (engines hold dashes, so the runtime is cut off first)."""
    inner = name.partition("[")[2].removesuffix("]")
    inner = inner.removesuffix(f"-{runtime}")
    return inner.removeprefix("config-of-") if inner.startswith("config-of-") else ""


def render_crossing(runtimes: list[str], crossing: dict[str, dict[str, Record]]) -> str:
    """Each engine's own config.json (its ociVersion and properties) against each runtime's answer."""
    if not crossing:
        return ""
    heads = "".join(f'<th scope="col">{escape(runtime)}</th>' for runtime in runtimes)
    rows = []
    for engine, by_runtime in crossing.items():
        written = next(
            (
                str((r.evidence.get("engine_crossing") or {}).get("oci_version") or "")
                for r in by_runtime.values()
                if isinstance(r.evidence.get("engine_crossing"), dict)
            ),
            "",
        )
        cells = []
        for runtime in runtimes:
            record = by_runtime.get(runtime)
            if record is None:
                cells.append('<td><span class="none">not run</span></td>')
                continue
            crossing_seen = record.evidence.get("engine_crossing")
            seen = crossing_seen if isinstance(crossing_seen, dict) else {}
            said = seen.get("outcome") or record.outcome
            answer = ((record.evidence.get("answer") or {}).get("text")) or seen.get("answer") or ""
            if record.outcome == "skipped":
                said, answer = "skipped", record.reason[:120]
            words = f"<br><code>{escape(str(answer)[:240])}</code>" if answer and said != "runs" else ""
            note = f"<br><small>{escape(str(seen['note']))}</small>" if seen.get("note") else ""
            cells.append(
                f'<td><span class="outcome {escape(record.outcome)}">{SYMBOLS.get(record.outcome, "?")}</span> '
                f"{escape(str(said))}{words}{note}</td>"
            )
        rows.append(
            f'<tr><th scope="row">{escape(engine)}<br><code>{escape(written or "no ociVersion")}</code></th>'
            f"{''.join(cells)}</tr>"
        )
    return f"""<h2 id="crossing">Each engine's config.json, run by every runtime</h2>
<p>Each row is the config.json an engine handed the recording shim, with its own <code>ociVersion</code>
and properties; each column a runtime of any generation (<code>test_runtime_runs_engine_config</code>),
which ran that document from its own root with only the engine's own paths rewritten to a bundle of the
harness's (the rootfs, bind sources, hooks, namespace paths, cgroup path: each record lists its
rewrites). ✓ runs; ✗ refused, with the runtime's words; × a refusal listed as known for that
engine × runtime pair.</p>
<table class="configs"><thead><tr><th scope="col">engine (ociVersion)</th>{heads}</tr></thead>
<tbody>{"".join(rows)}</tbody></table>
"""


def _oci_version(column: EngineColumn) -> str:
    document = column.record.evidence.get("runtime_config")
    version = document.get("ociVersion") if isinstance(document, dict) else None
    return version if isinstance(version, str) else ""


def _release_of(version: str) -> str:
    """``1.2.0-dev`` -> ``1.2.0``: the release a declared version belongs to, as the probe declares it."""
    matched = re.match(r"^(\d+\.\d+\.\d+)", version)
    return matched.group(1) if matched else ""


def render_cross(columns: list[EngineColumn], outcomes: dict[str, dict[str, Record]]) -> str:
    """Each engine's ociVersion against each runtime's outcome for the probe declared as that release."""
    if not columns or not outcomes:
        return ""
    heads = "".join(f'<th scope="col">{escape(runtime)}</th>' for runtime in outcomes)
    rows = []
    for column in columns:
        declared = _oci_version(column)
        release = _release_of(declared)
        cells = []
        for by_release in outcomes.values():
            record = by_release.get(release)
            if record is None:
                cells.append('<td><span class="none">no record of this release</span></td>')
                continue
            shown = dict(record.evidence.get("oci_version") or {})
            said = shown.get("outcome") or record.outcome
            answer = ((record.evidence.get("answer") or {}).get("text")) or shown.get("answer") or ""
            words = f"<br><code>{escape(str(answer)[:200])}</code>" if answer and said != "runs" else ""
            cells.append(
                f'<td><span class="outcome {escape(record.outcome)}">{SYMBOLS.get(record.outcome, "?")}</span> '
                f"{escape(str(said))}{words}</td>"
            )
        rows.append(
            f'<tr><th scope="row">{escape(column.engine)}<br><code>{escape(declared or "no ociVersion")}</code></th>'
            f"{''.join(cells)}</tr>"
        )
    return f"""<h2 id="oci-versions">The ociVersion each engine writes, on every runtime</h2>
<p>Each row is an engine and the <code>ociVersion</code> of the config.json it handed the recording shim;
each column a runtime the version dimension ran (<code>test_runs_config_declared_as_&lt;release&gt;</code>):
the same probe declared as that release, run by that runtime from its own generation's root. A refusal
there means this engine's config, handed to that runtime, would be refused for its version alone.</p>
<table class="configs"><thead><tr><th scope="col">engine (ociVersion)</th>{heads}</tr></thead>
<tbody>{"".join(rows)}</tbody></table>
"""


def _value_html(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return '<span class="none">not set</span>'
    if isinstance(value, list):
        return "<ol>" + "".join(f"<li><code>{escape(str(v))}</code></li>" for v in value) + "</ol>"
    if isinstance(value, dict):
        items = []
        for key, inner in value.items():
            shown = ", ".join(map(str, inner)) if isinstance(inner, list) else json.dumps(inner)
            count = f" ({len(inner)})" if isinstance(inner, list) else ""
            items.append(f"<li><b>{escape(str(key))}</b>{count}: <code>{escape(shown)}</code></li>")
        return "<ul>" + "".join(items) + "</ul>"
    return f"<code>{escape(json.dumps(value) if not isinstance(value, str) else value)}</code>"


def _safe_name(engine: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.@-]+", "_", engine)


def render_page(
    columns: list[EngineColumn],
    outcomes: dict[str, dict[str, Record]] | None = None,
    crossing: tuple[list[str], dict[str, dict[str, Record]]] = ([], {}),
) -> str:
    differing = {d.aspect.key for d in differences({c.engine: c.aspects for c in columns})}
    heads = "".join(
        f'<th scope="col">{escape(c.engine)}<br><span class="outcome {escape(c.record.outcome)}">'
        f"{SYMBOLS.get(c.record.outcome, '?')} {escape(c.record.outcome)}</span>"
        f"<br><small>{escape(c.versions)}</small>"
        f'<br><a href="{CONFIG_DIR}/{_safe_name(c.engine)}.json">config.json</a></th>'
        for c in columns
    )
    rows = []
    for aspect in ASPECTS:
        differs = aspect.key in differing
        mark = '<span class="differs">≠ differs</span>' if differs else '<span class="same">= same</span>'
        cells = "".join(f"<td>{_value_html(c.aspects.get(aspect.key))}</td>" for c in columns)
        rows.append(
            f'<tr class="{"diff" if differs else "agree"}"><th scope="row">{escape(aspect.title)}<br>'
            f'<a href="{escape(aspect.url)}">{escape(aspect.section)}</a><br>{mark}</th>{cells}</tr>'
        )
    problems = "".join(
        f"<li><b>{escape(c.engine)}</b>: {escape(c.record.reason[:600])}</li>"
        for c in columns
        if c.record.outcome != "passed" and c.record.reason
    )
    problems_html = f"<h2>Broken configs</h2><ul>{problems}</ul>" if problems else ""
    summary = (
        f"{len(differing)} of {len(ASPECTS)} aspects differ between {len(columns)} engines"
        if columns
        else "no engine's config was recorded in these results"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>What each engine tells its runtime</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="assets/style.css">
<style>
{STYLE}</style></head>
<body><main class="configs">
<p><a href="index.html">← the compatibility matrix</a></p>
<h1>What each engine tells its runtime</h1>
<p>Each engine ran the same probe image (<code>--network none</code>, the same extra environment) through
the harness's recording shim, which saved the bundle's <code>config.json</code> before it ran runc. Each
document was checked against runtime-spec v1.2.0's config schema and the MUSTs a schema can't state: a
broken one fails its cell. The spec defines what each property means, not which values an engine
chooses, so a difference below is not a failure: it is what a container gets from one engine and not
from another. A CRI runtime is sent what the kubelet sends: for a pod that asks nothing, the default
masked and read-only paths and seccomp Unconfined; its "restricted pod" column is a pod asking seccomp
RuntimeDefault, <code>allowPrivilegeEscalation: false</code> and capabilities drop ALL. {escape(summary)}.</p>
{problems_html}
<table class="configs"><thead><tr><th scope="col">aspect (spec section)</th>{heads}</tr></thead>
<tbody>{"".join(rows)}</tbody></table>
{render_crossing(*crossing)}
{render_cross(columns, outcomes or {})}</main></body></html>
"""


def write_engine_configs(results: Results, out_dir: Path) -> Path | None:
    """Write the page and each engine's config.json; None when no record carries a recorded config."""
    columns = engine_columns(results)
    if not columns:
        return None
    configs = Path(out_dir) / CONFIG_DIR
    configs.mkdir(parents=True, exist_ok=True)
    for column in columns:
        document = column.record.evidence.get("runtime_config")
        (configs / f"{_safe_name(column.engine)}.json").write_text(json.dumps(document, indent=1), encoding="utf-8")
    page = Path(out_dir) / PAGE
    page.write_text(render_page(columns, declared_as_outcomes(results), crossing_outcomes(results)), encoding="utf-8")
    return page


def link_engine_configs(page: str, results: Results, out_dir: Path) -> str:
    """``page`` (the front page's HTML) with a card linking the engine-config page, when there is one."""
    written = write_engine_configs(results, out_dir)
    if written is None:
        return page
    count = len(engine_columns(results))
    card = (
        '<div class="card" id="engine-configs"><h3>What each engine tells its runtime</h3>'
        f'<p><a href="{PAGE}">The config.json of {count} engines, side by side</a>: env, capabilities, '
        "masked paths, rlimits, seccomp, cgroup path, mounts, user.</p></div>\n"
    )
    return with_card(page, card)
