"""A real package: the wheel carries the suites, schemas, matrices and report assets.

Built from this checkout, installed into a new virtualenv, and used from a directory that knows
nothing of the checkout: ``validate`` on a layout, ``run --suite image`` on the real engines (its
site written), then ``merge`` and ``report`` on what it wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from corpus.builders import build_layout

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("podman") or not shutil.which("git"),
    reason="the installed-wheel run needs root, git and the engines (ocimatrix provision)",
)


def _sh(argv: list, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    # Without the OCIMATRIX_* variables an in-process plugin run of another self-test may have left in
    # this worker's environment (endpoints.json of services long gone): the wheel starts its own.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCIMATRIX_")}
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The ocimatrix command of a fresh virtualenv holding only the wheel and its dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    # The files a clean checkout has (tracked, plus new ones not ignored), not this tree's build debris.
    files = _sh(["git", "ls-files", "-co", "--exclude-standard", "-z"], REPO).stdout.split("\0")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    built = _sh(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", work / "dist", source],
        work,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (work / "dist").glob("ocimatrix-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for packaged in (
        "ocimatrix/_data/matrix/default.yaml",
        "ocimatrix/_data/suites/conftest.py",
        "ocimatrix/_data/suites/image/test_image_conformance.py",
        "ocimatrix/_data/schemas/oci/image-manifest.schema.json",
        "ocimatrix/_data/schemas/results.schema.json",
        "ocimatrix/report/assets/app.js",
        "ocimatrix/report/templates/index.html",
    ):
        assert packaged in names, f"the wheel lacks {packaged}"
    venv = work / "venv"
    assert _sh([sys.executable, "-m", "venv", venv], work).returncode == 0
    pip = _sh([venv / "bin" / "pip", "install", "-q", "--disable-pip-version-check", wheel], work)
    assert pip.returncode == 0, pip.stderr[-3000:]
    return venv / "bin" / "ocimatrix"


def test_validate_a_layout_from_anywhere(installed, tmp_path):
    build_layout(tmp_path / "layout")
    result = _sh([installed, "validate", tmp_path / "layout"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "not-an-image.txt"
    broken.write_text("hello")
    unusable = _sh([installed, "validate", broken], tmp_path)
    assert unusable.returncode == 2 and "Traceback" not in unusable.stderr


def test_run_merge_and_report_from_anywhere(installed, tmp_path):
    out = tmp_path / "out"
    result = _sh([installed, "run", "--suite", "image", "--out", out], tmp_path)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    data = json.loads((out / "results.json").read_text())
    outcomes = [r["outcome"] for r in data["results"]]
    assert outcomes.count("passed") > 0 and {r["suite"] for r in data["results"]} == {"image"}
    assert (out / "site" / "index.html").is_file()
    merged = _sh([installed, "merge", out / "results.json", "-o", tmp_path / "merged.json"], tmp_path)
    assert merged.returncode == 0, merged.stderr
    report = _sh([installed, "report", tmp_path / "merged.json", "-o", tmp_path / "site"], tmp_path)
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "site" / "index.html").is_file()
