"""Kubernetes' CRI as a runner: pull and run images the way the kubelet asks a runtime to.

``containerd-cri`` is the harness's own containerd through its CRI plugin (or any containerd a
matrix names under ``endpoints``); ``cri-o`` is a CRI-O a matrix names, like critest's
``--runtime-endpoint``: the harness never talks to a runtime of the host unless told to.

One ``run`` is one pod on the node's network with one container: RunPodSandbox (runtime handler
= the cell's runtime), CreateContainer with the RunSpec mapped as a Pod spec maps onto the CRI
(``command`` replaces Entrypoint, ``args`` replaces Cmd), StartContainer, ContainerStatus polled
until the process exits, its output read from the CRI log file, then the container and the pod
stopped and removed whatever happened. The client (``cri/kubelet.py``) records each call as the
crictl command that does the same (``cri/crictl_repro.py``): that is the cell's repro.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

from ocimatrix import evidence
from ocimatrix.cri import messages
from ocimatrix.cri.client import CriError
from ocimatrix.cri.containerd_config import ContainerdLayout, shim_configured
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.cri.image_ids import digest_or_none, repo_digests_of
from ocimatrix.cri.kubelet import NO_IMAGE, KubeletCri
from ocimatrix.cri.security_context import ContainerSecurity, PodSecurity
from ocimatrix.endpoints import service_missing
from ocimatrix.engines.base import Engine, EngineError, ResolvedImage, RunResult, RunSpec, Unsupported
from ocimatrix.engines.cri_answers import (
    UNKNOWN_RUNTIME_VERSION,
    config_from_info,
    handler_binaries,
    handler_version,
    is_unknown_handler,
    repo_digest_for,
    status_summary,
)
from ocimatrix.engines.image_views import config_section_of, host_manifest
from ocimatrix.errors import HarnessError, OcimatrixError, ServiceUnavailable, UsageError
from ocimatrix.images.busybox import host_platform_name
from ocimatrix.oci import mediatypes
from ocimatrix.oci.reference import parse_reference
from ocimatrix.oci.registry_client import RegistryClient
from ocimatrix.run_ids import run_id
from ocimatrix.system.shared_use import Depth
from ocimatrix.tools import catalog

POD_NAMESPACE = "ocimatrix"
CONTAINER_NAME = "main"
OWNER_LABEL = "io.ocimatrix.owner"
RUN_LABEL = "io.ocimatrix.run"
CRIO_DEFAULT_SOCKET = "/var/run/crio/crio.sock"
# Where containerd and CRI-O listen for NRI plugins unless told otherwise (critest's -nri-socket).
NRI_DEFAULT_SOCKET = Path("/var/run/nri/nri.sock")
READY_TIMEOUT = 10.0
# How long a worker waits for its turn on a runtime another worker uses alone (an NRI test, about 5 s).
SHARING_TIMEOUT = 900.0


def _refused(message: str, error: CriError) -> EngineError:
    """The runtime's CRI answer as the engine's error: its status is the answer, its RPC the step."""
    return EngineError(message, step=error.step, answer=error.answer)


def resolve_endpoint(name: str, named: str, embedded: str | None, embedded_error: str = "") -> tuple[str, str]:
    """(endpoint, why there is none): a matrix-named endpoint wins, then the harness's own daemon.

    ``embedded`` is None for a runtime the harness never starts (CRI-O): a socket of it on the host
    is used only when the matrix names it, so a run never drives a runtime the user did not hand over.
    """
    if named:
        return named, ""
    if embedded is not None:
        if embedded:
            return embedded, ""
        return "", f"no embedded containerd CRI endpoint: {embedded_error or 'containerd did not start'}"
    hint = f"endpoints: {{{name}: unix://{CRIO_DEFAULT_SOCKET}}}"
    if os.path.exists(CRIO_DEFAULT_SOCKET):
        return "", (
            f"a CRI-O socket exists at {CRIO_DEFAULT_SOCKET}, but the harness drives a runtime of the host "
            f"only when the matrix names it ({hint})"
        )
    return "", (
        f"no CRI-O on this host ({CRIO_DEFAULT_SOCKET} missing) and the matrix names no {name} endpoint "
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


class CriEngine(Engine):
    """containerd through its CRI plugin, as the kubelet drives it."""

    name = "containerd-cri"

    def __init__(self, endpoints, **binding) -> None:
        super().__init__(endpoints, **binding)
        # The Endpoints field of the harness's own daemon for this runtime; None when it starts none.
        field = self.tool.embedded_endpoint
        own_cri = self.site.cri if self.site else endpoints.cri
        embedded = (self.site.cri if self.site else self.embedded_address()) if field else None
        # The daemon whose CRI it is (the tool's first embedded service): its failure is this CRI's too.
        self.daemon = self.tool.embedded_services[0] if self.tool.embedded_services else ""
        embedded_error = endpoints.errors.get(field) or endpoints.errors.get(self.daemon, "") if field else ""
        self.endpoint, self.missing = resolve_endpoint(self.name, self.named_endpoint, embedded, embedded_error)
        self.named = bool(self.named_endpoint)
        # The harness's own containerd (this host's or a generation's): its sandbox image is the one
        # EmbeddedServices pushed.
        self.embedded = not self.named and bool(self.endpoint) and self.endpoint == own_cri
        self.log_root = Path(endpoints.state_dir) / "cri" / "pods"
        self._client: KubeletCri | None = None
        self._version: api.VersionResponse | None = None
        self._handler_versions: dict[str, str] = {}
        self._use = Depth()

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
        """The skip reason, decided before acting and true of the host (no CRI endpoint here: the
        runtime is not installed, or the matrix names none), or None.

        An endpoint that exists (the harness started it, or the matrix names it) and does not answer
        is never a skip: a missing socket, a refused connection, a Version that times out or answers
        only errors raise ServiceUnavailable, and the cell is an ``error``."""
        if not self.endpoint:
            if self.tool.embedded_endpoint and not self.named:
                return service_missing(self.endpoints, self.daemon, f"embedded {self.daemon} (for its CRI)")
            return self.missing
        if self.embedded and self.endpoints.errors.get("cri"):
            raise ServiceUnavailable("containerd's CRI", f"it cannot run pods: {self.endpoints.errors['cri']}")
        who = "named in the matrix" if self.named else "started by the harness"
        socket = self.endpoint.removeprefix("unix://")
        if socket.startswith("/") and not os.path.exists(socket):
            raise ServiceUnavailable(f"CRI endpoint {self.endpoint} ({who})", "no such socket")
        try:
            self._version = self.client.wait_ready(READY_TIMEOUT)
        except CriError as exc:
            raise ServiceUnavailable(f"CRI endpoint {self.endpoint} ({who})", str(exc)) from exc
        return None

    def sharing(self, exclusive: bool = False) -> contextlib.AbstractContextManager[None]:
        """This runtime's use beside the run's other workers: shared for pods and containers, exclusive
        while a test connects NRI plugins. A plugin registering while a pod with containers is removed
        deadlocks containerd 2.1 (RemovePodSandbox takes NRI's plugin-sync read lock, then again in the
        RemoveContainer it calls, behind the registration's pending write lock), and every later CRI call
        that waits on that lock hangs: a test's plugins must never register beside another test's pods."""
        if not self.supports("nri"):
            return contextlib.nullcontext()
        key = hashlib.sha256(self.endpoint.encode()).hexdigest()[:16]
        path = Path(self.endpoints.state_dir) / "cri" / "use" / f"{key}.lock"
        return self._use.enter(
            path, exclusive=exclusive, timeout=SHARING_TIMEOUT, what=f"{self.name} at {self.endpoint}"
        )

    def nri_socket(self) -> Path:
        """Where this runtime's NRI plugins connect: the harness's containerd's own socket, or for a
        runtime the matrix names, the default every NRI runtime listens on. Unsupported (a skip) when
        the version has no NRI or a named runtime has no socket there; ServiceUnavailable when the
        harness's own containerd, configured with NRI, has none."""
        self.require("nri")
        if self.embedded:
            socket = Path(self.endpoint.removeprefix("unix://"))
            path = ContainerdLayout(socket.parent, socket).nri_socket
            if not path.exists():
                raise ServiceUnavailable(f"{self.name} {self.version()}'s NRI", f"no socket at {path}, as configured")
            return path
        if not NRI_DEFAULT_SOCKET.exists():
            raise Unsupported(
                f"{self.name} at {self.endpoint}: no NRI socket at {NRI_DEFAULT_SOCKET} "
                "(its NRI is off, or listens elsewhere)"
            )
        return NRI_DEFAULT_SOCKET

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
            self.label: self.version(),
            f"{self.label} endpoint": (
                f"{reported.runtime_name} {reported.runtime_version} (CRI {reported.runtime_api_version})"
            ),
        }

    def runtime_version_of(self, handler: str) -> str:
        """The version of the OCI runtime behind ``handler``, as far as the endpoint vouches for it
        (see handler_version); never the version of a host binary the endpoint may not use."""
        name, generation = catalog.split_generation(handler)
        if self.site and generation == self.generation:
            # A generation's containerd runs its root's runc and crun: the root's manifest says which.
            return self.site.version_of(name) or UNKNOWN_RUNTIME_VERSION
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
            self._check_own_handler(runtime)
        elif catalog.generation_of(runtime) != catalog.HOST_GENERATION:
            raise Unsupported(f"{runtime}: a daemon the matrix names runs its own runtimes, by handler name")

    def _check_own_handler(self, runtime: str) -> None:
        """The harness wrote its containerd's config, so it knows before any call which handlers it
        has: one that needs a shim of its own (gVisor's) exists only if that shim is installed."""
        runtime_type, shim = catalog.containerd_shim(runtime) or ("", "")
        if self.embedded and shim and not shim_configured(shim):
            raise Unsupported(
                f"the harness's containerd runs {runtime} only through {shim} ({runtime_type}), which is not "
                f"installed: its config has no {catalog.split_generation(runtime)[0]} runtime handler"
            )

    def _cri(self, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except CriError as exc:
            raise _refused(f"{self.name} at {self.endpoint}: {exc}", exc) from exc

    # -- images -----------------------------------------------------------------------------------

    def _check_platform(self, platform: str | None) -> None:
        if platform and platform != host_platform_name():
            self.require("platform_choice", platform)

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
            raise EngineError(
                f"{self.name} has no {ref}: ImageStatus found no image", step="ImageStatus", answer=NO_IMAGE
            )
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
            raise EngineError(
                f"{self.name} has no {ref}: ImageStatus found no image with a repo digest",
                step="ImageStatus",
                answer=NO_IMAGE if self._image(ref) is None else "an image with no repo_digests for its repository",
            )
        return self._registry_config(ref, digest)

    def _registry_config(self, ref: str, digest: str) -> dict:
        try:
            parsed = parse_reference(ref)
            plain = parsed.registry.startswith(("127.0.0.1:", "localhost:"))
            with RegistryClient(parsed.registry, plain_http=plain) as registry:
                body, media_type, _ = registry.get_manifest(parsed.repository, digest)
                manifest = json.loads(body)
                if media_type in mediatypes.INDEX_TYPES:
                    chosen = host_manifest(manifest["manifests"])
                    manifest = json.loads(registry.get_manifest(parsed.repository, chosen["digest"])[0])
                with registry.get_blob(parsed.repository, manifest["config"]["digest"]) as blob:
                    return config_section_of(json.loads(blob.read()))
        except HarnessError:
            raise
        except (OcimatrixError, KeyError, IndexError, ValueError, TypeError) as exc:
            # The registry the runtime pulled from: the harness's own, or the user's; what it served
            # for the digest the runtime recorded is not the CRI runtime's answer, so not a failure of it.
            raise HarnessError(f"reading the config of {ref}@{digest} from its registry: {exc}") from exc

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
                raise EngineError(
                    f"{self.name}: PullImage {ref} succeeded but ImageStatus does not find it",
                    step="ImageStatus after PullImage",
                    answer=NO_IMAGE,
                )
        return image.id

    # -- pods and containers ----------------------------------------------------------------------

    def pod_config(
        self, label: str = "run", security: PodSecurity | None = None, privileged: bool = False
    ) -> api.PodSandboxConfig:
        """A fresh pod config: unique name and uid, log directory under the harness's state dir;
        ``security`` is what the pod spec asks (the kubelet's defaults when None)."""
        uid = str(uuid.uuid4())
        name = f"ocimatrix-{label}-{uid[:8]}"
        log_dir = self.log_root / f"{POD_NAMESPACE}_{name}_{uid}"
        labels = {OWNER_LABEL: "ocimatrix", RUN_LABEL: run_id()}
        return messages.pod_sandbox_config(
            name, POD_NAMESPACE, uid, str(log_dir), labels=labels, security=security, privileged=privileged
        )

    def run_pod(self, pod_config: api.PodSandboxConfig, runtime: str) -> str:
        """RunPodSandbox with ``runtime``'s handler: a cell's ``runc@trixie`` is handler ``runc`` of
        that generation's containerd (the engine's own generation, see ``check_runtime``)."""
        self._check_own_handler(runtime)
        runtime = catalog.split_generation(runtime)[0]
        try:
            return self.client.run_pod_config(pod_config, runtime)
        except CriError as exc:
            if exc.call == "RunPodSandbox" and is_unknown_handler(exc):
                raise Unsupported(f"{self.name} at {self.endpoint} has no runtime handler {runtime!r}: {exc}") from exc
            raise _refused(f"{self.name} at {self.endpoint}: {exc}", exc) from exc

    def run(
        self, spec: RunSpec, *, pod_security: PodSecurity | None = None, security: ContainerSecurity | None = None
    ) -> RunResult:
        """``spec`` in a pod of its own; ``pod_security`` and ``security`` are what the Pod spec's
        securityContexts ask (none: the kubelet's defaults for a pod that asks nothing)."""
        with self.sharing():
            return self._run_in_pod(spec, pod_security, security)

    def _run_in_pod(
        self, spec: RunSpec, pod_security: PodSecurity | None, security: ContainerSecurity | None
    ) -> RunResult:
        self.check_runtime(spec.runtime)
        self._check_platform(spec.platform)
        overrides = container_overrides(spec)
        image_id = self.ensure_image(spec.image)
        pod_config = self.pod_config(security=pod_security, privileged=bool(security and security.privileged))
        container_config = messages.container_config(
            pod_config,
            CONTAINER_NAME,
            spec.image,
            image_ref=image_id,
            pod_security=pod_security,
            security=security,
            **overrides,
        )
        pod_id = container_id = ""
        try:
            pod_id = self.run_pod(pod_config, spec.runtime)
            container_id = self._cri(self.client.create_container_config, pod_id, container_config, pod_config)
            self._cri(self.client.start_container, container_id)
            try:
                status = self.client.wait_for_exit(container_id, timeout=spec.timeout)
            except CriError as exc:
                raise _refused(f"{self.name}: the container did not exit: {exc}", exc) from exc
            evidence.current().add("cri_status", status_summary(status))
            log = self._cri(self.client.container_log, container_id)
            return RunResult(status.exit_code, log.stdout, log.stderr)
        except OcimatrixError as exc:
            # A broken service (HarnessError) stays what it is: the cell is an error, not a failure.
            if not isinstance(exc, Unsupported | EngineError | HarnessError | UsageError):
                # A CRI answer (or the log file the runtime wrote) keeps its step and answer.
                raise EngineError(
                    f"{self.name}: {exc}", step=getattr(exc, "step", None), answer=getattr(exc, "answer", None)
                ) from exc
            raise
        finally:
            self.tear_down(pod_id, container_id, Path(pod_config.log_directory))

    def tear_down(self, pod_id: str, container_id: str = "", log_dir: Path | None = None) -> None:
        self.client.delete_pod(pod_id, container_id, log_dir)

    def sweep(self, run: str | None = None) -> list[str]:
        """Remove every pod this harness left on the endpoint: those of ``run`` (a ``run_ids.run_id()``)
        if given, else all of them. A runtime the user named outlives the run: nothing may stay there."""
        return self.client.delete_pods({OWNER_LABEL: "ocimatrix", **({RUN_LABEL: run} if run else {})})


class CrioEngine(CriEngine):
    """CRI-O, reached only at an endpoint the matrix names."""

    name = "cri-o"
