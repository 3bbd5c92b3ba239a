"""The site's signed-copies page: what each way of copying a signed image to another registry kept and
lost, copier by written thing (``signed-copies.html``).

It reads the records of the signatures suite's ``test_copy_keeps_what_it_was_asked_to_keep``: their
``signed_copy`` evidence (the copier, the way and what it was asked to keep, the image's digest at
both ends, each written thing's state at the destination, what each verifier and lister said there).
One row per copy (copier, way, source and destination registry); a column per written thing, and the
image and the tags. What the copy was asked to keep is marked; losing it is the cell's failure, the
rest is recorded. Self-contained: no script, no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from ocimatrix.engines.signing import KEEPS_TAGS
from ocimatrix.report.cards import with_card
from ocimatrix.results import Record, Results

PAGE = "signed-copies.html"
TEST_NAME = "test_copy_keeps_what_it_was_asked_to_keep"
EVIDENCE_KEY = "signed_copy"
STATE_WORDS = {
    "kept": "kept",
    "rewritten": "kept as another manifest",
    "unlisted": "there, unlisted",
    "lost": "lost",
}
STYLE = """\
main.signedcopies { padding: 1rem 1.5rem; }
table.signedcopies { border-collapse: collapse; background: var(--paper); font-size: 13px; }
table.signedcopies th, table.signedcopies td {
  border: 1px solid var(--line); padding: .35rem .5rem; vertical-align: top; text-align: left;
}
table.signedcopies thead th { position: sticky; top: 0; background: var(--head); color: #fff; }
td.lost, td.unlisted { background: var(--mixed-bg); color: var(--mixed-ink); }
.asked { font-weight: bold; }
.none { color: var(--muted); font-style: italic; }
"""


@dataclass
class Row:
    record: Record
    copy: dict[str, Any]

    @property
    def title(self) -> str:
        return f"{self.copy.get('copier', '?')} · {self.copy.get('command', '')}"

    @property
    def route(self) -> str:
        source = (self.copy.get("source") or {}).get("registry", "?")
        dest = (self.copy.get("destination") or {}).get("registry", "?")
        return f"{source} → {dest}"


def rows_of(results: Results) -> list[Row]:
    """One row per copy case whose record carries the copy's evidence, in results order."""
    found = []
    for record in results.results:
        if not (record.test.endswith(TEST_NAME) or f"{TEST_NAME}[" in record.test):
            continue
        copy = record.evidence.get(EVIDENCE_KEY)
        if isinstance(copy, dict):
            found.append(Row(record, copy))
    return found


def writers_of(rows: list[Row]) -> list[str]:
    """Every writer a copy's source held something of, in the order first seen."""
    seen: dict[str, None] = {}
    for row in rows:
        for item in row.copy.get("items") or []:
            if isinstance(item, dict):
                seen.setdefault(str(item.get("writer", "?")), None)
    return list(seen)


def item_cell(row: Row, writer: str) -> str:
    items = [i for i in row.copy.get("items") or [] if isinstance(i, dict) and i.get("writer") == writer]
    if not items:
        refused = (row.copy.get("refused_at_source") or {}).get(writer)
        text = "refused to write at the source" if refused else "nothing written"
        return f'<td><span class="none">{escape(text)}</span></td>'
    states = sorted({str(i.get("state", "?")) for i in items})
    how = sorted({str(i.get("how", "")) for i in items})
    words = ", ".join(STATE_WORDS.get(s, s) for s in states)
    asked = any(i.get("promised") for i in items)
    mark = '<br><span class="asked">asked to keep</span>' if asked else ""
    verdicts = [
        v
        for v in row.copy.get("verified") or []
        if isinstance(v, dict) and v.get("writer") == writer and v.get("destination") is not None
    ]
    checks = "".join(
        f"<br><small>{escape(str(v.get('reader')))}: {'verifies' if v.get('destination') else 'does not verify'}"
        f"{'' if v.get('judges', True) else '*'}</small>"
        for v in verdicts
    )
    css = "lost" if "lost" in states else "unlisted" if "unlisted" in states else "kept"
    return f'<td class="{css}">{escape(words)} <small>({escape(", ".join(how))})</small>{mark}{checks}</td>'


def image_cell(row: Row) -> str:
    kept = row.copy.get("digest_kept")
    dest = (row.copy.get("destination") or {}).get("digest") or "(none)"
    text = "digest kept" if kept else f"another digest: {dest}"
    return f'<td class="{"kept" if kept else "lost"}">{escape(text)}</td>'


def tags_cell(row: Row) -> str:
    source = (row.copy.get("source") or {}).get("tags") or {}
    dest = (row.copy.get("destination") or {}).get("tags") or {}
    same = [t for t, d in source.items() if dest.get(t) == d]
    asked = row.copy.get("keeps") == KEEPS_TAGS
    mark = '<br><span class="asked">asked to keep</span>' if asked else ""
    css = "kept" if len(same) == len(source) else "lost"
    names = ", ".join(sorted(dest)) or "none"
    return f'<td class="{css}">{len(same)} of {len(source)} as they were{mark}<br><small>{escape(names)}</small></td>'


def listers_cell(row: Row) -> str:
    listed = [entry for entry in row.copy.get("listed") or [] if isinstance(entry, dict)]
    if not listed:
        return '<td><span class="none">none asked</span></td>'
    parts = [
        f"{escape(str(e.get('reader')))}: {len(e.get('listed') or [])}"
        f"{'' if e.get('agrees') else ' (the registry holds ' + str(len(e.get('registry holds') or [])) + ')'}"
        for e in listed
    ]
    return f"<td>{'<br>'.join(parts)}</td>"


def render_page(rows: list[Row]) -> str:
    writers = writers_of(rows)
    heads = "".join(f'<th scope="col">{escape(w)}</th>' for w in writers)
    body = []
    for row in rows:
        keeps = escape(str(row.copy.get("keeps", "")))
        cells = "".join(item_cell(row, w) for w in writers)
        body.append(
            f'<tr><th scope="row">{escape(row.title)}<br><small>{escape(row.route)}</small></th>'
            f"<td>{keeps}</td><td>{escape(row.record.outcome)}</td>{image_cell(row)}{cells}{tags_cell(row)}"
            f"{listers_cell(row)}</tr>"
        )
    summary = (
        f"{len(rows)} copies, {sum(r.record.outcome == 'failed' for r in rows)} failed"
        if rows
        else "no copy of a signed image was recorded in these results"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Copies of a signed image: what each copier keeps</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="assets/style.css">
<style>
{STYLE}</style></head>
<body><main class="signedcopies">
<p><a href="index.html">← the compatibility matrix</a></p>
<h1>Copies of a signed image: what each copier keeps</h1>
<p>One image, signed by each signer of the suite and with an artifact attached by each attacher (every
version of each), was copied to another registry by each way below, then read there by the harness (the referrers
API or the referrers tag schema's index, the signature tag, every tag) and by every verifier and lister.
A written thing is <em>kept</em> (the same manifest is listed, or is under the signature tag), <em>kept as
another manifest</em> (a signature tag whose payload still signs the image), <em>there, unlisted</em>
(its manifest is at the destination but nothing lists it) or <em>lost</em>. Losing what a copy was
<strong>asked to keep</strong> fails the case; what it was not asked to keep is recorded. Under each
state: what each verifier said at the destination; a <code>*</code> marks an answer that may rest on another
signature of the same family (a verifier accepts any of its family's signatures it reads, and that one was not
asked to be kept), which judges nothing. {escape(summary)}.</p>
<table class="signedcopies"><thead><tr><th scope="col">copy (source → destination)</th>
<th scope="col">asked to keep</th><th scope="col">outcome</th><th scope="col">the image</th>{heads}
<th scope="col">tags</th><th scope="col">listers at the destination</th></tr></thead>
<tbody>{"".join(body)}</tbody></table></main></body></html>
"""


def write_signed_copies(results: Results, out_dir: Path) -> Path | None:
    """Write the page; None when no record carries a copy's evidence."""
    rows = rows_of(results)
    if not rows:
        return None
    page = Path(out_dir) / PAGE
    page.write_text(render_page(rows), encoding="utf-8")
    return page


def link_signed_copies(page: str, results: Results, out_dir: Path) -> str:
    """``page`` (the front page's HTML) with a card linking the signed-copies page, when there is one."""
    written = write_signed_copies(results, out_dir)
    if written is None:
        return page
    rows = rows_of(results)
    card = (
        '<div class="card" id="signed-copies"><h3>Copies of a signed image</h3>'
        f'<p><a href="{PAGE}">{len(rows)} copies to another registry, copier by written thing</a>: what '
        "each copier keeps of the signatures and attachments, and what each verifier finds after.</p></div>\n"
    )
    return with_card(page, card)
