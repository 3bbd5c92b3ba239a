"""Copies that keep what points at the image: a signed and attested image copied to another registry.

Every writer of the suite (each cosign version's signature, notation's signature, each oras version's
attachment) writes for one image the harness pushed to the cell's registry; then each way a tool copies
an image (each driver's ``copy_ways``: ``skopeo copy --all`` plain and with sigstore attachments,
``crane copy`` and ``crane copy --all-tags``, ``oras cp -r``, ``cosign copy``) copies it to another
registry of the suite's line (the case's ``-to-<registry>``), and every reader looks there.

- What each copy kept and lost is evidence (``signed_copy``): the image's digest, each written thing
  at the destination (kept, rewritten, unlisted or lost, ``distribution/copied.py``), the destination's
  referrers listing, signature tag and tags, what each verifier said at the source and there, what
  each lister listed.
- A copy that loses what the user asked it to keep fails (``CopyWay.keeps``): ``oras cp -r`` the
  referrers, ``cosign copy`` cosign's signatures, skopeo with sigstore attachments the signatures
  under ``.sig`` tags, ``crane copy --all-tags`` every tag; and any copy the image itself. The answer
  is the destination's listing or the verifier's own words there. ``skopeo copy --all`` and ``crane
  copy`` are asked for the image only: what they drop is recorded, not failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from ocimatrix import evidence
from ocimatrix.distribution import copied, referrers
from ocimatrix.distribution.context import DistContext
from ocimatrix.engines.signing import REFERRER, SIGNATURE_TAG, CopyWay, Keyring, SignedCopier, Signer, Written
from ocimatrix.errors import EngineError, ServiceUnavailable, fail_with
from ocimatrix.matrix import suite_tools
from ocimatrix.plugin.items import MATRIX_KEY
from ocimatrix.plugin.verdicts import is_harness_fault
from ocimatrix.registries import RegistryPool, TargetUnavailable
from ocimatrix.specs import spec
from ocimatrix.tools import catalog

pytestmark = pytest.mark.axes("registry")

SUITE = "signatures"
SIGNED_TAG = "signed"


@dataclass(frozen=True)
class CopyPlan:
    """A way to copy (a tool and one of its ``copy_ways``) and the registry it copies to."""

    tool: str  # as a cell names it (``name@generation``)
    role: str
    way: CopyWay
    destination: str

    @property
    def id(self) -> str:
        return f"{self.tool}-{self.way.name}-to-{self.destination}"


def copy_tools() -> list[tuple[str, str]]:
    """(tool as a cell names it, role) of every tool whose driver copies a signed image: the writers of
    each root generation (both versions), and the catalog's copiers as the copies suite takes them
    (this host's, else their first generation's)."""
    found = []
    for value in suite_tools(SUITE):
        tool = catalog.lookup(value)
        found.append((value, tool.roles[0]))
    for tool in (t for t in catalog.TOOLS if "copier" in t.roles):
        host = catalog.HOST_GENERATION in tool.generations and tool.provision_on
        generation = catalog.HOST_GENERATION if host else next(iter(tool.generations), "")
        found.append((catalog.spelled(tool.name, generation), "copier"))
    return [(v, role) for v, role in found if getattr(catalog.lookup(v).driver_class(), "copy_ways", ())]


def copy_plans(registries: tuple[str, ...]) -> list[CopyPlan]:
    return [
        CopyPlan(value, role, way, destination)
        for value, role in copy_tools()
        for way in catalog.lookup(value).driver_class().copy_ways
        for destination in registries
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "copy_plan" not in metafunc.fixturenames:
        return
    matrix = metafunc.config.stash.get(MATRIX_KEY, None)
    registries = tuple((matrix.suites.get(SUITE) or {}).get("registry", ())) if matrix is not None else ()
    plans = copy_plans(registries)
    metafunc.parametrize("copy_plan", plans, ids=[p.id for p in plans])


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture
def copier(copy_plan: CopyPlan, endpoints, bound_tools, keyring: Keyring, recorder) -> SignedCopier:
    tool = bound_tools.get(copy_plan.tool, endpoints, role=copy_plan.role)
    if isinstance(tool, Signer):
        try:
            tool.prepare(keyring)
        except EngineError as exc:
            fail_with(f"{tool.label} could not make its keys: {exc}", step=exc.step or "prepare", answer=exc.answer)
    bound_tools.note(recorder, "copier", tool)
    assert isinstance(tool, SignedCopier)
    return tool


@pytest.fixture(scope="module")
def destinations() -> dict[str, DistContext]:
    found: dict[str, DistContext] = {}
    yield found
    for ctx in found.values():
        ctx.client.close()


@pytest.fixture
def destination(copy_plan: CopyPlan, registry_pool: RegistryPool, destinations, run_id: str, recorder) -> DistContext:
    """The registry copied to, checked up before the copy (down: the cell is an error)."""
    name = copy_plan.destination
    if name not in destinations:
        try:
            target = registry_pool.target(name)
        except TargetUnavailable as exc:
            raise ServiceUnavailable(f"registry '{name}' (the copy's destination)", str(exc)) from None
        if target.scheme != "http" or target.auth_type != "none":
            pytest.skip(f"destination registry {name}: the copies go to plain-HTTP registries without auth only")
        destinations[name] = DistContext(target, f"{run_id}-copy")
    ctx = destinations[name]
    _probe(ctx, "before the copy")
    recorder.add("destination", ctx.target.describe())
    if ctx.target.version:
        recorder.versions[f"registry:{ctx.target.name}"] = ctx.target.version
    return ctx


def _probe(ctx: DistContext, when: str) -> None:
    """``GET /v2/`` of the destination (the cell's service watch covers the source only): a registry that
    answers nothing raises ``ServiceUnavailable`` (the cell is an error)."""
    ctx.client.request("GET", "/v2/", what=f"GET /v2/ of the destination {when}")


@dataclass
class SignedSource:
    """The signed image at the source, and what each writer wrote for it (as the harness read it)."""

    ref: str  # host/repository:tag
    held: copied.Held
    items: list[copied.Item] = field(default_factory=list)
    written: dict[str, Written] = field(default_factory=dict)  # writer -> what it said it wrote
    refused: dict[str, str] = field(default_factory=dict)  # writer -> its words
    verified: dict[tuple[str, str], bool] = field(default_factory=dict)  # (reader, writer) -> at the source
    recorded: evidence.Recorder = field(default_factory=evidence.Recorder)

    @property
    def by_digest(self) -> str:
        host = self.ref.partition("/")[0]
        return f"{host}/{self.held.repo}@{self.held.digest}"


def _sign(bench, writers: list[Signer], keyring: Keyring) -> SignedSource:
    ctx = bench.ctx
    repo = ctx.new_repo("signed-for-copies")
    image = ctx.push_image(repo, SIGNED_TAG)
    source = SignedSource(f"{ctx.target.host}/{repo}:{SIGNED_TAG}", copied.Held(repo, SIGNED_TAG, image.digest))
    for writer in writers:
        before = set(referrers.list_referrers(ctx.client, repo, image.digest).digests())
        try:
            written = writer.write(source.by_digest, keyring)
        except EngineError as exc:
            if is_harness_fault(exc):
                raise
            source.refused[writer.label] = exc.answer or str(exc)
            continue
        source.written[writer.label] = written
        if written.how == SIGNATURE_TAG:
            tag = referrers.signature_tag(image.digest)
            digest = copied.tags_of(ctx.client, repo).get(tag, "")
            if digest:
                source.items.append(copied.Item(writer.label, writer.family, SIGNATURE_TAG, digest))
            continue
        after = referrers.list_referrers(ctx.client, repo, image.digest).digests()
        source.items += [copied.Item(writer.label, writer.family, REFERRER, d) for d in after if d not in before]
    source.held = copied.read_held(ctx.client, repo, SIGNED_TAG, image.digest, source.items)
    for reader in (w for w in writers if w.verifies):
        for item in (i for i in source.items if i.family == reader.family):
            back = reader.read(source.by_digest, keyring, source.written[item.writer])
            source.verified[(reader.label, item.writer)] = back.found
    return source


@pytest.fixture
def signed_source(bench, all_writers: list[Signer], keyring: Keyring, worker_cache) -> SignedSource:
    """The cell's registry's signed image, written once per worker; every cell gets the commands."""
    cache = worker_cache["signed copies"]
    name = bench.ctx.target.name
    if name not in cache:
        # A harness fault (a registry gone) raises out of here and is never kept.
        with evidence.scoped() as shared:
            found = _sign(bench, all_writers, keyring)
            found.recorded = shared
        cache[name] = found
    source = cache[name]
    evidence.current().extend(source.recorded)
    return source


# --- the copy ---------------------------------------------------------------------------------------


def _read_destination(source: SignedSource, ctx: DistContext, repo: str, readers: list[Signer], keyring: Keyring):
    """The harness's read of the destination, each verifier's answer there, each lister's listing."""
    held = copied.read_held(ctx.client, repo, SIGNED_TAG, source.held.digest, source.items)
    ref = f"{ctx.target.host}/{repo}@{held.digest or source.held.digest}"
    verified, listed = [], []
    for reader in readers:
        if not reader.verifies:
            holds = sorted(held.listed)
            try:
                back = reader.read(ref, keyring, Written("", "", REFERRER))
            except EngineError as exc:
                if is_harness_fault(exc):
                    raise
                # A lister's own trouble is its cell's in test_signatures, not this copy's: recorded.
                listed.append({"reader": reader.label, "listed": None, "registry holds": holds, "answer": exc.answer})
                continue
            agrees = sorted(back.listed) == holds
            listed.append({"reader": reader.label, "listed": back.listed, "registry holds": holds, "agrees": agrees})
            continue
        for item in (i for i in source.items if i.family == reader.family):
            at_source = source.verified.get((reader.label, item.writer), False)
            written = source.written[item.writer]
            if not at_source:
                not_asked = "not asked: it did not verify this signature at the source either"
                verified.append(copied.Verified(reader.label, item.writer, "", False, None, not_asked))
                continue
            back = reader.read(ref, keyring, written)
            verified.append(copied.Verified(reader.label, item.writer, back.step, True, back.found, back.answer))
    return held, verified, listed


@spec("distribution-spec/spec.md#referrers-tag-schema", "A copy to another registry keeps what it was asked to keep")
def test_copy_keeps_what_it_was_asked_to_keep(
    cell,
    copy_plan: CopyPlan,
    signed_source: SignedSource,
    copier,
    destination: DistContext,
    all_writers,
    keyring,
    recorder,
):
    source, way = signed_source, copy_plan.way
    evidence.judging("copier")  # the destination registry only keeps what it is given
    repo = destination.new_repo(f"copied-by-{copy_plan.tool}-{way.name}")
    dest_ref = f"{destination.target.host}/{repo}:{SIGNED_TAG}"
    try:
        said = copier.copy_signed(way, source.ref, dest_ref, keyring)
    except EngineError as exc:
        if is_harness_fault(exc):
            raise
        _probe(destination, "when the copy was refused")  # a destination gone is no refusal of the copier's
        fail_with(
            f"{copier.label} refused to copy ({way.command}): {exc}",
            step=exc.step or way.command,
            answer=exc.answer or str(exc),
        )
    held, verified, listed = _read_destination(source, destination, repo, all_writers, keyring)
    states = copied.states(source.items, source.held.digest, held)
    lost = copied.losses(way, source.held, held, source.items, verified)
    recorder.add(
        "signed_copy",
        {
            "copier": copier.label,
            "way": way.name,
            "command": way.command,
            "keeps": way.keeps,
            "output": said[-1500:],
            "source": {"registry": cell["registry"], **source.held.to_json()},
            "destination": {"registry": copy_plan.destination, **held.to_json()},
            "digest_kept": held.digest == source.held.digest,
            "items": [
                {**i.to_json(), "state": states[i.digest], "promised": copied.promised(way, i)} for i in source.items
            ],
            "refused_at_source": source.refused,
            "verified": [{**v.to_json(), "judges": copied.speaks_for(way, source.items, v)} for v in verified],
            "listed": listed,
            "lost_promised": [f"{loss.step}: {loss.message}" for loss in lost],
        },
    )
    if lost:
        first = lost[0]
        more = f" (and {len(lost) - 1} more, in the evidence)" if len(lost) > 1 else ""
        fail_with(
            f"{copier.label} ({way.command}) was asked to keep {way.keeps}: {first.message}{more}",
            step=first.step,
            answer=first.answer,
        )
