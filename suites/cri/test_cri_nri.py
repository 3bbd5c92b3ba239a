"""NRI, the Node Resource Interface: what a plugin connected to the CRI runtime hears of its pods and
containers, and what the runtime promises while a plugin's hook is running (critest's nri_linux.go).

The harness's plugin (ocimatrix.nri) registers on the runtime's NRI socket as NRI's own stub would.
It holds or fails hooks only for the pods of the test at hand, found by their uid: other tests' pods on
the same runtime pass through it untouched.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from cri_probe import SERVE

from ocimatrix.cri import messages
from ocimatrix.cri.client import CriError
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.cri.kubelet import KubeletCri
from ocimatrix.engines.base import EngineError
from ocimatrix.engines.cri_engine import CriEngine
from ocimatrix.errors import fail_with
from ocimatrix.nri import plugin as nri
from ocimatrix.nri.plugin import NriEvent, NriPlugin
from ocimatrix.specs import spec

AXES = ("engine", "runtime")
HOOK_REACHED = 15.0  # seconds for a held hook to be called (critest: 10)
EVENTS_ARRIVE = 10.0  # seconds for asynchronous events to reach the plugin (critest's WaitForEventCount)
# How long a held Synchronize stays held while a container is created (critest's window).
SYNC_WINDOW = 2.0


class Pods:
    """The test's pods and containers on the cell's runtime, made as the kubelet makes them; anything
    left over is stopped and removed at the end, whatever the test got to."""

    def __init__(self, engine: CriEngine, handler: str, image_ref: str, image_id: str) -> None:
        self.engine = engine
        self.handler = handler
        self.image_ref = image_ref
        self.image_id = image_id
        self.made: dict[str, api.PodSandboxConfig] = {}  # pod id -> its config
        self.configs: list[api.PodSandboxConfig] = []

    @property
    def cri(self) -> KubeletCri:
        return self.engine.client

    def pod_config(self, label: str) -> api.PodSandboxConfig:
        config = self.engine.pod_config(f"nri-{label}")
        self.configs.append(config)
        return config

    def run_pod(self, config: api.PodSandboxConfig) -> str:
        pod_id = self.engine.run_pod(config, self.handler)
        self.made[pod_id] = config
        return pod_id

    def new_pod(self, label: str) -> tuple[str, api.PodSandboxConfig]:
        config = self.pod_config(label)
        return self.run_pod(config), config

    def container_config(self, pod_config: api.PodSandboxConfig, name: str, **overrides) -> api.ContainerConfig:
        overrides.setdefault("command", SERVE)
        return messages.container_config(pod_config, name, self.image_ref, image_ref=self.image_id, **overrides)

    def create(self, pod_id: str, name: str, **overrides) -> str:
        config = self.made[pod_id]
        return self.cri.create_container_config(pod_id, self.container_config(config, name, **overrides), config)

    def clean_up(self) -> None:
        # Pods whose RunPodSandbox was still going when a test failed are found by their uid.
        uids = {config.metadata.uid for config in self.configs}
        found = {pod.id for pod in self.cri.list_pods() if pod.metadata.uid in uids}
        for pod_id in set(self.made) | found:
            config = self.made.get(pod_id)
            self.engine.tear_down(pod_id, log_dir=Path(config.log_directory) if config else None)


@pytest.fixture
def pods(cell, cri_runtime: CriEngine, cri, probe) -> Iterator[Pods]:
    image_id = cri.require_image(probe.tag_ref, "of the pulled probe").id
    made = Pods(cri_runtime, cell["runtime"], probe.tag_ref, image_id)
    yield made
    made.clean_up()


@pytest.fixture
def plugin(nri_plugin: Callable[..., NriPlugin]) -> NriPlugin:
    """critest's test stub: one plugin at index 00, every lifecycle event subscribed."""
    return nri_plugin("watch")


def _of_pod(pod_uid: str) -> Callable[[NriEvent], bool]:
    return lambda event: event.pod_uid == pod_uid


def _of_pod_id(pod_id: str) -> Callable[[NriEvent], bool]:
    return lambda event: event.pod_id == pod_id


def _only(events: list[NriEvent], kind: str, step: str) -> NriEvent:
    found = [event for event in events if event.kind == kind]
    if not found:
        fail_with(f"the plugin was not sent {kind}", step=step, answer=_shown(events))
    return found[0]


def _shown(events: list[NriEvent]) -> str:
    return "; ".join(f"{e.kind} via {e.via} (container {e.container_id or '-'})" for e in events) or "no events"


def _in_order(events: list[NriEvent], kinds: tuple[str, ...], step: str) -> None:
    picked = [_only(events, kind, step) for kind in kinds]
    for earlier, later in zip(picked, picked[1:], strict=False):
        if not earlier.at < later.at:
            fail_with(f"{later.kind} reached the plugin before {earlier.kind}", step=step, answer=_shown(events))


def _check_names(event: NriEvent, container_name: str, step: str) -> None:
    if event.container_name != container_name:
        fail_with(
            f"{event.kind} names the container {event.container_name!r}, not {container_name!r}",
            step=step,
            answer=f"container {event.container_id} named {event.container_name!r}",
        )


# ------------------------------------------------------------------------------------------ lifecycle


@pytest.mark.axes(*AXES)
@spec("nri/README.md", "Pod lifecycle events: RunPodSandbox, StopPodSandbox, RemovePodSandbox, in order")
def test_pod_lifecycle_events_in_order(cell, pods: Pods, plugin: NriPlugin, recorder):
    config = pods.pod_config("pod-lifecycle")
    pod_id = pods.run_pod(config)
    pods.cri.stop_pod(pod_id)
    pods.cri.remove_pod(pod_id)
    pods.made.pop(pod_id)
    events = plugin.wait_for(_of_pod_id(pod_id), 3, EVENTS_ARRIVE)
    recorder.add("nri_events", [e.evidence() for e in events])
    step = "the plugin's events for a pod run, stopped and removed"
    strays = [e for e in events if e.container_id]
    if strays:
        fail_with("a pod without containers gave container events", step=step, answer=_shown(strays))
    run = _only(events, nri.RUN_POD_SANDBOX, step)
    meta = config.metadata
    if (run.pod_name, run.pod_namespace, run.pod_uid) != (meta.name, meta.namespace, meta.uid):
        fail_with(
            "RunPodSandbox does not carry the pod's metadata",
            step=step,
            answer=f"name {run.pod_name!r}, namespace {run.pod_namespace!r}, uid {run.pod_uid!r}",
        )
    _in_order(events, nri.POD_EVENTS, step)


def _started_container(pods: Pods, label: str, command: list[str]) -> tuple[str, str]:
    """(name, id) of a container started in a new pod of its own."""
    pod_id, _config = pods.new_pod(label)
    name = f"nri-{label}"
    container_id = pods.create(pod_id, name, command=command)
    pods.cri.start_container(container_id)
    return name, container_id


@pytest.mark.axes(*AXES)
@spec("nri/README.md", "Container lifecycle events: CreateContainer, StartContainer, StopContainer, RemoveContainer")
def test_container_lifecycle_events_in_order(cell, pods: Pods, plugin: NriPlugin, recorder):
    name, container_id = _started_container(pods, "ctr-lifecycle", SERVE)
    pods.cri.stop_container(container_id, timeout=10)
    pods.cri.remove_container(container_id)
    mine = lambda event: event.container_id == container_id  # noqa: E731
    events = plugin.wait_for(mine, 4, EVENTS_ARRIVE)
    recorder.add("nri_events", [e.evidence() for e in events])
    step = "the plugin's events for a container created, started, stopped and removed"
    _in_order(events, nri.CONTAINER_EVENTS, step)
    for kind in nri.CONTAINER_EVENTS:
        _check_names(_only(events, kind, step), name, step)


@pytest.mark.axes(*AXES)
@spec("nri/README.md", "Container lifecycle events of a container that exits on its own with a non-zero code")
def test_failed_container_lifecycle_events(cell, pods: Pods, plugin: NriPlugin, recorder):
    name, container_id = _started_container(pods, "ctr-fail", ["/bin/sh", "-c", "exit 1"])
    status = pods.cri.wait_for_exit(container_id, timeout=30)
    assert status.exit_code == 1, f"the container's command exits 1; ContainerStatus says {status.exit_code}"
    mine = lambda event: event.container_id == container_id  # noqa: E731
    # A container that exits by itself is stopped without StopContainer: NRI still tells its plugins.
    events = plugin.wait_for(mine, 3, EVENTS_ARRIVE)
    step = "the plugin's events for a container that exited 1, before RemoveContainer"
    _in_order(events, (nri.CREATE_CONTAINER, nri.START_CONTAINER, nri.STOP_CONTAINER), step)
    pods.cri.remove_container(container_id)
    events = plugin.wait_for(mine, 4, EVENTS_ARRIVE)
    recorder.add("nri_events", [e.evidence() for e in events])
    step = "the plugin's events for the exited container, after RemoveContainer"
    _in_order(events, nri.CONTAINER_EVENTS[1:], step)
    for kind in nri.CONTAINER_EVENTS:
        _check_names(_only(events, kind, step), name, step)


# ------------------------------------------------------------------------------------------ held hooks


@dataclass
class Held:
    """A CRI call stopped in the plugin's hook: the event the hook got, and once released, the call's answer."""

    event: NriEvent
    result: Any = None


@contextlib.contextmanager
def _held(plugin: NriPlugin, hold: nri.Hold, what: str, call: Callable[[], Any]) -> Iterator[Held]:
    """Make ``call`` in the background and wait in its hook; leaving releases the hook and takes the answer."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(call)
        try:
            if not hold.reached.wait(HOOK_REACHED):
                fail_with(
                    f"{what} never called the plugin's hook",
                    step=f"{what} with a plugin subscribed",
                    answer=_shown(plugin.received(hold.match)),
                )
            held = Held(cast(NriEvent, hold.event))  # set before reached is
            yield held
        finally:
            hold.release()
        try:
            held.result = pending.result(timeout=60)
        except (CriError, EngineError) as exc:
            fail_with(f"{what} failed once the plugin's hook returned", step=what, answer=str(exc))


def _state_or_none(status: Callable[[str], Any], ident: str) -> int | None:
    """The state a status call reports, or None when the runtime does not know ``ident`` (yet)."""
    try:
        return status(ident).state
    except CriError:
        return None


@pytest.mark.axes(*AXES)
@spec("nri/README.md", "RunPodSandbox: the pod is not visible to the CRI until every plugin's hook has returned")
def test_pod_is_not_listed_while_its_run_hook_is_held(cell, pods: Pods, plugin: NriPlugin, recorder):
    config = pods.pod_config("held-run")
    hold = plugin.hold(nri.RUN_POD_SANDBOX, _of_pod(config.metadata.uid))
    with _held(plugin, hold, "RunPodSandbox", lambda: pods.run_pod(config)) as held:
        held_id = held.event.pod_id
        listed = [p.id for p in pods.cri.list_pods()]
        recorder.add("while_held", {"pod": held_id, "listed": held_id in listed})
        if held_id in listed:
            fail_with(
                "a pod whose RunPodSandbox hook is still running must not be listed",
                step="ListPodSandbox while the RunPodSandbox hook is held",
                answer=f"pod {held_id} listed",
            )
        if _state_or_none(pods.cri.pod_status, held_id) == api.SANDBOX_READY:
            fail_with(
                "a pod whose RunPodSandbox hook is still running must not be ready",
                step="PodSandboxStatus while the RunPodSandbox hook is held",
                answer="SANDBOX_READY",
            )
    state = pods.cri.pod_status(held.result).state
    assert state == api.SANDBOX_READY, f"once its hook returned, the pod is {api.PodSandboxState.Name(state)}"


@pytest.mark.axes(*AXES)
@spec("nri/README.md", "RunPodSandbox: no container is created in a pod whose RunPodSandbox hook is running")
def test_no_container_in_a_pod_whose_run_hook_is_held(cell, pods: Pods, plugin: NriPlugin, recorder):
    config = pods.pod_config("held-run-ctr")
    hold = plugin.hold(nri.RUN_POD_SANDBOX, _of_pod(config.metadata.uid))
    with _held(plugin, hold, "RunPodSandbox", lambda: pods.run_pod(config)) as held:
        container = pods.container_config(config, "too-early")
        try:
            early = pods.cri.create_container_config(held.event.pod_id, container, config)
        except CriError as exc:
            recorder.add("create_while_held", str(exc))
        else:
            fail_with(
                "CreateContainer in a pod whose RunPodSandbox hook is still running must fail",
                step="CreateContainer while the RunPodSandbox hook is held",
                answer=f"created container {early}",
            )
    assert pods.create(held.result, "after-hook"), "CreateContainer after the hook returned gave no id"


@pytest.mark.axes(*AXES)
@spec("nri/README.md", "RunPodSandbox: a plugin's error fails the call, leaves no pod behind, and a retry works")
def test_run_hook_error_fails_the_pod_and_a_retry_works(cell, pods: Pods, plugin: NriPlugin, recorder):
    config = pods.pod_config("run-error")
    failure = plugin.fail_once(nri.RUN_POD_SANDBOX, _of_pod(config.metadata.uid))
    try:
        pod_id = pods.run_pod(config)
    except (CriError, EngineError) as exc:
        recorder.add("refused", str(exc))
    else:
        fail_with(
            "RunPodSandbox must fail when a plugin's RunPodSandbox hook returns an error",
            step="RunPodSandbox with a failing hook",
            answer=f"pod {pod_id} created",
        )
    if failure.event is None:
        fail_with("RunPodSandbox failed before calling the plugin's hook", step="RunPodSandbox", answer="no event")
    left = [p.id for p in pods.cri.list_pods() if p.metadata.uid == config.metadata.uid]
    if left:
        fail_with(
            "a pod whose RunPodSandbox failed was left behind", step="ListPodSandbox after the failure", answer=left
        )
    pod_id = pods.run_pod(config)
    state = pods.cri.pod_status(pod_id).state
    assert state == api.SANDBOX_READY, f"the retried pod is {api.PodSandboxState.Name(state)}"


@pytest.mark.axes(*AXES)
@spec("nri/README.md", "StopPodSandbox: the pod's containers are stopped before its hook, and the pod stays visible")
def test_stop_hook_sees_stopped_containers_and_a_visible_pod(cell, pods: Pods, plugin: NriPlugin, recorder):
    pod_id, config = pods.new_pod("held-stop")
    container_id = pods.create(pod_id, "workload")
    pods.cri.start_container(container_id)
    hold = plugin.hold(nri.STOP_POD_SANDBOX, _of_pod_id(pod_id))
    with _held(plugin, hold, "StopPodSandbox", lambda: pods.cri.stop_pod(pod_id)):
        states = {c.id: api.ContainerState.Name(c.state) for c in pods.cri.list_containers(pod_id=pod_id)}
        recorder.add("while_held", states)
        if states.get(container_id) != "CONTAINER_EXITED":
            fail_with(
                "the pod's containers must be stopped before its StopPodSandbox hook runs",
                step="ListContainers while the StopPodSandbox hook is held",
                answer=states or "no containers listed",
            )
        if _state_or_none(pods.cri.pod_status, pod_id) is None:
            fail_with(
                "the pod must stay visible while its StopPodSandbox hook runs",
                step="PodSandboxStatus while the StopPodSandbox hook is held",
                answer="not found",
            )


@pytest.mark.axes(*AXES)
@spec("nri/README.md", "StopPodSandbox: one event however often it is called; a stopped pod takes no new container")
def test_stop_pod_is_one_event_and_the_pod_is_not_reused(cell, pods: Pods, plugin: NriPlugin, recorder):
    pod_id, config = pods.new_pod("stop-twice")
    stops = lambda event: event.pod_id == pod_id and event.kind == nri.STOP_POD_SANDBOX  # noqa: E731
    pods.cri.stop_pod(pod_id)
    first = plugin.wait_for(stops, 1, EVENTS_ARRIVE)
    pods.cri.stop_pod(pod_id)
    time.sleep(1)  # an event of the second call would have arrived by now
    events = plugin.received(_of_pod_id(pod_id))
    recorder.add("nri_events", [e.evidence() for e in events])
    if len(first) != 1 or len([e for e in events if e.kind == nri.STOP_POD_SANDBOX]) != 1:
        fail_with(
            "StopPodSandbox called twice must reach the plugin once",
            step="StopPodSandbox, twice",
            answer=_shown(events),
        )
    try:
        late = pods.create(pod_id, "too-late")
    except CriError as exc:
        recorder.add("create_in_stopped_pod", str(exc))
    else:
        fail_with(
            "a stopped pod must not take a new container",
            step="CreateContainer in a stopped pod",
            answer=f"created container {late}",
        )
    creates = [e for e in plugin.received(_of_pod_id(pod_id)) if e.kind == nri.CREATE_CONTAINER]
    if creates:
        fail_with(
            "a refused CreateContainer reached the plugin",
            step="CreateContainer in a stopped pod",
            answer=_shown(creates),
        )


@pytest.mark.axes(*AXES)
@spec("nri/README.md", "CreateContainer: the container is not visible until every plugin's hook has returned")
def test_container_is_not_listed_while_its_create_hook_is_held(cell, pods: Pods, plugin: NriPlugin, recorder):
    pod_id, config = pods.new_pod("held-create")
    hold = plugin.hold(nri.CREATE_CONTAINER, _of_pod_id(pod_id))
    with _held(plugin, hold, "CreateContainer", lambda: pods.create(pod_id, "held")) as held:
        held_id = held.event.container_id
        listed = [c.id for c in pods.cri.list_containers(pod_id=pod_id)]
        recorder.add("while_held", {"container": held_id, "listed": held_id in listed})
        if held_id in listed:
            fail_with(
                "a container whose CreateContainer hook is still running must not be listed",
                step="ListContainers while the CreateContainer hook is held",
                answer=f"container {held_id} listed",
            )
        if _state_or_none(pods.cri.container_status, held_id) == api.CONTAINER_CREATED:
            fail_with(
                "a container whose CreateContainer hook is still running must not be CREATED",
                step="ContainerStatus while the CreateContainer hook is held",
                answer="CONTAINER_CREATED",
            )
    state = pods.cri.container_status(held.result).state
    assert state == api.CONTAINER_CREATED, f"once its hook returned, the container is {api.ContainerState.Name(state)}"


@pytest.mark.axes(*AXES)
@spec("nri/README.md", "CreateContainer: a plugin's error fails the call, leaks nothing, and a retry works")
def test_create_hook_error_fails_the_container_and_a_retry_works(cell, pods: Pods, plugin: NriPlugin, recorder):
    pod_id, config = pods.new_pod("create-error")
    failure = plugin.fail_once(nri.CREATE_CONTAINER, _of_pod_id(pod_id))
    try:
        made = pods.create(pod_id, "refused")
    except CriError as exc:
        recorder.add("refused", str(exc))
    else:
        fail_with(
            "CreateContainer must fail when a plugin's CreateContainer hook returns an error",
            step="CreateContainer with a failing hook",
            answer=f"container {made} created",
        )
    if failure.event is None:
        fail_with("CreateContainer failed before calling the plugin's hook", step="CreateContainer", answer="no event")
    left = [c.id for c in pods.cri.list_containers(pod_id=pod_id)]
    if left:
        fail_with("a container whose CreateContainer failed was left behind", step="ListContainers", answer=left)
    time.sleep(1)  # a start of the refused container would have reached the plugin by now
    started = [e for e in plugin.received(_of_pod_id(pod_id)) if e.kind == nri.START_CONTAINER]
    if started:
        fail_with(
            "a refused container was started", step="the plugin's events after the failure", answer=_shown(started)
        )
    retried = pods.create(pod_id, "retried")
    pods.cri.start_container(retried)
    pods.cri.stop_container(retried, timeout=0)
    pods.cri.remove_container(retried)


# ------------------------------------------------------------------------------------------ synchronization


@pytest.mark.axes(*AXES)
@spec("nri/README.md", "Synchronize: a plugin connecting late is given the pods and containers that exist")
def test_late_plugin_is_synchronized_with_existing_pods(cell, pods: Pods, plugin: NriPlugin, nri_plugin, recorder):
    pod_id, _config = pods.new_pod("sync")
    container_id = pods.create(pod_id, "before")
    pods.cri.start_container(container_id)
    late = nri_plugin("late", index="10")
    recorder.add(
        "synchronized", {"pod": pod_id in late.synced_pod_ids, "container": container_id in late.synced_container_ids}
    )
    step = "Synchronize of a plugin connected after the pod and container were made"
    if pod_id not in late.synced_pod_ids:
        fail_with(
            "Synchronize must list the existing pod", step=step, answer=f"{len(late.synced_pod_ids)} pods, not {pod_id}"
        )
    if container_id not in late.synced_container_ids:
        fail_with(
            "Synchronize must list the existing container",
            step=step,
            answer=f"{len(late.synced_container_ids)} containers, not {container_id}",
        )
    after = pods.create(pod_id, "after")
    created = late.wait_for(lambda e: e.kind == nri.CREATE_CONTAINER and e.container_id == after, 1, EVENTS_ARRIVE)
    if not created:
        fail_with(
            "a container made after Synchronize must reach the late plugin",
            step="CreateContainer",
            answer=_shown(late.received(_of_pod_id(pod_id))),
        )


def _lost(late: NriPlugin, container_ids: list[str], recorder) -> list[str]:
    """The containers the plugin learned of in neither of NRI's two ways: Synchronize, or CreateContainer."""
    deadline = time.monotonic() + EVENTS_ARRIVE
    while True:
        synced = set(late.synced_container_ids)
        created = {e.container_id for e in late.received() if e.kind == nri.CREATE_CONTAINER}
        lost = [c for c in container_ids if c not in synced | created]
        if not lost or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    learned = {
        c: ("Synchronize" if c in synced else "CreateContainer" if c in created else "lost") for c in container_ids
    }
    recorder.add("learned_by", learned)
    return lost


def _while_synchronizing(
    pods: Pods, nri_plugin, pod_id: str, names: list[str], recorder
) -> tuple[NriPlugin, list[str]]:
    """Connect a late plugin whose Synchronize is held while ``names`` are created (CreateContainer waits
    for the runtime, which may hold it until Synchronize returns): the plugin, and what was created."""
    with ThreadPoolExecutor(max_workers=len(names) + 1) as pool:
        late = nri_plugin("late", index="10", wait=False, hold_synchronize=True)
        sync = late.sync_hold
        if not sync.reached.wait(HOOK_REACHED):
            fail_with("the runtime never called the late plugin's Synchronize", step="Synchronize", answer="no call")
        creating = [pool.submit(pods.create, pod_id, name) for name in names]
        time.sleep(SYNC_WINDOW)
        sync.release()
        late.wait_synchronized(HOOK_REACHED)
        created = [future.result(timeout=60) for future in creating]
    recorder.add("created_while_synchronizing", created)
    recorder.add("nri_runtime", late.runtime)
    return late, created


@pytest.mark.axes(*AXES)
@spec("nri/README.md", "Synchronize: a container made while a plugin synchronizes reaches it one way or the other")
def test_container_made_during_synchronize_is_not_lost(cell, pods: Pods, plugin: NriPlugin, nri_plugin, recorder):
    pod_id, _config = pods.new_pod("sync-race")
    pods.cri.start_container(pods.create(pod_id, "before"))
    late, created = _while_synchronizing(pods, nri_plugin, pod_id, ["during"], recorder)
    lost = _lost(late, created, recorder)
    if lost:
        fail_with(
            "a container made while a plugin synchronizes must be in its Synchronize or reach it as CreateContainer",
            step="the late plugin's view of a container made during its Synchronize",
            answer=f"lost: {', '.join(lost)}",
        )


@pytest.mark.axes(*AXES)
@spec("nri/README.md", "Synchronize: no container made before, during or after a plugin's initialization is lost")
def test_no_container_is_lost_around_synchronize(cell, pods: Pods, plugin: NriPlugin, nri_plugin, recorder):
    pod_id, _config = pods.new_pod("sync-all")
    before = [pods.create(pod_id, f"before-{i}") for i in range(2)]
    late, during = _while_synchronizing(pods, nri_plugin, pod_id, [f"during-{i}" for i in range(3)], recorder)
    after = [pods.create(pod_id, f"after-{i}") for i in range(2)]
    lost = _lost(late, before + during + after, recorder)
    if lost:
        fail_with(
            "every container made around a plugin's Synchronize must reach it, in Synchronize or as CreateContainer",
            step="the late plugin's view of containers made before, during and after its Synchronize",
            answer=f"lost: {', '.join(lost)}",
        )
