"""Fixtures of the CRI suite: the cell's CRI runtime, the probe images, pods that always go away.

The probe image is built here in Python (busybox FROM scratch, one layer) with a config whose every
field the tests check: Entrypoint, Cmd, Env, WorkingDir and a User named in the image's own
/etc/passwd. It is pushed once per worker under a tag unique to the run, to the embedded registry.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cri_probe import APPLETS, CMD, ENTRYPOINT, GROUP, IMAGE_ENV, PASSWD, USER, WORKDIR

from ocimatrix import evidence
from ocimatrix.cri import messages
from ocimatrix.cri.client import CriError
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.cri.kubelet import KubeletCri
from ocimatrix.cri.security_context import PodSecurity
from ocimatrix.engines.base import EngineError, Unsupported
from ocimatrix.engines.cri_engine import CriEngine
from ocimatrix.errors import HarnessError, ImplementationFailure, OcimatrixError, ServiceUnavailable
from ocimatrix.images.pause import ImageFile, PushedImage, build_busybox_image, push_image
from ocimatrix.nri.plugin import NriPlugin, NriUnavailable
from ocimatrix.plugin.verdicts import answer_of, skip_unless_started
from ocimatrix.run_ids import run_id as this_worker_run


@dataclass
class ProbeImages:
    probe: PushedImage
    removable: PushedImage
    missing_ref: str  # a tag nobody pushed, in the same repository


@dataclass
class CriWorker:
    """What one worker's session made on the CRI runtimes it used, to sweep at its end: the probe
    images (by registry) and each runtime it drove (by endpoint)."""

    images: dict[str, ProbeImages] = field(default_factory=dict)
    used: dict[str, CriEngine] = field(default_factory=dict)


def _probe_image_files() -> list[ImageFile]:
    return [
        ImageFile("etc", None, 0o755),
        ImageFile("etc/passwd", PASSWD.encode()),
        ImageFile("etc/group", GROUP.encode()),
        ImageFile("tmp", None, 0o1777),
        ImageFile("srv", None, 0o755),
        ImageFile(WORKDIR.strip("/"), None, 0o755),
        ImageFile("home", None, 0o755),
        ImageFile(f"home/{USER}", None, 0o755),
    ]


@pytest.fixture(scope="session")
def probe_images(endpoints, run_id, cri_worker: CriWorker) -> ProbeImages:
    """The probe and a second image to remove, pushed once per worker."""
    skip_unless_started(endpoints, "registry", "embedded registry")
    if endpoints.registry not in cri_worker.images:
        config = {
            "Entrypoint": ENTRYPOINT,
            "Cmd": CMD,
            "Env": [f"{k}={v}" for k, v in IMAGE_ENV.items()],
            "WorkingDir": WORKDIR,
            "User": USER,
            # The worker's own image id: RemoveImage drops an image with all its tags, and a worker's
            # sweep at its end must not take away the image another worker is still running.
            "Labels": {"io.ocimatrix.probe": "cri", "io.ocimatrix.worker": run_id},
        }
        try:
            probe = build_busybox_image(config, applets=APPLETS, files=_probe_image_files())
            # A different config makes a different image id, so removing it leaves the probe alone.
            removable = build_busybox_image(
                {**config, "Labels": {"io.ocimatrix.probe": "cri-removable", "io.ocimatrix.worker": run_id}},
                applets=APPLETS,
                files=_probe_image_files(),
            )
            cri_worker.images[endpoints.registry] = ProbeImages(
                probe=push_image(endpoints.registry, "ocimatrix/cri/probe", run_id, probe),
                removable=push_image(endpoints.registry, "ocimatrix/cri/removable", run_id, removable),
                missing_ref=f"{endpoints.registry}/ocimatrix/cri/probe:never-pushed-{run_id}",
            )
        except HarnessError:
            raise
        except OcimatrixError as exc:
            # The harness's own image and registry: nothing the CRI runtime under test did.
            raise HarnessError(f"could not build and push the CRI probe image: {exc}") from exc
    return cri_worker.images[endpoints.registry]


@pytest.fixture(scope="session")
def cri_worker() -> Iterator[CriWorker]:
    """At the end of this worker's session, remove what it left on each CRI runtime it used: pods
    a crashed test could not tear down, and the probe images (a runtime named in the matrix is
    the user's and outlives the run; the embedded one goes with its state directory anyway)."""
    worker = CriWorker()
    yield worker
    for engine in worker.used.values():
        # A recorder of its own: this runs inside the last test's teardown, which is not about it.
        # Best effort: an endpoint gone by now has nothing left to sweep that the harness could reach.
        with evidence.scoped(), contextlib.suppress(CriError, ServiceUnavailable), engine.sharing():
            engine.sweep(this_worker_run())
            for images in worker.images.values():
                for ref in (images.probe.tag_ref, images.removable.tag_ref):
                    engine.client.remove_image(ref)


@pytest.fixture
def cri_runtime(request, runner, cri_worker: CriWorker) -> Iterator[CriEngine]:
    """The cell's CRI runtime, used beside the other workers' tests, or alone by a test that connects
    NRI plugins (see CriEngine.sharing): its pods and containers are gone before the next test's turn."""
    if not runner.supports("cri"):
        pytest.skip(runner.why_not("cri"))
    cri_worker.used[runner.endpoint] = runner
    with runner.sharing(exclusive="nri_plugin" in request.fixturenames):
        yield runner


@pytest.fixture
def cri(cri_runtime: CriEngine) -> KubeletCri:
    return cri_runtime.client


@pytest.fixture
def probe(cri: KubeletCri, probe_images: ProbeImages, recorder) -> PushedImage:
    """The probe image, pulled (by tag) on the cell's runtime."""
    recorder.add("probe_image", probe_images.probe.tag_ref)
    if cri.image_status(probe_images.probe.tag_ref) is None:
        cri.pull_image(probe_images.probe.tag_ref)
    return probe_images.probe


@dataclass
class Pod:
    """A running pod of the cell's runtime handler, and helpers to run containers in it."""

    engine: CriEngine
    id: str
    config: api.PodSandboxConfig
    handler: str
    containers: list[str] = field(default_factory=list)
    security: PodSecurity = field(default_factory=PodSecurity)  # what the pod spec asked

    @property
    def cri(self) -> KubeletCri:
        return self.engine.client

    @property
    def log_dir(self) -> Path:
        return Path(self.config.log_directory)

    def container_config(self, name: str, image: PushedImage, **overrides) -> api.ContainerConfig:
        image_id = self.cri.require_image(image.tag_ref, "of the pulled probe").id
        return messages.container_config(
            self.config, name, image.tag_ref, image_ref=image_id, pod_security=self.security, **overrides
        )

    def create(self, name: str, image: PushedImage, **overrides) -> str:
        return self.create_config(self.container_config(name, image, **overrides))

    def create_config(self, config: api.ContainerConfig) -> str:
        container_id = self.cri.create_container_config(self.id, config, self.config)
        self.containers.append(container_id)
        return container_id

    def start(self, name: str, image: PushedImage, **overrides) -> str:
        container_id = self.create(name, image, **overrides)
        self.cri.start_container(container_id)
        return container_id

    def run_to_exit(self, name: str, image: PushedImage, timeout: float = 20, **overrides):
        """Create, start and wait: (final status, parsed CRI log)."""
        container_id = self.start(name, image, **overrides)
        status = self.cri.wait_for_exit(container_id, timeout=timeout)
        return status, self.cri.container_log(container_id)


@pytest.fixture
def new_pod(cell, cri_runtime: CriEngine, recorder) -> Iterator[Callable[..., Pod]]:
    """Start pods of the cell's runtime handler (``security``: what the pod spec asks, the kubelet's
    defaults when None; ``sysctls``: IPC-namespaced ones only; ``dns``: the pod's DnsConfig); every one is
    stopped and removed afterwards."""
    started: list[Pod] = []

    def start(
        label: str = "pod",
        security: PodSecurity | None = None,
        privileged: bool = False,
        sysctls: dict[str, str] | None = None,
        dns: api.DNSConfig | None = None,
    ) -> Pod:
        config = cri_runtime.pod_config(label, security=security, privileged=privileged)
        if dns is not None:
            config.dns_config.CopyFrom(dns)
        if sysctls:
            # A sysctl is applied in the pod's namespaces: in the node's own, it would change the host.
            if config.linux.security_context.namespace_options.ipc != api.POD:
                raise HarnessError(f"a pod with sysctls {sysctls} must have an IPC namespace of its own")
            config.linux.sysctls.update(sysctls)
        try:
            pod_id = cri_runtime.run_pod(config, cell["runtime"])
        except (EngineError, Unsupported) as exc:
            # The runtime refused the sandbox (a HarnessError, an endpoint that stopped answering,
            # passes through as the error it is): failed, with the runtime's answer.
            answer = answer_of(exc)
            if answer is None:
                raise
            raise ImplementationFailure(
                f"RunPodSandbox with runtime handler {cell['runtime']} failed: {exc}",
                step=f"RunPodSandbox (a {label} pod)",
                answer=answer.text,
            ) from exc
        pod = Pod(cri_runtime, pod_id, config, cell["runtime"], security=security or PodSecurity())
        started.append(pod)
        recorder.add("pod_ids", [p.id for p in started])
        return pod

    yield start
    for pod in started:
        for container_id in pod.containers:
            # Like the kubelet: containers first; removing the pod below removes them anyway.
            with contextlib.suppress(CriError):
                pod.cri.stop_container(container_id, timeout=0, missing_ok=True)
        cri_runtime.tear_down(pod.id, log_dir=pod.log_dir)


@pytest.fixture
def pod(new_pod) -> Pod:
    return new_pod("pod")


# How long a repro's plugin holds a hook: time to run the commands that look at the runtime meanwhile.
REPRO_HOLD_SECONDS = 10


@pytest.fixture
def nri_plugin(cri_runtime: CriEngine, run_id, recorder) -> Iterator[Callable[..., NriPlugin]]:
    """Connect NRI plugins to the cell's runtime, as critest's NRI test stub does (skipped where the
    runtime has no NRI); each is disconnected afterwards. ``wait``: return only once the runtime has
    configured and synchronized it; ``hold_synchronize``: its Synchronize waits for the test."""
    try:
        socket = cri_runtime.nri_socket()
    except Unsupported as exc:
        pytest.skip(str(exc))
    connected: list[tuple[NriPlugin, int]] = []

    def connect(label: str, index: str = "00", wait: bool = True, hold_synchronize: bool = False) -> NriPlugin:
        # Unique per connection: a runtime keeps one plugin per name and index.
        plugin = NriPlugin(socket, f"ocimatrix-{label}-{run_id}-{len(connected)}", index)
        if hold_synchronize:
            plugin.hold_synchronize()
        connected.append((plugin, len(recorder.repro)))
        try:
            plugin.connect(timeout=15.0, wait_synchronized=wait)
        except NriUnavailable as exc:
            raise ServiceUnavailable(f"{cri_runtime.name}'s NRI at {socket}", str(exc)) from exc
        recorder.add("nri_runtime", plugin.runtime)
        return plugin

    yield connect
    for plugin, at in reversed(connected):
        plugin.close()
        # Where the test connected it, with the holds and failures the test gave it since.
        line = evidence.shell_line(plugin.watch_argv(REPRO_HOLD_SECONDS))
        recorder.repro.insert(at, f"{line} &  # the harness's NRI plugin, printing each event it is sent")
