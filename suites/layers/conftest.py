"""Fixtures of the layers suite: the layer-shape images (written by ``ocimatrix.images.layer_shapes``,
pushed once per run to the embedded registry), pulled and run by the cell's engine.

Each shape image's entrypoint prints what the container sees at the shape's paths; ``shape_view``
pulls, runs and reads that once per engine, runtime and shape (per worker), so that the tests of
one shape share one container. An engine refusing the pull or the run fails every test of that
shape with its own words, unless the test says the spec is silent there (``answer_or_refusal``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ocimatrix import evidence
from ocimatrix.engines.base import Engine, RunSpec
from ocimatrix.errors import HarnessError, ImplementationFailure, OcimatrixError
from ocimatrix.images import layer_shapes
from ocimatrix.images.busybox import busybox_for, host_platform_name
from ocimatrix.plugin.shared_steps import Outcome, PullStep, PushedImage, cached_step, registry_services, shared_step
from ocimatrix.plugin.verdicts import run_container, skip_unless_started
from ocimatrix.run_ids import run_token

SENTINEL_DIR = "layers-sentinel"


@dataclass
class ShapeView:
    """One shape as an engine's container showed it, beside what its layers say."""

    shape: layer_shapes.Shape
    engine: str
    seen: dict[str, layer_shapes.Seen]
    tree: dict[str, layer_shapes.Node]
    stdout: str
    host_before: dict[str, bool] = field(default_factory=dict)

    @property
    def step(self) -> str:
        return f"{self.engine} run of layer shape {self.shape.name}: stat in the container"

    def lines(self, paths) -> str:
        return "; ".join(self.seen[p].line if p in self.seen else f"{p}|(no line)" for p in paths)

    def mismatches(self, paths, *, nlink: bool = False) -> list[str]:
        """How the container's view of ``paths`` differs from the layers' (empty: it doesn't)."""
        return layer_shapes.mismatches(self.tree, self.seen, paths, nlink=nlink)


def shared_dir(endpoints) -> Path:
    if not endpoints.state_dir:
        raise HarnessError("no state directory for the run's services: the layer shapes have nowhere to be shared")
    return Path(endpoints.state_dir)


@pytest.fixture(scope="session")
def layer_sentinel(endpoints) -> Path:
    """A host directory the symlink-escape shape aims at: an engine writing through the symlink on
    the host would put its file here. Its path is baked into the shape, so it is the run's, shared."""
    path = shared_dir(endpoints) / SENTINEL_DIR / run_token()
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def probe_busybox() -> bytes:
    try:
        return busybox_for(host_platform_name()).read_bytes()
    except OcimatrixError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def layer_shape_set(layer_sentinel: Path, probe_busybox: bytes) -> dict[str, layer_shapes.Shape]:
    return layer_shapes.all_shapes(str(layer_sentinel), busybox=probe_busybox)


@pytest.fixture(scope="session")
def shape_pushes() -> dict:
    return {}


@pytest.fixture(scope="session")
def shape_runs() -> dict:
    return {}


@pytest.fixture
def shape_image(endpoints, layer_shape_set, shape_pushes):
    """``shape_image(name)``: the Outcome of writing and pushing that shape, once per run for every worker."""
    skip_unless_started(endpoints, "registry", "embedded registry")

    def get(name: str) -> Outcome:
        if name not in shape_pushes:
            shape = layer_shape_set[name]

            def push() -> PushedImage:
                image = layer_shapes.build_shape_image(shape)
                ref = layer_shapes.push_shape_image(endpoints.registry, image, run_token())
                return PushedImage(ref, image.digest, "ocimatrix layer writer")

            shared = shared_dir(endpoints) / "layer-shapes" / run_token()
            shape_pushes[name] = shared_step(
                shared, name, push, lambda p: p.__dict__, lambda d: PushedImage(**d), services=["registry"]
            )
        return shape_pushes[name]

    return get


def host_paths(paths) -> dict[str, bool]:
    return {p: os.path.lexists(p) for p in paths}


@pytest.fixture
def shape_view(cell, runner: Engine, shape_image, layer_shape_set, shape_runs, recorder, worker_cache):
    """``shape_view(name)``: pull the shape with the cell's engine, run it, and read what it shows."""

    def view(name: str) -> ShapeView:
        shape = layer_shape_set[name]
        before = host_paths(shape.escape_targets)
        already = [p for p, there in before.items() if there]
        if already:
            raise HarnessError(f"host paths {already} exist before the layer shape {name} ran: remove them first")
        pulled = PullStep(runner, shape_image(name), worker_cache["pulls"])

        def pull_and_run() -> ShapeView:
            image = pulled.get()
            spec = RunSpec(image=image.ref, runtime=cell["runtime"])
            result = run_container(runner, spec, evidence.current(), f"{runner.name} could not run layer shape {name}")
            if result.exit_code != 0:
                raise ImplementationFailure(
                    f"the layer shape {name}'s probe exited {result.exit_code} under {runner.name}",
                    step=f"{runner.name} run of layer shape {name}",
                    answer=f"exit {result.exit_code}: {result.stderr.strip()[-500:]}",
                )
            seen = layer_shapes.parse_probe(result.stdout)
            tree = layer_shapes.expected_tree([b"", *shape.uncompressed()])
            return ShapeView(shape, runner.label, seen, tree, result.stdout, before)

        key = (runner.key, cell["runtime"], name)
        outcome = cached_step(shape_runs, key, pull_and_run, services=registry_services(runner))
        found: ShapeView = outcome.get()
        recorder.add("container_view", {p: s.line for p, s in found.seen.items()})
        return found

    return view
