"""Kubernetes' CRI as a runner: pull and run images the way the kubelet asks a runtime to.

``containerd-cri`` is the harness's own containerd through its CRI plugin (or any containerd a
matrix names under ``endpoints``); ``cri-o`` is a CRI-O a matrix names, like critest's
``--runtime-endpoint``: the harness never talks to a runtime of the host unless told to.

One ``run`` is one pod on the node's network with one container: RunPodSandbox (runtime handler
= the cell's runtime), CreateContainer with the RunSpec mapped as a Pod spec maps onto the CRI
(``command`` replaces Entrypoint, ``args`` replaces Cmd), StartContainer, ContainerStatus polled
until the process exits, its output read from the CRI log file, then the container and the pod
stopped and removed whatever happened. Every CRI call is recorded, before it is made, as the
crictl command that does the same (pods and containers become shell variables POD1, CTR1, ...)
followed by the gRPC method it stands for: that is the cell's repro.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor

from ocimatrix import evidence
from ocimatrix.cri import messages
from ocimatrix.cri.client import CriClient, CriError
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.cri.image_ids import digest_or_none, repo_digests_of
from ocimatrix.engines.base import (
    Engine,
    EngineError,
    ResolvedImage,
    RunResult,
    RunSpec,
    Unsupported,
    first_line_version,
    service_missing,
)
from ocimatrix.errors import HarnessError, OcimatrixError, ServiceUnavailable, UsageError
from ocimatrix.images.busybox import host_platform_name
from ocimatrix.oci import mediatypes
from ocimatrix.oci.reference import parse_reference
from ocimatrix.oci.registry import RegistryClient

POD_NAMESPACE = "ocimatrix"
CONTAINER_NAME = "main"
OWNER_LABEL = "io.ocimatrix.owner"
RUN_LABEL = "io.ocimatrix.run"
CRIO_DEFAULT_SOCKET = "/var/run/crio/crio.sock"
RUNTIME_SERVICE = "runtime.v1.RuntimeService"
IMAGE_SERVICE = "runtime.v1.ImageService"
READY_TIMEOUT = 10.0
# What a cell records as its runtime's version when the CRI endpoint does not say which binary,
# of which version, its handler ran: never the host's binary of the same name.
UNKNOWN_RUNTIME_VERSION = "reported by the CRI endpoint: unknown"


class KubeletCri(CriClient):
    """The kubelet-like CRI client, recording each call as crictl would make it (the repro), plus
    the two calls a conformance test needs beyond the kubelet's own."""

    def __init__(self, endpoint: str, **kwargs: Any) -> None:
        super().__init__(endpoint, **kwargs)
        self.repro = CrictlRepro(endpoint)

    def _call(self, name, method, request, subject="", deadline=None):
        script = self.repro.for_test(evidence.current())
        for line in script.lines(name, request):
            note(line)
        response = super()._call(name, method, request, subject, deadline)
        script.created(name, response)
        return response

    def container_log(self, container_id: str):
        # No RPC: like the kubelet, the client reads the file the runtime writes.
        script = self.repro.for_test(evidence.current())
        note(f"{script.base} logs {script.id(container_id)}  # the CRI log file at ContainerStatus.log_path")
        return super().container_log(container_id)

    def image_info(self, ref: str) -> dict[str, Any]:
        """ImageStatus(verbose): the runtime's free-form details (containerd: the OCI image config)."""
        request = api.ImageStatusRequest(image=messages.image_spec(ref), verbose=True)
        return decode_info(self._call("ImageStatus", self._images.ImageStatus, request, ref).info)

    def runtime_info(self) -> dict[str, Any]:
        """Status(verbose): the runtime's free-form details (containerd: its CRI config)."""
        return decode_info(self.status(verbose=True).info)

    def create_container_config(
        self, pod_id: str, config: api.ContainerConfig, pod_config: api.PodSandboxConfig
    ) -> str:
        """CreateContainer with a config built by the caller, for requests messages.container_config
        does not build (a group without a user, on purpose)."""
        if pod_config.log_directory and config.log_path:
            Path(pod_config.log_directory, config.log_path).parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        request = api.CreateContainerRequest(pod_sandbox_id=pod_id, config=config, sandbox_config=pod_config)
        subject = f"{config.metadata.name} in pod {pod_id}"
        return self._call("CreateContainer", self._runtime.CreateContainer, request, subject).container_id


# ---------------------------------------------------------------------- pure mapping


def named_endpoints() -> dict[str, str]:
    """The ``endpoints`` of the matrix this run loaded (the plugin exports its path to workers)."""
    from ocimatrix.matrix import load_matrix
    from ocimatrix.plugin import MATRIX_ENV

    path = os.environ.get(MATRIX_ENV)
    if not path:
        return {}
    try:
        return dict(load_matrix(path).endpoints)
    except OcimatrixError:
        return {}  # the plugin has already refused a bad matrix with the reason


def resolve_endpoint(engine: str, embedded_cri: str, embedded_error: str, named: Mapping[str, str]) -> tuple[str, str]:
    """(endpoint, why there is none): a matrix-named endpoint wins, then the embedded containerd.

    CRI-O is not part of the embedded default; a CRI-O socket on the host is used only when the
    matrix names it, so a run never drives a runtime the user did not hand over.
    """
    if named.get(engine):
        return named[engine], ""
    if engine == "containerd-cri":
        if embedded_cri:
            return embedded_cri, ""
        return "", f"no embedded containerd CRI endpoint: {embedded_error or 'containerd did not start'}"
    hint = f"endpoints: {{{engine}: unix://{CRIO_DEFAULT_SOCKET}}}"
    if os.path.exists(CRIO_DEFAULT_SOCKET):
        return "", (
            f"a CRI-O socket exists at {CRIO_DEFAULT_SOCKET}, but the harness drives a runtime of the host "
            f"only when the matrix names it ({hint})"
        )
    return "", (
        f"no CRI-O on this host ({CRIO_DEFAULT_SOCKET} missing) and the matrix names no {engine} endpoint "
        f"({hint}); CRI-O is not part of the embedded default"
    )


def container_overrides(spec: RunSpec) -> dict[str, Any]:
    """The RunSpec as CreateContainer fields, the way a Pod spec maps onto the CRI.

    A Pod's ``command`` replaces the image's Entrypoint and ``args`` its Cmd; a command without args
    drops Cmd too, which is what RunSpec.entrypoint means (Docker semantics), so the two map 1:1.
    """
    overrides: dict[str, Any] = {
        "command": list(spec.entrypoint) if spec.entrypoint is not None else None,
        "args": list(spec.args) if spec.args is not None else None,
        "env": dict(spec.env),
        "working_dir": spec.workdir or "",
        "user": spec.user,
    }
    if spec.entrypoint is not None and not spec.entrypoint:
        raise Unsupported("the CRI cannot clear the image's Entrypoint: an empty command means 'the image's'")
    group = (spec.user or "").partition(":")[2]
    if group and not group.isdigit():
        raise Unsupported(f"user {spec.user!r}: the CRI's run_as_group takes a numeric group id, not a name")
    return overrides


def decode_info(info: Mapping[str, str]) -> dict[str, Any]:
    """A verbose answer's ``info`` map: JSON values decoded, anything else kept as text."""
    decoded: dict[str, Any] = {}
    for key, value in info.items():
        try:
            decoded[key] = json.loads(value)
        except ValueError:
            decoded[key] = value
    return decoded


def repo_digest_for(ref: str, repo_digests: Sequence[str]) -> str:
    """The manifest digest the runtime recorded for ``ref``'s repository ("" if none)."""
    try:
        parsed = parse_reference(ref)
    except ValueError:
        return ""
    digests = repo_digests_of(f"{parsed.registry}/{parsed.repository}", repo_digests)
    if parsed.digest and parsed.digest in digests:
        return parsed.digest
    return digests[0] if digests else ""


def handler_binaries(info: Mapping[str, Any]) -> dict[str, str]:
    """Runtime handler -> the OCI runtime binary the endpoint's Status(verbose) names for it.

    containerd 1.6 answers ``{"config": {"containerd": {"runtimes": {NAME: {"runtimeType": ...,
    "options": {"BinaryName": PATH}}}}}}`` (no BinaryName: the runc shim's default, ``runc`` on its PATH). CRI-O 1.33
    names no handler there (``{"config": {"sandboxImage": ...}}``): nothing to read.
    """
    config = info.get("config")
    containerd = config.get("containerd") if isinstance(config, dict) else None
    runtimes = containerd.get("runtimes") if isinstance(containerd, dict) else None
    if not isinstance(runtimes, dict):
        return {}
    binaries = {}
    for name, runtime in runtimes.items():
        options = runtime.get("options") if isinstance(runtime, dict) else None
        binary = options.get("BinaryName") if isinstance(options, dict) else None
        if isinstance(binary, str) and binary:
            binaries[str(name)] = binary
        elif isinstance(runtime, dict) and str(runtime.get("runtimeType", "")).startswith("io.containerd.runc."):
            binaries[str(name)] = "runc"
    return binaries


def handler_version(handler: str, binaries: Mapping[str, str], *, local: bool) -> str:
    """The version a cell records for ``handler``'s runtime.

    Only the harness's own containerd (``local``) shares this host's filesystem for sure, so only
    there the binary its config names is the one read with ``--version``; for any other endpoint
    the binary it names is reported, but its version stays unknown.
    """
    binary = binaries.get(handler, "")
    if not binary:
        return UNKNOWN_RUNTIME_VERSION
    if not local:
        return f"{UNKNOWN_RUNTIME_VERSION} (its config names {binary} for handler {handler})"
    path = shutil.which(binary) if "/" not in binary else binary
    version = first_line_version([path, "--version"]) if path else ""
    return version or f"{UNKNOWN_RUNTIME_VERSION} ({binary} gave no version)"


def config_from_info(info: Mapping[str, Any]) -> dict[str, Any] | None:
    """The image config from ImageStatus(verbose) details, if the runtime put it there.

    containerd 1.6 answers ``{"info": {"chainID": ..., "imageSpec": <OCI image config>}}``.
    """
    details = info.get("info")
    spec = details.get("imageSpec") if isinstance(details, dict) else None
    if not isinstance(spec, dict):
        return None
    return _config_section(spec)


def _config_section(image_config: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(image_config.get("config") or {})
    result.update(
        architecture=image_config.get("architecture", ""),
        os=image_config.get("os", ""),
        variant=image_config.get("variant", ""),
    )
    return result


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
        return [*setup, f"{last}  # {method}"]

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
        if call == "ExecSync":
            command = shlex.join(request.cmd)
            return [f"{b} exec --sync --timeout {request.timeout} {self.id(request.container_id)} {command}"]
        return None

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


def run_label() -> str:
    """This run and xdist worker, as the plugin's ``run_id`` fixture names it: a worker sweeping
    its own pods at the end never touches those of a worker still running."""
    return f"{os.environ.get('OCIMATRIX_RUN_ID', 'local')}-{os.environ.get('PYTEST_XDIST_WORKER', 'gw0')}"


def note(line: str) -> None:
    """Add a repro line as written (crictl steps chain through shell variables)."""
    recorder = evidence.current()
    if line not in recorder.repro:
        recorder.repro.append(line)


def is_unknown_handler(error: CriError) -> bool:
    """RunPodSandbox refused the runtime handler itself (containerd: 'no runtime for "x" is
    configured'; CRI-O: 'failed to find runtime handler x')."""
    text = error.details.lower()
    return "no runtime for" in text or "runtime handler" in text


# ---------------------------------------------------------------------- the engine


class CriEngine(Engine):
    """containerd through its CRI plugin, as the kubelet drives it."""

    name = "containerd-cri"
    formats = ()  # a runner only: the CRI has no build or push

    def __init__(self, endpoints, endpoint: str | None = None) -> None:
        super().__init__(endpoints)
        embedded_error = ""
        if self.name == "containerd-cri":
            embedded_error = endpoints.errors.get("cri") or endpoints.errors.get("containerd", "")
        named = {self.name: endpoint} if endpoint else named_endpoints()
        self.endpoint, self.missing = resolve_endpoint(self.name, endpoints.cri, embedded_error, named)
        self.named = bool(named.get(self.name))
        # The harness's own containerd: its sandbox image is the one EmbeddedServices pushed.
        self.embedded = not self.named and bool(self.endpoint) and self.endpoint == endpoints.cri
        self.log_root = Path(endpoints.state_dir) / "cri" / "pods"
        self._client: KubeletCri | None = None
        self._version: api.VersionResponse | None = None
        self._handler_versions: dict[str, str] = {}

    @property
    def client(self) -> KubeletCri:
        if self._client is None:
            self._client = KubeletCri(self.endpoint)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def unavailable(self) -> str | None:
        """The skip reason (a fact of the host), or None; raises ServiceUnavailable for a service that
        is there but broken (the harness's containerd did not start, a socket refuses connections)."""
        if not self.endpoint:
            if self.name == "containerd-cri" and not self.named:
                return service_missing(self.endpoints, "containerd", "embedded containerd (for its CRI)")
            return self.missing
        if self.embedded and self.endpoints.errors.get("cri"):
            raise ServiceUnavailable("containerd's CRI", f"it cannot run pods: {self.endpoints.errors['cri']}")
        socket = self.endpoint.removeprefix("unix://")
        if socket.startswith("/") and not os.path.exists(socket):
            return f"CRI endpoint {self.endpoint}: no such socket"
        # A socket that refuses the connection raises ServiceUnavailable from here: a broken service.
        try:
            self._version = self.client.wait_ready(READY_TIMEOUT)
        except (CriError, UsageError) as exc:
            return f"CRI endpoint {self.endpoint} does not answer: {exc}"
        return None

    def runtime_version(self) -> api.VersionResponse:
        if self._version is None:
            self._version = self._cri(self.client.version)
        return self._version

    def version(self) -> str:
        return self.runtime_version().runtime_version.removeprefix("v")

    def versions(self) -> dict[str, str]:
        """What the endpoint's Version says: the runtime's version under the engine's name, and
        which runtime answered (runtime_name, runtime_version, the CRI API version)."""
        reported = self.runtime_version()
        return {
            self.name: self.version(),
            f"{self.name} endpoint": (
                f"{reported.runtime_name} {reported.runtime_version} (CRI {reported.runtime_api_version})"
            ),
        }

    def runtime_version_of(self, handler: str) -> str:
        """The version of the OCI runtime behind ``handler``, as far as the endpoint vouches for it
        (see handler_version); never the version of a host binary the endpoint may not use."""
        if handler not in self._handler_versions:
            try:
                binaries = handler_binaries(self.client.runtime_info())
            except CriError as exc:
                self._handler_versions[handler] = f"{UNKNOWN_RUNTIME_VERSION} (Status failed: {exc})"
            else:
                self._handler_versions[handler] = handler_version(handler, binaries, local=self.embedded)
        return self._handler_versions[handler]

    def check_runtime(self, runtime: str) -> None:
        # The handler is the endpoint's: a CRI-O or a user's containerd may run binaries this host
        # lacks (an unknown handler is refused by RunPodSandbox, and the cell skipped then). Only
        # the harness's own containerd uses this host's runc and crun.
        if self.embedded:
            super().check_runtime(runtime)

    def _cri(self, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except CriError as exc:
            raise EngineError(f"{self.name} at {self.endpoint}: {exc}") from None

    # -- images -----------------------------------------------------------------------------------

    def _check_platform(self, platform: str | None) -> None:
        if platform and platform != host_platform_name():
            raise Unsupported(
                f"the CRI has no platform choice: PullImage and CreateContainer use the runtime's own "
                f"platform ({host_platform_name()}), not {platform}"
            )

    def pull(self, ref: str, *, platform: str | None = None) -> None:
        self._check_platform(platform)
        image_ref = self._cri(self.client.pull_image, ref)
        evidence.current().add("cri_image_ref", image_ref)

    def _image(self, ref: str) -> api.Image | None:
        return self._cri(self.client.image_status, ref)

    def image_digest(self, ref: str) -> str:
        image = self._image(ref)
        return repo_digest_for(ref, image.repo_digests) if image is not None else ""

    def resolved_image(self, ref: str, *, platform: str | None = None) -> ResolvedImage:
        """What ImageStatus says the reference resolved to: the image id is the config digest (what the
        runtime runs), repo_digests the manifests it ties to the repository (index and/or platform)."""
        self._check_platform(platform)
        image = self._image(ref)
        if image is None:
            raise EngineError(f"{self.name} has no {ref}: ImageStatus found no image")
        parsed = parse_reference(ref)
        digests = repo_digests_of(f"{parsed.registry}/{parsed.repository}", image.repo_digests)
        config_digest = digest_or_none(image.id)
        if config_digest is None:
            # Not a digest in either spelling: the manifest digests above still say what was chosen.
            evidence.current().add("cri_image_id_not_a_digest", image.id)
        config = self.image_config(ref)
        return ResolvedImage(
            config_digest=config_digest or image.id,
            architecture=config.get("architecture", ""),
            os=config.get("os", ""),
            variant=config.get("variant", ""),
            digests=digests,
            how="CRI ImageStatus (id, repo_digests) and its verbose image config",
        )

    def image_config(self, ref: str) -> dict:
        config = config_from_info(self._cri(self.client.image_info, ref))
        if config is not None:
            return config
        # CRI-O's verbose details carry no OCI config: read the one the runtime pulled (by its
        # repo digest) from the registry instead.
        digest = self.image_digest(ref)
        if not digest:
            raise EngineError(f"{self.name} has no {ref}: ImageStatus found no image with a repo digest")
        return self._registry_config(ref, digest)

    def _registry_config(self, ref: str, digest: str) -> dict:
        try:
            return self._read_registry_config(ref, digest)
        except (OcimatrixError, KeyError, IndexError, ValueError) as exc:
            raise EngineError(f"reading the config of {ref}@{digest} from its registry: {exc}") from None

    def _read_registry_config(self, ref: str, digest: str) -> dict:
        parsed = parse_reference(ref)
        plain = parsed.registry.startswith(("127.0.0.1:", "localhost:"))
        with RegistryClient(parsed.registry, plain_http=plain) as registry:
            body, media_type, _ = registry.get_manifest(parsed.repository, digest)
            manifest = json.loads(body)
            if media_type in mediatypes.INDEX_TYPES:
                arch = host_platform_name().split("/")[1]
                chosen = next(
                    (m for m in manifest["manifests"] if (m.get("platform") or {}).get("architecture") == arch),
                    manifest["manifests"][0],
                )
                body, _, _ = registry.get_manifest(parsed.repository, chosen["digest"])
                manifest = json.loads(body)
            with registry.get_blob(parsed.repository, manifest["config"]["digest"]) as blob:
                return _config_section(json.loads(blob.read()))

    def remove_image(self, ref: str) -> None:
        try:
            self.client.remove_image(ref)
        except CriError as exc:
            evidence.current().add("remove_image_error", str(exc))

    def ensure_image(self, ref: str) -> str:
        """The image id, pulling first if the runtime lacks it (the kubelet's IfNotPresent)."""
        image = self._image(ref)
        if image is None:
            self.pull(ref)
            image = self._image(ref)
            if image is None:
                raise EngineError(f"{self.name}: PullImage {ref} succeeded but ImageStatus does not find it")
        return image.id

    # -- pods and containers ----------------------------------------------------------------------

    def pod_config(self, label: str = "run") -> api.PodSandboxConfig:
        """A fresh pod config: unique name and uid, log directory under the harness's state dir."""
        uid = str(uuid.uuid4())
        name = f"ocimatrix-{label}-{uid[:8]}"
        log_dir = self.log_root / f"{POD_NAMESPACE}_{name}_{uid}"
        labels = {OWNER_LABEL: "ocimatrix", RUN_LABEL: run_label()}
        return messages.pod_sandbox_config(name, POD_NAMESPACE, uid, str(log_dir), labels=labels)

    def run_pod(self, pod_config: api.PodSandboxConfig, runtime: str) -> str:
        try:
            return self.client.run_pod_config(pod_config, runtime)
        except CriError as exc:
            if exc.call == "RunPodSandbox" and is_unknown_handler(exc):
                raise Unsupported(f"{self.name} at {self.endpoint} has no runtime handler {runtime!r}: {exc}") from None
            raise EngineError(f"{self.name} at {self.endpoint}: {exc}") from None

    def run(self, spec: RunSpec) -> RunResult:
        self.check_runtime(spec.runtime)
        self._check_platform(spec.platform)
        overrides = container_overrides(spec)
        image_id = self.ensure_image(spec.image)
        pod_config = self.pod_config()
        container_config = messages.container_config(
            pod_config, CONTAINER_NAME, spec.image, image_ref=image_id, **overrides
        )
        pod_id = container_id = ""
        try:
            pod_id = self.run_pod(pod_config, spec.runtime)
            container_id = self._cri(self.client.create_container_config, pod_id, container_config, pod_config)
            self._cri(self.client.start_container, container_id)
            try:
                status = self.client.wait_for_exit(container_id, timeout=spec.timeout)
            except CriError as exc:
                raise EngineError(f"{self.name}: the container did not exit: {exc}") from None
            evidence.current().add("cri_status", status_summary(status))
            log = self._cri(self.client.container_log, container_id)
            return RunResult(status.exit_code, log.stdout, log.stderr)
        except OcimatrixError as exc:
            # A broken service (HarnessError) stays what it is: the cell is an error, not a failure.
            if not isinstance(exc, Unsupported | EngineError | HarnessError):
                raise EngineError(f"{self.name}: {exc}") from None
            raise
        finally:
            self.tear_down(pod_id, container_id, Path(pod_config.log_directory))

    def tear_down(self, pod_id: str, container_id: str = "", log_dir: Path | None = None) -> None:
        """Stop and remove the container, then the pod, and drop the pod's logs, as the kubelet
        does when a pod is deleted. Failures are kept as evidence: a leak must be visible."""
        problems = []
        steps = []
        if container_id:
            steps += [
                lambda: self.client.stop_container(container_id, missing_ok=True),
                lambda: self.client.remove_container(container_id),
            ]
        if pod_id:
            steps += [
                lambda: self.client.stop_pod(pod_id, missing_ok=True),
                lambda: self.client.remove_pod(pod_id),
            ]
        for step in steps:
            try:
                step()
            except CriError as exc:
                problems.append(str(exc))
        if log_dir is not None:
            shutil.rmtree(log_dir, ignore_errors=True)
        if problems:
            evidence.current().add("cri_cleanup_errors", problems)

    def sweep(self, run: str | None = None) -> list[str]:
        """Stop and remove every pod this harness left on the endpoint: those of ``run`` (a
        ``run_label()``) if given, else all of them. A runtime the user named outlives the run,
        so nothing may stay behind there."""
        labels = {OWNER_LABEL: "ocimatrix"}
        if run:
            labels[RUN_LABEL] = run
        removed = []
        for pod in self.client.list_pods(labels=labels):
            self.tear_down(pod.id)
            removed.append(pod.id)
        return removed


def status_summary(status: api.ContainerStatus) -> dict[str, Any]:
    return {
        "state": api.ContainerState.Name(status.state),
        "exit_code": status.exit_code,
        "reason": status.reason,
        "message": status.message,
        "image_ref": status.image_ref,
        "log_path": status.log_path,
    }


class CrioEngine(CriEngine):
    """CRI-O, reached only at an endpoint the matrix names."""

    name = "cri-o"
