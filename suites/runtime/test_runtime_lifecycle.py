"""runtime.md: State, Lifecycle and Operations, through each runtime's own command line.

The spec's operations (create, start, state, kill, delete) are checked for what they must do and for
what they must refuse; every state document is checked against the State schema.
"""

from __future__ import annotations

import json
import time

import pytest
from runtime_spec import RUNTIME_AXES

from ocimatrix.errors import fail_with
from ocimatrix.runtime.documents import problems
from ocimatrix.specs import spec

pytestmark = pytest.mark.axes(*RUNTIME_AXES)

# Prints a marker, then stays up until killed, so "running" can be observed.
LONG_RUNNING = "echo started; while true; do sleep 0.2; done"


def assert_valid_state(lab, state, *, status, container) -> None:
    found = problems("state", state)
    assert not found, f"{lab.name} state of a {status} container breaks the State schema: {found}; state: {state}"
    assert state["id"] == container.id, f"state id {state['id']!r} is not the container's id {container.id!r}"
    assert state["status"] == status, f"state status is {state['status']!r}, expected {status!r}"
    assert state["bundle"] == str(container.bundle), (
        f"state bundle {state['bundle']!r} is not the bundle's absolute path {str(container.bundle)!r}"
    )


@spec("runtime-spec/runtime.md#create", "runtime: Create (status created; user-specified program not run)")
def test_create_leaves_container_created(lab, recorder):
    container = lab.create(lab.config("echo user-code-ran"))
    state = lab.state(container)
    recorder.add("state_created", state)
    assert_valid_state(lab, state, status="created", container=container)
    time.sleep(0.3)  # time enough for a process that was (wrongly) started to write
    assert "user-code-ran" not in container.output(), "create ran the user-specified program before start"


@spec("runtime-spec/runtime.md#start", "runtime: Start (status running; the user-specified program runs)")
def test_start_runs_program_and_status_is_running(lab, recorder):
    container = lab.create(lab.config(LONG_RUNNING))
    lab.start(container)
    lab.wait_for_output(container, "started")
    state = lab.state(container)
    recorder.add("state_running", state)
    assert_valid_state(lab, state, status="running", container=container)


@spec("runtime-spec/runtime.md#kill", "runtime: Kill (status stopped once the process has stopped)")
def test_status_is_stopped_after_process_exits(lab, recorder):
    container = lab.create(lab.config("echo done"))
    lab.start(container)
    state = lab.wait_stopped(container)
    recorder.add("state_stopped", state)
    assert_valid_state(lab, state, status="stopped", container=container)
    assert container.output().strip() == "done"


@spec("runtime-spec/runtime.md#state", "runtime: State: annotations")
def test_state_carries_config_annotations(lab, recorder):
    annotations = {"org.ocimatrix.test": "state-annotations", "org.ocimatrix.empty": ""}
    container = lab.create(lab.config("true", annotations=annotations))
    state = lab.state(container)
    recorder.add("state", state)
    assert state.get("annotations") == annotations, (
        f"the state's annotations are {state.get('annotations')!r}; config.json's are {annotations!r}"
    )


@spec("runtime-spec/runtime.md#query-state", "runtime: Query State (a container that does not exist is an error)")
def test_state_of_missing_container_is_an_error(lab):
    result = lab.runtime.state("om-no-such-container-here")
    assert not result.ok, f"{lab.name} state of a container that does not exist succeeded: {result.stdout[:300]!r}"


@spec("runtime-spec/runtime.md#create", "runtime: Create (an ID that is not unique is an error; no new container)")
def test_create_with_duplicate_id_is_refused(lab):
    first = lab.create(lab.config(LONG_RUNNING), role="first container")
    other_id, other_bundle = lab.bundle(lab.config("echo impostor"))
    _, result = lab.runtime.create(first.id, other_bundle.path)
    if result.ok:
        fail_with(
            f"{lab.name} created a second container with the id {first.id!r}",
            step=f"{lab.name} create with the id of the first container",
            answer=result.answer,
        )
    after = lab.runtime.state(first.id)
    if not after.ok:
        fail_with(
            f"after refusing a duplicate create, {lab.name} no longer knows the first container {first.id!r} "
            f"(an error must leave the environment as if the operation were never attempted): {after.words}",
            step=f"{lab.name} state of the first container after the refused duplicate create",
            answer=after.answer,
        )
    state = json.loads(after.stdout)
    if state["status"] != "created" or state["bundle"] != str(first.bundle):
        fail_with(
            f"a refused duplicate create changed the first container: {state}",
            step=f"{lab.name} state of the first container after the refused duplicate create",
            answer=f"exit 0: {after.stdout[:1500]}",
        )


@spec(
    "runtime-spec/runtime.md#start",
    "runtime: Start (starting a container that is not created is an error with no effect)",
)
def test_start_of_running_container_is_refused(lab):
    container = lab.create(lab.config(LONG_RUNNING))
    lab.start(container)
    lab.wait_for_output(container, "started")
    again = lab.runtime.start(container.id)
    assert not again.ok, f"{lab.name} start of a running container succeeded"
    assert lab.state(container)["status"] == "running", "a refused start changed the running container"
    assert container.output().count("started") == 1, "a second start ran the program again"


@spec("runtime-spec/runtime.md#start", "runtime: Start (starting a stopped container is an error)")
def test_start_of_stopped_container_is_refused(lab):
    container = lab.create(lab.config("echo once"))
    lab.start(container)
    lab.wait_settled_stopped(container)
    again = lab.runtime.start(container.id)
    assert not again.ok, f"{lab.name} start of a stopped container succeeded"
    assert container.output().count("once") == 1, "start of a stopped container ran the program again"


@spec(
    "runtime-spec/runtime.md#kill",
    "runtime: Kill (signalling a container that is neither created nor running is an error)",
)
def test_kill_of_stopped_container_is_refused(lab):
    """Acted on once ``state`` keeps saying stopped (``Lab.wait_settled_stopped``): a kill is then
    judged against the state the runtime holds, not one it gave back a moment later."""
    container = lab.create(lab.config("true"))
    lab.start(container)
    lab.wait_settled_stopped(container)
    result = lab.runtime.kill(container.id, "TERM")
    if result.ok:
        fail_with(
            f"{lab.name} kill of a stopped container succeeded",
            step=f"{lab.name} kill TERM of a stopped container",
            answer=result.answer,
        )
    after = lab.state(container)
    if after.get("status") != "stopped":
        fail_with(
            f"after a refused kill, {lab.name} state says {after.get('status')!r}, not stopped",
            step=f"{lab.name} state after the refused kill of a stopped container",
            answer=f"status {after.get('status')!r}",
        )


@spec("runtime-spec/runtime.md#kill", "runtime: Kill (the signal reaches the container's process)")
def test_kill_delivers_the_signal(lab, recorder):
    script = "trap 'echo got-TERM; exit 0' TERM; echo started; while true; do sleep 0.1; done"
    container = lab.create(lab.config(script))
    lab.start(container)
    lab.wait_for_output(container, "started")
    result = lab.runtime.kill(container.id, "TERM")
    assert result.ok, f"{lab.name} kill TERM of a running container failed: {result.words}"
    lab.wait_stopped(container)
    recorder.add("stdout", container.output())
    assert "got-TERM" in container.output(), f"the process never saw SIGTERM; stdout {container.output()!r}"


@spec("runtime-spec/runtime.md#kill", "runtime: Kill (SIGKILL stops the container)")
def test_kill_sigkill_stops_running_container(lab):
    container = lab.create(lab.config(LONG_RUNNING))
    lab.start(container)
    lab.wait_for_output(container, "started")
    result = lab.runtime.kill(container.id, "KILL")
    assert result.ok, f"{lab.name} kill KILL failed: {result.words}"
    lab.wait_stopped(container, timeout=10)


@spec("runtime-spec/runtime.md#kill", "runtime: Kill (a created container may be signalled)")
def test_kill_of_created_container(lab):
    container = lab.create(lab.config("echo user-code-ran"))
    result = lab.runtime.kill(container.id, "KILL")
    if not result.ok:
        fail_with(
            f"{lab.name} kill of a created container failed: {result.words}",
            step=f"{lab.name} kill KILL of a created container",
            answer=result.answer,
        )
    lab.wait_stopped(container, timeout=10)
    assert "user-code-ran" not in container.output(), "killing a created container ran its program"


@spec(
    "runtime-spec/runtime.md#delete",
    "runtime: Delete (deleting a container that is not stopped is an error with no effect)",
)
def test_delete_of_running_container_is_refused(lab):
    container = lab.create(lab.config(LONG_RUNNING))
    lab.start(container)
    lab.wait_for_output(container, "started")
    result = lab.runtime.delete(container.id)
    assert not result.ok, f"{lab.name} delete (without force) of a running container succeeded"
    assert lab.state(container)["status"] == "running", "a refused delete changed the running container"


@spec("runtime-spec/runtime.md#delete", "runtime: Delete (resources go; the ID may be used again)")
def test_delete_removes_container_and_frees_its_id(lab):
    container = lab.create(lab.config("echo first"))
    lab.start(container)
    lab.wait_stopped(container)
    result = lab.delete_stopped(container)
    if not result.ok:
        lab.refused("delete of a stopped container", result)
    gone = lab.runtime.state(container.id)
    assert not gone.ok, f"state still answers for a deleted container: {gone.stdout[:300]!r}"
    _, bundle = lab.bundle(lab.config("echo second"))
    again, created = lab.runtime.create(container.id, bundle.path)
    assert created.ok, f"{lab.name} could not reuse the id of a deleted container: {created.words}"
    lab.start(again)
    lab.wait_stopped(again)
    assert again.output().strip() == "second"


@spec("runtime-spec/runtime.md#create", "runtime: Create (changes to config.json after create have no effect)")
def test_config_changes_after_create_have_no_effect(lab):
    container = lab.create(lab.config("echo original"))
    config_path = container.bundle / "config.json"
    document = json.loads(config_path.read_text())
    document["process"]["args"] = ["sh", "-c", "echo changed"]
    config_path.write_text(json.dumps(document))
    lab.start(container)
    lab.wait_stopped(container)
    assert container.output().strip() == "original", (
        f"config.json edited after create changed the container: it printed {container.output()!r}"
    )


@spec(
    "runtime-spec/runtime.md#lifecycle",
    "runtime: Lifecycle (the process exits; its exit status reaches the caller of run)",
)
def test_exit_status_reaches_the_caller(lab, recorder):
    """`run` (create, start and wait in one) is the runtimes' common command, not a spec operation;
    it is the one place their command line reports the process's exit status."""
    container_id, bundle = lab.bundle(lab.config("echo bye; exit 7"))
    lab.created.append(container_id)
    container, result = lab.runtime.run_attached(container_id, bundle.path)
    recorder.add("exit_status", result.returncode)
    assert result.returncode == 7, f"the process exited 7; {lab.name} run exited {result.returncode}: {result.words}"
    assert container.output().strip() == "bye"
