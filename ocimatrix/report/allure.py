"""Turn allure-pytest results into an Allure HTML report, offline, with the Allure 2 command line.

The command line comes from npm (``allure-commandline``, needs Java 17) and is installed by
``tools/setup-report-deps`` into a project-local npm prefix; nothing is downloaded here. The report
is written in single-file mode, so it opens from file:// (a multi-file Allure report fetches its
JSON, which browsers refuse from file://).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ocimatrix.errors import OcimatrixError, UsageError

INSTALL_HINT = (
    "install it with tools/setup-report-deps (npm install allure-commandline into "
    "~/.cache/ocimatrix/npm; it needs Java 17), or point OCIMATRIX_ALLURE at an allure 2 binary"
)
TIMEOUT_S = 600
# Allure 2 otherwise posts usage analytics while generating and puts a Google tag in the page:
# traffic to a public address at build time, and a page that is not offline at view time.
QUIET_ENV = {"ALLURE_NO_ANALYTICS": "true"}  # parsed with Boolean.parseBoolean: "1" would not do


def _env() -> dict[str, str]:
    return {**os.environ, **QUIET_ENV}


def cache_root() -> Path:
    explicit = os.environ.get("OCIMATRIX_CACHE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ocimatrix"


def candidates() -> list[Path]:
    """Where to look, in order: the override, the project-local npm prefixes, then PATH."""
    found: list[Path] = []
    if os.environ.get("OCIMATRIX_ALLURE"):
        found.append(Path(os.environ["OCIMATRIX_ALLURE"]))
    repo = Path(__file__).resolve().parents[2]
    for prefix in (cache_root() / "npm", repo / ".cache" / "npm"):
        found.append(prefix / "node_modules" / ".bin" / "allure")
    on_path = shutil.which("allure")
    if on_path:
        found.append(Path(on_path))
    return found


def find_allure() -> Path:
    for path in candidates():
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise UsageError(f"the Allure command line was not found: {INSTALL_HINT}")


def allure_version(binary: Path) -> str:
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=120, check=False, env=_env()
        )
    except OSError as exc:
        raise OcimatrixError(f"{binary}: cannot run ({exc.strerror}); {INSTALL_HINT}") from None
    version = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode != 0 or not version:
        raise OcimatrixError(f"{binary} --version failed: {_tail(done.stderr or done.stdout)}; {INSTALL_HINT}")
    return version


def check_results_dir(results_dir: Path) -> int:
    if not results_dir.is_dir():
        raise UsageError(f"{results_dir}: no such Allure results directory")
    count = sum(1 for _ in results_dir.glob("*-result.json"))
    if count == 0:
        raise UsageError(
            f"{results_dir}: no Allure results (*-result.json) in it; produce them with "
            "`ocimatrix run --allure` or `pytest --alluredir DIR`"
        )
    return count


def generate_allure_report(results_dir: Path, out_dir: Path) -> Path:
    """Run ``allure generate`` and return the report's index.html."""
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    check_results_dir(results_dir)
    binary = find_allure()
    version = allure_version(binary)
    if not version.startswith("2."):
        raise UsageError(
            f"{binary} is Allure {version}; ocimatrix drives Allure 2 (allure-commandline): {INSTALL_HINT}"
        )
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise UsageError("Allure 2 needs Java 17: apt-get install openjdk-17-jre-headless (or set JAVA_HOME)")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    argv = [str(binary), "generate", str(results_dir), "-o", str(out_dir), "--clean", "--single-file"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, check=False, env=_env())
    except subprocess.TimeoutExpired:
        raise OcimatrixError(f"allure generate took longer than {TIMEOUT_S} s on {results_dir}") from None
    index = out_dir / "index.html"
    if done.returncode != 0 or not index.is_file():
        raise OcimatrixError(f"allure generate failed (exit {done.returncode}): {_tail(done.stderr or done.stdout)}")
    return index


def _tail(text: str, lines: int = 8) -> str:
    return " | ".join(text.strip().splitlines()[-lines:]) or "no output"
