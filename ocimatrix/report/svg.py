"""The pass-rate history chart: a hand-drawn inline SVG, one line per engine.

Colours are the Okabe-Ito set (distinguishable with the common colour-vision deficiencies) and each
engine also gets its own marker shape and dash pattern, so the chart does not rely on colour alone.
Every point has a <title> (hover / screen reader); the page also carries the numbers as a table.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ocimatrix.report.history import pass_rate

COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#1a1a1a")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 4")
MAX_POINTS = 60
WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 170, 16, 46


def _marker(shape: int, x: float, y: float, colour: str, title: str) -> str:
    t = f"<title>{escape(title)}</title>"
    kind = shape % 4
    if kind == 0:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.6" fill="{colour}">{t}</circle>'
    if kind == 1:
        corner = f'x="{x - 3.4:.1f}" y="{y - 3.4:.1f}"'
        return f'<rect {corner} width="6.8" height="6.8" fill="{colour}">{t}</rect>'
    if kind == 2:
        points = f"{x:.1f},{y - 4.4:.1f} {x + 4.2:.1f},{y + 3.4:.1f} {x - 4.2:.1f},{y + 3.4:.1f}"
        return f'<polygon points="{points}" fill="{colour}">{t}</polygon>'
    points = f"{x:.1f},{y - 4.6:.1f} {x + 4.6:.1f},{y:.1f} {x:.1f},{y + 4.6:.1f} {x - 4.6:.1f},{y:.1f}"
    return f'<polygon points="{points}" fill="{colour}">{t}</polygon>'


def day(entry: dict[str, Any]) -> str:
    return (entry.get("started") or "?")[:10]


def history_svg(entries: list[dict[str, Any]]) -> str:
    entries = entries[-MAX_POINTS:]
    engines = sorted({engine for e in entries for engine in e.get("engines", {})})
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(i: int) -> float:
        return LEFT + (plot_w / 2 if len(entries) == 1 else plot_w * i / (len(entries) - 1))

    def y_of(rate: float) -> float:
        return TOP + plot_h * (1 - rate)

    parts = [
        f'<svg class="history-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        'role="img" aria-labelledby="history-title history-desc" xmlns="http://www.w3.org/2000/svg">',
        '<title id="history-title">Pass rate per engine, by run</title>',
        f'<desc id="history-desc">{len(entries)} runs from {escape(day(entries[0]))} to '
        f"{escape(day(entries[-1]))}; pass rate is passed over the cases that ran "
        "(known failures count as not passing).</desc>"
        if entries
        else '<desc id="history-desc">No runs yet.</desc>',
    ]
    for pct in (0, 25, 50, 75, 100):
        y = y_of(pct / 100)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{pct}%</text>')
    label_every = max(1, -(-len(entries) // 8))
    base = TOP + plot_h
    for i, entry in enumerate(entries):
        if i % label_every == 0 or i == len(entries) - 1:
            x = x_of(i)
            parts.append(f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{base}" y2="{base + 4}"/>')
            label = escape(day(entry))
            where = f'x="{x:.1f}" y="{base + 18}"'
            parts.append(f'<text class="tick" {where} text-anchor="middle">{label}</text>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{base}" y2="{base}"/>')

    for n, engine in enumerate(engines):
        colour, dash = COLOURS[n % len(COLOURS)], DASHES[n % len(DASHES)]
        path: list[str] = []
        markers: list[str] = []
        pen_down = False
        for i, entry in enumerate(entries):
            counts = entry.get("engines", {}).get(engine)
            rate = pass_rate(counts) if counts else None
            if rate is None:
                pen_down = False  # a run without this engine breaks its line
                continue
            x, y = x_of(i), y_of(rate)
            path.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
            pen_down = True
            ran = sum(counts.get(k, 0) for k in ("passed", "xfailed", "failed", "error"))
            ok = counts.get("passed", 0)
            title = f"{engine}, {day(entry)}: {rate:.1%} ({ok}/{ran} passed)"
            markers.append(_marker(n, x, y, colour, title))
        stroke = f'fill="none" stroke="{colour}" stroke-width="2"'
        stroke += f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<path d="{" ".join(path)}" {stroke}/>')
        parts.extend(markers)
        ly = TOP + 8 + n * 22
        lx = LEFT + plot_w + 18
        parts.append(f'<line x1="{lx}" x2="{lx + 26}" y1="{ly}" y2="{ly}" {stroke}/>')
        parts.append(_marker(n, lx + 13, ly, colour, engine))
        parts.append(f'<text class="legend" x="{lx + 34}" y="{ly + 4}">{escape(engine)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def history_table(entries: list[dict[str, Any]]) -> str:
    """The same numbers as a table, for screen readers and for copying."""
    entries = entries[-MAX_POINTS:]
    engines = sorted({engine for e in entries for engine in e.get("engines", {})})
    head = "".join(f'<th scope="col">{escape(e)}</th>' for e in engines)
    rows = []
    for entry in reversed(entries):
        cells = []
        for engine in engines:
            counts = entry.get("engines", {}).get(engine)
            rate = pass_rate(counts) if counts else None
            cells.append(f"<td>{'–' if rate is None else f'{rate:.1%}'}</td>")
        host = escape(entry.get("host") or "")
        label = f'<th scope="row">{escape(day(entry))} <small>{host}</small></th>'
        rows.append(f"<tr>{label}{''.join(cells)}</tr>")
    head_row = f'<tr><th scope="col">run</th>{head}</tr>'
    return f'<table class="plain"><thead>{head_row}</thead><tbody>{"".join(rows)}</tbody></table>'
