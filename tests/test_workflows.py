"""The GitHub Actions workflows: the nightly's shape, flags the CLI really has, and actionlint when present."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ocimatrix.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps_using(job: dict, action: str) -> list[dict]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith(action + "@")]


def script(job: dict) -> str:
    return "\n".join(s.get("run", "") for s in job["steps"])


def options_of(command: str) -> set[str]:
    parser = build_parser(command)
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return {option for action in sub._actions for option in action.option_strings}


def test_nightly_runs_one_shard_per_host_kind() -> None:
    nightly = load("nightly.yml")
    assert set(nightly[True]) >= {"schedule", "workflow_dispatch"}  # YAML 1.1 reads the key `on` as True
    shard = nightly["jobs"]["shard"]
    hosts = shard["strategy"]["matrix"]["include"]
    assert {h["runner"] for h in hosts} == {"ubuntu-24.04", "ubuntu-24.04-arm"}
    assert sorted(h["shard"] for h in hosts) == list(range(1, len(hosts) + 1))
    assert shard["strategy"]["fail-fast"] is False
    run = script(shard)
    assert "./tools/run-matrix --matrix matrix/nightly.yaml --shard" in run and "--out" in run
    assert {"--matrix", "--shard", "--out"} <= options_of("run")


def test_results_are_uploaded_even_when_the_shard_failed() -> None:
    shard = load("nightly.yml")["jobs"]["shard"]
    names = [s.get("id") or s.get("uses") or s.get("name") for s in shard["steps"]]
    (upload,) = steps_using(shard, "actions/upload-artifact")
    assert "always()" in upload["if"]
    assert "results.json" in upload["with"]["path"]
    assert names.index("run") < shard["steps"].index(upload)
    # The run step exits with ocimatrix's own code, so a failed or errored shard fails its job.
    assert 'exit "$code"' in shard["steps"][names.index("run")]["run"]


def test_merge_job_compares_with_last_night_and_publishes_pages() -> None:
    merge = load("nightly.yml")["jobs"]["merge"]
    assert merge["needs"] == "shard" and "!cancelled()" in merge["if"]
    assert merge["permissions"]["pages"] == "write" and merge["permissions"]["id-token"] == "write"
    assert merge["environment"]["name"] == "github-pages"
    run = script(merge)
    assert "ocimatrix merge" in run and "ocimatrix report" in run
    assert "--baseline" in run and "--history" in run
    assert {"--baseline", "--history", "--title", "-o"} <= options_of("report")
    assert "-o" in options_of("merge")
    assert steps_using(merge, "actions/download-artifact") and steps_using(merge, "actions/upload-pages-artifact")
    assert steps_using(merge, "actions/deploy-pages")


@pytest.mark.parametrize("name", ["nightly.yml", "pull-request.yml"])
def test_actions_pinned_by_major_version_and_no_hosts_named(name: str) -> None:
    text = (WORKFLOWS / name).read_text()
    uses = re.findall(r"uses:\s*(\S+)", text)
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", u) for u in uses), uses
    assert not re.search(r"https?://", text)  # mirrors come from repository variables, never from here


def test_pull_request_workflow_lints_and_tests() -> None:
    jobs = load("pull-request.yml")["jobs"]
    assert "tox -e lint" in script(jobs["lint"])
    assert "./tools/bootstrap -e py" in script(jobs["tests"])


@pytest.mark.skipif(shutil.which("actionlint") is None, reason="actionlint is not on PATH (tox -e lint has it)")
def test_actionlint_accepts_the_workflows() -> None:
    result = subprocess.run(["actionlint"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
