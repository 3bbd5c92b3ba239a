"""Fixtures of the signatures suite: the cell's registry, the writers and readers, and what each wrote.

- Writers are every tool the catalog gives the ``signer`` or ``attacher`` role, in each root
  generation it exists in (``writer_name``, ``matrix.suite_tools``); readers are the same tools plus
  the harness's own client (``reader_name`` ``harness``), which reads the referrers API or the
  referrers tag schema directly.
- ``bench``: per worker and registry, the images the harness pushed with its own client (one per
  writer, so a reader's answer is about one writer's work) and what each writer said it wrote. A
  writer's refusal is kept and fails every cell that needs its work, with its own words; a harness
  fault (the registry gone) is never kept.
- ``keyring``: the worker's keys, certificates and trust policy, made under the run's state directory
  (which the roots see at the same path), removed at the end of the session and never reported.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ocimatrix import evidence
from ocimatrix.distribution.context import DistContext, safe_component
from ocimatrix.engines.signing import Attacher, Keyring, Signer, Written
from ocimatrix.errors import EngineError, HarnessError, ServiceUnavailable, fail_with
from ocimatrix.matrix import suite_tools
from ocimatrix.plugin.items import MATRIX_KEY
from ocimatrix.registries import RegistryPool, RegistryTarget, TargetUnavailable, require_answering
from ocimatrix.tools import catalog

HARNESS = "harness"  # the reader that is the harness's own distribution client
SUITE = "signatures"


def writer_values() -> list[str]:
    """``name@generation`` for each signer and attacher of each root generation, in catalog order."""
    return suite_tools(SUITE)


def attacher_values() -> list[str]:
    """The writers that also push artifacts of their own (the catalog's ``attacher`` role)."""
    return [name for name in writer_values() if "attacher" in catalog.lookup(name).roles]


def _copies_into_its_own_registry(item: pytest.Item) -> bool:
    """A copy case (``test_signed_copies``) whose destination is the cell's own registry: copies go to another."""
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    plan, cell = params.get("copy_plan"), params.get("cell")
    return plan is not None and isinstance(cell, dict) and plan.destination == cell.get("registry")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The suite runs only when the matrix's ``suites:`` names it: it needs the roots its writers come
    from, which a matrix running every suite by default (no ``suites:``) does not prepare. A copy into
    the registry it copies from is no case."""
    matrix = config.stash.get(MATRIX_KEY, None)
    if matrix is None:
        return
    named = SUITE in matrix.suites
    here = Path(__file__).parent
    drop = [i for i in items if here in Path(i.path).parents and (not named or _copies_into_its_own_registry(i))]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [i for i in items if i not in drop]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "writer_name" in metafunc.fixturenames:
        metafunc.parametrize("writer_name", writer_values())
    if "attacher_name" in metafunc.fixturenames:
        metafunc.parametrize("attacher_name", attacher_values())
    if "reader_name" in metafunc.fixturenames:
        metafunc.parametrize("reader_name", [*writer_values(), HARNESS])


@pytest.fixture(scope="session")
def registry_pool(request: pytest.FixtureRequest, matrix) -> Iterator[RegistryPool]:
    pool = RegistryPool(matrix.registries, lambda: request.getfixturevalue("endpoints"))
    yield pool
    pool.close()


@pytest.fixture
def registry_target(cell, registry_pool: RegistryPool, recorder) -> RegistryTarget:
    name = cell["registry"]
    settings = dict(registry_pool.registries.get(name) or {})
    try:
        target = registry_pool.target(name)
    except TargetUnavailable as exc:
        if settings.get("embedded") or settings.get("image"):
            raise ServiceUnavailable(f"registry '{name}'", str(exc)) from None
        pytest.skip(str(exc))
    if target.scheme != "http" or target.auth_type != "none":
        pytest.skip(
            f"registry {name} ({target.scheme}, auth {target.auth_type}): the signatures suite drives the "
            "tools against plain-HTTP registries without auth only"
        )
    require_answering(target, "the cell")
    recorder.add("registry", target.describe())
    if target.version:
        recorder.versions[f"registry:{target.name}"] = target.version
    return target


@pytest.fixture(scope="session")
def keyring(endpoints, run_id: str) -> Iterator[Keyring]:
    if not endpoints.state_dir:
        raise HarnessError("no state directory for the run's services: the signers' keys have nowhere to live")
    directory = Path(endpoints.state_dir) / "signatures" / safe_component(run_id)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    yield Keyring(directory)
    shutil.rmtree(directory, ignore_errors=True)


def _bound(name: str, endpoints, bound_tools, keyring: Keyring) -> Signer:
    tool = bound_tools.get(name, endpoints, role=catalog.lookup(name).roles[0])
    assert isinstance(tool, Signer)
    try:
        tool.prepare(keyring)
    except EngineError as exc:
        fail_with(
            f"{tool.label} could not make its keys: {exc}", step=exc.step or "prepare", answer=exc.answer or str(exc)
        )
    return tool


@pytest.fixture
def writer(writer_name: str, endpoints, bound_tools, keyring: Keyring, recorder) -> Signer:
    tool = _bound(writer_name, endpoints, bound_tools, keyring)
    bound_tools.note(recorder, "writer", tool)
    return tool


@pytest.fixture
def attacher(attacher_name: str, endpoints, bound_tools, keyring: Keyring, recorder) -> Attacher:
    """An attacher as the writer of an artifact cell (recorded as the cell's ``writer``)."""
    tool = _bound(attacher_name, endpoints, bound_tools, keyring)
    assert isinstance(tool, Attacher)
    bound_tools.note(recorder, "writer", tool)
    return tool


@pytest.fixture
def all_writers(endpoints, bound_tools, keyring: Keyring, recorder) -> list[Signer]:
    """Every writer, bound and ready, in catalog order (the order they write for one image)."""
    tools = [_bound(name, endpoints, bound_tools, keyring) for name in writer_values()]
    for tool in tools:
        bound_tools.note(recorder, f"writer {tool.label}", tool)
    return tools


@pytest.fixture
def reader(reader_name: str, endpoints, bound_tools, keyring: Keyring, recorder) -> Signer | None:
    """The reader's driver; None for the harness's own client."""
    if reader_name == HARNESS:
        return None
    tool = _bound(reader_name, endpoints, bound_tools, keyring)
    bound_tools.note(recorder, "reader", tool)
    return tool


@dataclass
class Signed:
    """An image the harness pushed and what one writer wrote for it (or its refusal)."""

    repo: str
    digest: str
    ref: str
    written: Written | None = None
    refusal: EngineError | None = None
    recorded: evidence.Recorder = field(default_factory=evidence.Recorder)  # the push and the write, as commands

    def work(self) -> Written:
        """What was written; the writer's refusal fails the cell with its own words."""
        if self.refusal is not None:
            exc = self.refusal
            fail_with(f"the writer refused: {exc}", step=exc.step or "write", answer=exc.answer or str(exc))
        assert self.written is not None
        return self.written


@dataclass
class Bench:
    """One registry as one worker uses it: the harness's client, its images, and what was written."""

    ctx: DistContext
    signed: dict[str, Signed] = field(default_factory=dict)

    def subject(self, label: str) -> tuple[str, str, str]:
        """A fresh image pushed by the harness's own client: (repository, digest, reference for the tools)."""
        repo = self.ctx.new_repo(label)
        image = self.ctx.push_image(repo)
        return repo, image.digest, f"{self.ctx.target.host}/{repo}@{image.digest}"

    def written_by(self, writer: Signer, keyring: Keyring) -> Signed:
        """The writer's image and work, done once per worker; every cell gets the commands that did it."""
        if writer.label not in self.signed:
            # A harness fault (the registry gone) raises out of here and is never kept.
            with evidence.scoped() as shared:
                repo, digest, ref = self.subject(f"signed-by-{writer.label}")
                found = Signed(repo, digest, ref, recorded=shared)
                try:
                    found.written = writer.write(ref, keyring)
                except EngineError as exc:
                    found.refusal = exc
            self.signed[writer.label] = found
        signed = self.signed[writer.label]
        evidence.current().extend(signed.recorded)
        return signed

    def close(self) -> None:
        self.ctx.client.close()


@pytest.fixture(scope="session")
def benches() -> Iterator[dict[str, Bench]]:
    found: dict[str, Bench] = {}
    yield found
    for bench in found.values():
        bench.close()


@pytest.fixture
def bench(registry_target: RegistryTarget, benches: dict[str, Bench], run_id: str) -> Bench:
    if registry_target.name not in benches:
        benches[registry_target.name] = Bench(DistContext(registry_target, f"{run_id}-sig"))
    return benches[registry_target.name]
