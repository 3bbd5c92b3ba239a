"""The signatures suite and the referrers API checks, on recorded answers (issue 21, items 2 and 6).

- The signatures suite's listings (``matrix/default.yaml``) are confirmed by the answers the tools
  really gave in a run here (cosign 3.1.1's index entry, cosign 2.5.0's verify), never by another
  answer, another step, the harness's words or a dead service.
- The harness's referrers reader (``distribution/referrers.py``) on a replayed registry: the API when
  it answers, the referrers tag schema's index when it answers 404, a wrong answer failed with the
  registry's words; an entry that contradicts its manifest (cosign 3.1.1's, as recorded) is named.
- The distribution suite's referrers API checks, against a registry whose API is present but wrong
  (a referrer left out, a descriptor changed, the wrong media type, a filter claimed but not applied,
  an unknown subject with referrers, a 500): each fails with the registry's answer, and the same
  check passes on the correct answer.
- The drivers read their tools' own output: ``oras discover`` of oras 1.2 and 1.3 (recorded JSON),
  ``cosign verify`` and ``notation verify`` refusals.
- The suite's own test functions, with stand-in tools writing through the replayed registry: a
  verifier that doesn't verify its own family's signature, or accepts another tool's artifact, fails;
  a lister listing more or less than the registry holds fails; a writer's refusal fails every cell
  needing its work with its words; a writer that drops an earlier entry from the index fails.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from suite_modules import load_suite_module
from test_distribution_verdicts import INDEX, FakeRegistry, _ctx, _error, _failure, _run
from verdict_cases import raised

from ocimatrix.distribution import discovery, referrers
from ocimatrix.distribution.content import (
    Blob,
    Manifest,
    make_artifact,
    make_image,
    make_index,
    referrer_descriptor,
    referrers_tag,
)
from ocimatrix.engines.base import CommandResult
from ocimatrix.engines.signing import REFERRER, SIGNATURE_TAG, Keyring, ReadBack, Written
from ocimatrix.errors import ImplementationFailure, ServiceUnavailable
from ocimatrix.matrix import load_matrix, suite_tools
from ocimatrix.plugin.verdicts import decide
from ocimatrix.tools import catalog

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
EMPTY = "application/vnd.oci.empty.v1+json"

# --- the listings, on the answers the tools gave in a run here (embedded, embedded-trixie, embedded-crane) ---

RECORDED = {
    "test_written_entries_agree_with_their_manifests[cosign@sid-*]": (
        "index entry against its manifest",
        f"index entry artifactType {EMPTY}, manifest artifactType {BUNDLE}, config mediaType {EMPTY}",
    ),
    "test_reader_finds_what_the_writer_wrote[cosign@sid-cosign@trixie-*]": (
        "cosign verify --new-bundle-format=true",
        "exit 10: WARNING: Skipping tlog verification is an insecure practice that lacks transparency and "
        "auditability verification for the signature.\nError: no signatures found\nerror during command "
        "execution: no signatures found",
    ),
}
OTHER_ANSWERS = (
    f"index entry artifactType {BUNDLE}, manifest artifactType {BUNDLE}, config mediaType {EMPTY}",
    "index entry artifactType (none), manifest artifactType (none), config mediaType application/json",
    "exit 10: Error: no matching signatures: invalid signature when validating ASN.1 encoded signature",
    "exit 1: Error: GET http://127.0.0.1:5000/v2/: connection refused",
    "",
)


def _listings() -> list:
    matrix = load_matrix(ROOT / "matrix/default.yaml")
    return [pytest.param(e, id=e["test"]) for e in matrix.expectations if e["test"] in RECORDED]


def _suite_failure(step: str, answer: str) -> BaseException:
    return raised(ImplementationFailure(f"the suite's sentence about {answer[:30]}", step=step, answer=answer))


def test_every_signatures_listing_has_a_recorded_answer():
    assert len(_listings()) == len(RECORDED)


@pytest.mark.parametrize("expected", _listings())
def test_the_recorded_answer_confirms_the_listing(expected):
    step, answer = RECORDED[expected["test"]]
    assert decide(_suite_failure(step, answer), expected=expected).outcome == "xfailed"


@pytest.mark.parametrize("expected", _listings())
def test_nothing_else_confirms_the_listing(expected):
    step, real = RECORDED[expected["test"]]
    for answer in OTHER_ANSWERS:
        if answer != real:
            assert decide(_suite_failure(step, answer), expected=expected).outcome == "failed", answer
    for other_step in ("cosign verify --new-bundle-format=false", "notation verify", "signature tag payload"):
        assert decide(_suite_failure(other_step, real), expected=expected).outcome == "failed"
    assert decide(raised(AssertionError(expected["match"])), expected=expected).outcome == "failed"
    dead = ServiceUnavailable("registry http://127.0.0.1:5000", "ConnectError")
    assert decide(raised(dead), expected=expected).outcome == "error"


# --- the harness's referrers reader ------------------------------------------------------------


def _subject_with_referrers(ctx, artifact_types=("application/vnd.example.sbom.v1",)):
    repo = ctx.new_repo("sig")
    subject = ctx.push_image(repo, "v1")
    artifacts = [make_artifact(subject.descriptor(), t) for t in artifact_types]
    for artifact in artifacts:
        for blob in artifact.blobs:
            ctx.push_blob(repo, blob)
        ctx.push_manifest(repo, artifact.digest, artifact)
    return repo, subject, artifacts


def test_the_reader_takes_the_api_when_the_registry_has_it():
    ctx = _ctx(FakeRegistry(referrers_api=True))
    repo, subject, artifacts = _subject_with_referrers(ctx)
    listing = referrers.list_referrers(ctx.client, repo, subject.digest)
    assert listing.path == referrers.API and listing.digests() == [artifacts[0].digest]
    assert referrers.entry_problems(ctx.client, repo, subject.digest, listing.entries) == []


def _push_tag_index(ctx, repo, subject, entries):
    ctx.push_manifest(repo, referrers_tag(subject.digest), make_index(entries))


def test_without_the_api_the_reader_takes_the_referrers_tag():
    ctx = _ctx(FakeRegistry(referrers_api=False))
    repo, subject, artifacts = _subject_with_referrers(ctx)
    empty = referrers.list_referrers(ctx.client, repo, subject.digest)
    assert empty.entries == [] and not empty.index_present and empty.path.startswith("referrers tag sha256-")
    _push_tag_index(ctx, repo, subject, [referrer_descriptor(artifacts[0])])
    listing = referrers.list_referrers(ctx.client, repo, subject.digest)
    assert listing.path == f"referrers tag {referrers_tag(subject.digest)}" and listing.digests() == [
        artifacts[0].digest
    ]


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (httpx.Response(500, text="boom"), "200 (an image index) or, without the API, 404"),
        (httpx.Response(200, headers={"Content-Type": "application/json"}, content=b'{"manifests": []}'), "MUST be"),
        (
            httpx.Response(200, headers={"Content-Type": INDEX}, content=b'{"manifests": {"digest": "x"}}'),
            "no image index",
        ),
    ],
)
def test_a_wrong_referrers_answer_fails_with_the_registry_words(answer, words):
    registry = FakeRegistry(referrers_api=True)
    registry.overrides.append(lambda r: answer if "/referrers/" in r.url.path else None)
    ctx = _ctx(registry)
    repo, subject, _ = _subject_with_referrers(ctx)
    with pytest.raises(ImplementationFailure, match=re.escape(words)) as info:
        referrers.list_referrers(ctx.client, repo, subject.digest)
    assert info.value.answer.startswith(f"{answer.status_code} ")
    assert decide(raised(info.value)).outcome == "failed"


def _cosign_bundle(subject) -> bytes:
    """cosign 3.1.1's bundle manifest as a run here stored it (its layer and created date shortened)."""
    document = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": EMPTY, "size": 2, "digest": "sha256:" + "44136fa3" * 8, "artifactType": BUNDLE},
        "layers": [{"mediaType": BUNDLE, "size": 659, "digest": "sha256:" + "5b8f22fd" * 8}],
        "annotations": {"dev.sigstore.bundle.content": "dsse-envelope"},
        "subject": subject.descriptor(),
        "artifactType": BUNDLE,
    }
    return json.dumps(document).encode()


def test_an_entry_contradicting_its_manifest_is_named_as_cosign_3_wrote_it():
    ctx = _ctx(FakeRegistry(referrers_api=False))
    repo = ctx.new_repo("cosign")
    subject = ctx.push_image(repo, "v1")
    body = _cosign_bundle(subject)
    bundle = Manifest(body, "application/vnd.oci.image.manifest.v1+json")
    ctx.push_manifest(repo, bundle.digest, bundle)
    # cosign 3.1.1 lists it under the empty config's media type (recorded index entry).
    entry = {"mediaType": bundle.media_type, "size": len(body), "digest": bundle.digest, "artifactType": EMPTY}
    _push_tag_index(ctx, repo, subject, [entry])
    listing = referrers.list_referrers(ctx.client, repo, subject.digest)
    (problem,) = referrers.entry_problems(ctx.client, repo, subject.digest, listing.entries)
    assert problem.answer == RECORDED["test_written_entries_agree_with_their_manifests[cosign@sid-*]"][1]
    # The same entry with the manifest's artifactType agrees.
    _push_tag_index(ctx, repo, subject, [{**entry, "artifactType": BUNDLE}])
    listing = referrers.list_referrers(ctx.client, repo, subject.digest)
    assert referrers.entry_problems(ctx.client, repo, subject.digest, listing.entries) == []


@pytest.mark.parametrize(
    ("bend", "problem"),
    [
        ({"size": 1}, "digest or size"),
        ({"mediaType": "application/vnd.docker.distribution.manifest.v2+json"}, "mediaType"),
    ],
)
def test_an_entry_with_another_size_or_media_type_is_named(bend, problem):
    ctx = _ctx(FakeRegistry(referrers_api=False))
    repo, subject, artifacts = _subject_with_referrers(ctx)
    _push_tag_index(ctx, repo, subject, [{**referrer_descriptor(artifacts[0]), **bend}])
    listing = referrers.list_referrers(ctx.client, repo, subject.digest)
    found = referrers.entry_problems(ctx.client, repo, subject.digest, listing.entries)
    assert [p for p in found if problem in p.problem]


def test_an_entry_whose_manifest_has_another_subject_is_named():
    ctx = _ctx(FakeRegistry(referrers_api=False))
    repo, subject, artifacts = _subject_with_referrers(ctx)
    other = ctx.push_image(repo, "other", make_image("other"))
    _push_tag_index(ctx, repo, other, [referrer_descriptor(artifacts[0])])
    listing = referrers.list_referrers(ctx.client, repo, other.digest)
    (problem,) = referrers.entry_problems(ctx.client, repo, other.digest, listing.entries)
    assert "subject" in problem.problem


def test_a_signature_tag_payload_names_the_signed_digest():
    ctx = _ctx(FakeRegistry(referrers_api=False))
    repo = ctx.new_repo("sigtag")
    subject = ctx.push_image(repo, "v1")
    assert referrers.signed_digests(ctx.client, repo, subject.digest)[0] == []
    payload = json.dumps({"critical": {"image": {"docker-manifest-digest": subject.digest}}}).encode()
    signature = make_artifact(None)
    layer = Blob(payload, "application/vnd.dev.cosign.simplesigning.v1+json")
    ctx.push_blob(repo, layer)
    document = {**signature.document, "layers": [layer.descriptor()]}
    manifest = Manifest(json.dumps(document).encode(), "application/vnd.oci.image.manifest.v1+json")
    for blob in signature.blobs:
        ctx.push_blob(repo, blob)
    ctx.push_manifest(repo, referrers.signature_tag(subject.digest), manifest)
    assert referrers.signed_digests(ctx.client, repo, subject.digest)[0] == [subject.digest]


# --- item 6: the distribution suite's referrers API checks, the API present but wrong ------------


def _bend_referrers(registry: FakeRegistry, change) -> None:
    """Every referrers answer of ``registry`` passed through ``change(index, request)``."""

    def answer(request: httpx.Request) -> httpx.Response | None:
        if "/referrers/" not in request.url.path:
            return None
        served = registry.answer(request)
        index = json.loads(served.content)
        headers = dict(served.headers)
        change(index, request, headers)
        return httpx.Response(served.status_code, headers=headers, content=json.dumps(index).encode())

    registry.overrides.append(answer)


def test_the_correct_api_passes_every_referrers_check():
    for check in (
        discovery.referrers_api,
        discovery.referrers_api_filter,
        discovery.referrers_of_unknown_subject,
        discovery.referrers_tag_schema,
    ):
        _run(check, FakeRegistry(referrers_api=True))


def _drop_last(index, request, headers):
    index["manifests"] = index["manifests"][:-1]


def _retype(index, request, headers):
    for entry in index["manifests"]:
        entry["artifactType"] = EMPTY


def _strip_annotations(index, request, headers):
    for entry in index["manifests"]:
        entry.pop("annotations", None)


def _json_type(index, request, headers):
    headers["content-type"] = "application/json"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (_drop_last, "is not listed"),
        (_retype, "has artifactType="),
        (_strip_annotations, "has annotations="),
        (_json_type, "the referrers list MUST be"),
    ],
)
def test_a_present_but_wrong_api_fails_the_referrers_check(change, words):
    registry = FakeRegistry(referrers_api=True)
    _bend_referrers(registry, change)
    failure = _failure(discovery.referrers_api, registry)
    assert words in str(failure) and failure.step == "referrers API"
    assert failure.answer.startswith("200 OK")


def test_a_filter_claimed_but_not_applied_fails():
    registry = FakeRegistry(referrers_api=True)

    def claim(index, request, headers):
        if request.url.params.get("artifactType"):
            headers["OCI-Filters-Applied"] = "artifactType"

    _bend_referrers(registry, claim)
    failure = _failure(discovery.referrers_api_filter, registry)
    assert "yet other types are listed" in str(failure)


def test_a_filter_applied_and_declared_passes():
    registry = FakeRegistry(referrers_api=True)

    def apply(index, request, headers):
        wanted = request.url.params.get("artifactType")
        if wanted:
            index["manifests"] = [m for m in index["manifests"] if m.get("artifactType") == wanted]
            headers["OCI-Filters-Applied"] = "artifactType"

    _bend_referrers(registry, apply)
    _run(discovery.referrers_api_filter, registry)


def test_an_unknown_subject_with_referrers_listed_fails():
    registry = FakeRegistry(referrers_api=True)
    invented = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "ab" * 32, "size": 9}
    _bend_referrers(registry, lambda index, request, headers: index["manifests"].append(invented))
    failure = _failure(discovery.referrers_of_unknown_subject, registry)
    assert "MUST be []" in str(failure)


def test_a_500_from_a_registry_declaring_the_api_fails():
    registry = FakeRegistry(referrers_api=True)
    registry.overrides.append(lambda r: _error(500, "UNKNOWN") if "/referrers/" in r.url.path else None)
    failure = _failure(discovery.referrers_api, registry)
    assert failure.answer.startswith("500 Internal Server Error")


# --- the drivers read their tools' own words ------------------------------------------------------

# oras discover --format json, as oras 1.2.0 (trixie) and 1.3.3 (sid) printed it in a run here.
ORAS_1_2 = {
    "manifests": [
        {
            "reference": "r@sha256:" + "a1" * 32,
            "digest": "sha256:" + "a1" * 32,
            "artifactType": "application/vnd.cncf.notary.signature",
        }
    ]
}
ORAS_1_3 = {
    "reference": "r@sha256:" + "b2" * 32,
    "digest": "sha256:" + "b2" * 32,
    "referrers": [
        {
            "reference": "r@sha256:" + "a1" * 32,
            "digest": "sha256:" + "a1" * 32,
            "artifactType": "application/vnd.cncf.notary.signature",
            "referrers": [],
        }
    ],
}


class _Site:
    """A root as a driver sees it, with the packaged versions a run's root recorded."""

    rootfs = "/nonexistent"

    def __init__(self, versions: dict[str, str] | None = None) -> None:
        self.tools = {k: {"version": v} for k, v in (versions or {"oras": "1.3.3-1", "cosign": "3.1.1-2"}).items()}

    def cli(self, argv):
        return list(argv)

    def environment(self, extra=None):
        return dict(extra or {})

    def version_of(self, tool):
        return self.tools.get(tool, {}).get("version", "")


class _Endpoints:
    def site(self, generation):
        return _Site()


def _driver(value: str, answer: CommandResult):
    from ocimatrix.engines.binding import bind

    driver = bind(value, _Endpoints(), role=catalog.lookup(value).roles[0])
    driver.run = lambda argv, keys, what, check=True: answer  # the tool's recorded answer
    return driver


@pytest.mark.parametrize("printed", [ORAS_1_2, ORAS_1_3])
def test_oras_discover_of_either_version_lists_the_direct_referrers(printed, tmp_path):
    driver = _driver("oras@sid", CommandResult(0, json.dumps(printed), ""))
    back = driver.read("r@sha256:" + "b2" * 32, Keyring(tmp_path), Written("x", "notation", REFERRER))
    assert back.found and back.listed == ["sha256:" + "a1" * 32]


def test_oras_discover_refusing_is_not_found(tmp_path):
    driver = _driver("oras@sid", CommandResult(1, "", "Error: failed to find referrers"))
    back = driver.read("r", Keyring(tmp_path), Written("x", "oras", REFERRER))
    assert not back.found and back.answer == "exit 1: Error: failed to find referrers"


def test_cosign_verify_reads_the_format_the_writer_wrote(tmp_path):
    recorded = RECORDED["test_reader_finds_what_the_writer_wrote[cosign@sid-cosign@trixie-*]"][1]
    driver = _driver("cosign@trixie", CommandResult(10, "", recorded.removeprefix("exit 10: ")))
    back = driver.read("r", Keyring(tmp_path), Written("cosign@sid", "cosign", REFERRER))
    assert (back.found, back.step) == (False, "cosign verify --new-bundle-format=true")
    back = driver.read("r", Keyring(tmp_path), Written("cosign@trixie", "cosign", SIGNATURE_TAG))
    assert back.step == "cosign verify --new-bundle-format=false"


def test_cosign_3_writes_a_bundle_and_2_a_signature_tag(tmp_path):
    three = _driver("cosign@sid", CommandResult(0, "", "Pushing signature to: r"))
    assert three.write("r", Keyring(tmp_path)).how == REFERRER
    two = _driver("cosign@trixie", CommandResult(0, "", "Pushing signature to: r"))
    two.site = _Site({"cosign": "2.5.0-2+b5"})
    assert two.write("r", Keyring(tmp_path)).how == SIGNATURE_TAG


# --- the suite's writers come from the catalog ----------------------------------------------------


def test_the_writers_are_every_signer_and_attacher_of_the_roots():
    found = suite_tools("signatures")
    assert found and all(catalog.lookup(v).in_root(catalog.generation_of(v)) for v in found)
    assert {catalog.lookup(v).roles[0] for v in found} == {"signer", "attacher"}
    assert suite_tools("distribution") == []


# --- the suite's own verdicts, with stand-in tools on a replayed registry -------------------------

SUITE = ROOT / "suites" / "signatures"


suite_conftest = load_suite_module("ocimatrix_signatures_conftest", SUITE / "conftest.py")
suite_tests = load_suite_module("ocimatrix_signatures_tests", SUITE / "test_signatures.py")


class StandIn:
    """A writer and reader standing in for a tool: it writes a referrer through the replayed registry
    (keeping the referrers tag's index as a tool does) and answers reads as told."""

    def __init__(self, ctx, label, family, *, verifies=True, entry_type=None, drop=False, found=True, listed=None):
        self.ctx, self.label, self.family, self.verifies = ctx, label, family, verifies
        self.entry_type, self.drop, self.found, self.listed = entry_type, drop, found, listed
        self.artifact_type = f"application/vnd.example.{label.replace('@', '.')}.v1"

    def write(self, ref, keys):
        host_repo, _, digest = ref.partition("@")
        repo = host_repo.split("/", 1)[1]
        subject = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": 1}
        artifact = make_artifact(subject, self.artifact_type)
        for blob in artifact.blobs:
            self.ctx.push_blob(repo, blob)
        self.ctx.push_manifest(repo, artifact.digest, artifact)
        tag = referrers_tag(digest)
        got = self.ctx.get_manifest(repo, tag, "read index")
        entries = json.loads(got.content)["manifests"] if got.status_code == 200 else []
        entries = [] if self.drop else entries
        entry = referrer_descriptor(artifact)
        if self.entry_type:
            entry["artifactType"] = self.entry_type
        self.ctx.push_manifest(repo, tag, make_index([*entries, entry]))
        return Written(self.label, self.family, REFERRER, self.artifact_type, "written")

    def read(self, ref, keys, written):
        listed = self.listed(ref) if callable(self.listed) else (self.listed or [])
        answer = f"exit {0 if self.found else 1}: the tool's words"
        return ReadBack(self.label, self.found, answer, listed, step=f"{self.label} read")


def _bench():
    ctx = _ctx(FakeRegistry(referrers_api=False))
    return ctx, suite_conftest.Bench(ctx)


def _verdict(call) -> str:
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 - the verdict of whatever the test raised
        return decide(raised(exc)).outcome
    return "passed"


def test_a_verifier_of_its_own_family_must_verify(tmp_path):
    ctx, bench = _bench()
    writer = StandIn(ctx, "signer@two", "kind")
    keys = Keyring(tmp_path)
    run = suite_tests.test_reader_finds_what_the_writer_wrote
    for reader, outcome in (
        (StandIn(ctx, "signer@one", "kind"), "passed"),
        (StandIn(ctx, "signer@one", "kind", found=False), "failed"),
    ):
        recorder = evidence_begin()
        verdict = _verdict(lambda r=reader, rec=recorder: run({}, bench, writer, r, keys, rec))
        assert verdict == outcome
    assert recorder.evidence["cross_version"] == "signer@two signed, signer@one did not verify"


def test_a_verifier_accepting_another_tools_artifact_fails(tmp_path):
    ctx, bench = _bench()
    writer, keys = StandIn(ctx, "attacher@one", "other"), Keyring(tmp_path)
    refusing = StandIn(ctx, "signer@one", "kind", found=False)
    accepting = StandIn(ctx, "signer@one", "kind", found=True)
    run = suite_tests.test_reader_finds_what_the_writer_wrote
    assert _verdict(lambda: run({}, bench, writer, refusing, keys, evidence_begin())) == "passed"
    assert _verdict(lambda: run({}, bench, writer, accepting, keys, evidence_begin())) == "failed"


def test_a_lister_must_list_exactly_what_the_registry_holds(tmp_path):
    ctx, bench = _bench()
    writer, keys = StandIn(ctx, "attacher@one", "other"), Keyring(tmp_path)
    run = suite_tests.test_reader_finds_what_the_writer_wrote

    def held(ref):
        repo, digest = ref.partition("/")[2].partition("@")[::2]
        return referrers.list_referrers(ctx.client, repo, digest).digests()

    exact = StandIn(ctx, "lister@one", "other", verifies=False, listed=held)
    none = StandIn(ctx, "lister@one", "other", verifies=False, listed=[])
    extra = StandIn(ctx, "lister@one", "other", verifies=False, listed=lambda ref: [*held(ref), "sha256:" + "0" * 64])
    assert _verdict(lambda: run({}, bench, writer, exact, keys, evidence_begin())) == "passed"
    assert _verdict(lambda: run({}, bench, writer, none, keys, evidence_begin())) == "failed"
    assert _verdict(lambda: run({}, bench, writer, extra, keys, evidence_begin())) == "failed"


def test_the_harness_reader_and_the_writer_check_the_entry(tmp_path):
    ctx, bench = _bench()
    keys = Keyring(tmp_path)
    good, bad = StandIn(ctx, "attacher@one", "other"), StandIn(ctx, "signer@two", "kind", entry_type=EMPTY)
    run_reader = suite_tests.test_reader_finds_what_the_writer_wrote
    run_writer = suite_tests.test_written_entries_agree_with_their_manifests
    assert _verdict(lambda: run_reader({}, bench, good, None, keys, evidence_begin())) == "passed"
    assert _verdict(lambda: run_writer({}, bench, good, keys, evidence_begin())) == "passed"
    # The harness still finds the referrer by its manifest; the writer's own cell fails on the entry.
    assert _verdict(lambda: run_reader({}, bench, bad, None, keys, evidence_begin())) == "passed"
    with pytest.raises(ImplementationFailure) as info:
        run_writer({}, bench, bad, keys, evidence_begin())
    assert info.value.step == "index entry against its manifest"
    assert info.value.answer.startswith(f"index entry artifactType {EMPTY}, manifest artifactType application/vnd.")


def test_a_writer_refusing_fails_every_cell_needing_its_work_with_its_words(tmp_path):
    from ocimatrix.errors import EngineError

    ctx, bench = _bench()
    writer = StandIn(ctx, "signer@two", "kind")
    writer.write = lambda ref, keys: (_ for _ in ()).throw(EngineError("x", step="sign", answer="exit 1: refused"))
    run = suite_tests.test_reader_finds_what_the_writer_wrote
    for _ in range(2):  # the second cell replays the kept refusal
        with pytest.raises(ImplementationFailure) as info:
            run({}, bench, writer, None, Keyring(tmp_path), evidence_begin())
        assert (info.value.step, info.value.answer) == ("sign", "exit 1: refused")


def test_the_index_must_keep_every_entry_as_written(tmp_path):
    keys = Keyring(tmp_path)
    run = suite_tests.test_referrers_index_keeps_every_entry
    ctx, bench = _bench()
    tidy = [StandIn(ctx, "a@one", "x"), StandIn(ctx, "b@one", "y"), StandIn(ctx, "c@one", "z")]
    recorder = evidence_begin()
    assert _verdict(lambda: run({}, bench, keys, tidy, recorder)) == "passed"
    assert [len(step["entries"]) for step in recorder.evidence["index_history"]] == [1, 2, 3]
    ctx, bench = _bench()
    dropping = [StandIn(ctx, "a@one", "x"), StandIn(ctx, "b@one", "y", drop=True)]
    with pytest.raises(ImplementationFailure, match=r"\(by a@one\) lost") as info:
        run({}, bench, keys, dropping, evidence_begin())
    assert info.value.step == "b@one write for an image others wrote for"


def evidence_begin():
    from ocimatrix import evidence

    return evidence.begin()
