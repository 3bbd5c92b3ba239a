"""The claims badge: "ocimatrix: 11/12 verified", red when anything is contradicted or errored, amber
when some claims could not be verified here, green when all were. A flat SVG, no external fonts."""

from __future__ import annotations

from html import escape

GREEN, AMBER, RED, GREY = "#2e7d32", "#b26a00", "#c62828", "#555"


def badge_text(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    return f"{counts.get('verified', 0)}/{total} verified"


def badge_colour(counts: dict[str, int]) -> str:
    if counts.get("contradicted") or counts.get("error"):
        return RED
    if counts.get("unverifiable"):
        return AMBER
    return GREEN


def _width(text: str) -> int:
    return 10 + int(len(text) * 6.6)


def badge_svg(counts: dict[str, int], label: str = "ocimatrix") -> str:
    value = badge_text(counts)
    left, right = _width(label), _width(value)
    total = left + right
    title = f"{label}: {value}" + "".join(f", {n} {k}" for k, n in counts.items() if n and k != "verified")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        f'<rect width="{left}" height="20" fill="{GREY}"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{badge_colour(counts)}"/>'
        '<g fill="#fff" font-family="DejaVu Sans,Verdana,Geneva,sans-serif" font-size="11" text-anchor="middle">'
        f'<text x="{left / 2:.1f}" y="14">{escape(label)}</text>'
        f'<text x="{left + right / 2:.1f}" y="14">{escape(value)}</text>'
        "</g></svg>\n"
    )
