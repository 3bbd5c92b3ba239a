"""``ocimatrix run``: provision what's missing, run a matrix through the suites, write reports/.

With no arguments it is the embedded default: matrix/default.yaml against the harness's own
registry, containerd, dockerd and podman storage, all started here and stopped at the end.
"""

from __future__ import annotations

import argparse
import importlib
import os
from pathlib import Path

from ocimatrix.errors import OcimatrixError, UsageError
from ocimatrix.matrix import DEFAULT_MATRIX, SUITES, load_matrix
from ocimatrix.report.table import write_table
from ocimatrix.resources import SUITES_DIR
from ocimatrix.results import read_results

HELP = "run a matrix (default: the embedded default) and write results.json, JUnit and the HTML report"

# pytest's exit codes -> ours: cells failing is 1; bad input is 2.
PYTEST_TO_OCIMATRIX = {0: 0, 1: 1, 2: 130, 3: 1, 4: 2, 5: 0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--matrix", type=Path, default=DEFAULT_MATRIX, help="matrix file (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="output directory (default: reports)")
    parser.add_argument("-n", "--workers", default="auto", help="parallel pytest-xdist workers (default: auto)")
    parser.add_argument("--suite", action="append", choices=SUITES, help="run only this suite (repeatable)")
    parser.add_argument("-k", dest="keyword", help="only tests matching this pytest -k expression")
    parser.add_argument("--shard", metavar="K/N", help="run the K-th of N slices (one per host; merge the results)")
    parser.add_argument("--endpoints", type=Path, help="use services already running (their endpoints.json)")
    parser.add_argument("--no-provision", action="store_true", help="don't install packages or apply host fixes")
    parser.add_argument("--baseline", type=Path, help="an earlier results.json: mark regressions and fixes")
    parser.add_argument(
        "--no-allure",
        dest="allure",
        action="store_false",
        help="don't write allure-pytest results (written to OUT/allure-results when allure-pytest is installed)",
    )
    parser.add_argument(
        "--history", type=Path, help="pass-rate history file to extend (default: OUT/site/history.json)"
    )
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: extra arguments for pytest")


def main(args: argparse.Namespace) -> int:
    matrix = load_matrix(args.matrix)  # bad input stops here with file:line: field: message (exit 2)
    _check_shard(args.shard)
    if args.baseline and not args.baseline.exists():
        raise UsageError(f"{args.baseline}: no such baseline results file")
    if not SUITES_DIR.is_dir():
        raise UsageError(f"suites not found at {SUITES_DIR}: reinstall ocimatrix (its wheel carries them)")
    if not args.no_provision and not args.endpoints:
        provision_if_needed()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results_path.unlink(missing_ok=True)

    code = run_pytest(args, matrix.path, results_path)
    if not results_path.exists():
        if code == 2:
            raise UsageError("pytest rejected the run before any cell ran (see above)")
        raise OcimatrixError("the run ended before writing results.json (see above)")
    results = read_results(results_path)
    counts = results.counts()
    if counts.get("failed") or counts.get("error"):
        code = max(code, 1)  # whatever pytest said, a failed or errored cell fails the run
    site = _write_site(results_path, out / "site", args.baseline, args.history)
    write_table(results, out / "index.html", site_link="site/index.html")
    print(f"ocimatrix: results {results_path}; report {site}; JUnit {out / 'junit.xml'}")
    return code


def _check_shard(text: str | None) -> None:
    """Refused before provisioning or any service starts: a typo in a nightly must cost nothing."""
    import pytest

    from ocimatrix.plugin import parse_shard

    try:
        parse_shard(text)
    except pytest.UsageError as exc:
        raise UsageError(str(exc)) from None


def provision_if_needed() -> None:
    from ocimatrix.commands.provision import default_foreign_platforms
    from ocimatrix.host.provision import needs_provisioning, provision

    foreign = default_foreign_platforms()
    if not needs_provisioning(foreign):
        return
    if os.geteuid() != 0:
        raise UsageError("this host needs provisioning (packages, cgroup/binfmt fixes) and that needs root")
    print("ocimatrix: provisioning the host (first run)")
    provision(foreign, log=lambda m: print(f"ocimatrix: provision: {m}"))


def run_pytest(args: argparse.Namespace, matrix: Path, results_path: Path) -> int:
    import pytest

    suites = [str(SUITES_DIR / s) for s in args.suite] if args.suite else [str(SUITES_DIR)]
    argv = [
        *suites,
        "--matrix",
        str(matrix.resolve()),
        "--results",
        str(results_path),
        "--junitxml",
        str(args.out / "junit.xml"),
        "--ocimatrix-progress",
        "-qq",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(SUITES_DIR.parent),
        "-o",
        "junit_family=xunit2",
        "-o",
        "console_output_style=classic",
        # The CLI has imported ocimatrix before pytest loads it as a plugin: nothing to rewrite there.
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
    ]
    if args.workers not in ("0", "1"):
        argv += ["-n", str(args.workers)]
    if args.keyword:
        argv += ["-k", args.keyword]
    if args.shard:
        argv += ["--shard", args.shard]
    if args.endpoints:
        argv += ["--endpoints", str(args.endpoints)]
    if args.allure and importlib.util.find_spec("allure_pytest") is not None:
        argv += ["--alluredir", str(args.out / "allure-results"), "--clean-alluredir"]
    extra = list(args.pytest_args or [])
    if extra[:1] == ["--"]:
        extra = extra[1:]
    code = int(pytest.main(argv + extra))
    return PYTEST_TO_OCIMATRIX.get(code, 1)


def _write_site(results_path: Path, site_dir: Path, baseline: Path | None, history: Path | None) -> Path:
    """The browsable compatibility matrix (and its pass-rate history)."""
    from ocimatrix.report.site import write_site

    return write_site([results_path], site_dir, baseline=baseline, history=history)
