"""Synthetic results files for load-testing the report (never for the matrix itself).

The shape follows a nightly matrix: suites with spec sections, test functions parametrized over
engine x runtime x platform x format x compression, with a few percent failures, skips and errors,
repro commands and evidence of realistic size. Seeded, so a benchmark is repeatable.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path
from typing import Any

SPEC = "https://github.com/opencontainers"
TESTS: dict[str, list[tuple[str, str, list[str]]]] = {
    "lifecycle": [
        (
            "runtime-spec §lifecycle",
            f"{SPEC}/runtime-spec/blob/main/runtime.md#lifecycle",
            ["test_exit_code_propagated", "test_stop_signal", "test_kill_removes", "test_restart_count"],
        ),
        (
            "runtime-spec §process",
            f"{SPEC}/runtime-spec/blob/main/config.md#process",
            ["test_env_passed", "test_workdir_applied", "test_user_applied", "test_args_override"],
        ),
    ],
    "image": [
        (
            "image-spec §manifest",
            f"{SPEC}/image-spec/blob/main/manifest.md",
            ["test_manifest_schema", "test_layer_digests", "test_config_digest", "test_annotations_kept"],
        ),
        (
            "image-spec §config",
            f"{SPEC}/image-spec/blob/main/config.md",
            ["test_config_schema", "test_rootfs_diff_ids", "test_history_entries"],
        ),
    ],
    "platforms": [
        (
            "image-spec §image-index",
            f"{SPEC}/image-spec/blob/main/image-index.md",
            ["test_index_platforms", "test_platform_selected", "test_variant_matched"],
        ),
    ],
    "distribution": [
        (
            "distribution-spec §push",
            f"{SPEC}/distribution-spec/blob/main/spec.md#push",
            ["test_push_monolithic", "test_push_chunked", "test_cross_mount"],
        ),
        (
            "distribution-spec §pull",
            f"{SPEC}/distribution-spec/blob/main/spec.md#pull",
            ["test_pull_by_digest", "test_pull_by_tag", "test_referrers"],
        ),
    ],
}
AXES = {
    "engine": ["docker", "podman", "containerd"],
    "runtime": ["runc", "crun"],
    "platform": ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/s390x", "linux/ppc64le", "linux/riscv64"],
    "registry": ["distribution"],
    "format": ["oci", "docker"],
    "compression": ["gzip", "zstd", "none"],
}
OUTCOME_SHARES = ((0.04, "failed"), (0.05, "error"), (0.10, "skipped"), (0.11, "xfailed"), (1.01, "passed"))
VERSIONS = {"docker": "20.10.24", "podman": "4.3.1", "containerd": "1.6.20", "runc": "1.1.5", "crun": "1.8.1"}
REASONS = [
    "AssertionError: exit code 0 != 3: the engine did not propagate the container's exit status",
    "AssertionError: layer sha256:%s: digest of the blob does not match the manifest descriptor",
    "TimeoutError: container did not stop within 10 s after SIGTERM",
    "AssertionError: annotation org.opencontainers.image.ref.name lost after push/pull",
    "RuntimeError: zstd layers are not supported by this engine version",
]


def make_results(n: int, seed: int = 7, host: str = "bench-host") -> dict[str, Any]:
    rng = random.Random(seed)
    cells = [dict(zip(AXES, values, strict=True)) for values in itertools.product(*AXES.values())]
    tests = [(suite, sec, url, fn) for suite, groups in TESTS.items() for sec, url, fns in groups for fn in fns]
    records = []
    for i in range(n):
        suite, section, url, fn = tests[i % len(tests)]
        cell = dict(cells[(i // len(tests)) % len(cells)])
        param = "-".join(v.replace("/", "_") for v in cell.values())
        cell["versions"] = {cell["engine"]: VERSIONS[cell["engine"]], cell["runtime"]: VERSIONS[cell["runtime"]]}
        roll = rng.random()
        # 4% failed, 1% error, 5% skipped, 1% xfailed, the rest passed.
        outcome = next(o for limit, o in OUTCOME_SHARES if roll < limit)
        reason = ""
        if outcome in ("failed", "error"):
            reason = rng.choice(REASONS).replace("%s", f"{rng.getrandbits(64):016x}")
        elif outcome == "skipped":
            reason = f"{cell['platform']} needs QEMU binfmt, not registered on {host}"
        ref = f"127.0.0.1:5000/ocimatrix/{fn}:{i}"
        records.append(
            {
                "test": f"suites/{suite}/test_{suite}.py::{fn}[{param}]",
                "suite": suite,
                "spec": {"section": section, "url": url},
                "cell": cell,
                "outcome": outcome,
                "reason": reason,
                "duration_s": round(rng.uniform(0.05, 4.0), 3),
                "repro": [
                    f"{cell['engine']} build --platform {cell['platform']} -t {ref} ctx/",
                    f"{cell['engine']} push {ref}",
                    f"{cell['engine']} run --rm --runtime {cell['runtime']} --network none {ref} /bin/true",
                ],
                "evidence": {"image": ref, "digest": f"sha256:{rng.getrandbits(256):064x}", "exit_code": 0},
            }
        )
    run = {
        "host": host,
        "kernel": "6.1.0-bench",
        "arch": "x86_64",
        "started": "2026-01-01T00:00:00+00:00",
        "finished": "2026-01-01T01:00:00+00:00",
        "matrix": "matrix/nightly.yaml",
        "ocimatrix_version": "0.1.0",
        "tools": dict(VERSIONS),
    }
    return {"schema": "ocimatrix/results/v1", "run": run, "results": records}


def write_synthetic(path: Path, n: int, seed: int = 7, host: str = "bench-host") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(make_results(n, seed, host)))
    return path
