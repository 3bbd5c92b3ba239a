"""The site's filesystem-defaults page: what each engine and runtime put in every container's filesystem,
side by side (``fs-defaults.html``).

It reads the records of the lifecycle suite's ``test_filesystem_defaults`` (one per engine and runtime):
their ``fs_defaults`` evidence, the owner and mode of ``/``, ``/run``, ``/etc/hosts``, ``/etc/hostname``,
``/etc/resolv.conf`` and ``/dev/shm`` and the ``/proc/mounts`` lines behind them. These are facts, not
verdicts: a row where the columns differ is marked, and the one place a spec speaks (runtime-spec's
Default Filesystems: ``/dev/shm`` SHOULD be a tmpfs) is named beside its row. Self-contained: no
script, no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from ocimatrix import specs
from ocimatrix.report.cards import with_card
from ocimatrix.results import Record, Results

PAGE = "fs-defaults.html"
TEST_NAME = "test_filesystem_defaults"
EVIDENCE_KEY = "fs_defaults"
PATHS = ("/", "/run", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/dev/shm")
# Where a spec speaks about a row: (label, reference). Only /dev/shm's mount, and only as a SHOULD.
SPEC_NOTES = {
    "mount /dev/shm": (
        "runtime-spec config-linux.md, Default Filesystems: /dev/shm SHOULD be a tmpfs",
        "runtime-spec/config-linux.md#default-filesystems",
    ),
}
# Mount options that say something of the container's view (overlay's lowerdir= paths are the host's).
SHOWN_OPTIONS = ("ro", "rw", "nosuid", "nodev", "noexec", "relatime", "size=", "mode=", "nr_inodes=")
STYLE = """\
main.fsdefaults { padding: 1rem 1.5rem; }
table.fsdefaults { border-collapse: collapse; background: var(--paper); font-size: 13px; }
table.fsdefaults th, table.fsdefaults td {
  border: 1px solid var(--line); padding: .35rem .5rem; vertical-align: top; text-align: left;
}
table.fsdefaults thead th { position: sticky; top: 0; background: var(--head); color: #fff; }
table.fsdefaults tr.diff th[scope=row] { background: var(--mixed-bg); color: var(--mixed-ink); }
.none { color: var(--muted); font-style: italic; }
.differs { font-weight: bold; }
"""


@dataclass
class Column:
    engine: str
    runtime: str
    record: Record
    facts: dict[str, Any]

    @property
    def title(self) -> str:
        return f"{self.engine} / {self.runtime}"

    @property
    def versions(self) -> str:
        return ", ".join(f"{tool} {version}" for tool, version in self.record.versions.items() if version)


def columns_of(results: Results) -> list[Column]:
    """One column per (engine, runtime) whose record carries the probe's facts (the last record wins)."""
    found: dict[tuple[str, str], Column] = {}
    for record in results.results:
        if not (record.test.endswith(TEST_NAME) or f"{TEST_NAME}[" in record.test):
            continue
        facts = record.evidence.get(EVIDENCE_KEY)
        if not isinstance(facts, dict) or not isinstance(facts.get("paths"), dict):
            continue
        engine = str(facts.get("engine") or record.cell.get("engine") or "?")
        runtime = str(facts.get("runtime") or record.cell.get("runtime") or "?")
        found[(engine, runtime)] = Column(engine, runtime, record, facts)
    return [found[key] for key in sorted(found)]


def _shown(option: str) -> bool:
    return any(option == s or (s.endswith("=") and option.startswith(s)) for s in SHOWN_OPTIONS)


def mount_shown(line: str) -> str:
    """``<type> <options worth showing>`` of a /proc/mounts line ("" when there is none)."""
    fields = line.split()
    if len(fields) < 4:
        return ""
    options = [o for o in fields[3].split(",") if _shown(o)]
    return f"{fields[2]} {','.join(options)}".strip()


def rows_of(columns: list[Column]) -> list[tuple[str, list[str]]]:
    """(row name, one value per column): each path's ``type:uid:gid:mode``, then each path's mount."""
    rows = []
    for path in PATHS:
        rows.append((f"owner and mode {path}", [str(c.facts["paths"].get(path, "")) for c in columns]))
    for path in PATHS:
        values = [mount_shown(str((c.facts.get("mounts") or {}).get(path, ""))) for c in columns]
        rows.append((f"mount {path}", values))
    return rows


def _cell(value: str) -> str:
    if not value:
        return '<td><span class="none">no mount of its own</span></td>'
    if value == "missing":
        return '<td><span class="none">missing</span></td>'
    return f"<td><code>{escape(value)}</code></td>"


def render_page(columns: list[Column]) -> str:
    heads = "".join(f'<th scope="col">{escape(c.title)}<br><small>{escape(c.versions)}</small></th>' for c in columns)
    body = []
    differing = 0
    for name, values in rows_of(columns):
        differs = len(set(values)) > 1
        differing += differs
        mark = '<span class="differs">≠ differs</span>' if differs else "= same"
        note = ""
        if name in SPEC_NOTES:
            label, reference = SPEC_NOTES[name]
            note = f'<br><a href="{escape(specs.link(reference))}">{escape(label)}</a>'
        cells = "".join(_cell(v) for v in values)
        body.append(
            f'<tr class="{"diff" if differs else "agree"}"><th scope="row">{escape(name)}{note}<br>{mark}</th>'
            f"{cells}</tr>"
        )
    summary = (
        f"{differing} of {len(body)} rows differ between {len(columns)} engine and runtime pairs"
        if columns
        else "no engine's filesystem defaults were recorded in these results"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>What each engine puts in a container's filesystem</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="assets/style.css">
<style>
{STYLE}</style></head>
<body><main class="fsdefaults">
<p><a href="index.html">← the compatibility matrix</a></p>
<h1>What each engine puts in a container's filesystem</h1>
<p>Each engine ran the same probe image (busybox and an empty <code>/etc</code>, nothing else; <code>--network
none</code>) with each runtime, and the probe printed the type, owner, group and mode of the paths below and
the <code>/proc/mounts</code> lines behind them (for <code>/</code> and the bind mounts only the type and the
options that show inside; overlay's host paths are left out). These are facts, not verdicts: no spec says
which mode <code>/run</code> has or whether <code>/etc/hosts</code> exists. The one place a spec speaks is
named beside its row, and it is a SHOULD, so it is shown, not failed. {escape(summary)}.</p>
<table class="fsdefaults"><thead><tr><th scope="col">what (spec, where one speaks)</th>{heads}</tr></thead>
<tbody>{"".join(body)}</tbody></table></main></body></html>
"""


def write_fs_defaults(results: Results, out_dir: Path) -> Path | None:
    """Write the page; None when no record carries the probe's facts."""
    columns = columns_of(results)
    if not columns:
        return None
    page = Path(out_dir) / PAGE
    page.write_text(render_page(columns), encoding="utf-8")
    return page


def link_fs_defaults(page: str, results: Results, out_dir: Path) -> str:
    """``page`` (the front page's HTML) with a card linking the filesystem-defaults page, when there is one."""
    written = write_fs_defaults(results, out_dir)
    if written is None:
        return page
    count = len(columns_of(results))
    card = (
        '<div class="card" id="fs-defaults"><h3>What each engine puts in a container\'s filesystem</h3>'
        f'<p><a href="{PAGE}">{count} engine and runtime pairs, side by side</a>: owner and mode of /, /run, '
        "/etc/hosts, /etc/hostname, /etc/resolv.conf, /dev/shm, and the mounts behind them.</p></div>\n"
    )
    return with_card(page, card)
