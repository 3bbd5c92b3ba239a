"""api.proto stays wire-compatible with cri-api runtime.v1, and the committed stubs match it."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from ocimatrix.cri.gen import api_pb2 as api

REPO = Path(__file__).resolve().parents[1]

# Numbers from kubernetes/cri-api pkg/apis/runtime/v1/api.proto for the fields most easily
# got wrong: those upstream added out of order. A renumbering would silently garble the wire.
UPSTREAM_NUMBERS = {
    ("ImageSpec", "image"): 1,
    ("ImageSpec", "annotations"): 2,
    ("ImageSpec", "user_specified_image"): 18,
    ("ImageSpec", "runtime_handler"): 19,
    ("LinuxSandboxSecurityContext", "namespace_options"): 1,
    ("LinuxSandboxSecurityContext", "run_as_group"): 8,
    ("LinuxSandboxSecurityContext", "seccomp"): 9,
    ("LinuxSandboxSecurityContext", "supplemental_groups_policy"): 11,
    ("LinuxContainerSecurityContext", "namespace_options"): 3,
    ("LinuxContainerSecurityContext", "run_as_user"): 5,
    ("LinuxContainerSecurityContext", "run_as_username"): 6,
    ("LinuxContainerSecurityContext", "run_as_group"): 12,
    ("LinuxContainerSecurityContext", "seccomp"): 15,
    ("PodSandboxConfig", "log_directory"): 3,
    ("PodSandboxConfig", "linux"): 8,
    ("ContainerConfig", "log_path"): 11,
    ("ContainerConfig", "linux"): 15,
    ("ContainerConfig", "CDI_devices"): 17,
    ("ContainerStatus", "exit_code"): 7,
    ("ContainerStatus", "log_path"): 15,
    ("ContainerStatus", "image_id"): 17,
    ("Namespace", "options"): 2,
    ("Mount", "uidMappings"): 6,
    ("Mount", "image"): 9,
    ("StatusResponse", "runtime_handlers"): 3,
    ("PodSandboxStatusResponse", "containers_statuses"): 3,
    ("CreateContainerRequest", "sandbox_config"): 3,
    ("RunPodSandboxRequest", "runtime_handler"): 2,
    ("ExecSyncRequest", "timeout"): 3,
    ("ContainerConfig", "stdin"): 12,
    ("ContainerConfig", "stdin_once"): 13,
    ("ContainerConfig", "tty"): 14,
    # Exec and Attach order the same flags differently upstream; a swap would ask for a TTY instead of stdin.
    ("ExecRequest", "tty"): 3,
    ("ExecRequest", "stdin"): 4,
    ("ExecRequest", "stdout"): 5,
    ("ExecRequest", "stderr"): 6,
    ("AttachRequest", "stdin"): 2,
    ("AttachRequest", "tty"): 3,
    ("AttachRequest", "stdout"): 4,
    ("AttachRequest", "stderr"): 5,
    ("PortForwardRequest", "pod_sandbox_id"): 1,
    ("PortForwardRequest", "port"): 2,
    ("ExecResponse", "url"): 1,
    ("AttachResponse", "url"): 1,
    ("PortForwardResponse", "url"): 1,
}


@pytest.mark.parametrize("message, field", sorted(UPSTREAM_NUMBERS))
def test_field_numbers_match_upstream(message, field):
    descriptor = api.DESCRIPTOR.message_types_by_name[message]
    assert descriptor.fields_by_name[field].number == UPSTREAM_NUMBERS[(message, field)]


def test_enums_match_upstream():
    assert [api.POD, api.CONTAINER, api.NODE, api.TARGET] == [0, 1, 2, 3]
    assert [api.CONTAINER_CREATED, api.CONTAINER_RUNNING, api.CONTAINER_EXITED, api.CONTAINER_UNKNOWN] == [
        0,
        1,
        2,
        3,
    ]
    assert [api.SANDBOX_READY, api.SANDBOX_NOTREADY] == [0, 1]


def test_package_and_services():
    assert api.DESCRIPTOR.package == "runtime.v1"
    runtime = api.DESCRIPTOR.services_by_name["RuntimeService"]
    images = api.DESCRIPTOR.services_by_name["ImageService"]
    assert {
        "Version",
        "Status",
        "RunPodSandbox",
        "StopPodSandbox",
        "RemovePodSandbox",
        "PodSandboxStatus",
        "ListPodSandbox",
        "CreateContainer",
        "StartContainer",
        "StopContainer",
        "RemoveContainer",
        "ListContainers",
        "ContainerStatus",
        "ExecSync",
        "Exec",
        "Attach",
        "PortForward",
        "ReopenContainerLog",
    } <= set(runtime.methods_by_name)
    assert {"PullImage", "ListImages", "ImageStatus", "RemoveImage", "ImageFsInfo"} <= set(images.methods_by_name)


def test_committed_stubs_describe_api_proto(tmp_path: Path):
    """What the stubs put on the wire is what api.proto says, whatever protoc version is at hand."""
    protoc = pytest.importorskip("grpc_tools.protoc", reason="grpcio-tools (the dev extra) compiles api.proto")
    out = tmp_path / "api.pb"
    status = protoc.main(["protoc", f"-I{REPO}", f"--descriptor_set_out={out}", str(REPO / "ocimatrix/cri/api.proto")])
    assert status == 0, "protoc could not compile ocimatrix/cri/api.proto"
    compiled = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file[0]
    # protoc fills in json_name for --descriptor_set_out but not in the Python gencode.
    _drop_json_names(compiled.message_type)
    committed = descriptor_pb2.FileDescriptorProto.FromString(api.DESCRIPTOR.serialized_pb)
    assert compiled == committed, "ocimatrix/cri/gen is stale: run tools/regen-cri-stubs after editing api.proto"


def _drop_json_names(messages) -> None:
    for message in messages:
        for field in message.field:
            field.ClearField("json_name")
        _drop_json_names(message.nested_type)


def test_regen_script_reproduces_committed_stubs(tmp_path: Path):
    pytest.importorskip("grpc_tools", reason="grpcio-tools (the dev extra) regenerates the stubs")
    # The script runs $PYTHON's grpc_tools: this interpreter's, the one that has them.
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run([str(REPO / "tools/regen-cri-stubs"), str(tmp_path)], check=True, capture_output=True, env=env)
    for name in ("api_pb2.py", "api_pb2.pyi", "api_pb2_grpc.py"):
        fresh = (tmp_path / name).read_text()
        committed = (REPO / "ocimatrix/cri/gen" / name).read_text()
        # Another grpcio-tools release stamps its own versions and otherwise writes the same code: the
        # stamps are set aside (each must still be there), every other byte must be what the script makes.
        assert _versions_masked(fresh) == _versions_masked(committed), (
            f"ocimatrix/cri/gen/{name} differs from what tools/regen-cri-stubs makes"
        )


def _versions_masked(source: str) -> str:
    masked = re.sub(r"^(# Protobuf Python Version:|GRPC_GENERATED_VERSION =) .*$", r"\1 V", source, flags=re.M)
    return re.sub(r"ValidateProtobufRuntimeVersion\([^)]*\)", lambda m: re.sub(r"\b\d+\b", "N", m[0]), masked)


def test_version_masking_sets_aside_only_the_stamps():
    stamped = "# Protobuf Python Version: 7.35.1\nValidateProtobufRuntimeVersion(\n    X, 7,\n 35, 1, 'a')\nx = 1\n"
    other = "# Protobuf Python Version: 7.36.2\nValidateProtobufRuntimeVersion(\n    X, 7,\n 36, 2, 'a')\nx = 1\n"
    assert _versions_masked(stamped) == _versions_masked(other)
    assert _versions_masked(stamped) != _versions_masked(stamped.replace("x = 1", "x = 2"))
    assert _versions_masked("GRPC_GENERATED_VERSION = '1.85.1'") == _versions_masked(
        "GRPC_GENERATED_VERSION = '1.85.4'"
    )
    assert _versions_masked("") != _versions_masked("GRPC_GENERATED_VERSION = '1.85.4'")
