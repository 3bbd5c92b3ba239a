"""Pod sandboxes: run, status, list with filters, stop and remove (both idempotent).

Every pod here uses the node's network namespace: there is no CNI network on a test host, and
the kubelet's ``hostNetwork: true`` pods work the same way.
"""

from __future__ import annotations

import grpc
import pytest
from cri_probe import SERVE

from ocimatrix.cri.client import CriError
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.cri.verdicts import judge_map, refused, runtime_handler_problem
from ocimatrix.engines.cri_engine import RUN_LABEL
from ocimatrix.specs import spec
from ocimatrix.tools import catalog

POD_AXES = ("engine", "runtime")


def _state(value: int) -> str:
    return api.PodSandboxState.Name(value)


@pytest.mark.axes(*POD_AXES)
@spec("cri/api.proto", "RuntimeService/RunPodSandbox, PodSandboxStatus")
def test_run_pod_sandbox_is_ready(cell, cri, new_pod, recorder):
    pod = new_pod("ready")
    status = cri.pod_status(pod.id)
    assert status.state == api.SANDBOX_READY, f"a pod just run is {_state(status.state)}, not SANDBOX_READY"
    meta = pod.config.metadata
    got = (status.metadata.name, status.metadata.namespace, status.metadata.uid, status.metadata.attempt)
    assert got == (meta.name, meta.namespace, meta.uid, meta.attempt), f"PodSandboxStatus metadata {got}"
    assert status.id == pod.id
    assert status.created_at > 0, "PodSandboxStatus created_at is not set"
    # As critest: what the pod was given must come back; a runtime may add labels of its own.
    verdicts = [
        judge_map("PodSandboxStatus.labels", pod.config.labels, status.labels),
        judge_map("PodSandboxStatus.annotations", pod.config.annotations, status.annotations),
    ]
    recorder.add("pod_metadata_maps", {v.what: v.evidence() for v in verdicts})
    problems = [v.problem for v in verdicts if v.problem]
    assert not problems, "; ".join(problems)
    network = status.linux.namespaces.options.network
    assert network == api.NODE, (
        f"the pod asked for the node's network, PodSandboxStatus reports {api.NamespaceMode.Name(network)}"
    )


@pytest.mark.axes(*POD_AXES)
@spec("cri/api.proto", "RuntimeService/RunPodSandbox (runtime_handler), ListPodSandbox")
def test_pod_sandbox_reports_its_runtime_handler(cell, cri, new_pod, recorder):
    pod = new_pod("handler")
    listed = cri.list_pods(pod_id=pod.id)
    assert [p.id for p in listed] == [pod.id], f"ListPodSandbox by id {pod.id} returned {[p.id for p in listed]}"
    status = cri.pod_status(pod.id)
    recorder.add("runtime_handler", {"status": status.runtime_handler, "list": listed[0].runtime_handler})
    handler = catalog.split_generation(cell["runtime"])[0]  # runc@trixie is handler runc of trixie's containerd
    problems = [
        runtime_handler_problem(handler, status.runtime_handler, "PodSandboxStatus"),
        runtime_handler_problem(handler, listed[0].runtime_handler, "ListPodSandbox"),
    ]
    assert not any(problems), "; ".join(p for p in problems if p)


@pytest.mark.axes(*POD_AXES)
@spec("cri/api.proto", "RuntimeService/ListPodSandbox (filters: id, state, label selector)")
def test_list_pod_sandbox_filters(cell, cri, new_pod):
    ready, stopped = new_pod("listed"), new_pod("listed")
    cri.stop_pod(stopped.id)
    run_label = {RUN_LABEL: ready.config.labels[RUN_LABEL]}  # both pods have it; their names differ
    by_label = {p.id for p in cri.list_pods(labels=run_label)}
    assert {ready.id, stopped.id} <= by_label, f"label selector {run_label} missed a pod: {by_label}"
    assert {p.id for p in cri.list_pods(pod_id=stopped.id)} == {stopped.id}
    ready_ids = {p.id for p in cri.list_pods(state=api.SANDBOX_READY, labels=run_label)}
    notready_ids = {p.id for p in cri.list_pods(state=api.SANDBOX_NOTREADY, labels=run_label)}
    assert ready.id in ready_ids and stopped.id not in ready_ids, f"state READY filter returned {ready_ids}"
    assert stopped.id in notready_ids and ready.id not in notready_ids, f"state NOTREADY filter returned {notready_ids}"
    nobody = {"io.ocimatrix.no-such-label": "x"}
    assert cri.list_pods(labels=nobody) == [], "a label selector no pod matches returned pods"


@pytest.mark.axes(*POD_AXES)
@spec("cri/api.proto", "RuntimeService/StopPodSandbox (forcibly terminates its containers)")
def test_stop_pod_sandbox_terminates_containers(cell, cri, pod, probe):
    container = pod.start("server", probe, command=SERVE)
    assert cri.container_status(container).state == api.CONTAINER_RUNNING
    cri.stop_pod(pod.id)
    assert cri.pod_status(pod.id).state == api.SANDBOX_NOTREADY, "a stopped pod is still SANDBOX_READY"
    state = cri.container_status(container).state
    assert state == api.CONTAINER_EXITED, (
        f"StopPodSandbox returned but its running container is {api.ContainerState.Name(state)}"
    )


@pytest.mark.axes(*POD_AXES)
@spec("cri/api.proto", "RuntimeService/StopPodSandbox (idempotent: stopping a stopped pod)")
def test_stop_pod_sandbox_twice(cell, cri, pod):
    cri.stop_pod(pod.id)
    cri.stop_pod(pod.id)  # must not fail: multiple StopPodSandbox calls are expected
    assert cri.pod_status(pod.id).state == api.SANDBOX_NOTREADY


@pytest.mark.axes(*POD_AXES)
@spec("cri/api.proto", "RuntimeService/RemovePodSandbox (and again: idempotent)")
def test_remove_pod_sandbox(cell, cri, pod, probe):
    container = pod.create("created", probe, command=SERVE)
    cri.stop_pod(pod.id)
    cri.remove_pod(pod.id)
    assert pod.id not in {p.id for p in cri.list_pods()}, "ListPodSandbox still lists a removed pod"
    with pytest.raises(CriError) as caught:
        cri.pod_status(pod.id)
    if caught.value.code != grpc.StatusCode.NOT_FOUND:
        raise refused(
            "PodSandboxStatus after remove", "PodSandboxStatus of a removed pod is not NOT_FOUND", caught.value
        )
    assert container not in {c.id for c in cri.list_containers()}, "removing the pod left its container behind"
    cri.remove_pod(pod.id)  # must not fail: the sandbox has already been removed


@pytest.mark.axes(*POD_AXES)
@spec("cri/api.proto", "RuntimeService/RemovePodSandbox (forcibly terminates and removes running containers)")
def test_remove_pod_sandbox_with_running_container(cell, cri, pod, probe):
    container = pod.start("server", probe, command=SERVE)
    cri.remove_pod(pod.id)  # no StopPodSandbox first: removal must stop what still runs
    assert container not in {c.id for c in cri.list_containers()}, (
        "RemovePodSandbox returned but the pod's container is still listed"
    )


@pytest.mark.axes(*POD_AXES)
@spec("cri/api.proto", "RuntimeService/StopPodSandbox (idempotent: resources already reclaimed)")
def test_stop_pod_sandbox_after_remove(cell, cri, pod):
    cri.stop_pod(pod.id)
    cri.remove_pod(pod.id)
    try:
        cri.stop_pod(pod.id)
    except CriError as exc:
        raise refused(
            "StopPodSandbox after remove",
            "StopPodSandbox of a pod already stopped and removed failed; the CRI calls StopPodSandbox idempotent: "
            "it must not return an error when all resources are already reclaimed, and the kubelet may call it "
            "again after removal",
            exc,
        ) from exc
