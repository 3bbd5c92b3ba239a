"""The lifecycle probe, run: the shared fixtures (suites/conftest.py) build, push and pull it once."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from ocimatrix.engines.base import Engine, RunResult, RunSpec
from ocimatrix.images.contexts import parse_report
from ocimatrix.plugin.shared_steps import Outcome, PullStep, PushedImage, cached_step, registry_services, verify_tag
from ocimatrix.plugin.verdicts import run_container
from ocimatrix.run_ids import worker_name


@pytest.fixture
def run_probe(cell, runner: Engine, pulled_image: PullStep, recorder):
    """Pull if needed, then run the probe with the cell's runtime and optional overrides;
    returns (result, report)."""

    def run(image: str | None = None, **overrides) -> tuple[RunResult, dict[str, str]]:
        # ``image``: an already pulled reference to run instead of the cell's own pulled probe.
        spec = RunSpec(image=image or pulled_image.get().ref, runtime=cell["runtime"], **overrides)
        result = run_container(runner, spec, recorder, f"{runner.name} could not run the container")
        return result, parse_report(result.stdout)

    return run


@pytest.fixture
def copied_by_skopeo(pushed_image: Outcome, skopeo, endpoints, worker_cache) -> Outcome:
    """The builder's pushed image, copied by skopeo (a third tool) to another repository of the registry."""

    def copy() -> PushedImage:
        source: PushedImage = pushed_image.get()
        # A copy of a tag something else rewrote would blame skopeo for a digest it never read.
        verify_tag(source)
        repository, _, tag = source.ref.rpartition(":")
        # A repository per worker: the pushed image is shared by all workers, and two PUTs of one
        # manifest into one repository race in distribution (it rewrites the revision link in place).
        target = f"{repository}-skopeo-copy-{worker_name()}:{tag}"
        scratch = Path(tempfile.mkdtemp(prefix="skopeo-", dir=endpoints.state_dir))
        # Every manifest: the image may be an index (BuildKit's carries its attestation), which skopeo
        # would otherwise copy one platform of, as asked.
        digest = skopeo.copy(
            f"docker://{source.ref}", f"docker://{target}", all_platforms=True, digest_file=scratch / "digest"
        )
        return PushedImage(target, digest, f"{source.builder}+skopeo")

    # The cache key is the Outcome itself: one copy per pushed image and worker.
    copies = worker_cache["skopeo copies"]
    return cached_step(copies, id(pushed_image), copy, services=registry_services(skopeo))


@pytest.fixture
def copied_then_pulled(runner: Engine, copied_by_skopeo: Outcome, worker_cache) -> PullStep:
    return PullStep(runner, copied_by_skopeo, worker_cache["pulls"])
