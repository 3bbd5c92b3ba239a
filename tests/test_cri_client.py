"""What the client puts on the wire, checked against a recording gRPC server in this process.

The server only records requests and answers with fixed values; the real runtime behaviour is
proven against containerd in test_cri_client_live.py.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from ocimatrix.cri.client import CriClient, CriError, grpc_target
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.cri.gen import api_pb2_grpc as api_grpc
from ocimatrix.cri.verdicts import refused
from ocimatrix.errors import HarnessError, ServiceUnavailable, UsageError
from ocimatrix.plugin.verdicts import decide

REF = "127.0.0.1:5000/ocimatrix/busybox:1"
IMAGE_ID = "sha256:" + "cd" * 32


class Recorder(api_grpc.RuntimeServiceServicer, api_grpc.ImageServiceServicer):
    """Keeps every request by method name; answers with the fixed values below."""

    def __init__(self) -> None:
        self.requests: dict[str, list] = {}
        self.container_state = api.CONTAINER_RUNNING

    def _record(self, name: str, request) -> None:
        self.requests.setdefault(name, []).append(request)

    def PullImage(self, request, context):
        self._record("PullImage", request)
        if request.image.image.endswith(":missing"):
            context.abort(grpc.StatusCode.NOT_FOUND, f"{request.image.image}: not found")
        return api.PullImageResponse(image_ref=IMAGE_ID)

    def ImageStatus(self, request, context):
        self._record("ImageStatus", request)
        return api.ImageStatusResponse()  # absent: no image, no error

    def RunPodSandbox(self, request, context):
        self._record("RunPodSandbox", request)
        return api.RunPodSandboxResponse(pod_sandbox_id="pod-1")

    def StopPodSandbox(self, request, context):
        self._record("StopPodSandbox", request)
        context.abort(grpc.StatusCode.NOT_FOUND, f'sandbox "{request.pod_sandbox_id}": not found')

    def RemovePodSandbox(self, request, context):
        self._record("RemovePodSandbox", request)
        return api.RemovePodSandboxResponse()

    def CreateContainer(self, request, context):
        self._record("CreateContainer", request)
        return api.CreateContainerResponse(container_id="ctr-1")

    def ContainerStatus(self, request, context):
        self._record("ContainerStatus", request)
        return api.ContainerStatusResponse(
            status=api.ContainerStatus(id=request.container_id, state=self.container_state)
        )

    def ListPodSandbox(self, request, context):
        self._record("ListPodSandbox", request)
        return api.ListPodSandboxResponse()


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, CriClient]]:
    # Short socket path: pytest's tmp_path can exceed the 108-byte unix socket limit.
    directory = tempfile.mkdtemp(prefix="ocm-cri-unit-", dir="/tmp")
    socket = f"{directory}/cri.sock"
    servicer = Recorder()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    api_grpc.add_RuntimeServiceServicer_to_server(servicer, server)
    api_grpc.add_ImageServiceServicer_to_server(servicer, server)
    server.add_insecure_port(f"unix://{socket}")
    server.start()
    client = CriClient(f"unix://{socket}", timeout=5)
    try:
        yield servicer, client
    finally:
        client.close()
        server.stop(None)
        shutil.rmtree(directory, ignore_errors=True)


def test_endpoint_forms():
    assert grpc_target("unix:///run/x.sock") == "unix:///run/x.sock"
    assert grpc_target("/run/x.sock") == "unix:///run/x.sock"
    for bad in ("tcp://127.0.0.1:1", "run/x.sock", "unix://relative.sock"):
        with pytest.raises(UsageError, match="CRI endpoint"):
            grpc_target(bad)


def test_pull_sends_user_specified_image_and_auth(recorder):
    server, client = recorder
    auth = api.AuthConfig(username="u", password="p")
    assert client.pull_image(REF, auth=auth) == IMAGE_ID
    request = server.requests["PullImage"][0]
    assert request.image == api.ImageSpec(image=REF, user_specified_image=REF)
    assert request.auth == auth


def test_rpc_error_names_call_subject_and_code(recorder):
    _, client = recorder
    ref = "127.0.0.1:5000/x:missing"
    with pytest.raises(CriError) as caught:
        client.pull_image(ref)
    assert str(caught.value) == f"PullImage {ref}: NOT_FOUND: {ref}: not found"
    assert caught.value.code == grpc.StatusCode.NOT_FOUND


def test_absent_image_is_none(recorder):
    _, client = recorder
    assert client.image_status(REF) is None


def test_pod_then_container_like_the_kubelet(recorder, tmp_path: Path):
    server, client = recorder
    logs = tmp_path / "pods" / "ns_web_uid"
    pod_id = client.run_pod("web", "ns", "uid", "crun", log_directory=logs)
    assert pod_id == "pod-1"
    assert logs.is_dir(), "the pod's log directory is the client's to create, as the kubelet does"
    run = server.requests["RunPodSandbox"][0]
    assert run.runtime_handler == "crun"
    assert run.config.hostname == ""
    assert run.config.linux.security_context.namespace_options.network == api.NODE

    container_id = client.create_container(pod_id, None, REF, "app", image_ref=IMAGE_ID, args=["true"])
    assert container_id == "ctr-1"
    create = server.requests["CreateContainer"][0]
    assert create.pod_sandbox_id == pod_id
    assert create.sandbox_config == run.config, "CreateContainer must carry the pod's own config"
    assert create.config.image == api.ImageSpec(image=IMAGE_ID, user_specified_image=REF)
    assert create.config.linux.security_context.namespace_options == run.config.linux.security_context.namespace_options
    assert (logs / "app").is_dir()


def test_container_in_unknown_pod_needs_its_config(recorder):
    _, client = recorder
    with pytest.raises(UsageError, match="pod other was not started by this client"):
        client.create_container("other", None, REF, "app")


def test_stop_pod_missing_ok(recorder):
    _, client = recorder
    client.stop_pod("gone", missing_ok=True)
    with pytest.raises(CriError, match=r"^StopPodSandbox gone: NOT_FOUND"):
        client.stop_pod("gone")


def test_pod_block_stops_and_removes_even_on_error(recorder, tmp_path: Path):
    server, client = recorder
    with pytest.raises(RuntimeError, match="boom"), client.pod("web", "ns", "uid", log_directory=tmp_path):
        raise RuntimeError("boom")
    assert [r.pod_sandbox_id for r in server.requests["StopPodSandbox"]] == ["pod-1"]
    assert [r.pod_sandbox_id for r in server.requests["RemovePodSandbox"]] == ["pod-1"]
    assert client.pod_configs == {}


def test_wait_for_exit_times_out_naming_the_state(recorder):
    _, client = recorder
    with pytest.raises(CriError, match=r"ctr-1: DEADLINE_EXCEEDED: container still CONTAINER_RUNNING after 0.3s"):
        client.wait_for_exit("ctr-1", timeout=0.3, poll=0.05)


def test_wait_for_exit_returns_exited_status(recorder):
    server, client = recorder
    server.container_state = api.CONTAINER_EXITED
    assert client.wait_for_exit("ctr-1", timeout=1).state == api.CONTAINER_EXITED


def test_list_pods_filter(recorder):
    server, client = recorder
    client.list_pods(labels={"cell": "runc"}, state=api.SANDBOX_READY)
    client.list_pods()
    filtered, unfiltered = server.requests["ListPodSandbox"]
    assert dict(filtered.filter.label_selector) == {"cell": "runc"}
    # State READY is 0: it must travel wrapped, or it would read as "no state filter".
    assert filtered.filter.HasField("state") and filtered.filter.state.state == api.SANDBOX_READY
    assert not unfiltered.filter.HasField("state")


def test_unreachable_runtime_is_a_service_fault_not_a_runtime_answer():
    endpoint = "unix:///nonexistent/ocimatrix-cri.sock"
    with CriClient(endpoint, timeout=0.5) as client:
        with pytest.raises(
            ServiceUnavailable, match=r"^CRI endpoint .* does not answer: Version: UNAVAILABLE"
        ) as caught:
            client.version()
        assert isinstance(caught.value, HarnessError) and not isinstance(caught.value, CriError)
        with pytest.raises(ServiceUnavailable, match=r"not ready after 0.5s"):
            client.wait_ready(0.5)


# ------------------------------------------------------------------ a call that gets no answer


class Stalling(api_grpc.RuntimeServiceServicer):
    """StopPodSandbox never answers; Version answers unless the whole runtime is ``hung`` (a
    SIGSTOPped containerd answers nothing at all)."""

    def __init__(self) -> None:
        self.hung = threading.Event()
        self.release = threading.Event()

    def Version(self, request, context):
        if self.hung.is_set():
            self.release.wait(30)
        return api.VersionResponse(version="0.1.0", runtime_name="fake", runtime_api_version="v1")

    def StopPodSandbox(self, request, context):
        self.release.wait(30)
        return api.StopPodSandboxResponse()


@pytest.fixture
def stalling() -> Iterator[tuple[Stalling, CriClient]]:
    directory = tempfile.mkdtemp(prefix="ocm-cri-stall-", dir="/tmp")
    servicer = Stalling()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    api_grpc.add_RuntimeServiceServicer_to_server(servicer, server)
    server.add_insecure_port(f"unix://{directory}/cri.sock")
    server.start()
    client = CriClient(f"unix://{directory}/cri.sock", timeout=2.5)
    client.liveness_interval, client.liveness_deadline, client.liveness_misses = 0.3, 0.3, 2
    try:
        yield servicer, client
    finally:
        servicer.release.set()
        client.close()
        server.stop(None)
        shutil.rmtree(directory, ignore_errors=True)


def test_a_call_past_its_deadline_while_the_runtime_answers_version_is_the_runtime_s(stalling):
    _, client = stalling
    with pytest.raises(CriError) as caught:
        client.stop_pod("pod-1")
    # The kubelet's deadline (here 2.5 s): the runtime was there and did not answer in time.
    assert caught.value.timed_out and caught.value.step == "StopPodSandbox"
    assert caught.value.answer == "DEADLINE_EXCEEDED: timed out after 2.5 s (kubelet's runtime-request-timeout)"


def test_a_runtime_that_answers_nothing_at_all_is_a_service_fault_found_before_the_deadline(stalling):
    servicer, client = stalling
    servicer.hung.set()
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match=r"StopPodSandbox pod-1 got no answer, .*Version: DEADLINE_EXCEEDED"):
        client.stop_pod("pod-1")
    assert time.monotonic() - started < 2.0, "the silence was sat out to the deadline"


# ------------------------------------------------------------------ the CRI metrics calls


def test_a_metrics_call_the_runtime_lacks_is_its_unimplemented_answer_not_a_skip(recorder):
    # The recording server implements neither metrics call: gRPC answers UNIMPLEMENTED for it, as
    # containerd 1.6, 1.7 and 2.1 do.
    _, client = recorder
    for call, method in (
        ("ListMetricDescriptors", client.list_metric_descriptors),
        ("ListPodSandboxMetrics", client.list_pod_metrics),
    ):
        with pytest.raises(CriError) as caught:
            method()
        assert caught.value.code == grpc.StatusCode.UNIMPLEMENTED
        assert caught.value.step == call
        assert caught.value.answer.startswith("UNIMPLEMENTED: ")
        verdict = decide(refused(call, "refused", caught.value))
        assert verdict.outcome == "failed", verdict.reason
        assert verdict.answer is not None and verdict.answer.step == call
