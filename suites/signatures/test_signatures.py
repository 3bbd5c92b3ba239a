"""Signatures and attached artifacts, crossed: each writer (signer or attacher) writes to each registry,
and each reader looks for what was written.

- A writer's entries must agree with its own manifests: an entry in the referrers list (the API's or
  the referrers tag schema's index) names the manifest's digest, size, media type, ``subject`` and
  ``artifactType`` (the manifest's, else its config's media type). Which path it took (the API, the
  referrers tag, or the ``.sig`` signature tag) is recorded.
- A reader must find what the spec says is there: a verifier verifies its own family's signatures
  (across versions) and accepts nothing else; a lister lists exactly the referrers the registry holds;
  the harness's own client finds each written thing by the path it was written to.
- When several tools write one after another for one image, the referrers tag's index keeps every
  entry as its writer left it.
"""

from __future__ import annotations

import json

import pytest

from ocimatrix import evidence
from ocimatrix.distribution import referrers
from ocimatrix.engines.signing import SIGNATURE_TAG, Signer, Written
from ocimatrix.errors import EngineError, fail_with
from ocimatrix.specs import spec

pytestmark = pytest.mark.axes("registry")


def _record_path(recorder, bench, signed, written: Written) -> referrers.Listing:
    client = bench.ctx.client
    listing = referrers.list_referrers(client, signed.repo, signed.digest)
    path = (
        listing.path
        if listing.entries or written.how != SIGNATURE_TAG
        else f"signature tag {referrers.signature_tag(signed.digest)}"
    )
    recorder.add(
        "written",
        {
            "writer": written.writer,
            "path": path,
            "artifact_type": written.artifact_type,
            "referrers": listing.summary(),
        },
    )
    return listing


@spec(
    "distribution-spec/spec.md#referrers-tag-schema",
    "Referrers written by a signer or attacher agree with their manifests",
)
def test_written_entries_agree_with_their_manifests(cell, bench, writer: Signer, keyring, recorder):
    evidence.judging("writer")
    signed = bench.written_by(writer, keyring)
    written = signed.work()
    listing = _record_path(recorder, bench, signed, written)
    client = bench.ctx.client
    if written.how == SIGNATURE_TAG:
        found, answer = referrers.signed_digests(client, signed.repo, signed.digest)
        if signed.digest not in found:
            fail_with(
                f"{writer.label} said it signed {signed.digest}, but no payload under "
                f"{referrers.signature_tag(signed.digest)} names it",
                step="signature tag payload",
                answer=f"{answer}; signed: {found}",
            )
        return
    if not listing.entries:
        fail_with(
            f"{writer.label} wrote a referrer, but the registry lists none for the image ({listing.path})",
            step=f"referrers of the image ({listing.path})",
            answer=f"{written.output[-800:]}",
        )
    problems = referrers.entry_problems(client, signed.repo, signed.digest, listing.entries)
    if problems:
        recorder.add("entry_problems", [f"{p.digest}: {p.problem}" for p in problems])
        first = problems[0]
        fail_with(
            f"{writer.label}'s entry {first.digest} in the {listing.path} contradicts its manifest: {first.problem}",
            step="index entry against its manifest",
            answer=first.answer,
        )


def _lister_expects(bench, signed) -> set[str]:
    """What the spec says a referrers lister finds: every referrer the registry serves for the image."""
    return set(referrers.list_referrers(bench.ctx.client, signed.repo, signed.digest).digests())


@spec("distribution-spec/spec.md#listing-referrers", "A reader finds what a signer or attacher wrote")
def test_reader_finds_what_the_writer_wrote(cell, bench, writer: Signer, reader: Signer | None, keyring, recorder):
    evidence.judging("writer")
    signed = bench.written_by(writer, keyring)
    written = signed.work()
    # From here on the answer is the reader's: its verify or discover, or the registry's for the harness.
    evidence.judging("reader" if reader is not None else "registry")
    listing = _record_path(recorder, bench, signed, written)
    client = bench.ctx.client
    if reader is None:
        if written.how == SIGNATURE_TAG:
            found, answer = referrers.signed_digests(client, signed.repo, signed.digest)
            if signed.digest not in found:
                fail_with(
                    f"no signature naming {signed.digest} under {referrers.signature_tag(signed.digest)}",
                    step="signature tag payload",
                    answer=f"{answer}; signed: {found}",
                )
            return
        types = {
            d: referrers.artifact_type_of(referrers.manifest(client, signed.repo, d, f"GET referrer {d}")[0])
            for d in listing.digests()
        }
        recorder.add("artifact_types", types)
        if written.artifact_type not in types.values():
            fail_with(
                f"no referrer of type {written.artifact_type} for the image ({listing.path})",
                step=f"referrers of the image ({listing.path})",
                answer=json.dumps(listing.summary()),
            )
        return
    try:
        back = reader.read(signed.ref, keyring, written)
    except EngineError as exc:
        fail_with(
            f"{reader.label} answered nothing it could read: {exc}",
            step=exc.step or "read",
            answer=exc.answer or str(exc),
        )
    recorder.add("read", {"reader": back.reader, "found": back.found, "answer": back.answer[-1500:]})
    if reader.verifies:
        own = reader.family == written.family
        if own and reader.label != writer.label:
            recorder.add(
                "cross_version",
                f"{writer.label} signed, {reader.label} {'verified' if back.found else 'did not verify'}",
            )
        if own and not back.found:
            fail_with(
                f"{reader.label} did not verify the signature {writer.label} wrote", step=back.step, answer=back.answer
            )
        if not own and back.found:
            fail_with(
                f"{reader.label} verified an image that only {writer.label} wrote for (no {reader.family} signature)",
                step=back.step,
                answer=back.answer,
            )
        return
    expected = _lister_expects(bench, signed)
    listed = set(back.listed)
    if expected - listed or listed - expected:
        fail_with(
            f"{reader.label} listed {sorted(listed)}, the registry holds {sorted(expected)} for the image",
            step=back.step,
            answer=back.answer,
        )


@spec(
    "distribution-spec/spec.md#referrers-tag-schema", "The referrers index keeps every entry when several tools write"
)
def test_referrers_index_keeps_every_entry(cell, bench, keyring, all_writers, recorder):
    evidence.judging("writer")
    repo, digest, ref = bench.subject("shared")
    client = bench.ctx.client
    seen: dict[str, tuple[str, str]] = {}  # entry digest -> (artifactType as first listed, who wrote it)
    history = []
    for tool in all_writers:
        name = tool.label
        evidence.judging(f"writer {name}")  # the index as this write left it is this writer's answer
        try:
            tool.write(ref, keyring)
        except EngineError as exc:
            history.append({"writer": name, "refused": exc.answer})
            continue
        listing = referrers.list_referrers(client, repo, digest)
        now = {e.get("digest", ""): str(e.get("artifactType", "")) for e in listing.entries}
        where = listing.path if listing.index_present else "no referrers index yet"
        history.append({"writer": name, "path": where, "entries": listing.summary()})
        recorder.add("index_history", history)
        lost = [d for d in seen if d not in now]
        changed = [d for d in seen if d in now and now[d] != seen[d][0]]
        if lost or changed:
            what = "; ".join(
                [f"{d} (by {seen[d][1]}) lost" for d in lost]
                + [f"{d} (by {seen[d][1]}) artifactType {seen[d][0]} -> {now[d]}" for d in changed]
            )
            fail_with(
                f"after {name} wrote, the referrers index no longer holds the earlier entries as written: {what}",
                step=f"{name} write for an image others wrote for",
                answer=json.dumps(listing.summary()),
            )
        for d, kind in now.items():
            seen.setdefault(d, (kind, name))
    listing = referrers.list_referrers(client, repo, digest)
    problems = referrers.entry_problems(client, repo, digest, listing.entries)
    # An entry that contradicts its manifest from its own write on is its writer's finding (judged in
    # test_written_entries_agree_with_their_manifests); here it is recorded with who wrote it.
    recorder.add(
        "entry_problems", [f"{p.digest} (by {seen.get(p.digest, ('', '?'))[1]}): {p.problem}" for p in problems]
    )
