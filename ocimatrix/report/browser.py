"""Drive Debian's chromium with Playwright, the way the site tests and the benchmark do.

Playwright's own browser download is never used (it needs the network): ``executable_path`` points
at the distribution's chromium, and the flags keep it from phoning home (no component updates, no
sync, no background networking) so a test run sends no traffic anywhere.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
]
SETUP_HINT = "run tools/setup-report-deps (installs Debian chromium and playwright from PyPI)"


def chromium_path() -> str | None:
    override = os.environ.get("OCIMATRIX_CHROMIUM")
    for candidate in ([override] if override else []) + list(CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def missing_browser_reason() -> str | None:
    """Why a browser test cannot run here, or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"playwright is not installed: {SETUP_HINT}"
    if chromium_path() is None:
        return f"chromium not found at {' or '.join(CHROMIUM_CANDIDATES)}: {SETUP_HINT}"
    return None


@contextmanager
def chromium_page(viewport: tuple[int, int] = (1366, 900), **context_args: Any) -> Iterator[Any]:
    """A fresh headless chromium (own throw-away profile) and one page; closed on exit."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise RuntimeError(f"chromium not found: {SETUP_HINT}")
    profile = tempfile.mkdtemp(prefix="ocimatrix-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile,
                executable_path=executable,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": viewport[0], "height": viewport[1]},
                **context_args,
            )
            try:
                page = context.pages[0] if context.pages else context.new_page()
                yield page
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class PageWatch:
    """Console errors, uncaught exceptions and any request that is not for a local file, on one page:
    a static report must render with none of them."""

    def __init__(self, page: Any) -> None:
        self.problems: list[str] = []
        self.remote: list[str] = []
        page.on("console", lambda m: self.problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))
        page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else self.remote.append(r.url))
