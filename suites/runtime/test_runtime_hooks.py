"""config.md: POSIX-platform hooks, and where runtime.md's lifecycle calls each kind.

Every hook is the host's static busybox, which the rootfs holds at the same path, so its path
resolves in the runtime namespace and in the container's. A hook writes the state it got on stdin
to ``<kind>.json`` and appends its kind to ``order``, in a host directory bind-mounted at the same
place inside the container: hooks run in the container namespace reach it there either way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from runtime_spec import RUNTIME_AXES

from ocimatrix.errors import fail_with
from ocimatrix.runtime.config import Hook, Mount, RuntimeConfig
from ocimatrix.runtime.documents import problems
from ocimatrix.specs import spec

pytestmark = pytest.mark.axes(*RUNTIME_AXES)

HOOK_BINARY = "/bin/busybox"
CLASSIC = ("prestart", "poststart", "poststop")  # runtime-spec 1.0.0
ALL_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")
# The hook's record goes to the host dir when it is visible, else to its bind mount in the container.
RECORD = 'd={dir}; [ -d "$d" ] || d=/ocimatrix; cat > "$d/$1.json"; echo "$1${{OM_HOOK:+ $OM_HOOK}}" >> "$d/order"'


class HookRecords:
    """What the hooks of ``kinds`` wrote into a scratch directory (the container sees it at /ocimatrix): the
    order they ran in, one line each, and the state each got on stdin."""

    def __init__(self, lab, kinds, *, failing: str | None = None) -> None:
        self.dir = lab.scratch("hooks")
        self.kinds = kinds
        self.failing = failing
        for kind in kinds:
            lab.needs_feature(("hooks",), kind)

    def with_hooks(self, config: RuntimeConfig, hooks: dict[str, list[Hook]]) -> RuntimeConfig:
        config.hooks = hooks
        config.mounts = [*config.mounts, Mount.bind(str(self.dir), "/ocimatrix")]
        return config

    def lines(self) -> list[str]:
        path = self.dir / "order"
        return [line.strip() for line in path.read_text().splitlines() if line.strip()] if path.exists() else []

    def written(self) -> str:
        """The log as the hooks wrote it, one entry per line joined by ", ": a failure's answer."""
        return ", ".join(self.lines()) or "(empty: no hook ran)"

    def stdin_of(self, kind: str, file: str) -> dict | None:
        """The state the ``kind`` hook wrote to ``file``, None when it never ran."""
        path = Path(self.dir) / file
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text() or "null")
        except ValueError:
            fail_with(
                f"the {kind} hook got something that is not JSON on stdin: {path.read_text()[:300]!r}",
                step=f"the state on the {kind} hook's stdin",
                answer=path.read_text()[:1500],
            )


class HookLog(HookRecords):
    def hooks(self) -> dict[str, list[Hook]]:
        made = {}
        for kind in self.kinds:
            script = RECORD.format(dir=self.dir)
            if kind == "startContainer":
                # Slow on purpose: a runtime that runs poststart without waiting for the program to be
                # executed (which comes after startContainer) then shows it every time, not by chance.
                script = "sleep 0.3; " + script
            if kind == self.failing:
                script += "; exit 3"
            made[kind] = [Hook(HOOK_BINARY, ["busybox", "sh", "-c", script, "hook", kind])]
        return made

    def attach(self, config: RuntimeConfig) -> RuntimeConfig:
        return self.with_hooks(config, self.hooks())

    def order(self) -> list[str]:
        """The kinds recorded so far, in order (``program`` is the container's own line)."""
        return [line.split()[0] for line in self.lines()]

    def state(self, kind: str) -> dict | None:
        return self.stdin_of(kind, f"{kind}.json")


PROGRAM = "echo program >> /ocimatrix/order; echo started; while true; do sleep 0.2; done"


def run_through_lifecycle(lab, log: HookLog) -> dict[str, str]:
    """create, start, kill, delete; the hook log as written after each step returned (the answer a
    failure carries, so "poststart ran at create" is read from a log taken before start was called)."""
    container = lab.create(log.attach(lab.config(PROGRAM)))
    seen = {"create": log.written()}
    lab.start(container)
    lab.wait_for_output(container, "started")
    seen["start"] = log.written()
    lab.runtime.kill(container.id, "KILL")
    lab.wait_stopped(container)
    deleted = lab.delete_stopped(container)
    if not deleted.ok:
        lab.refused("delete", deleted)
    seen["delete"] = log.written()
    lab.recorder.add("hook_order", seen)
    return seen


def kinds(written: str) -> list[str]:
    """The hook kinds of a written log, the program's own line left out."""
    return [entry for entry in written.split(", ") if entry in ALL_KINDS]


def expect_log(lab, seen: dict[str, str], after: str, wanted: list[str], why: str) -> None:
    if kinds(seen[after]) != wanted:
        fail_with(
            f"after {after} the hook log reads {seen[after]!r}; expected {', '.join(wanted) or 'no hook'} ({why})",
            step=f"{lab.name} {after}",
            answer=seen[after],
        )


@spec("runtime-spec/config.md#posix-platform-hooks", "config: Hooks: prestart, poststart, poststop in lifecycle order")
def test_classic_hooks_run_in_lifecycle_order(lab):
    log = HookLog(lab, CLASSIC)
    seen = run_through_lifecycle(lab, log)
    expect_log(lab, seen, "create", ["prestart"], "poststart belongs after start has executed the program")
    expect_log(lab, seen, "start", ["prestart", "poststart"], "start runs poststart")
    expect_log(lab, seen, "delete", list(CLASSIC), "delete runs poststop")


@spec(
    "runtime-spec/config.md#posix-platform-hooks",
    "config: Hooks: all six kinds in lifecycle order (runtime.md Lifecycle)",
)
def test_all_hook_kinds_run_in_lifecycle_order(lab):
    log = HookLog(lab, ALL_KINDS)
    seen = run_through_lifecycle(lab, log)
    ran = kinds(seen["delete"])
    newer = ("createRuntime", "createContainer", "startContainer")
    missing = [k for k in newer if k not in ran]
    what = f"the {', '.join(missing or newer)} hook kinds"
    # Ignored = the kinds that misbehave simply never ran; one that ran at the wrong time still fails.
    ran_right = all(ran.count(k) == 1 for k in ALL_KINDS if k not in missing)
    with lab.since("1.0.2", what, ignored=bool(missing) and ran_right and _order_ok(ran, missing)):
        expect_log(
            lab, seen, "create", ["prestart", "createRuntime", "createContainer"], "poststart belongs after start"
        )
        wanted = [*ALL_KINDS[:3], "startContainer", "poststart"]
        expect_log(lab, seen, "start", wanted, "startContainer comes before the program is executed, poststart after")
        entries = seen["delete"].split(", ")
        if "program" not in entries or entries.index("startContainer") > entries.index("program"):
            fail_with(
                f"startContainer did not run before the program: {seen['delete']}",
                step=f"{lab.name} start",
                answer=seen["delete"],
            )
        expect_log(lab, seen, "delete", list(ALL_KINDS), "the whole lifecycle")


def _order_ok(ran: list[str], missing: list[str]) -> bool:
    """The hooks that did run, ran in the spec's order (the missing ones left out)."""
    return ran == [k for k in ALL_KINDS if k not in missing]


@spec("runtime-spec/config.md#posix-platform-hooks", "config: Hooks: args and env")
def test_hook_args_and_env(lab):
    log = HookLog(lab, ("poststart",))
    config = log.attach(lab.config("echo started; sleep 1"))
    config.hooks["poststart"][0].env = ["OM_HOOK=env-arrived"]
    container = lab.create(config)
    lab.start(container)
    lab.wait_stopped(container)
    if log.lines() != ["poststart env-arrived"]:
        fail_with(
            f"the poststart hook recorded {log.written()!r}; expected 'poststart env-arrived' (kind, then $OM_HOOK)",
            step=f"{lab.name} start",
            answer=log.written(),
        )


def failing_hook_of_an_error_kind(lab, kind: str) -> None:
    """runtime.md Lifecycle, steps 3, 4, 5 and 7: if a hook of ``kind`` fails, "the runtime MUST generate an
    error, stop the container, and continue the lifecycle at step 12" (destroy, then the poststop hooks).
    Two hooks of the kind, the first failing: create or start errs, the program never runs, and the second
    hook does not run (the lifecycle went on at step 12). Whether poststop then ran is recorded, not judged:
    runtimes run poststop at delete, and the spec does not say a failed create is followed by one."""
    hooks = NumberedHooks(lab, (kind, "poststop"), count=2, failing=kind)
    container_id, bundle = lab.bundle(hooks.attach(lab.config("echo program-ran")))
    container, created = lab.create_bundle(container_id, bundle)
    started = lab.runtime.start(container_id) if created.ok else None
    lab.runtime.wait_for_status(container_id, ["stopped"], timeout=3, or_gone=True)
    seen = {
        "create": created.answer,
        "start": None if started is None else started.answer,
        "log": hooks.lines(),
        "program_ran": "program-ran" in container.output(),
    }
    lab.recorder.add("failing_hook", seen)
    step = f"{lab.name} create and start with two {kind} hooks, the first failing"
    if hooks.numbers(kind)[:1] != [1]:
        # A runtime declaring a spec older than the kind's may not know it: then none ran, and it is skipped.
        with lab.since("1.0.2", f"{kind} hooks", ignored=not hooks.numbers(kind) and kind not in CLASSIC):
            fail_with(f"the failing {kind} hook did not run: {hooks.written()}", step=step, answer=hooks.written())
    if created.ok and started is not None and started.ok:
        fail_with(
            f"a {kind} hook exited 3, yet {lab.name} create and start both succeeded",
            step=step,
            answer=f"create {created.answer}; start {started.answer}; hooks: {hooks.written()}",
        )
    if seen["program_ran"]:
        fail_with(
            f"the program ran although a {kind} hook failed", step=step, answer=f"stdout {container.output()[:500]!r}"
        )
    if 2 in hooks.numbers(kind):
        fail_with(
            f"the {kind} hook after the failing one still ran: {hooks.written()}; runtime.md goes on at step 12",
            step=step,
            answer=f"hooks: {hooks.written()}",
        )


@spec(
    "runtime-spec/runtime.md#lifecycle",
    "runtime: Lifecycle: a failing prestart hook is an error and the program never runs",
)
def test_failing_prestart_hook_stops_the_container(lab):
    failing_hook_of_an_error_kind(lab, "prestart")


@spec("runtime-spec/runtime.md#lifecycle", "runtime: Lifecycle: a failing createRuntime hook is an error")
def test_failing_create_runtime_hook_stops_the_container(lab):
    failing_hook_of_an_error_kind(lab, "createRuntime")


@spec("runtime-spec/runtime.md#lifecycle", "runtime: Lifecycle: a failing createContainer hook is an error")
def test_failing_create_container_hook_stops_the_container(lab):
    failing_hook_of_an_error_kind(lab, "createContainer")


@spec("runtime-spec/runtime.md#lifecycle", "runtime: Lifecycle: a failing startContainer hook is an error")
def test_failing_start_container_hook_stops_the_container(lab):
    failing_hook_of_an_error_kind(lab, "startContainer")


@spec(
    "runtime-spec/runtime.md#lifecycle",
    "runtime: Lifecycle: a failing poststart hook (a warning, or an error that stops it)",
)
def test_failing_poststart_hook_is_handled_one_of_two_ways(lab):
    """runtime-spec v1.2.0 makes a failing poststart hook a logged warning, "the remaining hooks and
    lifecycle continue as if the hook had succeeded"; the spec's next revision (runtime-spec PR 1262)
    makes it an error that stops the container, and runc has always done that. Either is accepted; what
    is not: an error with the container left running, or a success with the program cut short or the
    second poststart hook not run."""
    hooks = NumberedHooks(lab, ("poststart",), count=2, failing="poststart")
    container_id, bundle = lab.bundle(hooks.attach(lab.config("echo started; sleep 1; echo finished")))
    container, created = lab.create_bundle(container_id, bundle)
    started = lab.runtime.start(container_id) if created.ok else None
    status, _ = lab.runtime.wait_for_status(container_id, ["stopped"], timeout=10, or_gone=True)
    lab.recorder.add(
        "poststart_failure",
        {
            "create": created.words if not created.ok else "ok",
            "start": None if started is None else (started.words if not started.ok else "ok"),
            "status": status,
            "stdout": container.output(),
            "log": hooks.lines(),
        },
    )
    step = f"{lab.name} start with two poststart hooks, the first failing"
    if hooks.numbers("poststart")[:1] != [1]:
        fail_with(f"the poststart hook did not run: {hooks.written()}", step=step, answer=hooks.written())
    if created.ok and started is not None and started.ok:
        if "finished" not in container.output():
            fail_with(
                f"start succeeded, yet the program was cut short: {container.output()!r}",
                step=step,
                answer=f"stdout {container.output()[:500]!r}",
            )
        if hooks.numbers("poststart") != [1, 2]:
            fail_with(
                f"start went on after the failing poststart hook, but the next one did not run: {hooks.written()}",
                step=step,
                answer=f"hooks: {hooks.written()}",
            )
    elif status not in (None, "stopped"):
        fail_with(
            f"{lab.name} reported the failing hook, yet the container is still {status}",
            step=step,
            answer=f"status {status!r}",
        )


@spec("runtime-spec/runtime.md#lifecycle", "runtime: Lifecycle: a failing poststop hook is only a warning")
def test_failing_poststop_hook_is_only_a_warning(lab):
    """runtime.md step 13: "the runtime MUST log a warning, but the remaining hooks and lifecycle continue
    as if the hook had succeeded": delete succeeds and the second poststop hook runs."""
    hooks = NumberedHooks(lab, ("poststop",), count=2, failing="poststop")
    container = lab.create(hooks.attach(lab.config("true")))
    lab.start(container)
    lab.wait_stopped(container)
    deleted = lab.delete_stopped(container)
    lab.recorder.add("poststop_failure", {"delete": deleted.answer, "log": hooks.lines()})
    if hooks.numbers("poststop")[:1] != [1]:
        fail_with(
            f"the poststop hook did not run: {hooks.written()}",
            step=f"{lab.name} delete with a failing poststop hook",
            answer=hooks.written(),
        )
    if not deleted.ok:
        fail_with(
            f"a failing poststop hook must only be logged; {lab.name} delete failed: {deleted.words}",
            step=f"{lab.name} delete with a failing poststop hook",
            answer=deleted.answer,
        )
    if hooks.numbers("poststop") != [1, 2]:
        fail_with(
            f"delete went on after the failing poststop hook, but the next one did not run: {hooks.written()}",
            step=f"{lab.name} delete with two poststop hooks, the first failing",
            answer=f"hooks: {hooks.written()}",
        )
    gone = lab.runtime.state(container.id)
    if gone.ok:
        fail_with(
            "the container is still there after delete",
            step=f"{lab.name} state after delete",
            answer=f"exit 0: {gone.stdout[:500]}",
        )


# --- several hooks of one kind, the whole state on stdin, a failing hook and the ones after it ------

# Each hook keeps the state it got as <kind>-<n>.json and appends "<kind>#<n>" to the log.
NUMBERED = 'd={dir}; [ -d "$d" ] || d=/ocimatrix; cat > "$d/$1-$2.json"; echo "$1#$2" >> "$d/order"'


class NumberedHooks(HookRecords):
    """``count`` hooks of each kind, numbered in the order config.json lists them."""

    def __init__(self, lab, kinds, *, count: int = 3, failing: str | None = None) -> None:
        super().__init__(lab, kinds, failing=failing)
        self.count = count

    def attach(self, config: RuntimeConfig) -> RuntimeConfig:
        hooks = {}
        for kind in self.kinds:
            hooks[kind] = []
            for n in range(1, self.count + 1):
                script = NUMBERED.format(dir=self.dir)
                if kind == self.failing and n == 1:
                    script += "; exit 3"  # the first of its kind fails: what of the ones after it?
                hooks[kind].append(Hook(HOOK_BINARY, ["busybox", "sh", "-c", script, "hook", kind, str(n)]))
        return self.with_hooks(config, hooks)

    def numbers(self, kind: str) -> list[int]:
        return [int(line.partition("#")[2]) for line in self.lines() if line.partition("#")[0] == kind]

    def state(self, kind: str, n: int) -> dict | None:
        return self.stdin_of(kind, f"{kind}-{n}.json")


@spec("runtime-spec/config.md#posix-platform-hooks", "config: Hooks: several of one kind run in the listed order")
def test_hooks_of_one_kind_run_in_the_listed_order(lab):
    """Three hooks of each kind (config.md: "Hooks MUST be called in the listed order"), what runtime-tools'
    ``hooks`` checks. A kind that never ran is the lifecycle-order tests' business, not this one's."""
    hooks = NumberedHooks(lab, ALL_KINDS)
    container = lab.create(hooks.attach(lab.config("echo started; sleep 0.3")))
    lab.start(container)
    lab.wait_stopped(container)
    deleted = lab.delete_stopped(container)
    if not deleted.ok:
        lab.refused("delete", deleted)
    lab.recorder.add("hook_log", hooks.lines())
    for kind in ALL_KINDS:
        numbers = hooks.numbers(kind)
        if numbers and numbers != [1, 2, 3]:
            fail_with(
                f"the {kind} hooks ran as {numbers}; config.json lists 1, 2, 3",
                step=f"{lab.name} create, start and delete with three hooks of each kind",
                answer=hooks.written(),
            )


# The status each kind's stdin carries: create's hooks run while the container is being created, startContainer
# before the program is executed (still created), poststart once it runs, poststop once it is stopped.
HOOK_STATUS = {
    "prestart": ("creating", "created"),
    "createRuntime": ("creating", "created"),
    "createContainer": ("creating", "created"),
    "startContainer": ("created",),
    "poststart": ("running",),
    "poststop": ("stopped",),
}


@spec("runtime-spec/config.md#posix-platform-hooks", "config: Hooks: the whole state on stdin (runtime.md State)")
def test_hooks_get_the_state_on_stdin(lab, recorder):
    """Every kind's stdin against what runtime-tools' ``hooks_stdin`` compares: ``id``, ``bundle``, the
    ``pid`` that ``state`` gave after create (not for poststop), the config's ``annotations`` and the
    status; and ``ociVersion`` as the State schema asks. runtime-tools wants ``created`` for prestart;
    runtime.md runs prestart, createRuntime and createContainer during create, whose status is
    ``creating``: either is taken. A kind that never ran is not judged here."""
    annotations = {"org.ocimatrix.hook": "stdin", "org.ocimatrix.empty": ""}
    hooks = NumberedHooks(lab, ALL_KINDS, count=1)
    container = lab.create(
        hooks.attach(lab.config(PROGRAM.replace("/ocimatrix/order", "/dev/null"), annotations=annotations))
    )
    pid = lab.state(container).get("pid")
    lab.start(container)
    lab.wait_for_output(container, "started")
    lab.runtime.kill(container.id, "KILL")
    lab.wait_stopped(container)
    lab.delete_stopped(container)
    states = {kind: hooks.state(kind, 1) for kind in ALL_KINDS}
    recorder.add("hook_states", states)
    wrong_by_kind = {}
    for kind, state in states.items():
        if state is not None:
            wrong = stdin_problems(state, kind, container, pid, annotations)
            if wrong:
                wrong_by_kind[kind] = wrong
    if wrong_by_kind:
        # Every kind's, so one runtime's answer is the same whatever kind comes first.
        answer = "; ".join(f"{kind}: {', '.join(wrong)}" for kind, wrong in wrong_by_kind.items())
        fail_with(
            f"the state on the hooks' stdin: {answer}",
            step="the state on each hook's stdin",
            answer=answer,
        )


OWN_FIELDS = ("/id", "/bundle", "/pid", "/annotations", "/status")


def stdin_problems(state, kind: str, container, pid, annotations: dict[str, str]) -> list[str]:
    """What is wrong with one hook's stdin, in its own values (``pid 1 (state said 1234)``)."""
    if not isinstance(state, dict):
        return [f"not an object: {str(state)[:200]}"]
    wrong = []
    if state.get("id") != container.id:
        wrong.append(f"id {state.get('id')!r}")
    if state.get("bundle") != str(container.bundle):
        wrong.append(f"bundle {state.get('bundle')!r}")
    if kind != "poststop" and state.get("pid") != pid:
        wrong.append(f"pid {state.get('pid')!r} (state said {pid})")
    if (state.get("annotations") or {}) != annotations:
        wrong.append(f"annotations {state.get('annotations')!r}")
    if state.get("status") not in HOOK_STATUS[kind]:
        wrong.append(f"status {state.get('status')!r}")
    # The rest of the State schema (ociVersion above all); the fields above are reported in their values.
    wrong += [p for p in problems("state", state) if not p.startswith(OWN_FIELDS)]
    return wrong
