"""runtime.md: every operation in every state where the spec says what must happen.

``state``, ``start``, ``kill`` and ``delete`` without an ID, on an ID that names no container, on a
container that is being created (held in ``creating`` by a createRuntime hook that waits for the
harness), and ``delete`` of a created one. The running and stopped states' operations are in
``test_runtime_lifecycle.py``.

The spec's words (runtime.md, Operations): each operation "MUST generate an error if it is not provided
the ID of a container"; start of "a container that is not created", kill of one "that is neither
created nor running" and delete of one "that is not stopped" "MUST have no effect on the container and
MUST generate an error". A container that does not exist is none of created, running or stopped.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import pytest
from runtime_spec import RUNTIME_AXES

from ocimatrix.errors import ImplementationFailure, fail_with
from ocimatrix.runtime.cli import PendingCall, RuntimeHang
from ocimatrix.runtime.config import Hook
from ocimatrix.specs import spec

pytestmark = pytest.mark.axes(*RUNTIME_AXES)

HOOK_BINARY = "/bin/busybox"
# The operations and the argument each takes after the ID.
OPERATIONS = {"state": (), "start": (), "kill": ("KILL",), "delete": ()}
OPERATION_WAIT = 5.0  # the harness's deadline for an operation on a creating container (runc and crun: ~10 ms)


def missing_id() -> str:
    return f"om-no-such-container-{secrets.token_hex(4)}"


def must_refuse(lab, operation: str, container_id: str, what: str) -> None:
    result = lab.runtime.call(operation, container_id, *OPERATIONS[operation])
    lab.recorder.add(f"{operation}_answer", result.answer)
    if result.ok:
        fail_with(
            f"{lab.name} {operation} of {what} succeeded; runtime.md makes it an error",
            step=f"{lab.name} {operation} of {what}",
            answer=result.answer,
        )


@spec("runtime-spec/runtime.md#operations", "runtime: Operations: each MUST generate an error without a container ID")
def test_operations_without_an_id_are_errors(lab, recorder):
    answers = {}
    for operation in OPERATIONS:
        result = lab.runtime.call(operation)
        answers[operation] = result.answer
        if result.ok:
            recorder.add("answers", answers)
            fail_with(
                f"{lab.name} {operation} without a container ID succeeded",
                step=f"{lab.name} {operation} without a container ID",
                answer=result.answer,
            )
    recorder.add("answers", answers)


@spec("runtime-spec/runtime.md#start", "runtime: Start (a container that does not exist is not created: an error)")
def test_start_of_missing_container_is_an_error(lab):
    must_refuse(lab, "start", missing_id(), "an ID that names no container")


@spec("runtime-spec/runtime.md#kill", "runtime: Kill (a container that does not exist: an error)")
def test_kill_of_missing_container_is_an_error(lab):
    must_refuse(lab, "kill", missing_id(), "an ID that names no container")


@spec("runtime-spec/runtime.md#delete", "runtime: Delete (a container that does not exist is not stopped: an error)")
def test_delete_of_missing_container_is_an_error(lab):
    must_refuse(lab, "delete", missing_id(), "an ID that names no container")


@spec(
    "runtime-spec/runtime.md#delete",
    "runtime: Delete (a created container is not stopped: an error with no effect)",
)
def test_delete_of_created_container_is_refused(lab, recorder):
    """runtime-tools' ``delete`` asks the same (its case "delete a created container")."""
    container = lab.create(lab.config("echo program-ran"))
    must_refuse(lab, "delete", container.id, "a created container")
    after = lab.runtime.state(container.id)
    status = json.loads(after.stdout).get("status") if after.ok else None
    if status != "created":
        fail_with(
            f"a refused delete of a created container changed it: state now answers {after.answer[:300]}",
            step=f"{lab.name} state of a created container after its refused delete",
            answer=after.answer if not after.ok else f"exit 0: {after.stdout[:1500]}",
        )


def holding_hook(lab) -> tuple[Hook, Path]:
    """A createRuntime hook that says it is running, then waits (10 s at most) for the harness."""
    hold = lab.scratch("hold")
    script = (
        f"cat > /dev/null; touch {hold}/entered; i=0; "
        f"while [ ! -e {hold}/release ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done"
    )
    return Hook(HOOK_BINARY, ["busybox", "sh", "-c", script]), hold


@spec(
    "runtime-spec/runtime.md#operations",
    "runtime: Operations on a creating container (start, kill, delete: an error with no effect)",
)
def test_operations_on_a_creating_container(lab, recorder):
    """While a createRuntime hook holds ``create``, the container is ``creating`` (runtime.md State:
    "the container is being created"). ``state`` may not know it yet (the spec does not say a container
    exists before its create returns), but if it answers, the status is ``creating``; each operation answers
    within OPERATION_WAIT (past it, the answer is late: failed); start (not
    created), kill (neither created nor running) and delete (not stopped) are errors with no effect:
    the create then finishes and leaves a created container whose program has not run."""
    lab.needs_feature(("hooks",), "createRuntime")
    hook, hold = holding_hook(lab)
    config = lab.config("echo program-ran")
    config.hooks = {"createRuntime": [hook]}
    container_id, bundle = lab.bundle(config)
    lab.created.append(container_id)
    container, pending = lab.runtime.create_in_background(container_id, bundle.path)
    answers: dict[str, str] = {}
    hung = None
    try:
        held = _wait_for(hold / "entered", pending)
        if held:
            for operation in ("state", "kill", "start", "delete"):
                try:
                    result = lab.runtime.call(operation, container_id, *OPERATIONS[operation], timeout=OPERATION_WAIT)
                except RuntimeHang as exc:
                    # Past the harness's deadline, the operation's answer; the ones after it are not asked.
                    answers[operation] = exc.answer
                    hung = operation
                    break
                answers[operation] = result.answer if not result.ok else f"exit 0: {result.stdout.strip()[:1500]}"
                if operation == "state" and result.ok:
                    answers["state_status"] = str(_status(result.stdout))
    finally:
        (hold / "release").touch()
    try:
        created = pending.finish(timeout=30)
    except RuntimeHang as exc:
        raise ImplementationFailure(str(exc), step=exc.step, answer=exc.answer) from None
    recorder.add("creating", answers)
    if not held:
        with lab.since("1.0.2", "createRuntime hooks", ignored=created.ok):
            fail_with(
                f"the createRuntime hook never ran, so the container was never seen creating ({created.answer[:300]})",
                step=f"{lab.name} create with a createRuntime hook",
                answer=created.answer if not created.ok else "the createRuntime hook did not run",
            )
    if hung is not None:
        fail_with(
            f"{lab.name} {hung} of a creating container gave no answer within {OPERATION_WAIT:.0f}s",
            step=f"{lab.name} {hung} of a creating container",
            answer=answers[hung],
        )
    if "state_status" in answers and answers["state_status"] != "creating":
        fail_with(
            f"{lab.name} state of a container whose createRuntime hook is running says {answers['state']}",
            step=f"{lab.name} state of a creating container",
            answer=answers["state"],
        )
    for operation in ("kill", "start", "delete"):
        if answers.get(operation, "").startswith("exit 0"):
            fail_with(
                f"{lab.name} {operation} of a creating container succeeded; runtime.md makes it an error",
                step=f"{lab.name} {operation} of a creating container",
                answer=answers[operation],
            )
    if not created.ok:
        fail_with(
            f"{lab.name} create failed after start, kill and delete were refused while it ran: {created.words}",
            step=f"{lab.name} create, after the refused operations",
            answer=created.answer,
        )
    status = _status(lab.runtime.state(container_id).stdout)
    if status != "created" or "program-ran" in container.output():
        fail_with(
            f"after the refused operations the container is {status!r}, stdout {container.output()[:200]!r}",
            step=f"{lab.name} state after create, following the refused operations",
            answer=f"status {status!r}; stdout {container.output()[:500]!r}",
        )


def _wait_for(path: Path, pending: PendingCall, timeout: float = 15.0) -> bool:
    """True once the hook said it runs; False when create returned first (the hook never ran)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return True
        if pending.proc.poll() is not None:
            return path.exists()
        time.sleep(0.02)
    pending.proc.kill()
    raise ImplementationFailure(
        f"create neither returned nor ran its createRuntime hook within {timeout:.0f}s",
        step="create with a createRuntime hook",
        answer=f"no exit status and no hook within {timeout:.0f}s",
    )


def _status(stdout: str) -> str | None:
    try:
        document = json.loads(stdout)
    except ValueError:
        return None
    return document.get("status") if isinstance(document, dict) else None
