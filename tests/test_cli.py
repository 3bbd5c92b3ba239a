"""The CLI turns bad input into one clear line and exit 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data" / "matrix"


def ocimatrix(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ocimatrix.cli", *args], capture_output=True, text=True, timeout=60)


def test_malformed_matrix_exits_2_naming_file_line_and_field():
    result = ocimatrix("run", "--matrix", str(DATA / "bad-engine.yaml"), "--no-provision")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "bad-engine.yaml:4: field 'axes.engine.1': unknown engine 'dokcer'" in result.stderr


def test_missing_matrix_file():
    result = ocimatrix("run", "--matrix", "/nonexistent/m.yaml", "--no-provision")
    assert result.returncode == 2 and "cannot read matrix file" in result.stderr


def test_no_command_prints_help():
    result = ocimatrix()
    assert result.returncode == 2 and "run" in result.stdout


def test_provision_check_reports_without_changing(tmp_path):
    result = ocimatrix("provision", "--check")
    assert result.returncode in (0, 1)
    assert "packages:" in result.stdout


def test_help_lines_match_the_command_modules():
    import importlib

    from ocimatrix.cli import COMMANDS

    for name, help_line in COMMANDS.items():
        assert help_line == importlib.import_module(f"ocimatrix.commands.{name}").HELP, name


def test_subcommand_help_shows_its_options():
    result = ocimatrix("run", "--help")
    assert result.returncode == 0 and "--matrix" in result.stdout and "--out" in result.stdout


def test_shard_out_of_range_is_a_usage_error_before_anything_starts(tmp_path):
    env = dict(__import__("os").environ, OCIMATRIX_STATE_PARENT=str(tmp_path))
    for shard in ("4/3", "0/2", "x/y"):
        result = subprocess.run(
            [sys.executable, "-m", "ocimatrix.cli", "run", "--shard", shard, "--out", str(tmp_path / "out")],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert result.returncode == 2, result.stderr
        assert f"--shard {shard}: expected K/N with 1 <= K <= N" in result.stderr
        assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("ocimatrix-*")), "a service state directory was created for a refused run"
