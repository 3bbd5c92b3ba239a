"""Copies of a signed image to another registry (issue 21, item 3), on recorded answers.

- The cases: every way each copying driver declares, to every other registry of the suite's line; the
  default matrix keeps one pair of registries, the nightly all six.
- ``distribution/copied.py``'s verdict: what a copy was asked to keep and lost, on the destination
  states a run here recorded, and on the same states bent (an entry dropped, a verifier refusing, a
  tag moved, the image rewritten); what it was not asked to keep is never a loss.
- The suite's own test function, with stand-in writers, readers and copiers on two replayed
  registries: a copy keeping what it was asked passes, one losing it fails with the destination's
  listing or the verifier's words, a refusal fails with the copier's words.
- The drivers' command lines (skopeo's registries.d file, crane's repositories for ``--all-tags``).
- The site's page, from recorded evidence.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pytest
from suite_modules import load_suite_module

from ocimatrix.distribution import copied
from ocimatrix.engines.signing import (
    KEEPS_NOTHING,
    KEEPS_REFERRERS,
    KEEPS_SIGNATURE_TAGS,
    KEEPS_SIGNATURES,
    KEEPS_TAGS,
    REFERRER,
    SIGNATURE_TAG,
    CopyWay,
)
from ocimatrix.matrix import load_matrix
from ocimatrix.plugin.parametrize import cell_id

ROOT = Path(__file__).resolve().parents[1]
TEST = "test_copy_keeps_what_it_was_asked_to_keep"


suite_tests = load_suite_module(
    "ocimatrix_signed_copies_tests", ROOT / "suites" / "signatures" / "test_signed_copies.py"
)


# --- the cases ---------------------------------------------------------------------------------------


def _cases(matrix_file: str) -> list[tuple[str, str, str]]:
    """(way id, source, destination) of the copy cases a matrix runs, as collection leaves them."""
    matrix = load_matrix(ROOT / matrix_file)
    registries = matrix.suites["signatures"]["registry"]
    found = []
    for plan in suite_tests.copy_plans(registries):
        for cell in matrix.cells_for(("registry",), "signatures"):
            name = f"{TEST}[{plan.id}-{cell_id(cell)}]"
            if plan.destination == cell["registry"] or matrix.deselects("signatures", name):
                continue
            found.append((f"{plan.tool}-{plan.way.name}", cell["registry"], plan.destination))
    return found


def test_every_copying_driver_declares_its_ways_and_what_they_keep():
    ways = {(tool, plan_way.name): plan_way for tool, _ in suite_tests.copy_tools() for plan_way in _ways(tool)}
    assert len(ways) == 8  # skopeo twice, crane twice, each oras version, each cosign version
    keeps = sorted(way.keeps for way in ways.values())
    assert keeps.count(KEEPS_NOTHING) == 2 and keeps.count(KEEPS_REFERRERS) == 2
    assert keeps.count(KEEPS_SIGNATURES) == 2 and keeps.count(KEEPS_SIGNATURE_TAGS) == 1 and KEEPS_TAGS in keeps
    assert all(w.families for w in ways.values() if w.keeps == KEEPS_SIGNATURES)


def _ways(tool: str) -> tuple[CopyWay, ...]:
    from ocimatrix.tools import catalog

    return catalog.lookup(tool).driver_class().copy_ways


def test_the_default_copies_once_from_one_registry_into_another():
    cases = _cases("matrix/default.yaml")
    assert len(cases) == 8
    assert len({(source, dest) for _, source, dest in cases}) == 1
    assert all(source != dest for _, source, dest in cases)


def test_the_nightly_copies_between_every_two_registries():
    cases = _cases("matrix/nightly.yaml")
    pairs = {(source, dest) for _, source, dest in cases}
    assert len(pairs) == 6 and len(cases) == 48


def test_the_case_id_ends_with_the_source_so_a_glob_can_pick_either_end():
    plan = suite_tests.copy_plans(("dest-reg",))[0]
    name = f"{TEST}[{plan.id}-source-reg]"
    assert fnmatch.fnmatchcase(name, f"{TEST}[[]*-to-dest-reg-*")
    assert fnmatch.fnmatchcase(name, f"{TEST}[[]*-to-*-source-reg[]]")


# --- the verdict on what the destination holds -------------------------------------------------------

S = "sha256:" + "5" * 64  # the signed image
SIG_MANIFEST = "sha256:" + "c2" * 32  # cosign 2.x's manifest under the signature tag
BUNDLE, NOTARY, ORAS_1, ORAS_2 = ("sha256:" + c * 64 for c in "abde")
ITEMS = [
    copied.Item("signer@two", "signer", SIGNATURE_TAG, SIG_MANIFEST),
    copied.Item("signer@three", "signer", REFERRER, BUNDLE),
    copied.Item("notary@one", "notary", REFERRER, NOTARY),
    copied.Item("attacher@one", "attacher", REFERRER, ORAS_1),
    copied.Item("attacher@two", "attacher", REFERRER, ORAS_2),
]
SOURCE_TAGS = {"signed": S, "sha256-" + "5" * 64: "sha256:" + "1" * 64, "sha256-" + "5" * 64 + ".sig": SIG_MANIFEST}
SIGNATURES = CopyWay("copy", "signer copy", KEEPS_SIGNATURES, ("signer",))
WAYS = {
    "plain": CopyWay("all", "copy --all"),
    "referrers": CopyWay("recursive", "cp -r", KEEPS_REFERRERS),
    "signatures": SIGNATURES,
    "signature tags": CopyWay("sigstore", "copy with attachments", KEEPS_SIGNATURE_TAGS),
    "tags": CopyWay("all-tags", "copy --all-tags", KEEPS_TAGS),
}


def _held(*, digest=S, listed=(), sig="", signed=(), tags=None, present=()) -> copied.Held:
    held = copied.Held("r", "signed", digest, "referrers tag sha256-" + "5" * 64)
    held.listed = list(listed)
    held.listing = [f"{d} type" for d in listed]
    held.signature_tag, held.signed = sig, list(signed)
    held.tags = dict(tags or {})
    held.present = set(present)
    return held


SOURCE = _held(listed=[BUNDLE, NOTARY, ORAS_1, ORAS_2], sig=SIG_MANIFEST, signed=[S], tags=SOURCE_TAGS)
EVERYTHING = _held(listed=[BUNDLE, NOTARY, ORAS_1, ORAS_2], sig=SIG_MANIFEST, signed=[S], tags=SOURCE_TAGS)
IMAGE_ONLY = _held(tags={"signed": S})


def _verified(at_destination: bool, answer: str = "exit 0: Verified OK") -> list[copied.Verified]:
    return [
        copied.Verified("signer@three", "signer@two", "signer verify", True, at_destination, answer),
        copied.Verified("signer@two", "signer@three", "", False, None, "not asked"),
    ]


@pytest.mark.parametrize("name", sorted(WAYS))
def test_a_copy_that_kept_everything_lost_nothing(name):
    assert copied.losses(WAYS[name], SOURCE, EVERYTHING, ITEMS, _verified(True)) == []


def test_a_copy_asked_for_the_image_only_may_drop_the_rest():
    assert copied.losses(WAYS["plain"], SOURCE, IMAGE_ONLY, ITEMS, _verified(False)) == []
    assert copied.states(ITEMS, S, IMAGE_ONLY) == {i.digest: copied.LOST for i in ITEMS}


def test_any_copy_that_changes_the_image_loses_it():
    for way in WAYS.values():
        (loss, *_) = copied.losses(way, SOURCE, _held(digest="sha256:" + "9" * 64), ITEMS, [])
        assert loss.step == "the image at the destination" and "destination r:signed sha256:9999" in loss.answer


def test_a_recursive_copy_losing_a_referrer_fails_with_the_destination_listing():
    dest = _held(listed=[NOTARY, ORAS_1, ORAS_2], present=[BUNDLE], sig=SIG_MANIFEST, signed=[S])
    (loss,) = copied.losses(WAYS["referrers"], SOURCE, dest, ITEMS, _verified(True))
    assert loss.step == "referrers at the destination"
    assert loss.message == f"signer@three's referrer {BUNDLE} is there but unlisted at the destination"
    assert loss.answer.startswith("destination referrers tag sha256-") and BUNDLE not in loss.answer
    # The signature tag was never asked of it.
    dest = _held(listed=[BUNDLE, NOTARY, ORAS_1, ORAS_2])
    assert copied.losses(WAYS["referrers"], SOURCE, dest, ITEMS, _verified(False)) == []


def test_a_signature_copy_fails_on_its_family_only_and_with_the_verifiers_words():
    dest = _held(listed=[BUNDLE], sig=SIG_MANIFEST, signed=[S])
    refusing = _verified(False, "exit 10: Error: no signatures found")
    (loss,) = copied.losses(SIGNATURES, SOURCE, dest, ITEMS, refusing)
    assert (loss.step, loss.answer) == ("signer verify at the destination", "exit 10: Error: no signatures found")
    losses = copied.losses(SIGNATURES, SOURCE, _held(listed=[NOTARY, ORAS_1]), ITEMS, refusing)
    assert [x.step for x in losses] == [
        "signature tag at the destination",
        "referrers at the destination",
        "signer verify at the destination",
    ]


def test_a_signature_tag_kept_as_another_manifest_still_signing_the_image_is_kept():
    rewritten = _held(sig="sha256:" + "7" * 64, signed=[S])
    assert copied.state_of(ITEMS[0], S, rewritten) == copied.REWRITTEN
    assert copied.losses(WAYS["signature tags"], SOURCE, rewritten, ITEMS, _verified(True)) == []
    other = _held(sig="sha256:" + "7" * 64, signed=["sha256:" + "8" * 64])
    (loss,) = copied.losses(WAYS["signature tags"], SOURCE, other, ITEMS, _verified(True))
    assert loss.step == "signature tag at the destination" and "signed: ['sha256:8888" in loss.answer


def test_a_copy_of_every_tag_names_the_tags_it_did_not_copy():
    dest = _held(tags={"signed": S}, listed=[BUNDLE, NOTARY, ORAS_1, ORAS_2])
    (loss,) = copied.losses(WAYS["tags"], SOURCE, dest, ITEMS, [])
    assert loss.step == "tags at the destination"
    assert loss.answer == 'destination tags: {"signed": "' + S + '"}'
    assert "sha256-" + "5" * 64 + ".sig" in loss.message


def test_a_verifier_that_did_not_verify_at_the_source_is_not_asked_to_after():
    verified = [copied.Verified("signer@two", "signer@three", "", False, None, "not asked")]
    assert copied.losses(SIGNATURES, SOURCE, EVERYTHING, ITEMS, verified) == []


# --- the suite's test function, with stand-ins on two replayed registries ------------------------------


class StandIn:
    """A writer and reader standing in for a tool, on whichever replayed registry a reference names: it
    writes a referrer (keeping the referrers tag's index) or a signature under the signature tag, and
    verifies (or lists) what that registry holds."""

    def __init__(self, contexts, label, family, *, how=REFERRER, verifies=True):
        self.contexts, self.label, self.family, self.how, self.verifies = contexts, label, family, how, verifies
        self.artifact_type = f"application/vnd.example.{label.replace('@', '.')}.v1"

    def _at(self, ref):
        host, _, rest = ref.partition("/")
        repo, _, digest = rest.partition("@")
        return self.contexts[host], repo, digest

    def write(self, ref, keys):
        from ocimatrix.distribution.content import (
            Blob,
            Manifest,
            make_artifact,
            make_index,
            referrer_descriptor,
            referrers_tag,
        )
        from ocimatrix.distribution.referrers import signature_tag
        from ocimatrix.engines.signing import Written

        ctx, repo, digest = self._at(ref)
        if self.how == SIGNATURE_TAG:
            payload = Blob(json.dumps({"critical": {"image": {"docker-manifest-digest": digest}}}).encode())
            config = Blob(b"{}", "application/vnd.oci.image.config.v1+json")
            document = {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": config.media_type, "digest": config.digest, "size": len(config.data)},
                "layers": [{"mediaType": "application/octet-stream", "digest": payload.digest, "size": 70}],
            }
            body = json.dumps(document).encode()
            for blob in (payload, config):
                ctx.push_blob(repo, blob)
            ctx.push_manifest(repo, signature_tag(digest), Manifest(body, document["mediaType"], (), document))
            return Written(self.label, self.family, SIGNATURE_TAG, "", "signed")
        subject = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": 1}
        artifact = make_artifact(subject, self.artifact_type)
        for blob in artifact.blobs:
            ctx.push_blob(repo, blob)
        ctx.push_manifest(repo, artifact.digest, artifact)
        tag = referrers_tag(digest)
        got = ctx.get_manifest(repo, tag, "read index")
        entries = json.loads(got.content)["manifests"] if got.status_code == 200 else []
        ctx.push_manifest(repo, tag, make_index([*entries, referrer_descriptor(artifact)]))
        return Written(self.label, self.family, REFERRER, self.artifact_type, "attached")

    def read(self, ref, keys, written):
        from ocimatrix.distribution import referrers
        from ocimatrix.engines.signing import ReadBack

        ctx, repo, digest = self._at(ref)
        listing = referrers.list_referrers(ctx.client, repo, digest)
        if not self.verifies:
            return ReadBack(self.label, bool(listing.entries), "listed", listing.digests(), step="list")
        if written.how == SIGNATURE_TAG:
            found = digest in referrers.signed_digests(ctx.client, repo, digest)[0]
        else:
            found = any(self.artifact_type in line for line in listing.summary())
        return ReadBack(self.label, found, f"exit {0 if found else 10}: the verifier's words", step="verify")


class StandInCopier:
    """Copies one replayed registry's repository into another's, leaving out the tags and digests told."""

    label = "copier@one"

    def __init__(self, fakes, drop=(), refuse=""):
        self.fakes, self.drop, self.refuse = fakes, set(drop), refuse

    def copy_signed(self, way, source, dest, keys):
        from ocimatrix.errors import EngineError

        if self.refuse:
            raise EngineError("refused", step=way.command, answer=self.refuse)
        (src_host, src_path), (dst_host, dst_path) = (r.partition("/")[::2] for r in (source, dest))
        src_repo, dst_repo = src_path.rpartition(":")[0], dst_path.rpartition(":")[0]
        src, dst = self.fakes[src_host], self.fakes[dst_host]
        dst.blobs.update(src.blobs)
        for (repo, ref), value in list(src.manifests.items()):
            if repo == src_repo and not any(_dropped(d, ref, value) for d in self.drop):
                dst.manifests[(dst_repo, ref)] = value
        return "copied"


REFERRERS_TAG, SIGNATURE_TAG_SUFFIX = "the referrers tag", ".sig"


def _dropped(drop: str, ref: str, value) -> bool:
    """Whether a stand-in copy leaves out the manifest ``ref`` (the referrers tag, a signature tag, a digest)."""
    from ocimatrix.oci.digest import digest_bytes

    if drop == REFERRERS_TAG:
        return ref.startswith("sha256-") and not ref.endswith(SIGNATURE_TAG_SUFFIX)
    if drop == SIGNATURE_TAG_SUFFIX:
        return ref.endswith(SIGNATURE_TAG_SUFFIX)
    return drop == str(digest_bytes(value[0]))


def _replayed_pair():
    from test_distribution_verdicts import FakeRegistry, _ctx

    fakes = {"127.0.0.1:9": FakeRegistry(referrers_api=False), "127.0.0.1:10": FakeRegistry(referrers_api=False)}
    contexts = {host: _ctx(fake, {"url": f"http://{host}"}) for host, fake in fakes.items()}
    writers = [
        StandIn(contexts, "signer@two", "signer", how=SIGNATURE_TAG),
        StandIn(contexts, "signer@three", "signer"),
        StandIn(contexts, "attacher@one", "attacher", verifies=False),
    ]
    return fakes, contexts, writers


def _copy(way, copier, tmp_path, *, destination_gone=False):
    from types import SimpleNamespace

    from ocimatrix import evidence
    from ocimatrix.engines.signing import Keyring

    fakes, contexts, writers = _replayed_pair()
    source_ctx, dest_ctx = contexts["127.0.0.1:9"], contexts["127.0.0.1:10"]
    copier.fakes = fakes
    keys = Keyring(tmp_path)
    source = suite_tests._sign(SimpleNamespace(ctx=source_ctx), writers, keys)
    if destination_gone:
        import httpx

        def gone(request):
            raise httpx.ConnectError("connection refused", request=request)

        fakes["127.0.0.1:10"].overrides.append(gone)
    recorder = evidence.begin()
    plan = suite_tests.CopyPlan("copier@one", "copier", way, "dest")
    run = suite_tests.test_copy_keeps_what_it_was_asked_to_keep
    try:
        run({"registry": "src"}, plan, source, copier, dest_ctx, writers, keys, recorder)
    except BaseException as exc:  # noqa: BLE001 - the verdict of whatever the test raised
        from verdict_cases import raised

        from ocimatrix.plugin.verdicts import decide

        return decide(raised(exc)).outcome, exc, recorder.evidence.get("signed_copy"), source
    return "passed", None, recorder.evidence["signed_copy"], source


def test_the_suite_passes_a_copy_that_kept_what_it_was_asked(tmp_path):
    outcome, _, found, source = _copy(WAYS["referrers"], StandInCopier({}), tmp_path)
    assert outcome == "passed" and found["digest_kept"]
    assert [i["state"] for i in found["items"]] == ["kept", "kept", "kept"]
    assert [i["promised"] for i in found["items"]] == [False, True, True]
    assert found["listed"][0]["agrees"] and found["lost_promised"] == []
    verified = {(v["reader"], v["writer"]): v["destination"] for v in found["verified"]}
    # The stand-in of the older version reads no bundle at the source (as cosign 2.5 reads none of 3.1's):
    # it is not asked again at the destination.
    assert verified == {
        ("signer@two", "signer@two"): True,
        ("signer@two", "signer@three"): None,
        ("signer@three", "signer@two"): True,
        ("signer@three", "signer@three"): True,
    }


def test_the_suite_fails_a_recursive_copy_that_lost_a_referrer_with_the_listing(tmp_path):
    from ocimatrix.distribution.content import referrers_tag

    outcome, exc, found, source = _copy(WAYS["referrers"], StandInCopier({}, drop=[REFERRERS_TAG]), tmp_path)
    assert outcome == "failed" and exc.step == "referrers at the destination"
    tag = referrers_tag(source.held.digest)
    assert exc.answer.startswith(f"destination referrers tag {tag}: []; tags: ")
    assert json.loads(exc.answer.partition("; tags: ")[2]) == {
        f"{tag}.sig": source.held.tags[f"{tag}.sig"],
        "signed": source.held.digest,
    }
    assert [i["state"] for i in found["items"]] == ["kept", "unlisted", "unlisted"]


def test_the_suite_records_what_a_plain_copy_dropped_without_failing(tmp_path):
    outcome, _, found, _ = _copy(WAYS["plain"], StandInCopier({}, drop=[REFERRERS_TAG, SIGNATURE_TAG_SUFFIX]), tmp_path)
    assert outcome == "passed"
    assert [i["state"] for i in found["items"]] == ["lost", "unlisted", "unlisted"]
    assert found["lost_promised"] == []


def test_the_suite_fails_a_signature_copy_with_the_verifiers_words(tmp_path):
    outcome, exc, found, source = _copy(SIGNATURES, StandInCopier({}, drop=[SIGNATURE_TAG_SUFFIX]), tmp_path)
    assert outcome == "failed" and exc.step == "signature tag at the destination"
    assert "signer@two's signature tag" in str(exc)
    assert found["lost_promised"][1:] == [
        "verify at the destination: signer@two verified signer@two's signature at the source, not at the destination",
        "verify at the destination: signer@three verified signer@two's signature at the source, not at the destination",
    ]
    # Only the verifiers' words remain when the signature tag is there but no longer verifies.
    outcome, exc, found, source = _copy(SIGNATURES, StandInCopier({}, drop=[REFERRERS_TAG]), tmp_path)
    assert outcome == "failed" and exc.step == "referrers at the destination"


def test_a_refused_copy_into_a_destination_gone_is_an_error(tmp_path):
    refusing = StandInCopier({}, refuse="exit 1: Error: connection refused")
    outcome, exc, found, _ = _copy(WAYS["plain"], refusing, tmp_path, destination_gone=True)
    assert outcome == "error" and "127.0.0.1:10" in str(exc) and found is None


def test_the_suite_fails_a_refused_copy_with_the_copiers_words(tmp_path):
    outcome, exc, found, _ = _copy(WAYS["plain"], StandInCopier({}, refuse="exit 1: Error: unsupported"), tmp_path)
    assert outcome == "failed" and (exc.step, exc.answer) == ("copy --all", "exit 1: Error: unsupported")
    assert found is None


# --- the drivers' command lines ---------------------------------------------------------------------


def _recording(monkeypatch, module):
    from ocimatrix.engines.base import CommandResult

    seen = []

    def run(argv, env=None, what="", **_):
        seen.append((list(argv), dict(env or {}), what))
        return CommandResult(0, "", "Copying blob done")

    monkeypatch.setattr(module, "run_command", run)
    return seen


def test_skopeo_with_sigstore_attachments_names_both_registries_in_its_registries_d(monkeypatch, tmp_path):
    from ocimatrix.engines import skopeo_copier
    from ocimatrix.engines.binding import bind
    from ocimatrix.engines.signing import Keyring
    from ocimatrix.tools import catalog

    seen = _recording(monkeypatch, skopeo_copier)

    class Host:
        podman_env: dict = {}

    driver = bind(catalog.REFERENCE_COPIER, Host(), role="copier")
    plain, sigstore = driver.copy_ways
    driver.copy_signed(plain, "127.0.0.1:5000/a:signed", "127.0.0.1:6000/b:signed", Keyring(tmp_path))
    driver.copy_signed(sigstore, "127.0.0.1:5000/a:signed", "127.0.0.1:6000/b:signed", Keyring(tmp_path))
    (first, env, what), (second, _, _) = seen
    assert "--registries.d" not in first and first[-2:] == [
        "docker://127.0.0.1:5000/a:signed",
        "docker://127.0.0.1:6000/b:signed",
    ]
    assert "--all" in first and env["HTTPS_PROXY"].startswith("http://127.0.0.1:") and what == plain.command
    directory = Path(second[second.index("--registries.d") + 1])
    assert directory.is_relative_to(tmp_path)
    assert (directory / "sigstore-attachments.yaml").read_text() == (
        "docker:\n  127.0.0.1:5000:\n    use-sigstore-attachments: true\n"
        "  127.0.0.1:6000:\n    use-sigstore-attachments: true\n"
    )
    assert second.index("--registries.d") < second.index("copy")  # a global option, before the command


def test_crane_copies_a_tag_or_every_tag_of_the_repository(monkeypatch, tmp_path):
    from ocimatrix.engines import crane_copier
    from ocimatrix.engines.signing import Keyring

    seen = _recording(monkeypatch, crane_copier)
    driver = crane_copier.CraneCopier.__new__(crane_copier.CraneCopier)
    driver.binary, driver.site = "/usr/bin/crane-stand-in", None
    one, every = driver.copy_ways
    for way in (one, every):
        driver.copy_signed(way, "127.0.0.1:5000/ns/a:signed", "127.0.0.1:6000/ns/b:signed", Keyring(tmp_path))
    assert seen[0][0][-2:] == ["127.0.0.1:5000/ns/a:signed", "127.0.0.1:6000/ns/b:signed"]
    assert "--all-tags" in seen[1][0] and seen[1][0][-2:] == ["127.0.0.1:5000/ns/a", "127.0.0.1:6000/ns/b"]


# --- the site's page ------------------------------------------------------------------------------


def test_the_page_sets_each_copy_against_what_was_written(tmp_path):
    from ocimatrix.report.signed_copies import PAGE, link_signed_copies, rows_of
    from ocimatrix.results import Record, Results, Run

    records = []
    for name, copier, outcome in (
        ("plain", StandInCopier({}, drop=[REFERRERS_TAG]), "passed"),
        ("referrers", StandInCopier({}, drop=[REFERRERS_TAG]), "failed"),
    ):
        _, _, found, _ = _copy(WAYS[name], copier, tmp_path / name)
        records.append(
            Record(
                f"{TEST}[copier@one-{name}-to-dest-src]",
                "signatures",
                outcome,
                {"registry": "src"},
                evidence={"signed_copy": found},
            )
        )
    results = Results(Run(), [*records, Record("test_other", "signatures", "passed", {})])
    assert len(rows_of(results)) == 2
    page = link_signed_copies("<main></main>", results, tmp_path)
    assert f'href="{PAGE}"' in page and "2 copies to another registry" in page
    html = (tmp_path / PAGE).read_text()
    assert html.count("<tr>") == 3  # the head and two copies
    assert "signer@two" in html and "attacher@one" in html and "there, unlisted" in html
    assert "asked to keep</span>" in html and "src → dest" in html and "2 copies, 1 failed" in html
    assert "verify*</small>" in html  # nothing of its family was asked of the plain copy: its answers judge nothing
    assert link_signed_copies("<main></main>", Results(Run(), []), tmp_path / "none") == "<main></main>"


# --- the listing, on the answers cosign copy gave in a run here ----------------------------------------

_X = "ca2499828ba7eb386d9978dbd646ccd3c259e234d092143ce9ade3cd1aabe78b"
_Y = "09defe55990346bcacf204db5e5936a05e7e52389ddd67b5aad5383ba7f275d8"
RECORDED_COPY = {
    # Into go-containerregistry's registry (sid's crane 0.20.7): it serves the image under the referrers tag.
    "crane": (
        f"destination GET referrers tag sha256-{_X}: 200 OK; body: '"
        '{"config":{"digest":"sha256:0da45d38c096242b6ada8d96cc4aaed9683098f402332ccae21c072f36faba37",'
        '"mediaType":"application/vnd.oci.image.config.v1+json","size":271},"layers":[{"digest":'
        '"sha256:a915307c2bc80cbb45b21a72762af4f16a414bce18dd8272a16b89a33da59941","mediaType":'
        '"application/vnd.oci.image.layer.v1.tar+gzip","size":167}],"mediaType":'
        '"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}\''
        f'; tags: {{"sha256-{_X}": "sha256:{_X}", "sha256-{_X}.sig": '
        '"sha256:f3bf3c1254bbd106db34e17e6eee2ad31debecb061517571585cd2197a6d825f", '
        f'"signed": "sha256:{_X}"}}'
    ),
    # Into distribution 2.8.2: no index under the referrers tag (asked for an index, it answers 404).
    "distribution": (
        f"destination referrers tag sha256-{_Y}: []; tags: "
        f'{{"sha256-{_Y}": "sha256:{_Y}", "sha256-{_Y}.sig": '
        '"sha256:93a2294b9b94496be4ede3105b93cd33be68324ce8893e3693fc10c0f47d2607", '
        f'"signed": "sha256:{_Y}"}}'
    ),
}
OTHER_COPY_ANSWERS = (
    # The bundle listed and no image under the referrers tag (what oras cp -r leaves).
    f'destination referrers tag sha256-{_Y}: ["sha256:{"5" * 64} application/vnd.dev.sigstore.bundle.v0.3+json"]; '
    f'tags: {{"sha256-{_Y}": "sha256:{"1" * 64}", "signed": "sha256:{_Y}"}}',
    # Nothing but the image copied (what skopeo copy --all leaves).
    f'destination referrers tag sha256-{_Y}: []; tags: {{"signed": "sha256:{_Y}"}}',
    "",
)


def _copy_listing() -> dict:
    matrix = load_matrix(ROOT / "matrix/default.yaml")
    (found,) = [e for e in matrix.expectations if e["test"].startswith(f"{TEST}[")]
    return found


@pytest.mark.parametrize("matrix_file", ["matrix/default.yaml", "matrix/nightly.yaml"])
def test_both_matrices_list_cosign_copy_alike(matrix_file):
    matrix = load_matrix(ROOT / matrix_file)
    (found,) = [e for e in matrix.expectations if e["test"].startswith(f"{TEST}[")]
    assert found == _copy_listing()


@pytest.mark.parametrize("where", sorted(RECORDED_COPY))
def test_the_recorded_answers_confirm_the_cosign_copy_listing(where):
    from verdict_cases import raised

    from ocimatrix.errors import ImplementationFailure
    from ocimatrix.plugin.verdicts import decide

    failure = ImplementationFailure("lost", step="referrers at the destination", answer=RECORDED_COPY[where])
    assert decide(raised(failure), expected=_copy_listing()).outcome == "xfailed"


def test_nothing_else_confirms_the_cosign_copy_listing():
    from verdict_cases import raised

    from ocimatrix.errors import ImplementationFailure, ServiceUnavailable
    from ocimatrix.plugin.verdicts import decide

    expected = _copy_listing()
    for answer in OTHER_COPY_ANSWERS:
        failure = ImplementationFailure("lost", step="referrers at the destination", answer=answer)
        assert decide(raised(failure), expected=expected).outcome == "failed", answer
    for step in ("signature tag at the destination", "cosign copy", "the image at the destination"):
        failure = ImplementationFailure("lost", step=step, answer=RECORDED_COPY["crane"])
        assert decide(raised(failure), expected=expected).outcome == "failed", step
    assert decide(raised(AssertionError(expected["match"])), expected=expected).outcome == "failed"
    dead = ServiceUnavailable("registry http://127.0.0.1:5000", "ConnectError")
    assert decide(raised(dead), expected=expected).outcome == "error"


# --- the verdict on the destinations a run here recorded ----------------------------------------------

RECORDED_RUN = json.loads((ROOT / "tests/data/signatures/signed-copies.json").read_text())


def _held_of(recorded: dict) -> copied.Held:
    held = copied.Held(recorded["repo"], recorded["tag"], recorded["digest"], recorded["referrers"]["path"])
    held.listed = [entry.split()[0] for entry in recorded["referrers"]["entries"]]
    held.listing = list(recorded["referrers"]["entries"])
    held.listing_error = recorded["referrers"].get("error", "")
    held.signature_tag, held.signed = recorded["signature_tag"], list(recorded["signed"])
    held.tags, held.present = dict(recorded["tags"]), set(recorded.get("present") or [])
    return held


def _recorded_case(name: str):
    case = RECORDED_RUN[name]["signed_copy"]
    tool = name.split("-")[0]  # a tool as a cell names it holds no '-'
    (way,) = [w for w in _ways(tool) if name.startswith(f"{tool}-{w.name}-to-")]
    items = [copied.Item(i["writer"], i["family"], i["how"], i["digest"]) for i in case["items"]]
    verified = [
        copied.Verified(v["reader"], v["writer"], "verify", v["source"], v["destination"], v["answer"])
        for v in case["verified"]
    ]
    return case, way, items, verified, _held_of(case["source"]), _held_of(case["destination"])


@pytest.mark.parametrize("name", sorted(RECORDED_RUN))
def test_the_recorded_destinations_give_the_recorded_verdicts(name):
    case, way, items, verified, source, dest = _recorded_case(name)
    assert copied.states(items, source.digest, dest) == {i["digest"]: i["state"] for i in case["items"]}
    lost = copied.losses(way, source, dest, items, verified)
    assert [f"{x.step}: {x.message}" for x in lost] == case["lost_promised"]
    assert bool(lost) == (RECORDED_RUN[name]["outcome"] != "passed")


def test_the_recorded_destinations_bent_lose_what_was_asked():
    # oras cp -r with the notation signature dropped from the destination's index: a loss, the listing its answer.
    case, way, items, verified, source, dest = _recorded_case("oras@sid-recursive-to-embedded-crane-embedded")
    notary = next(i.digest for i in items if i.how == REFERRER and "notary" in _type(case, i))
    dest.listed = [d for d in dest.listed if d != notary]
    dest.listing = [e for e in dest.listing if not e.startswith(notary)]
    (loss,) = copied.losses(way, source, dest, items, verified)
    assert loss.step == "referrers at the destination" and notary not in loss.answer
    # skopeo with sigstore attachments, the signature tag now signing another image: a loss.
    case, way, items, verified, source, dest = _recorded_case("skopeo-sigstore-attachments-to-embedded-crane-embedded")
    dest.signed = ["sha256:" + "0" * 64]
    assert [x.step for x in copied.losses(way, source, dest, items, verified)] == ["signature tag at the destination"]
    # crane copy --all-tags with the referrers tag moved: a loss naming the tag.
    case, way, items, verified, source, dest = _recorded_case("crane@sid-all-tags-to-embedded-crane-embedded")
    moved = next(t for t in dest.tags if t.startswith("sha256-") and not t.endswith(".sig"))
    dest.tags[moved] = "sha256:" + "0" * 64
    (loss, *_) = [x for x in copied.losses(way, source, dest, items, verified) if x.step == "tags at the destination"]
    assert moved in loss.message


def _type(case: dict, item: copied.Item) -> str:
    entries = case["source"]["referrers"]["entries"]
    return next((e.split()[1] for e in entries if e.startswith(item.digest)), "")
