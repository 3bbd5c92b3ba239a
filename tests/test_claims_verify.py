"""``ocimatrix verify`` end to end on this host: the probe image and the embedded registry, with true
and false claims, judged from real cells (about 15 s)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(t) for t in ("podman", "skopeo", "docker-registry")),
    reason="verify runs real engines: it needs root, podman, skopeo and the registry (ocimatrix provision)",
)

CLAIMS = """\
claims: 1
vendor: Self-test
product: probe
image:
  source:
    probe: {compression: zstd}
  platforms: [linux/amd64]
  runs_on:
    - {engine: podman, version: ">=4"}
    - {engine: podman, version: ">=99"}
  checks:
    smoke: {command: [/bin/busybox, echo, hi], output: "^hi$"}
    metadata: {non_root: true}
    layers: {max_count: 1, compression: gzip}
registry:
  embedded: true
  features: [cross-mount]
  requirements: [tags-lexical-order]
"""


def test_verify_judges_true_and_false_claims(tmp_path):
    if os.uname().machine != "x86_64":
        pytest.skip("the example claims linux/amd64")
    claims = tmp_path / "claims.yaml"
    claims.write_text(CLAIMS)
    out = tmp_path / "report"
    proc = subprocess.run(
        [sys.executable, "-m", "ocimatrix.cli", "verify", str(claims), "-o", str(out), "--no-provision"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / "claims.json").read_text())
    verdicts = {c["id"]: c["verdict"] for c in report["claims"]}
    assert verdicts["image.runs.linux-amd64.podman.runc"] == "verified"
    assert verdicts["image.runs.linux-amd64.podman.runc.2"] == "unverifiable"  # podman >=99 isn't here
    assert verdicts["image.non-root.linux-amd64"] == "verified"
    assert verdicts["image.layers.linux-amd64"] == "contradicted"  # zstd layers, claimed gzip
    assert verdicts["registry.feature.cross-mount"] == "verified"
    assert verdicts["registry.requirement.tags-lexical-order"] == "contradicted"
    ran = next(c for c in report["claims"] if c["id"] == "image.runs.linux-amd64.podman.runc")["cells"][0]
    assert ran["platform"] == "linux/amd64" and (out / ran["evidence"]).is_file()
    assert report["fingerprint"]["images"] and report["fingerprint"]["claims_file"].startswith("sha256:")
    for name in ("index.html", "junit.xml", "badge.svg", "cells/results.json", "cells/site/index.html"):
        assert (out / name).is_file(), name
    assert "4/7 verified" in (out / "badge.svg").read_text()


def test_a_bad_claims_file_exits_2(tmp_path):
    claims = tmp_path / "claims.yaml"
    claims.write_text(CLAIMS.replace('engine: podman, version: ">=4"', 'engine: podman, version: ">>4"'))
    proc = subprocess.run(
        [sys.executable, "-m", "ocimatrix.cli", "verify", str(claims), "-o", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert f"{claims}:9: field 'image.runs_on.0.version': " in proc.stderr
    assert not Path(tmp_path / "r" / "claims.json").exists()
