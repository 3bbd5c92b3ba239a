"""Harness overhead for one lifecycle cell: ocimatrix vs the same engine commands in a plain shell script.

Both sides run against the same services (started once here, as `ocimatrix run` would). The shell
script is the cell's own repro, as recorded in results.json, so the engines do identical work:
build, push, remove the local copy, pull, read the digest, run. Runs alternate to share any drift.

The shell pushes to repositories of its own (``ocimatrix-bench/shell-N/...``), never to a tag the
harness wrote: a harness step replaying its record would find the tag moved. Each harness round is
a fresh run: its shared build records are dropped first, so it builds and pushes as the shell does.

    python bench/bench_lifecycle.py [--rounds 5] [--cell podman-oci-podman-runc]

Prints median seconds per side and the ratio; exits 1 if the overhead exceeds --max-overhead.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ocimatrix.host.services import EmbeddedServices  # noqa: E402


def harness_once(endpoints_file: Path, cell: str, results: Path, round_id: str) -> tuple[float, list[str]]:
    """All lifecycle tests of one builder/format/engine/runtime cell; returns time and the shell replay."""
    builder, fmt, engine, runtime = cell.split("-")
    keyword = f"{cell} or {builder}-{fmt}-gzip-{engine} or {builder}-{fmt}-{engine}]"
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "suites/lifecycle",
        "-k",
        keyword,
        "--endpoints",
        str(endpoints_file),
        "--results",
        str(results),
        "-p",
        "no:cacheprovider",
        "-q",
        "-p",
        "ocimatrix.plugin",
    ]
    start = time.perf_counter()
    proc = subprocess.run(
        argv,
        cwd=ROOT,
        capture_output=True,
        text=True,
        # Only ocimatrix's plugin: other pytest plugins a dev box has installed
        # (hypothesis alone adds ~3 s) are not the harness's cost.
        env={**os.environ, "OCIMATRIX_RUN_ID": round_id, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    elapsed = time.perf_counter() - start
    records = json.loads(results.read_text())["results"]
    bad = [r for r in records if r["outcome"] != "passed"]
    if not records or bad:
        sys.exit(f"the harness cell did not pass: {bad or 'no records'}\n{proc.stdout[-2000:]}")
    return elapsed, shell_lines(records)


def shell_lines(records: list[dict]) -> list[str]:
    """Build, push and pull once (the harness caches them too), then every test's own commands."""
    shared = set.intersection(*(set(r["repro"]) for r in records))
    lines = [line for line in records[0]["repro"] if line in shared]
    for record in records:
        lines += [line for line in record["repro"] if line not in shared]
    return lines


def shell_once(repro: list[str], workdir: Path) -> float:
    script = workdir / "cell.sh"
    script.write_text("\n".join(repro) + "\n")
    start = time.perf_counter()
    proc = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    # Every run of the probe prints its report; fewer reports means a broken replay.
    runs = sum(1 for line in repro if " run " in f" {line} ")
    if proc.stdout.count("argv=") < runs - 1:  # the entrypoint-override run prints no report
        sys.exit(f"the shell replay broke: {proc.stdout.count('argv=')} of {runs} runs reported\n{proc.stderr[-2000:]}")
    return elapsed


HARNESS_REPOSITORIES = "/ocimatrix/lifecycle/"


def replayable(repro: list[str], build_context: Path, round_no: int) -> list[str]:
    """The same commands, but building from a fresh context (its build id makes new layers, so the
    shell pushes and pulls as much as the harness did: the registry would skip layers it has), and
    pushing to repositories of the shell's own, never to a tag the harness wrote."""
    lines = []
    for line in repro:
        line = line.replace(HARNESS_REPOSITORIES, f"/ocimatrix-bench/shell-{round_no}/")
        if " build " in f" {line} ":
            words = line.split(" ")
            words[-1] = str(build_context)
            line = " ".join(words)
        lines.append(line)
    if not any(f"/ocimatrix-bench/shell-{round_no}/" in line for line in lines):
        sys.exit(f"the cell's repro names no {HARNESS_REPOSITORIES} image: the shell would reuse the harness's tags")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cell", default="podman-oci-podman-runc")
    parser.add_argument("--max-overhead", type=float, default=0.15)
    args = parser.parse_args()

    from ocimatrix.images.contexts import lifecycle_context

    services = EmbeddedServices(log=lambda m: None)
    endpoints = services.start()
    try:
        with tempfile.TemporaryDirectory(prefix="ocimatrix-bench-") as tmp:
            work = Path(tmp)
            endpoints_file = Path(endpoints.state_dir) / "endpoints.json"
            harness, shell = [], []
            for round_no in range(args.rounds):
                # A fresh run each round: without its records the harness builds and pushes again.
                shutil.rmtree(Path(endpoints.state_dir) / "lifecycle-builds", ignore_errors=True)
                seconds, repro = harness_once(endpoints_file, args.cell, work / "results.json", f"bench{round_no}")
                harness.append(seconds)
                context = lifecycle_context(work / f"ctx{round_no}", "linux/amd64", build_id=f"bench-shell-{round_no}")
                shell.append(shell_once(replayable(repro, context, round_no), work))
            h, s = statistics.median(harness), statistics.median(shell)
            overhead = h / s - 1
            print(f"cell {args.cell}: every lifecycle test of the cell (build, push, rmi, pull, inspect, runs)")
            print(f"  plain shell (the cell's repro)  median {s:6.2f} s   runs {', '.join(f'{x:.2f}' for x in shell)}")
            print(
                f"  ocimatrix (pytest + drivers)    median {h:6.2f} s   runs {', '.join(f'{x:.2f}' for x in harness)}"
            )
            print(f"  ratio {h / s:.2f}  (overhead {overhead:+.0%}; target at most {args.max_overhead:+.0%})")
            return 0 if overhead <= args.max_overhead else 1
    finally:
        services.stop()


if __name__ == "__main__":
    sys.exit(main())
