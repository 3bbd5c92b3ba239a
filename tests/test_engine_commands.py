"""The shell commands drivers record as repro must be the commands that do the same thing by hand."""

from __future__ import annotations

import pytest

from ocimatrix import evidence
from ocimatrix.engines.base import EngineError, RunSpec, run_command
from ocimatrix.engines.docker_engine import docker_run_args, split_tag


def test_docker_run_args_full():
    spec = RunSpec(
        image="127.0.0.1:5000/a/b:1",
        runtime="crun",
        args=["x", "y z"],
        entrypoint=["/bin/echo", "ep"],
        env={"A": "1"},
        user="4321:4321",
        workdir="/tmp",
        platform="linux/arm64",
    )
    assert docker_run_args(spec) == [
        "run",
        "--rm",
        "--network",
        "none",
        "--pull",
        "never",
        "--runtime",
        "crun",
        "--platform",
        "linux/arm64",
        "--env",
        "A=1",
        "--user",
        "4321:4321",
        "--workdir",
        "/tmp",
        "--entrypoint",
        "/bin/echo",
        "127.0.0.1:5000/a/b:1",
        "ep",
        "x",
        "y z",
    ]


def test_docker_run_args_minimal_never_pulls_nor_networks():
    args = docker_run_args(RunSpec(image="127.0.0.1:5000/a:1"))
    assert args[:8] == ["run", "--rm", "--network", "none", "--pull", "never", "--runtime", "runc"]
    assert args[-1] == "127.0.0.1:5000/a:1"


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("127.0.0.1:5000/ocimatrix/x:tag", ("127.0.0.1:5000/ocimatrix/x", "tag")),
        ("127.0.0.1:5000/ocimatrix/x", ("127.0.0.1:5000/ocimatrix/x", "latest")),
        ("127.0.0.1:5000/x@sha256:abc", ("127.0.0.1:5000/x", "sha256:abc")),
    ],
)
def test_split_tag(ref, expected):
    assert split_tag(ref) == expected


def test_run_command_records_repro_and_reports_failures():
    with evidence.scoped() as recorder:
        result = run_command(["sh", "-c", "echo out; echo err >&2"], env={"X": "a b"})
        assert result.stdout == "out\n" and result.stderr == "err\n"
        with pytest.raises(EngineError, match=r"demo failed \(exit 3\): boom"):
            run_command(["sh", "-c", "echo boom >&2; exit 3"], what="demo")
    assert recorder.repro == ["X='a b' sh -c 'echo out; echo err >&2'", "sh -c 'echo boom >&2; exit 3'"]


def test_run_command_timeout_and_missing_tool():
    with pytest.raises(EngineError, match="timed out after"):
        run_command(["sleep", "5"], timeout=0.2, record=False)
    with pytest.raises(EngineError, match="not found"):
        run_command(["/nonexistent/tool"], record=False)
