"""The CRI's own metrics, as critest's two metrics checks ask them (pod.go): ListMetricDescriptors describes
the cAdvisor container metrics, each with help text and label keys; ListPodSandboxMetrics answers a running
pod with a container, every value named by a descriptor and labelled as it says.

critest skips both when ListMetricDescriptors answers UNIMPLEMENTED. Here that answer is the runtime's own,
given to the call under test, so it is the cell's failure: a version known to answer so is a listed
expectation of the matrix (``versions``), confirmed only by that status.
"""

from __future__ import annotations

import pytest
from cri_probe import SERVE

from ocimatrix.cri.client import CriError
from ocimatrix.cri.verdicts import (
    described,
    descriptor_problems,
    pod_metrics_problems,
    pod_metrics_text,
    refused,
)
from ocimatrix.errors import fail_with
from ocimatrix.specs import spec

AXES = ("engine", "runtime")
MiB = 1024 * 1024
# Some disk activity before the values are read, as critest makes (ten small files, then sync).
WRITES = "for i in 1 2 3 4 5 6 7 8 9 10; do echo hi >> /tmp/metrics-$i; done; /bin/busybox sync"


def _descriptors(cri):
    try:
        return cri.list_metric_descriptors()
    except CriError as exc:
        raise refused("ListMetricDescriptors", "the runtime did not describe its metrics", exc) from exc


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/ListMetricDescriptors")
def test_list_metric_descriptors(cell, cri, recorder):
    descriptors = _descriptors(cri)
    recorder.add("descriptors", described(descriptors))
    problems = descriptor_problems(descriptors)
    if problems:
        fail_with(
            "ListMetricDescriptors must describe the cAdvisor container metrics, each once with help text and "
            "label keys: " + "; ".join(problems),
            step="ListMetricDescriptors",
            answer=described(descriptors),
        )


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/ListPodSandboxMetrics (with ListMetricDescriptors)")
def test_list_pod_sandbox_metrics(cell, cri, pod, probe, recorder):
    config = pod.container_config("container-for-metrics", probe, command=SERVE)
    # Limits as critest's, so that the container has spec values to report.
    resources = config.linux.resources
    resources.cpu_period, resources.cpu_quota, resources.cpu_shares = 100000, 20000, 1024
    resources.memory_limit_in_bytes = 64 * MiB
    container = pod.create_config(config)
    cri.start_container(container)
    wrote = cri.exec_sync(container, ["/bin/sh", "-c", WRITES], timeout=10)
    if wrote.exit_code != 0:
        fail_with(
            "the container could not write ten small files",
            step="ExecSync (writes before the metrics)",
            answer=(wrote.stdout + wrote.stderr).decode(errors="replace").strip() or f"exit code {wrote.exit_code}",
        )
    # The call under test first: its own answer decides the cell.
    try:
        metrics = cri.list_pod_metrics()
    except CriError as exc:
        raise refused("ListPodSandboxMetrics", "the runtime did not list its pods' metrics", exc) from exc
    descriptors = _descriptors(cri)
    recorder.add("pod_metrics", pod_metrics_text(metrics))
    recorder.add("descriptors", described(descriptors))
    problems = pod_metrics_problems(metrics, descriptors, pod.id, [container])
    if problems:
        fail_with(
            f"ListPodSandboxMetrics for running pod {pod.id} with container {container}: " + "; ".join(problems),
            step="ListPodSandboxMetrics",
            answer=pod_metrics_text(metrics),
        )
