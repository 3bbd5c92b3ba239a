"""``ocimatrix merge``: combine results.json shards from several hosts into one file.

A case (test id + cell axes) found in more than one shard is kept once, with the most telling
outcome (failed > error > passed > xfailed > skipped); the other copies travel in that record's
``evidence.merge`` and every such case is printed and listed in ``run.merge.notes``.
Exit status: 0 merged; 1 with --strict when shards conflict; 2 for unusable input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ocimatrix.errors import UsageError
from ocimatrix.results import write_results
from ocimatrix.results.merge import merge_files
from ocimatrix.results.schema import validate_results_file

HELP = "merge results.json shards (one per host) into one file, reporting duplicates and conflicts"
SHOWN = 50


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="+", type=Path, metavar="RESULTS", help="results.json shards")
    parser.add_argument("-o", "--out", type=Path, required=True, metavar="MERGED.json", help="the merged file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when shards disagree on a case")


def main(args: argparse.Namespace) -> int:
    if args.out.resolve() in {p.resolve() for p in args.results}:
        raise UsageError(f"{args.out}: the output would overwrite one of the inputs")
    merged = merge_files(args.results)
    write_results(merged.results, args.out)
    validate_results_file(args.out)  # what we write must be what the report accepts
    run = merged.results.run
    print(
        f"ocimatrix merge: {args.out}: {len(merged.results.results):,} cases from {len(args.results)} files "
        f"({len(run.merge['sources'])} shards; hosts: {run.host or '?'})"
    )
    conflicts, duplicates = merged.conflicts, merged.duplicates
    print(f"ocimatrix merge: {len(conflicts)} conflicting, {len(duplicates)} duplicated cases")
    for note in (conflicts + duplicates)[:SHOWN]:
        print(f"  {note.describe()}")
    if len(merged.notes) > SHOWN:
        print(f"  ... and {len(merged.notes) - SHOWN} more, all in {args.out} run.merge.notes")
    return 1 if args.strict and conflicts else 0
