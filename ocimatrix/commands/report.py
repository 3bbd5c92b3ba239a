"""``ocimatrix report``: the static compatibility-matrix site (and, on request, an Allure report).

Exit status: 0 written; 1 with --fail-on-regression when a case regressed (or newly fails) against
--baseline, or when Allure fails; 2 for unusable input (a results file that does not conform to
schemas/results.schema.json is refused with the JSON paths of its first problems).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ocimatrix.errors import UsageError
from ocimatrix.report.site import SiteReport, build_site

HELP = "write the static HTML compatibility matrix from results.json files (and an Allure report)"

EPILOG = """\
Several RESULTS files (shards from several hosts) are merged as `ocimatrix merge` would; duplicate
and conflicting cases are printed and listed on the page.

Each report adds a point per engine to the pass-rate history (DIR/history.json, or --history),
drawn as a chart on the page; rendering the same run again replaces its point.

--allure turns allure-pytest results into an Allure HTML report (Allure 2 from npm, installed by
tools/setup-report-deps): into DIR itself without RESULTS, else into DIR/allure.
"""
SHOWN = 25


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("results", nargs="*", type=Path, metavar="RESULTS", help="results.json files (shards)")
    parser.add_argument("-o", "--out", type=Path, required=True, metavar="DIR", help="output directory")
    parser.add_argument("--baseline", type=Path, metavar="OLD.json", help="mark regressions and fixes against it")
    parser.add_argument(
        "--history", type=Path, metavar="PATH", help="history file or directory (default: DIR/history.json)"
    )
    parser.add_argument("--title", default="OCI compatibility matrix", help="page title")
    parser.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when --baseline shows regressions or new failures",
    )
    parser.add_argument("--allure", type=Path, metavar="ALLURE_RESULTS_DIR", help="also write an Allure report")


def main(args: argparse.Namespace) -> int:
    if not args.results and not args.allure:
        raise UsageError("give at least one RESULTS file, or --allure ALLURE_RESULTS_DIR")
    if args.fail_on_regression and not args.baseline:
        raise UsageError("--fail-on-regression needs --baseline OLD.json")
    code = 0
    if args.results:
        report = build_site(args.results, args.out, baseline=args.baseline, history=args.history, title=args.title)
        print_summary(report)
        if (
            args.fail_on_regression
            and report.diff
            and (report.diff.count("regression") or report.diff.count("new-failure"))
        ):
            code = 1
    if args.allure:
        from ocimatrix.report.allure import generate_allure_report

        target = args.out / "allure" if args.results else args.out
        index = generate_allure_report(args.allure, target)
        print(f"ocimatrix report: Allure report {index}")
    return code


def print_summary(report: SiteReport) -> None:
    counts = report.results.counts()
    tally = ", ".join(f"{n:,} {outcome}" for outcome, n in counts.items() if n)
    print(f"ocimatrix report: {report.index} ({len(report.results.results):,} results: {tally or 'none'})")
    if report.notes:
        conflicts = [n for n in report.notes if n.kind == "conflict"]
        print(
            f"ocimatrix report: merged shards: {len(conflicts)} conflicting, "
            f"{len(report.notes) - len(conflicts)} duplicated cases (kept once, all listed on the page)"
        )
        for note in (conflicts + [n for n in report.notes if n.kind != "conflict"])[:SHOWN]:
            print(f"  {note.describe()}")
        if len(report.notes) > SHOWN:
            print(f"  ... and {len(report.notes) - SHOWN} more")
    if report.diff is not None:
        diff = report.diff
        summary = ", ".join(
            f"{diff.count(k)} {k}"
            for k in ("regression", "new-failure", "fix", "now-skipped", "now-running", "missing")
            if diff.count(k)
        )
        print(f"ocimatrix report: against the baseline: {summary or 'no change'}")
        severe = [c for c in diff.changes if c.kind in ("regression", "new-failure")]
        for change in severe[:SHOWN]:
            was = change.before or "absent"
            print(f"  {change.kind}: {change.test} [{change.cell}]: {was} -> {change.after}")
        if len(severe) > SHOWN:
            print(f"  ... and {len(severe) - SHOWN} more")
    if report.history:
        print(f"ocimatrix report: history {report.history}")
