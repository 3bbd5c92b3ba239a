"""Benchmark: render a 50,000-result matrix and time its first render in headless Chromium.

    python bench/bench_report.py [--results N] [--runs 3] [--limit-ms 2000] [--keep DIR]

Generates a synthetic results.json (bench/synthetic_results.py), writes the site with
``ocimatrix.report.site.write_site``, then opens index.html from file:// in Debian's chromium
(Playwright) ``--runs`` times per view with a fresh profile each, and reads ``OCIMATRIX.firstRenderMs``:
the page's own clock from navigation start until the filters and the view are drawn. Two views are
timed: the front page (what breaks) and ``#view=results`` (the grid and the first rows).
Prints every figure; exits 1 when the median first render exceeds ``--limit-ms``, 2 when no browser.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synthetic_results import write_synthetic  # noqa: E402

from ocimatrix.report.browser import chromium_page, missing_browser_reason  # noqa: E402
from ocimatrix.report.site import write_site  # noqa: E402

# What each timed view must have drawn: the front page (what breaks) and the full results list.
VIEWS = {"": "#findings > *", "#view=results": "#groups .row"}


def first_render(index: Path, fragment: str = "") -> tuple[float, float, list[str]]:
    """(first render ms by the page's clock, wall ms around goto, console errors)."""
    with chromium_page() as page:
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        start = time.perf_counter()
        page.goto(index.as_uri() + fragment)
        page.wait_for_function("document.documentElement.dataset.ready === '1'", timeout=60000)
        wall = (time.perf_counter() - start) * 1000
        if page.locator(VIEWS[fragment]).count() == 0:
            errors.append(f"nothing was drawn for {VIEWS[fragment]}")
        return float(page.evaluate("OCIMATRIX.firstRenderMs")), wall, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=50_000, help="number of synthetic results")
    parser.add_argument("--runs", type=int, default=3, help="page loads to time")
    parser.add_argument("--limit-ms", type=float, default=2000.0, help="fail above this median first render")
    parser.add_argument("--keep", type=Path, help="write the results and the site here (default: a temp dir)")
    args = parser.parse_args(argv)

    reason = missing_browser_reason()
    if reason:
        print(f"bench_report: cannot run: {reason}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="ocimatrix-bench-report-") as scratch:
        root = args.keep or Path(scratch)
        results = write_synthetic(root / "results.json", args.results)
        start = time.perf_counter()
        index = write_site([results], root / "site")
        build_s = time.perf_counter() - start
        data_mb = (root / "site" / "data" / "index.js").stat().st_size / 1e6
        print(f"bench_report: {args.results:,} results; site written in {build_s:.2f} s "
              f"(data/index.js {data_mb:.1f} MB, results.json {results.stat().st_size / 1e6:.1f} MB)")  # fmt: skip
        medians = []
        for fragment in VIEWS:
            view = fragment.removeprefix("#") or "front page (what breaks)"
            renders = []
            for run in range(1, args.runs + 1):
                render_ms, wall_ms, errors = first_render(index, fragment)
                if errors:
                    print(f"bench_report: the page reported errors: {errors}", file=sys.stderr)
                    return 1
                renders.append(render_ms)
                wall = f"wall around page.goto {wall_ms:.0f} ms"
                print(f"bench_report: {view}: run {run}: first render {render_ms:.0f} ms ({wall})")
            medians.append(statistics.median(renders))
            verdict = "ok" if medians[-1] <= args.limit_ms else "TOO SLOW"
            limit = f"limit {args.limit_ms:.0f} ms"
            print(f"bench_report: {view}: median first render {medians[-1]:.0f} ms ({limit}): {verdict}")
        return 0 if max(medians) <= args.limit_ms else 1


if __name__ == "__main__":
    sys.exit(main())
