"""Steps many tests share (build and push an image, pull it with a runner), done once and replayed.

A step's outcome, including why it was skipped or failed and the commands it ran, is cached per
worker (``cached_step``) or shared by all workers of the run (``shared_step``); each test that needs
it calls ``get()`` in its body, so the commands land in that test's repro and an engine that can't
build or pull fails the cell rather than erroring it.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ocimatrix import evidence
from ocimatrix.engines.base import Engine, EngineError, Unsupported


@dataclass
class Outcome:
    """What a cached step produced, or why it couldn't: replayed into every test that needs it.

    Tests call ``get()`` in their body, so an engine that can't build or pull fails the cell
    (an interoperability finding) rather than erroring it (a harness problem).
    """

    value: object = None
    skip: str = ""
    error: str = ""
    commands: evidence.Recorder = field(default_factory=evidence.Recorder)

    def get(self):
        recorder = evidence.current()
        recorder.extend(self.commands)
        if self.skip:
            pytest.skip(self.skip)
        if self.error:
            pytest.fail(self.error, pytrace=False)
        return self.value


def shared_step(
    shared: Path,
    name: str,
    action: Callable[[], Any],
    encode: Callable[[Any], Any],
    decode: Callable[[Any], Any],
) -> Outcome:
    """``cached_step`` across pytest-xdist workers: the first to ask runs ``action`` under a lock file in
    ``shared`` (a directory every worker sees), the others wait and replay its record: the value (as
    ``encode`` wrote it), why it was skipped or failed, and the commands it ran.

    A harness fault in ``action`` raises and writes no record, so the next worker tries again.
    """
    shared.mkdir(parents=True, exist_ok=True)
    record = shared / f"{name}.json"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if record.exists():
            data = json.loads(record.read_text())
            value = decode(data["value"]) if data["value"] is not None else None
            commands = evidence.Recorder(repro=data["repro"])
            return Outcome(value=value, skip=data["skip"], error=data["error"], commands=commands)
        outcome = cached_step({}, name, action)
        value = encode(outcome.value) if outcome.value is not None else None
        data = {"value": value, "skip": outcome.skip, "error": outcome.error, "repro": outcome.commands.repro}
        record.write_text(json.dumps(data))
        return outcome


def cached_step(cache: dict, key, action) -> Outcome:
    if key not in cache:
        with evidence.scoped() as step:
            outcome = Outcome(commands=step)
            try:
                outcome.value = action()
            except Unsupported as exc:
                outcome.skip = str(exc)
            except EngineError as exc:
                outcome.error = str(exc)
        cache[key] = outcome
    return cache[key]


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


_pulled: dict = {}  # (runner, ref) -> Outcome of the pull, per worker


class PullStep:
    """Build, push, then pull with the cell's runner: ``get()`` in the test body."""

    def __init__(self, runner: Engine, pushed: Outcome) -> None:
        self.runner = runner
        self.pushed = pushed

    def get(self) -> PulledImage:
        pushed: PushedImage = self.pushed.get()

        def pull() -> str:
            self.runner.pull(pushed.ref)
            return self.runner.image_digest(pushed.ref)

        digest = cached_step(_pulled, (self.runner.key, pushed.ref), pull).get()
        evidence.current().add("pushed_digest", pushed.digest)
        evidence.current().add("pulled_digest", digest)
        return PulledImage(pushed.ref, pushed.digest, digest)
