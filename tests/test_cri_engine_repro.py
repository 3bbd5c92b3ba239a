"""Every CRI call is recorded as the crictl command that does the same, with its gRPC method."""

from __future__ import annotations

import json
import shlex

from google.protobuf import json_format

from ocimatrix import evidence
from ocimatrix.cri import messages
from ocimatrix.cri.crictl_repro import CrictlRepro, CrictlScript, message_json
from ocimatrix.cri.gen import api_pb2 as api

ENDPOINT = "unix:///tmp/c.sock"
BASE = f"crictl --runtime-endpoint {ENDPOINT}"
REF = "127.0.0.1:5000/ocimatrix/probe:1"


def _pod_config() -> api.PodSandboxConfig:
    return messages.pod_sandbox_config("web", "team", "uid-1", "/logs/team_web_uid-1", labels={"a": "b"})


def test_message_json_is_what_crictl_decodes():
    config = messages.container_config(_pod_config(), "app", REF, user="4321:4322")
    decoded = json.loads(message_json(config))
    context = decoded["linux"]["security_context"]
    # Go's encoding/json wants numbers for int64 fields and enums; proto3 JSON writes int64 as strings.
    assert context["run_as_user"] == {"value": 4321} and context["run_as_group"] == {"value": 4322}
    assert context["namespace_options"]["network"] == api.NODE
    assert decoded["log_path"] == "app/0.log"
    # Still valid proto JSON: it parses back into the same message.
    assert json_format.Parse(message_json(config), api.ContainerConfig()) == config


def test_message_json_handles_repeated_int64_and_maps():
    context = api.LinuxContainerSecurityContext(supplemental_groups=[1, 2])
    assert json.loads(message_json(context))["supplemental_groups"] == [1, 2]
    assert json.loads(message_json(_pod_config()))["labels"]["a"] == "b"


def _run_pod(script: CrictlScript, pod_id: str = "p" * 64, handler: str = "crun") -> list[str]:
    request = api.RunPodSandboxRequest(config=_pod_config(), runtime_handler=handler)
    lines = script.lines("RunPodSandbox", request)
    script.created("RunPodSandbox", api.RunPodSandboxResponse(pod_sandbox_id=pod_id))
    return lines


def test_a_pod_becomes_a_shell_variable():
    script = CrictlScript(ENDPOINT)
    lines = _run_pod(script)
    assert lines[0] == f"echo {shlex.quote(message_json(_pod_config()))} > pod1.json"
    assert lines[1] == "mkdir -p /logs/team_web_uid-1"
    assert lines[2] == f"POD1=$({BASE} runp --runtime crun pod1.json)  # runtime.v1.RuntimeService/RunPodSandbox"
    stop = script.lines("StopPodSandbox", api.StopPodSandboxRequest(pod_sandbox_id="p" * 64))
    assert stop == [f'{BASE} stopp "$POD1"  # runtime.v1.RuntimeService/StopPodSandbox']
    unknown = script.lines("RemovePodSandbox", api.RemovePodSandboxRequest(pod_sandbox_id="q" * 64))
    assert unknown == [f"{BASE} rmp {'q' * 64}  # runtime.v1.RuntimeService/RemovePodSandbox"]


def test_containers_reuse_their_pods_config_file():
    script = CrictlScript(ENDPOINT)
    _run_pod(script)
    config = messages.container_config(_pod_config(), "app", REF)
    request = api.CreateContainerRequest(pod_sandbox_id="p" * 64, config=config, sandbox_config=_pod_config())
    lines = script.lines("CreateContainer", request)
    script.created("CreateContainer", api.CreateContainerResponse(container_id="c" * 64))
    assert lines[-1] == (
        f'CTR1=$({BASE} create "$POD1" ctr1.json pod1.json)  # runtime.v1.RuntimeService/CreateContainer'
    )
    assert len(lines) == 2  # only the container's file: the pod's was written by RunPodSandbox
    exec_line = script.lines("ExecSync", api.ExecSyncRequest(container_id="c" * 64, cmd=["sh", "-c", "echo a b"]))
    assert exec_line == [
        f"{BASE} exec --sync --timeout 0 \"$CTR1\" sh -c 'echo a b'  # runtime.v1.RuntimeService/ExecSync"
    ]
    stop = script.lines("StopContainer", api.StopContainerRequest(container_id="c" * 64, timeout=5))
    assert stop == [f'{BASE} stop --timeout 5 "$CTR1"  # runtime.v1.RuntimeService/StopContainer']


def test_a_container_of_an_unknown_pod_writes_the_pod_config_too():
    script = CrictlScript(ENDPOINT)
    config = messages.container_config(_pod_config(), "app", REF)
    request = api.CreateContainerRequest(pod_sandbox_id="x" * 64, config=config, sandbox_config=_pod_config())
    lines = script.lines("CreateContainer", request)
    assert lines[1] == f"echo {shlex.quote(message_json(_pod_config()))} > ctr1-pod.json"
    assert lines[2].startswith(f"CTR1=$({BASE} create {'x' * 64} ctr1.json ctr1-pod.json)")


def test_list_filters_become_crictl_flags():
    script = CrictlScript(ENDPOINT)
    _run_pod(script)
    pods = api.ListPodSandboxRequest(
        filter=api.PodSandboxFilter(
            state=api.PodSandboxStateValue(state=api.SANDBOX_NOTREADY), label_selector={"k": "v w"}
        )
    )
    assert script.lines("ListPodSandbox", pods) == [
        f"{BASE} pods --state notready --label 'k=v w'  # runtime.v1.RuntimeService/ListPodSandbox"
    ]
    # A READY filter (enum value 0) is still a filter: it is wrapped, so its presence is what counts.
    ready = api.ListPodSandboxRequest(filter=api.PodSandboxFilter(state=api.PodSandboxStateValue()))
    assert "--state ready" in script.lines("ListPodSandbox", ready)[0]
    containers = api.ListContainersRequest(
        filter=api.ContainerFilter(pod_sandbox_id="p" * 64, state=api.ContainerStateValue(state=api.CONTAINER_RUNNING))
    )
    assert script.lines("ListContainers", containers) == [
        f'{BASE} ps -a --pod "$POD1" --state running  # runtime.v1.RuntimeService/ListContainers'
    ]


def test_image_calls_name_the_image_service():
    script = CrictlScript(ENDPOINT)
    pull = api.PullImageRequest(image=messages.image_spec(REF))
    assert script.lines("PullImage", pull) == [f"{BASE} pull {REF}  # runtime.v1.ImageService/PullImage"]
    listed = api.ListImagesRequest()
    assert script.lines("ListImages", listed) == [f"{BASE} images  # runtime.v1.ImageService/ListImages"]


def test_calls_without_a_crictl_verb_are_kept_as_comments():
    script = CrictlScript(ENDPOINT)
    lines = script.lines("ReopenContainerLog", api.ReopenContainerLogRequest(container_id="c"))
    assert lines == ['# runtime.v1.RuntimeService/ReopenContainerLog (no crictl equivalent): {"container_id":"c"}']


def test_each_test_gets_its_own_variables():
    repro = CrictlRepro(ENDPOINT)
    first, second = evidence.Recorder(), evidence.Recorder()
    script = repro.for_test(first)
    _run_pod(script)
    assert repro.for_test(first) is script
    fresh = repro.for_test(second)
    assert fresh is not script
    assert _run_pod(fresh, "z" * 64)[-1].startswith("POD1=")


def test_stats_and_metrics_calls_become_crictl_stats_metricdescs_and_metricsp():
    script = CrictlScript(ENDPOINT)
    one = api.ContainerStatsRequest(container_id="c")
    assert script.lines("ContainerStats", one) == [
        f"{BASE} stats -a -o json --id c  # runtime.v1.RuntimeService/ContainerStats "
        "(crictl asks ListContainerStats filtered by this id)"
    ]
    filtered = api.ListContainerStatsRequest(
        filter=api.ContainerStatsFilter(pod_sandbox_id="p", label_selector={"a": "b c"})
    )
    assert script.lines("ListContainerStats", filtered) == [
        f"{BASE} stats -a -o json --pod p --label 'a=b c'  # runtime.v1.RuntimeService/ListContainerStats"
    ]
    assert script.lines("ListContainerStats", api.ListContainerStatsRequest()) == [
        f"{BASE} stats -a -o json  # runtime.v1.RuntimeService/ListContainerStats "
        "(crictl sends an empty filter, this call sent none)"
    ]
    assert script.lines("ListMetricDescriptors", api.ListMetricDescriptorsRequest()) == [
        f"{BASE} metricdescs  # runtime.v1.RuntimeService/ListMetricDescriptors"
    ]
    assert script.lines("ListPodSandboxMetrics", api.ListPodSandboxMetricsRequest()) == [
        f"{BASE} metricsp  # runtime.v1.RuntimeService/ListPodSandboxMetrics"
    ]
