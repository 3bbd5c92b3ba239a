"""A CRI session written down as the crictl commands that repeat it: the repro of a CRI cell.

Every CRI call is recorded, before it is made, as the crictl command that does the same (pods and
containers become shell variables POD1, CTR1, ...) followed by the gRPC method it stands for.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor

from ocimatrix import evidence
from ocimatrix.cri.gen import api_pb2 as api

RUNTIME_SERVICE = "runtime.v1.RuntimeService"
IMAGE_SERVICE = "runtime.v1.ImageService"

_INT64_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
    }
)


def message_json(message: Any) -> str:
    """A CRI message as crictl reads its JSON files: proto field names, enums as numbers, and 64-bit
    integers as numbers (proto3's JSON writes them as strings, which Go's encoding/json refuses)."""
    as_dict = json_format.MessageToDict(message, preserving_proto_field_name=True, use_integers_for_enums=True)
    _int64_as_numbers(message.DESCRIPTOR, as_dict)
    return json.dumps(as_dict, sort_keys=True, separators=(",", ":"))


def _int64_as_numbers(descriptor: Any, data: dict[str, Any]) -> None:
    for name, value in data.items():
        field = descriptor.fields_by_name.get(name)
        if field is None:
            continue
        if field.message_type is not None:
            if field.message_type.GetOptions().map_entry:
                value_type = field.message_type.fields_by_name["value"].message_type
                items = list(value.values()) if value_type is not None else []
            else:
                value_type = field.message_type
                items = value if field.is_repeated else [value]
            for item in items:
                _int64_as_numbers(value_type, item)
        elif field.type in _INT64_TYPES:
            data[name] = [int(v) for v in value] if field.is_repeated else int(value)


SERVICE_OF = {
    "ListImages": IMAGE_SERVICE,
    "ImageStatus": IMAGE_SERVICE,
    "PullImage": IMAGE_SERVICE,
    "RemoveImage": IMAGE_SERVICE,
    "ImageFsInfo": IMAGE_SERVICE,
}
_POD_STATES = {api.SANDBOX_READY: "ready", api.SANDBOX_NOTREADY: "notready"}
_CONTAINER_STATES = {
    api.CONTAINER_CREATED: "created",
    api.CONTAINER_RUNNING: "running",
    api.CONTAINER_EXITED: "exited",
    api.CONTAINER_UNKNOWN: "unknown",
}


class CrictlScript:
    """One test's crictl commands: pods and containers it created become shell variables
    (POD1, CTR1 ...), so later lines refer to them the way a person retyping them would."""

    def __init__(self, endpoint: str) -> None:
        self.base = shlex.join(["crictl", "--runtime-endpoint", endpoint])
        self.names: dict[str, str] = {}  # pod or container id -> shell variable
        self.pod_files: dict[str, str] = {}  # pod id -> the JSON file of its config
        self.counts = {"POD": 0, "CTR": 0}
        self.pending = ""

    def _new(self, kind: str) -> str:
        self.counts[kind] += 1
        self.pending = f"{kind}{self.counts[kind]}"
        return self.pending

    def id(self, object_id: str) -> str:
        return f'"${self.names[object_id]}"' if object_id in self.names else shlex.quote(object_id)

    def created(self, call: str, response: Any) -> None:
        if call == "RunPodSandbox" and self.pending:
            self.names[response.pod_sandbox_id] = self.pending
            self.pod_files[response.pod_sandbox_id] = f"{self.pending.lower()}.json"
        elif call == "CreateContainer" and self.pending:
            self.names[response.container_id] = self.pending

    def lines(self, call: str, request: Any) -> list[str]:
        method = f"{SERVICE_OF.get(call, RUNTIME_SERVICE)}/{call}"
        command = self._command(call, request)
        if command is None:
            return [f"# {method} (no crictl equivalent): {message_json(request)}"]
        *setup, last = command
        aside = self._aside(call, request)
        return [*setup, f"{last}  # {method}" + (f" ({aside})" if aside else "")]

    @staticmethod
    def _aside(call: str, request: Any) -> str:
        """Where crictl's command makes a different request for the same answer, what it makes."""
        if call == "ContainerStats":
            return "crictl asks ListContainerStats filtered by this id"
        if call == "ListContainerStats" and not request.HasField("filter"):
            return "crictl sends an empty filter, this call sent none"
        return ""

    def _command(self, call: str, request: Any) -> list[str] | None:
        q = shlex.quote
        b = self.base
        if call == "Version":
            return [f"{b} version"]
        if call == "Status":
            return [f"{b} info"]
        if call == "PullImage":
            return [f"{b} pull {q(request.image.image)}"]
        if call == "ImageStatus":
            return [f"{b} inspecti {q(request.image.image)}"]
        if call == "ListImages":
            return [f"{b} images" + (f" {q(request.filter.image.image)}" if request.filter.image.image else "")]
        if call == "RemoveImage":
            return [f"{b} rmi {q(request.image.image)}"]
        if call == "ImageFsInfo":
            return [f"{b} imagefsinfo"]
        if call == "RunPodSandbox":
            var = self._new("POD")
            file = f"{var.lower()}.json"
            handler = f" --runtime {q(request.runtime_handler)}" if request.runtime_handler else ""
            return [
                f"echo {q(message_json(request.config))} > {file}",
                f"mkdir -p {q(request.config.log_directory)}",
                f"{var}=$({b} runp{handler} {file})",
            ]
        if call in ("StopPodSandbox", "RemovePodSandbox", "PodSandboxStatus"):
            verb = {"StopPodSandbox": "stopp", "RemovePodSandbox": "rmp", "PodSandboxStatus": "inspectp"}[call]
            return [f"{b} {verb} {self.id(request.pod_sandbox_id)}"]
        if call == "ListPodSandbox":
            return [f"{b} pods" + self._filters(request.filter, _POD_STATES)]
        if call == "CreateContainer":
            var = self._new("CTR")
            setup = [f"echo {q(message_json(request.config))} > {var.lower()}.json"]
            pod_file = self.pod_files.get(request.pod_sandbox_id)
            if pod_file is None:
                pod_file = f"{var.lower()}-pod.json"
                setup.append(f"echo {q(message_json(request.sandbox_config))} > {pod_file}")
            pod = self.id(request.pod_sandbox_id)
            return [*setup, f"{var}=$({b} create {pod} {var.lower()}.json {pod_file})"]
        if call in ("StartContainer", "RemoveContainer", "ContainerStatus"):
            verb = {"StartContainer": "start", "RemoveContainer": "rm", "ContainerStatus": "inspect"}[call]
            return [f"{b} {verb} {self.id(request.container_id)}"]
        if call == "StopContainer":
            return [f"{b} stop --timeout {request.timeout} {self.id(request.container_id)}"]
        if call == "ListContainers":
            pod = f" --pod {self.id(request.filter.pod_sandbox_id)}" if request.filter.pod_sandbox_id else ""
            return [f"{b} ps -a{pod}" + self._filters(request.filter, _CONTAINER_STATES)]
        # Stats as JSON: crictl's table drops the fields a check reads.
        if call == "ContainerStats":
            return [f"{b} stats -a -o json --id {self.id(request.container_id)}"]
        if call == "ListContainerStats":
            pod = f" --pod {self.id(request.filter.pod_sandbox_id)}" if request.filter.pod_sandbox_id else ""
            labels = "".join(f" --label {q(f'{k}={v}')}" for k, v in sorted(request.filter.label_selector.items()))
            ident = f" --id {self.id(request.filter.id)}" if request.filter.id else ""
            return [f"{b} stats -a -o json{ident}{pod}{labels}"]
        if call == "ListMetricDescriptors":
            return [f"{b} metricdescs"]
        if call == "ListPodSandboxMetrics":
            return [f"{b} metricsp"]
        if call == "ExecSync":
            command = shlex.join(request.cmd)
            return [f"{b} exec --sync --timeout {request.timeout} {self.id(request.container_id)} {command}"]
        # The streaming calls: crictl makes the same RPC and then speaks SPDY to the URL by default, where
        # the harness spoke WebSocket (v4.channel.k8s.io); the runtime's session behind both is the same.
        if call == "Exec":
            flags = self._stdio_flags(request)
            return [f"{b} exec{flags} {self.id(request.container_id)} {shlex.join(request.cmd)}"]
        if call == "Attach":
            return [f"{b} attach{self._stdio_flags(request)} {self.id(request.container_id)}"]
        if call == "PortForward":
            # ":PORT" lets crictl pick the local port (it prints it); connect there to reach PORT in the pod.
            ports = " ".join(f":{port}" for port in request.port)
            return [f"{b} port-forward {self.id(request.pod_sandbox_id)} {ports}"]
        return None

    @staticmethod
    def _stdio_flags(request: Any) -> str:
        return (" -i" if request.stdin else "") + (" -t" if request.tty else "")

    def _filters(self, filter_: Any, states: Mapping[int, str]) -> str:
        text = f" --id {self.id(filter_.id)}" if filter_.id else ""
        if filter_.HasField("state"):
            text += f" --state {states.get(filter_.state.state, filter_.state.state)}"
        for key, value in sorted(filter_.label_selector.items()):
            text += f" --label {shlex.quote(f'{key}={value}')}"
        return text


class CrictlRepro:
    """A fresh CrictlScript for each test (each evidence recorder) on one endpoint."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._owner: evidence.Recorder | None = None
        self._script = CrictlScript(endpoint)

    def for_test(self, recorder: evidence.Recorder) -> CrictlScript:
        if recorder is not self._owner:
            self._owner = recorder
            self._script = CrictlScript(self.endpoint)
        return self._script


def note(line: str) -> None:
    """Add a repro line as written (crictl steps chain through shell variables)."""
    recorder = evidence.current()
    if line not in recorder.repro:
        recorder.repro.append(line)
