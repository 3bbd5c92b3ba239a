"""The lifecycle probe image: built and pushed once per (builder, format, compression) per worker,
pulled once per runner, and reused by every test of the cell."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ocimatrix import evidence
from ocimatrix.engines.base import Engine, EngineError, RunResult, RunSpec, Unsupported
from ocimatrix.images.busybox import host_platform_name
from ocimatrix.images.contexts import lifecycle_context, parse_report


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


_built: dict = {}
_pulled: dict = {}


@pytest.fixture
def pushed_image(cell, builder: Engine, endpoints, run_id) -> Outcome:
    """The probe built by the cell's builder and pushed to the embedded registry (``.get()`` it)."""
    if not endpoints.registry:
        pytest.skip("no embedded registry: " + endpoints.errors.get("registry", "not started"))
    fmt = cell.get("format", "oci")
    compression = cell.get("compression", "gzip")
    platform = host_platform_name()
    key = (builder.name, fmt, compression, platform)

    def build_and_push() -> PushedImage:
        ref = f"{endpoints.registry}/ocimatrix/lifecycle/{builder.name}-{fmt}-{compression}:{run_id}"
        # Under the services' state dir, so the build context goes when the run ends.
        workdir = Path(tempfile.mkdtemp(prefix="build-", dir=endpoints.state_dir))
        context = lifecycle_context(workdir, platform, build_id=ref)
        builder.build(context, ref, format=fmt, platform=platform)
        digest = builder.push(ref, format=fmt, compression=compression)
        # Drop the builder's copy so that a runner sharing its store (docker after docker, podman
        # after buildah) really pulls from the registry instead of finding the image at hand.
        builder.remove_image(ref)
        return PushedImage(ref, digest, builder.name)

    return cached_step(_built, key, build_and_push)


@dataclass
class PulledImage:
    ref: str
    pushed_digest: str
    digest: str  # what the runner recorded for the ref after pulling it


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

        digest = cached_step(_pulled, (self.runner.name, pushed.ref), pull).get()
        evidence.current().add("pushed_digest", pushed.digest)
        evidence.current().add("pulled_digest", digest)
        return PulledImage(pushed.ref, pushed.digest, digest)


@pytest.fixture
def pulled_image(runner: Engine, pushed_image: Outcome) -> PullStep:
    return PullStep(runner, pushed_image)


@pytest.fixture
def run_probe(cell, runner: Engine, pulled_image: PullStep, recorder):
    """Pull if needed, then run the probe with the cell's runtime and optional overrides;
    returns (result, report)."""

    def run(**overrides) -> tuple[RunResult, dict[str, str]]:
        image = pulled_image.get()
        spec = RunSpec(image=image.ref, runtime=cell["runtime"], **overrides)
        try:
            result = runner.run(spec)
        except Unsupported as exc:
            pytest.skip(str(exc))
        except EngineError as exc:
            pytest.fail(f"{runner.name} could not run the container: {exc}", pytrace=False)
        recorder.add("exit_code", result.exit_code)
        recorder.add("stdout", result.stdout[-4000:])
        if result.stderr.strip():
            recorder.add("stderr", result.stderr[-4000:])
        return result, parse_report(result.stdout)

    return run
