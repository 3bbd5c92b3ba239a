"""Fixtures of the copies suite: the layer-shape images (``ocimatrix.images.layer_shapes``) pushed under
tags of this worker's own, a scratch directory every tool sees (the run's state dir: a generation's
root sees it at the same path), and the digests of what a copy wrote.

Every shape but the many-layer ones is a case of every test; the default matrix deselects all but two
that trip copiers (PAX xattrs, a zero-byte layer blob) to stay within its time (a copy is ~0.8 s here,
and a shape has four), the nightly runs them all.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocimatrix.endpoints import generation_service
from ocimatrix.errors import HarnessError, OcimatrixError, fail_with
from ocimatrix.images import copies, layer_shapes
from ocimatrix.images.busybox import busybox_for, host_platform_name
from ocimatrix.oci import mediatypes
from ocimatrix.oci.registry_client import RegistryClient, RegistryError
from ocimatrix.plugin.verdicts import skip_unless_started
from ocimatrix.run_ids import run_token, worker_name
from ocimatrix.tools import catalog

COPY_REPOSITORY = "ocimatrix/copies"
SOURCE_REPOSITORY = "ocimatrix/copies-source"
# Shapes with no layer-count parameter: the many-layer images only cost time here.
SHAPES = tuple(name for name in layer_shapes.all_shapes("/nonexistent", ()) if not name.startswith("many-layers"))
# Shapes some engine refuses to pull (suites/layers judges those pulls): an engine's save of them can't be asked.
UNPULLED_BY_SOME_ENGINE = ("whiteout-after-its-file", "hardlink-across-layers", "zero-byte-layer")


def copier_values() -> list[str]:
    """Every copier of the catalog, as a cell would name it: this host's, else its first generation's."""
    values = []
    for tool in (t for t in catalog.TOOLS if "copier" in t.roles):
        host = catalog.HOST_GENERATION in tool.generations and tool.provision_on
        generation = catalog.HOST_GENERATION if host else next(iter(tool.generations), "")
        values.append(catalog.spelled(tool.name, generation))
    return values


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "shape" in metafunc.fixturenames:
        names = SHAPES
        if "runner" in metafunc.fixturenames:
            names = tuple(n for n in names if n not in UNPULLED_BY_SOME_ENGINE)
        metafunc.parametrize("shape", names)
    if "copier_value" in metafunc.fixturenames:
        metafunc.parametrize("copier_value", copier_values())


@pytest.fixture
def copier(copier_value: str, endpoints, recorder, bound_tools):
    """The copier of this test: ``.copy(src, dest)`` between ``docker://`` references."""
    generation = catalog.generation_of(copier_value)
    started_or_tried = generation in endpoints.generations or generation_service(generation) in endpoints.errors
    if generation != catalog.HOST_GENERATION and not started_or_tried:
        # Decided before acting: the run never set out to start that root (a root that failed is an error).
        pytest.skip(f"{copier_value} runs from the root of {generation}, which no cell of this run starts")
    tool = bound_tools.get(copier_value, endpoints, role="copier")
    bound_tools.note(recorder, "copier", tool)
    return tool


@pytest.fixture(scope="session")
def copy_shape_set() -> dict[str, layer_shapes.Shape]:
    try:
        busybox = busybox_for(host_platform_name()).read_bytes()
    except OcimatrixError as exc:
        pytest.skip(str(exc))
    # The symlink-escape shape's target only has to be a path: nothing of a copy is ever unpacked.
    return layer_shapes.all_shapes("/nonexistent/ocimatrix-copies", (), busybox=busybox)


def push_built(registry: str, repository: str, tag: str, image: layer_shapes.ShapeImage) -> str:
    """Push a shape image's blobs and manifest to ``repository:tag``; returns the reference."""
    with RegistryClient(registry, plain_http=True) as client:
        for blob in dict.fromkeys((image.config, *image.blobs)):
            client.push_blob(repository, blob)
        client.put_manifest(repository, tag, image.manifest, mediatypes.OCI_MANIFEST)
    return f"{registry}/{repository}:{tag}"


@pytest.fixture
def source(endpoints, copy_shape_set, worker_cache, shape: str) -> tuple[str, copies.ImageDigests]:
    """(reference, digests) of ``shape`` as the harness pushed it, once per worker."""
    skip_unless_started(endpoints, "registry", "embedded registry")
    pushed = worker_cache["copies sources"]
    if shape not in pushed:
        image = layer_shapes.build_shape_image(copy_shape_set[shape])
        # A repository of this worker's own: distribution rewrites a manifest's revision link on every PUT
        # of the same bytes, and a pull of the same manifest elsewhere (the layers suite's, another
        # worker's) meeting that rewrite gets a 500 that would be blamed on the engine.
        repository = f"{SOURCE_REPOSITORY}-{worker_name()}"
        try:
            ref = push_built(endpoints.registry, repository, f"{shape}-{run_token()}", image)
        except (RegistryError, OSError) as exc:
            raise HarnessError(f"pushing layer shape {shape} for the copies: {exc}") from None
        pushed[shape] = (ref, copies.of_manifest(image.manifest))
    return pushed[shape]


@pytest.fixture
def keep_ref(endpoints, source, worker_cache, shape: str) -> str:
    """The shape's manifest under a second tag of the same repository (the same bytes, the same digest)."""
    kept = worker_cache["copies kept tags"]
    if shape not in kept:
        ref, _ = source
        repository, _, tag = ref.removeprefix(f"{endpoints.registry}/").rpartition(":")
        try:
            with RegistryClient(endpoints.registry, plain_http=True) as client:
                body, media_type, _ = client.get_manifest(repository, tag)
                client.put_manifest(repository, f"{tag}-kept", body, media_type)
        except (RegistryError, OSError) as exc:
            raise HarnessError(f"tagging layer shape {shape} a second time: {exc}") from None
        kept[shape] = f"{endpoints.registry}/{repository}:{tag}-kept"
    return kept[shape]


@pytest.fixture
def scratch(endpoints) -> Iterator[Path]:
    """A directory for layouts and archives, under the run's state dir (a root sees it at the same path)."""
    parent = Path(endpoints.state_dir or tempfile.gettempdir()) / "copies"
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="copy-", dir=parent))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def target(endpoints, shape: str):
    """``target(tool) -> reference`` in another repository of the same registry, one per tool and worker."""

    def ref(tool: str) -> str:
        tag = f"{shape}-{tool.replace('@', '-')}-{worker_name()}-{run_token()}"[:128]
        return f"{endpoints.registry}/{COPY_REPOSITORY}:{tag}"

    return ref


@pytest.fixture
def read_registry(endpoints):
    """``read_registry(ref) -> ImageDigests``: what the registry serves for a copy. A copy the copier said
    it wrote and the registry doesn't have fails; a registry that can't answer is the harness's fault."""

    def read(ref: str) -> copies.ImageDigests:
        repository, _, tag = ref.removeprefix(f"{endpoints.registry}/").rpartition(":")
        try:
            with RegistryClient(endpoints.registry, plain_http=True) as client:
                body, media_type, _ = client.get_manifest(repository, tag)
        except RegistryError as exc:
            if exc.status == 404:
                fail_with(f"the copy {ref} is not in the registry", step="GET the copy's manifest", answer=str(exc))
            raise HarnessError(f"reading back the copy {ref}: {exc}") from None
        found = copies.of_manifest(body)
        return dataclasses.replace(found, media_type=found.media_type or media_type)

    return read
