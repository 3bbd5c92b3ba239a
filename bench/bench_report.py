"""Benchmark: render a 50,000-result matrix and time its first render in headless Chromium.

    python bench/bench_report.py [--results N] [--runs 3] [--limit-ms 2000] [--keep DIR]

Generates a synthetic results.json (bench/synthetic_results.py), writes the site with
``ocimatrix.report.site.write_site``, then opens index.html from file:// in Debian's chromium
(Playwright) ``--runs`` times with a fresh profile each, and reads ``OCIMATRIX.firstRenderMs``: the
page's own clock from navigation start until the grid, the filters and the first rows are drawn.
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


def first_render(index: Path) -> tuple[float, float, list[str]]:
    """(first render ms by the page's clock, wall ms around goto, console errors)."""
    with chromium_page() as page:
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        start = time.perf_counter()
        page.goto(index.as_uri())
        page.wait_for_function("document.documentElement.dataset.ready === '1'", timeout=60000)
        wall = (time.perf_counter() - start) * 1000
        rows = page.locator("#groups .row").count()
        if rows == 0:
            errors.append("no result rows were drawn")
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
        renders = []
        for run in range(1, args.runs + 1):
            render_ms, wall_ms, errors = first_render(index)
            if errors:
                print(f"bench_report: the page reported errors: {errors}", file=sys.stderr)
                return 1
            renders.append(render_ms)
            print(f"bench_report: run {run}: first render {render_ms:.0f} ms (wall around page.goto {wall_ms:.0f} ms)")
        median = statistics.median(renders)
        verdict = "ok" if median <= args.limit_ms else "TOO SLOW"
        print(f"bench_report: median first render {median:.0f} ms (limit {args.limit_ms:.0f} ms): {verdict}")
        return 0 if median <= args.limit_ms else 1


if __name__ == "__main__":
    sys.exit(main())
