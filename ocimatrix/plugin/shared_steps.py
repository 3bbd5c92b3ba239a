"""Steps many tests share (build and push an image, pull it with a runner), done once and replayed.

A step's outcome is cached per worker (``cached_step``) or shared by all workers of the run
(``shared_step``); each test that needs it calls ``get()`` in its body, so the commands land in that
test's repro. Only what the implementation itself said is kept and replayed:

- its refusal (an ``EngineError`` with its step and answer): every cell that needs the step fails
  with that same answer (``ImplementationFailure``), which a listed known incompatibility can read;
- "it has no way to do this" (``Unsupported``): every such cell is skipped with that reason.

A harness fault during the step (a ``HarnessError``, a service that stopped answering or was
restarted meanwhile, a transport failure, any unexpected exception) is never kept: it raises in the
cell that hit it (``error``), and the next cell that needs the step runs it again, against the
service the watch has restarted by then.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

from ocimatrix import evidence
from ocimatrix.engines.base import BoundTool, Engine, EngineError, Unsupported
from ocimatrix.engines.image_views import split_tag
from ocimatrix.errors import HarnessError, ImplementationFailure, OcimatrixError, ServiceUnavailable
from ocimatrix.oci.registry_client import RegistryClient, RegistryError
from ocimatrix.plugin import cell_watch
from ocimatrix.plugin.verdicts import is_harness_fault
from ocimatrix.tools import catalog


@dataclass
class Refusal:
    """The implementation's own refusal of a shared step: what it was asked and what it answered."""

    message: str
    step: str | None = None
    answer: str | None = None

    @classmethod
    def of(cls, exc: EngineError | ImplementationFailure) -> Refusal:
        return cls(str(exc), getattr(exc, "step", None), getattr(exc, "answer", None))

    def replay(self) -> None:
        __tracebackhide__ = True
        if self.answer is None:
            # The engine refused without words the harness could keep: a failure no expectation can confirm.
            pytest.fail(self.message, pytrace=False)
        raise ImplementationFailure(self.message, step=self.step or "shared step", answer=self.answer)


@dataclass
class Outcome:
    """What a cached step produced, or how the implementation refused it: replayed into every test that needs it.

    Tests call ``get()`` in their body, so an engine that can't build or pull fails the cell
    (an interoperability finding) rather than erroring it (a harness problem).
    """

    value: object = None
    skip: str = ""
    refusal: Refusal | None = None
    commands: evidence.Recorder = field(default_factory=evidence.Recorder)

    def get(self):
        __tracebackhide__ = True
        recorder = evidence.current()
        recorder.extend(self.commands)
        if self.skip:
            pytest.skip(self.skip)
        if self.refusal is not None:
            self.refusal.replay()
        return self.value


def shared_step(
    shared: Path,
    name: str,
    action: Callable[[], Any],
    encode: Callable[[Any], Any],
    decode: Callable[[Any], Any],
    *,
    services: Sequence[str] | None = None,
) -> Outcome:
    """``cached_step`` across pytest-xdist workers: the first to ask runs ``action`` under a lock file in
    ``shared`` (a directory every worker sees), the others wait and replay its record: the value (as
    ``encode`` wrote it), why it was skipped, how the implementation refused it, and the commands it ran.

    A harness fault in ``action`` raises and writes no record, so the next worker (or cell) tries again.
    """
    shared.mkdir(parents=True, exist_ok=True)
    record = shared / f"{name}.json"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if record.exists():
            data = json.loads(record.read_text())
            value = decode(data["value"]) if data["value"] is not None else None
            commands = evidence.Recorder(repro=data["repro"])
            refusal = Refusal(**data["refusal"]) if data.get("refusal") else None
            return Outcome(value=value, skip=data["skip"], refusal=refusal, commands=commands)
        outcome = cached_step({}, name, action, services=services)
        value = encode(outcome.value) if outcome.value is not None else None
        refused = asdict(outcome.refusal) if outcome.refusal else None
        data = {"value": value, "skip": outcome.skip, "refusal": refused, "repro": outcome.commands.repro}
        tmp = record.with_name(f".{record.name}.{os.getpid()}")
        tmp.write_text(json.dumps(data))
        tmp.replace(record)
        return outcome


def cached_step(cache: dict, key, action: Callable[[], Any], *, services: Sequence[str] | None = None) -> Outcome:
    """The outcome of ``action``, run once per ``key`` in this process, unless a harness fault broke it.

    ``services`` names the supervised services the step relies on (``None``: every one the harness
    supervises); one of them found dead, or restarted, after the step failed makes the failure a
    harness fault: a push to a registry that was gone is no answer of the pushing engine.
    """
    if key not in cache:
        outcome = _run(str(key), action, services)
        cache[key] = outcome
    return cache[key]


def _run(name: str, action: Callable[[], Any], services: Sequence[str] | None) -> Outcome:
    watch = _watch(name, services)
    fault: BaseException | None = None
    with evidence.scoped() as commands:
        outcome = Outcome(commands=commands)
        try:
            outcome.value = action()
        except Unsupported as exc:
            outcome.skip = str(exc)
        except (EngineError, ImplementationFailure) as exc:
            fault = _fault_behind(exc, watch)
            if fault is None:
                outcome.refusal = Refusal.of(exc)
        except Exception as exc:  # noqa: BLE001 - a harness fault: raised in this cell below, never kept
            fault = exc
    if fault is not None:
        # The cell that hit the fault shows what the step ran before it broke.
        evidence.current().extend(commands)
        raise fault
    return outcome


def _watch(name: str, services: Sequence[str] | None) -> cell_watch.Watch | None:
    book = cell_watch._book()  # the run's supervised services, shared with the cells' own watches
    if book is None:
        return None
    cell = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0] or name
    return cell_watch.Watch.begin(f"{cell} (shared step {name})", list(book.names() if services is None else services))


def _fault_behind(exc: EngineError | ImplementationFailure, watch: cell_watch.Watch | None) -> BaseException | None:
    """The harness fault behind a failed step, if any: the exception's own cause (a dead transport,
    a ``HarnessError``), or a service the step relied on that died or was restarted while it ran."""
    if is_harness_fault(exc):
        return exc
    broke = watch.broke_during() if watch is not None else None
    if broke is None:
        return None
    reason, logs = broke
    evidence.current().evidence.update(logs)
    fault = HarnessError(f"{reason}; meanwhile the shared step failed: {exc}")
    fault.__cause__ = exc
    return fault


def registry_services(engine: BoundTool) -> list[str]:
    """What a step of ``engine`` against the embedded registry relies on: its daemons and the registry."""
    return [*catalog.embedded_services(engine.label), "registry"]


@dataclass
class PushedImage:
    ref: str
    digest: str
    builder: str


@dataclass
class PulledImage:
    ref: str
    pushed_digest: str
    digest: str  # what the runner recorded for the ref after pulling it


def verify_tag(image: PushedImage) -> None:
    """The pushed tag still names the recorded manifest; else raise ``HarnessError`` naming both.

    The record of a shared push is replayed for the whole run: if anything else wrote that tag since
    (another run sharing the registry, a script re-pushing it), a runner pulling it would be blamed
    for a digest it never saw pushed.
    """
    if not image.digest:
        return
    repository, tag = split_tag(image.ref)
    host, _, repo = repository.partition("/")
    try:
        with RegistryClient(host, plain_http=True) as client:
            now, _, _ = client.head_manifest(repo, tag)
    except RegistryError as exc:
        if exc.status is None:  # nobody answered
            raise ServiceUnavailable(f"registry {host}", str(exc)) from None
        raise HarnessError(
            f"tag {image.ref} recorded as {image.digest} can't be read back any more ({exc}); "
            "something else deleted or rewrote it"
        ) from None
    if now != image.digest:
        raise HarnessError(f"tag {image.ref} moved: recorded {image.digest}, now {now}; something else wrote this tag")


class PullStep:
    """Build, push, then pull with the cell's runner: ``get()`` in the test body. ``pulls`` is the
    worker's record of pulls done ((runner, ref) -> Outcome), held by a session fixture."""

    def __init__(self, runner: Engine, pushed: Outcome, pulls: dict) -> None:
        self.runner = runner
        self.pushed = pushed
        self.pulls = pulls

    def get(self) -> PulledImage:
        __tracebackhide__ = True
        pushed: PushedImage = self.pushed.get()

        def pull() -> str:
            verify_tag(pushed)
            self.runner.pull(pushed.ref)
            digest = self.runner.image_digest(pushed.ref)
            if digest != pushed.digest:
                # A tag moved during the pull is the harness's problem, not a runner's wrong digest.
                verify_tag(pushed)
                # An index pulled by tag (BuildKit's, with its attestation) leaves podman both its digest
                # and the chosen manifest's, in an order that says nothing: holding the pushed one is enough.
                if pushed.digest in held_digests(self.runner, pushed.ref):
                    return pushed.digest
            return digest

        step = cached_step(self.pulls, (self.runner.key, pushed.ref), pull, services=registry_services(self.runner))
        digest = step.get()
        evidence.current().add("pushed_digest", pushed.digest)
        evidence.current().add("pulled_digest", digest)
        return PulledImage(pushed.ref, pushed.digest, digest)


def held_digests(runner: Engine, ref: str) -> tuple[str, ...]:
    """Every manifest digest ``runner`` ties to ``ref``'s repository, as far as it says (() when it can't)."""
    try:
        return runner.resolved_image(ref).digests
    except (Unsupported, EngineError):
        return ()


def fail_refused(message: str, exc: OcimatrixError) -> NoReturn:
    """Fail the cell with an engine's refusal (``message: <its words>``), keeping its step and answer
    for the verdict; a harness fault is raised as itself (``error``), never dressed as a failure."""
    __tracebackhide__ = True
    if is_harness_fault(exc):
        raise exc
    step, answer = getattr(exc, "step", None), getattr(exc, "answer", None)
    if answer is None:
        pytest.fail(f"{message}: {exc}", pytrace=False)
    raise ImplementationFailure(f"{message}: {exc}", step=step or message, answer=answer) from exc
