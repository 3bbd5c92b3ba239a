"""``ocimatrix verify CLAIMS.yaml -o DIR``: test a vendor's supportability claims on real engines.

Each claim becomes the cells that test it (a generated matrix plus a plan), run through the same
code path as ``ocimatrix run``; then each claim is judged (verified, contradicted, error,
unverifiable here) and DIR gets claims.json, index.html, junit.xml, badge.svg, evidence/ and the
cells themselves under cells/. Exit 0: all verified; 1: something contradicted or errored; 2: a bad
claims file; 3: some claims could not be verified here and none was contradicted or errored
(``--unverifiable-ok`` makes that 0). Engine claims are expanded over this host's engines and every
prepared generation root's (``claims/here.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
from pathlib import Path

from ocimatrix.errors import OcimatrixError, UsageError

HELP = "verify a vendor's claims (image, registry, CRI endpoint, OCI runtime) and write a claims report"
PLAN_ENV = "OCIMATRIX_CLAIMS_PLAN"
UNVERIFIABLE_ONLY = 3  # the exit code when nothing is false and something could not be tested here


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("claims", type=Path, help="the claims file (YAML; see docs/claims.md)")
    parser.add_argument("-o", "--out", type=Path, default=Path("claims-report"), help="output directory")
    parser.add_argument("-n", "--workers", default="1", help="parallel pytest-xdist workers (default: 1)")
    parser.add_argument("--endpoints", type=Path, help="use services already running (their endpoints.json)")
    parser.add_argument("--no-provision", action="store_true", help="don't install packages or apply host fixes")
    parser.add_argument(
        "--unverifiable-ok",
        action="store_true",
        help="exit 0 instead of 3 when the only claims not verified are unverifiable here (a runner that lacks a tool)",
    )


def installed_engines():
    """This host's engines and every prepared generation root's, with their versions, and the host's name."""
    from ocimatrix.claims.here import discover

    return discover()


def main(args: argparse.Namespace) -> int:
    from ocimatrix.claims.load import load_claims
    from ocimatrix.claims.plan import all_claims, suite_paths, write_run_inputs
    from ocimatrix.images.busybox import host_platform_name
    from ocimatrix.matrix import load_matrix

    claims_file = load_claims(args.claims)  # a bad file stops here: file:line: field: problem (exit 2)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    claims_file = _materialize_probe(claims_file, out)
    claims = all_claims(claims_file, installed_engines())
    matrix_path, plan_path = write_run_inputs(out, claims_file, claims, host_platform_name())
    load_matrix(matrix_path)  # registry settings from the claims file are checked as a matrix's would be
    cells_dir = out / "cells"
    results_path = cells_dir / "results.json"
    paths = suite_paths(claims)
    if paths:
        _run_cells(args, matrix_path, plan_path, cells_dir, results_path, paths)
    code = judge_and_write(claims_file, claims, out, results_path)
    return 0 if code == UNVERIFIABLE_ONLY and getattr(args, "unverifiable_ok", False) else code


def _materialize_probe(claims_file, out: Path):
    """The probe image "source" is built here, as an OCI layout under DIR, and verified like any layout."""
    image = claims_file.image
    if image is None or image.source.kind != "probe":
        return claims_file
    from ocimatrix.claims.model import ImageSource
    from ocimatrix.claims.probe_image import write_probe_layout

    dest = out / "probe-image"
    shutil.rmtree(dest, ignore_errors=True)
    probe = image.source.probe
    write_probe_layout(
        dest,
        compression=probe.get("compression", "gzip"),
        user=probe.get("user", "app"),
        platforms=probe.get("platforms") or list(image.platforms),
    )
    source = ImageSource("layout", str(dest.resolve()), tag="latest")
    return dataclasses.replace(claims_file, image=dataclasses.replace(image, source=source))


def _run_cells(args, matrix_path: Path, plan_path: Path, cells_dir: Path, results_path: Path, paths: list[str]) -> None:
    from ocimatrix.commands import run

    if not args.no_provision and not args.endpoints:
        run.provision_if_needed()
    cells_dir.mkdir(parents=True, exist_ok=True)
    results_path.unlink(missing_ok=True)
    # suites/claims always goes in: its conftest applies the plan's selection to every suite's cells.
    suites = ["claims", *[p.removeprefix("suites/") for p in paths if not p.startswith("suites/claims/")]]
    run_args = argparse.Namespace(
        suite=suites,
        out=cells_dir,
        workers=args.workers,
        keyword=None,
        shard=None,
        endpoints=args.endpoints,
        allure=False,
        pytest_args=[],
    )
    previous = os.environ.get(PLAN_ENV)
    os.environ[PLAN_ENV] = str(plan_path.resolve())
    try:
        code = run.run_pytest(run_args, matrix_path, results_path)
    finally:
        if previous is None:
            os.environ.pop(PLAN_ENV, None)
        else:
            os.environ[PLAN_ENV] = previous
    if not results_path.exists():
        if code == 2:
            raise UsageError("pytest rejected the run before any cell ran (see above)")
        raise OcimatrixError("the run ended before writing results.json (see above): no claim can be judged")


def judge_and_write(claims_file, claims, out: Path, results_path: Path) -> int:
    from ocimatrix.claims.badge import badge_svg
    from ocimatrix.claims.html import write_html
    from ocimatrix.claims.judge import exit_code, judge_all
    from ocimatrix.claims.junit import junit_xml
    from ocimatrix.claims.record import report_json
    from ocimatrix.results import Results, Run, read_results

    # Nothing ran when every claim was decided beforehand (e.g. no installed engine is in range).
    ran = results_path.exists()
    results = read_results(results_path) if ran else Results(run=Run(matrix=str(out / "matrix.yaml")))
    judgements = judge_all(claims, results.results)
    report = report_json(claims_file, judgements, results)
    (out / "claims.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "badge.svg").write_text(badge_svg(report["counts"]))
    (out / "junit.xml").write_text(junit_xml(claims_file.product, judgements))
    site_link = _write_cells_site(results_path, out / "cells" / "site")
    index = write_html(out, report, [r.to_json() for r in results.results], site_link)
    for j in judgements:
        print(f"ocimatrix verify: {j.verdict.upper():<12} {j.claim.id}: {j.reason.splitlines()[0] if j.reason else ''}")
    summary = ", ".join(f"{n} {verdict}" for verdict, n in report["counts"].items())
    print(f"ocimatrix verify: {summary}; report {index}; claims {out / 'claims.json'}; badge {out / 'badge.svg'}")
    return exit_code(judgements)


def _write_cells_site(results_path: Path, site_dir: Path) -> str | None:
    if not results_path.exists():
        return None
    from ocimatrix.report.site import write_site

    write_site([results_path], site_dir)
    return "cells/site/index.html"
