"""One multi-platform build shared by every pytest-xdist worker: the first to ask builds it under a
lock file, the others wait and read its record (value, skip or error, and the commands it ran)."""

from __future__ import annotations

import fcntl
import json
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from ocimatrix import evidence
from ocimatrix.cached_steps import Outcome, cached_step
from ocimatrix.platform_images.index import PlatformIndex


def shared_index(shared: Path, name: str, build: Callable[[Path], PlatformIndex]) -> Outcome:
    """The outcome of ``build(workdir)``, run once across workers; ``name`` names its record.

    ``workdir`` is a temporary directory for the build contexts (a busybox per platform), gone as
    soon as the images are pushed.
    """
    shared.mkdir(parents=True, exist_ok=True)
    record = shared / f"{name}.json"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker builds, the others wait and read its record
        if record.exists():
            data = json.loads(record.read_text())
            value = PlatformIndex.from_json(data["value"]) if data["value"] else None
            commands = evidence.Recorder(repro=data["repro"])
            return Outcome(value=value, skip=data["skip"], error=data["error"], commands=commands)

        def build_in_scratch() -> PlatformIndex:
            with tempfile.TemporaryDirectory(prefix="contexts-", dir=shared) as workdir:
                return build(Path(workdir))

        outcome = cached_step({}, name, build_in_scratch)
        value = asdict(outcome.value) if outcome.value else None
        data = {"value": value, "skip": outcome.skip, "error": outcome.error, "repro": outcome.commands.repro}
        record.write_text(json.dumps(data))
        return outcome
