"""The front page's cards that link a page of its own (engine configs, filesystem defaults, signed copies)."""

from __future__ import annotations


def with_card(page: str, card: str) -> str:
    """``page`` (the front page's HTML) with ``card`` last in its main section; unchanged when it has none."""
    if "</main>" not in page:
        return page
    return page.replace("</main>", card + "</main>", 1)
