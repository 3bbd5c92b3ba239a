"""Benchmark ``ocimatrix validate`` against ``sha256sum`` over the same blobs.

Generates OCI layouts of incompressible data under a temporary directory (uncompressed tar layers,
gzip layers and zstd layers, each ~SIZE MiB), then for each layout times ``sha256sum`` over every
blob and ``ocimatrix validate`` on the layout (best of --runs, page cache warm for both), and
records the validator's peak RSS from the child's rusage (os.wait4).

Targets (issue 3): validating the uncompressed-layer layout takes at most 1.5x the time
``sha256sum`` needs for the same blobs, and every layout validates in under 200 MiB of memory.
Compressed layouts must be decompressed to check diff_ids (inflate is inherently slower than
sha256), so their time ratio is reported, not held to the 1.5x target. Exit status 1 if a target
is missed.

    python bench/bench_validate.py [--size-mib 1024] [--runs 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import zstandard

MIB = 1 << 20
LAYER_MIB = 128
FILE_MIB = 8
TIME_TARGET = 1.5
RSS_TARGET_MIB = 200

LAYER_TYPES = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


class _HashingWriter:
    """A write-only file that hashes what passes through (the blob digest)."""

    def __init__(self, f):
        self._f = f
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self._f.write(data)

    def flush(self) -> None:
        self._f.flush()


class _RandomFile:
    """``size`` bytes of incompressible data, produced chunk by chunk (never held whole)."""

    def __init__(self, size: int):
        self._left = size

    def read(self, n: int = -1) -> bytes:
        n = self._left if n is None or n < 0 else min(n, self._left)
        self._left -= n
        return os.urandom(n)


def _write_layer(blobs: Path, index: int, compression: str, layer_mib: int) -> tuple[dict, str]:
    """Write one layer blob streaming; return its descriptor and diff_id."""
    tmp = blobs / f"tmp-{index}"
    with open(tmp, "wb") as raw:
        blob = _HashingWriter(raw)
        if compression == "gzip":
            compressor = gzip.GzipFile(fileobj=blob, mode="wb", compresslevel=1, mtime=0)
        elif compression == "zstd":
            compressor = zstandard.ZstdCompressor(level=1).stream_writer(blob, closefd=False)
        else:
            compressor = None
        uncompressed = _HashingWriter(compressor if compressor is not None else blob)
        with tarfile.open(fileobj=uncompressed, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for f in range(layer_mib // FILE_MIB):
                info = tarfile.TarInfo(f"data/layer{index}/file{f:03d}.bin")
                info.size, info.mtime = FILE_MIB * MIB, 1_700_000_000
                tar.addfile(info, _RandomFile(info.size))
        if compressor is not None:
            compressor.close()
    digest = blob.hash.hexdigest()
    tmp.rename(blobs / digest)
    return (
        {"mediaType": LAYER_TYPES[compression], "digest": f"sha256:{digest}", "size": blob.size},
        f"sha256:{uncompressed.hash.hexdigest()}",
    )


def _write_json(blobs: Path, obj) -> dict:
    data = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def make_layout(root: Path, compression: str, size_mib: int) -> Path:
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    layers, diff_ids = [], []
    for i in range(max(1, size_mib // LAYER_MIB)):
        desc, diff_id = _write_layer(blobs, i, compression, min(LAYER_MIB, size_mib))
        layers.append(desc)
        diff_ids.append(diff_id)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "config": {"Cmd": ["/bin/sh"]},
    }
    config_desc = {"mediaType": "application/vnd.oci.image.config.v1+json", **_write_json(blobs, config)}
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc,
        "layers": layers,
    }
    manifest_desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json", **_write_json(blobs, manifest)}
    manifest_desc["platform"] = {"architecture": "amd64", "os": "linux"}
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [manifest_desc]}
    (root / "index.json").write_text(json.dumps(index))
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    return root


def _run(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MiB) and exit status of a child."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.read().decode(errors="replace")[-2000:])
    proc.stderr.close()
    return elapsed, usage.ru_maxrss / 1024, proc.returncode


def _best(cmd: list[str], runs: int) -> tuple[float, float, int]:
    results = [_run(cmd) for _ in range(runs)]
    worst_rc = max(r[2] for r in results)
    return min(r[0] for r in results), max(r[1] for r in results), worst_rc


def bench(layout: Path, runs: int) -> dict:
    blob_files = sorted(str(p) for p in (layout / "blobs" / "sha256").iterdir())
    total = sum(os.path.getsize(p) for p in blob_files)
    _run(["cat", *blob_files])  # warm the page cache for both contenders
    sha_time, _, sha_rc = _best(["sha256sum", *blob_files], runs)
    val_time, val_rss, val_rc = _best([sys.executable, "-m", "ocimatrix.cli", "validate", str(layout)], runs)
    return {
        "blob_mib": total / MIB,
        "sha256sum_s": sha_time,
        "validate_s": val_time,
        "ratio": val_time / sha_time if sha_time else float("inf"),
        "rss_mib": val_rss,
        "ok_runs": sha_rc == 0 and val_rc == 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="uncompressed data per layout (default 1024)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per contender; the best counts (default 3)")
    parser.add_argument("--compressions", default="none,gzip,zstd", help="layouts to build (default none,gzip,zstd)")
    parser.add_argument("--keep", metavar="DIR", help="build the layouts under DIR and keep them")
    args = parser.parse_args(argv)
    if not shutil.which("sha256sum"):
        print("sha256sum not found (coreutils)", file=sys.stderr)
        return 2
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ocimatrix-bench-"))
    rows = []
    try:
        for compression in args.compressions.split(","):
            start = time.perf_counter()
            layout = make_layout(base / f"layout-{compression}", compression, args.size_mib)
            print(f"built {compression} layout in {time.perf_counter() - start:.1f}s", file=sys.stderr)
            rows.append((compression, bench(layout, args.runs)))
            if not args.keep:
                shutil.rmtree(layout)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)

    failures = []
    header = f"{'layers':8} {'blobs MiB':>10} {'sha256sum s':>12} {'validate s':>11} {'ratio':>6}"
    print(f"{header} {'peak RSS MiB':>13}  target")
    for compression, r in rows:
        time_target = compression == "none"
        missed = []
        if not r["ok_runs"]:
            missed.append("a run failed")
        if time_target and r["ratio"] > TIME_TARGET:
            missed.append(f"ratio > {TIME_TARGET}")
        if r["rss_mib"] >= RSS_TARGET_MIB:
            missed.append(f"RSS >= {RSS_TARGET_MIB} MiB")
        verdict = "MISSED: " + ", ".join(missed) if missed else ("met" if time_target else "met (RSS; time reported)")
        failures += [f"{compression}: {m}" for m in missed]
        print(
            f"{compression:8} {r['blob_mib']:10.0f} {r['sha256sum_s']:12.2f} {r['validate_s']:11.2f} "
            f"{r['ratio']:6.2f} {r['rss_mib']:13.0f}  {verdict}"
        )
    if failures:
        print("targets missed: " + "; ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
