"""ocimatrix/nri/*.proto stay wire-compatible with NRI's and ttrpc's own, and the committed stubs are
what tools/regen-nri-stubs makes of them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ocimatrix.nri.gen import nri_pb2, ttrpc_pb2

REPO = Path(__file__).resolve().parent.parent

# Field numbers as containerd/nri's pkg/api/api.proto (v0.9.0) and ttrpc's request.proto number them.
UPSTREAM_FIELDS = {
    (nri_pb2, "RegisterPluginRequest"): {"plugin_name": 1, "plugin_idx": 2, "NRI_version": 3},
    (nri_pb2, "ConfigureRequest"): {"config": 1, "runtime_name": 2, "runtime_version": 3, "request_timeout": 5},
    (nri_pb2, "ConfigureResponse"): {"events": 2},
    (nri_pb2, "SynchronizeRequest"): {"pods": 1, "containers": 2, "more": 3},
    (nri_pb2, "SynchronizeResponse"): {"more": 2},
    (nri_pb2, "StateChangeEvent"): {"event": 1, "pod": 2, "container": 3},
    (nri_pb2, "CreateContainerRequest"): {"pod": 1, "container": 2},
    (nri_pb2, "PodSandbox"): {"id": 1, "name": 2, "uid": 3, "namespace": 4, "runtime_handler": 7},
    (nri_pb2, "Container"): {"id": 1, "pod_sandbox_id": 2, "name": 3, "state": 4, "args": 7, "exit_code": 17},
    (ttrpc_pb2, "Request"): {"service": 1, "method": 2, "payload": 3, "timeout_nano": 4, "metadata": 5},
    (ttrpc_pb2, "Response"): {"status": 1, "payload": 2},
    (ttrpc_pb2, "Status"): {"code": 1, "message": 2},
}


@pytest.mark.parametrize(("module", "message"), list(UPSTREAM_FIELDS), ids=lambda v: getattr(v, "__name__", v))
def test_field_numbers_match_upstream(module, message):
    fields = {f.name: f.number for f in module.DESCRIPTOR.message_types_by_name[message].fields}
    for name, number in UPSTREAM_FIELDS[(module, message)].items():
        assert fields.get(name) == number, f"{message}.{name} is {fields.get(name)}, upstream numbers it {number}"


def test_event_numbers_match_upstream():
    assert [nri_pb2.Event.Value(n) for n in ("RUN_POD_SANDBOX", "CREATE_CONTAINER", "START_CONTAINER")] == [1, 4, 6]
    assert [nri_pb2.Event.Value(n) for n in ("STOP_CONTAINER", "REMOVE_CONTAINER")] == [10, 11]


def test_regen_script_reproduces_committed_stubs(tmp_path: Path):
    pytest.importorskip("grpc_tools", reason="grpcio-tools (the dev extra) regenerates the stubs")
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run([str(REPO / "tools/regen-nri-stubs"), str(tmp_path)], check=True, capture_output=True, env=env)
    for name in ("nri_pb2.py", "nri_pb2.pyi", "ttrpc_pb2.py", "ttrpc_pb2.pyi"):
        fresh = _masked((tmp_path / name).read_text())
        committed = _masked((REPO / "ocimatrix/nri/gen" / name).read_text())
        assert fresh == committed, f"ocimatrix/nri/gen/{name} differs from what tools/regen-nri-stubs makes"


def _masked(source: str) -> str:
    # Another grpcio-tools release stamps its own protobuf version; every other byte must match.
    lines = source.splitlines()
    return "\n".join(
        "<version stamp>" if line.startswith("# Protobuf Python Version:") or line.lstrip()[:1].isdigit() else line
        for line in lines
    )
