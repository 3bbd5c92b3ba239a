"""One multi-platform build shared by every pytest-xdist worker: the first to ask builds it under a
lock file, the others wait and read its record (value, skip or error, and the commands it ran)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from ocimatrix.platform_images.index import PlatformIndex
from ocimatrix.plugin.shared_steps import Outcome, shared_step


def shared_index(shared: Path, name: str, build: Callable[[Path], PlatformIndex]) -> Outcome:
    """The outcome of ``build(workdir)``, run once across workers; ``name`` names its record.

    ``workdir`` is a temporary directory for the build contexts (a busybox per platform), gone as
    soon as the images are pushed.
    """

    def build_in_scratch() -> PlatformIndex:
        shared.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="contexts-", dir=shared) as workdir:
            return build(Path(workdir))

    return shared_step(shared, name, build_in_scratch, asdict, PlatformIndex.from_json)
