"""What a registry holds for a signed image, read with the harness's own client, and what a copy to
another registry kept of it.

- ``read_held``: the image under its tag, the referrers listed for it (``referrers.list_referrers``:
  the API, else the referrers tag schema's index), the manifest under its signature tag (``.sig``)
  and the digests its payloads sign, and every tag of the repository with the digest it serves.
- ``states``: each thing a writer wrote at the source, found again at the destination or not:
  ``kept`` (the same referrer listed, or the same signature-tag manifest), ``rewritten`` (another
  signature-tag manifest whose payload still signs the image), ``unlisted`` (the referrer's manifest
  is there but nothing lists it, so no reader finds it) or ``lost``.
- ``losses``: what a copy was asked to keep (``CopyWay.keeps``) and did not: the image's digest
  always; the referrers, a family's signatures, the signature tags or every tag, each by the
  harness's read of the destination and by every verifier that verified it at the source (where
  everything of its family was asked for: ``speaks_for``). Each loss
  carries its step and the answer it rests on (the destination's listing or the verifier's words).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ocimatrix.distribution import referrers
from ocimatrix.distribution.client import DistributionClient
from ocimatrix.distribution.content import MANIFEST_ACCEPT
from ocimatrix.engines.signing import (
    KEEPS_REFERRERS,
    KEEPS_SIGNATURE_TAGS,
    KEEPS_SIGNATURES,
    KEEPS_TAGS,
    REFERRER,
    SIGNATURE_TAG,
    CopyWay,
)
from ocimatrix.errors import ImplementationFailure
from ocimatrix.oci.digest import digest_bytes

KEPT = "kept"
REWRITTEN = "rewritten"
UNLISTED = "unlisted"
LOST = "lost"
FOUND_AGAIN = (KEPT, REWRITTEN)  # a reader finds the thing after the copy


@dataclass(frozen=True)
class Item:
    """One thing a writer wrote for the image: a referrer, or a manifest under the signature tag."""

    writer: str
    family: str
    how: str  # REFERRER or SIGNATURE_TAG
    digest: str  # the referrer's manifest, or the manifest under the signature tag

    def to_json(self) -> dict[str, str]:
        return {"writer": self.writer, "family": self.family, "how": self.how, "digest": self.digest}


@dataclass
class Held:
    """What one registry holds for one image, as the harness reads it."""

    repo: str
    tag: str
    digest: str  # what the tag serves ("" when it serves nothing)
    listing_path: str = ""
    listed: list[str] = field(default_factory=list)  # referrer digests, in listing order
    listing: list[str] = field(default_factory=list)  # each entry as "digest artifactType"
    signature_tag: str = ""  # the manifest under the image's signature tag ("" when there is none)
    signed: list[str] = field(default_factory=list)  # the image digests its payloads sign
    tags: dict[str, str] = field(default_factory=dict)  # tag -> the manifest digest it serves
    present: set[str] = field(default_factory=set)  # referrer manifests asked for by digest and served
    listing_error: str = ""  # the registry's answer when what it serves for the referrers is no listing

    def to_json(self) -> dict:
        return {
            "repo": self.repo,
            "tag": self.tag,
            "digest": self.digest,
            "referrers": {"path": self.listing_path, "entries": self.listing, "error": self.listing_error},
            "signature_tag": self.signature_tag,
            "signed": self.signed,
            "tags": self.tags,
            "present": sorted(self.present),
        }


def _served_digest(client: DistributionClient, repo: str, reference: str, what: str) -> str:
    response = client.request(
        "GET", f"/v2/{repo}/manifests/{reference}", what=what, headers={"Accept": MANIFEST_ACCEPT}
    )
    return str(digest_bytes(response.content)) if response.status_code == 200 else ""


def tags_of(client: DistributionClient, repo: str) -> dict[str, str]:
    """Every tag of ``repo`` with the digest of the manifest it serves (a 404: no tag at all)."""
    what = f"GET /v2/{repo}/tags/list"
    response = client.request("GET", f"/v2/{repo}/tags/list", what=what)
    if response.status_code == 404:
        return {}
    try:
        names = json.loads(response.content).get("tags") or []
    except (ValueError, AttributeError):
        names = []
    return {str(t): _served_digest(client, repo, str(t), f"GET tag {t}") for t in sorted(names)}


def read_held(client: DistributionClient, repo: str, tag: str, subject: str, items: list[Item] = ()) -> Held:
    """What the registry holds for ``subject`` (the image's digest at the source) in ``repo``, and which
    of ``items``' referrer manifests it serves by digest."""
    held = Held(repo, tag, _served_digest(client, repo, tag, f"GET the image {repo}:{tag}"))
    try:
        listing = referrers.list_referrers(client, repo, subject)
        held.listing_path, held.listed, held.listing = listing.path, listing.digests(), listing.summary()
    except ImplementationFailure as exc:
        # No listing to read (say, another manifest under the referrers tag): nothing is listed there, and
        # the registry's answer is kept for the loss it makes.
        held.listing_path, held.listing_error = exc.step or "referrers", exc.answer or str(exc)
    held.signature_tag = _served_digest(client, repo, referrers.signature_tag(subject), "GET the signature tag")
    if held.signature_tag:
        held.signed, _ = referrers.signed_digests(client, repo, subject)
    held.tags = tags_of(client, repo)
    for item in (i for i in items if i.how == REFERRER and i.digest not in held.listed):
        if _served_digest(client, repo, item.digest, f"GET referrer {item.digest}") == item.digest:
            held.present.add(item.digest)
    return held


def state_of(item: Item, subject: str, dest: Held) -> str:
    """Whether ``item`` is found again at the destination ``dest`` (KEPT, REWRITTEN, UNLISTED or LOST)."""
    if item.how == SIGNATURE_TAG:
        if dest.signature_tag == item.digest:
            return KEPT
        return REWRITTEN if dest.signature_tag and subject in dest.signed else LOST
    if item.digest in dest.listed:
        return KEPT
    return UNLISTED if item.digest in dest.present else LOST


def states(items: list[Item], subject: str, dest: Held) -> dict[str, str]:
    """Each item's state at the destination, by its digest."""
    return {item.digest: state_of(item, subject, dest) for item in items}


def promised(way: CopyWay, item: Item) -> bool:
    """Whether the user asked ``way`` to keep ``item``."""
    if way.keeps == KEEPS_REFERRERS:
        return item.how == REFERRER
    if way.keeps == KEEPS_SIGNATURES:
        return item.family in way.families
    if way.keeps == KEEPS_SIGNATURE_TAGS:
        return item.how == SIGNATURE_TAG
    return False


@dataclass(frozen=True)
class Verified:
    """One verifier's answer about one writer's signature, at the source and at the destination."""

    reader: str
    writer: str
    step: str
    at_source: bool
    at_destination: bool | None  # None: not asked (it did not verify at the source either)
    answer: str  # the verifier's words at the destination

    def to_json(self) -> dict:
        return {
            "reader": self.reader,
            "writer": self.writer,
            "source": self.at_source,
            "destination": self.at_destination,
            "answer": self.answer[-600:],
        }


@dataclass(frozen=True)
class Loss:
    step: str
    message: str
    answer: str


def _listing_answer(dest: Held) -> str:
    """The destination's referrers listing (or what it served instead) and its tags, as the registry answered."""
    listing = dest.listing_error or json.dumps(dest.listing)
    return f"destination {dest.listing_path}: {listing}; tags: {json.dumps(dest.tags)}"


def speaks_for(way: CopyWay, items: list[Item], check: Verified) -> bool:
    """Whether a verifier's answers judge ``way``: only when every signature of its family at the source
    was asked to be kept. A verifier accepts any signature of its family it can read (cosign 2.5 asked
    for a bundle verifies the ``.sig`` signature beside it), so with one of them not asked for, its
    answer at the source may rest on that one, and its answer after the copy proves nothing."""
    writer = next((i for i in items if i.writer == check.writer), None)
    family = [i for i in items if writer is not None and i.family == writer.family]
    return bool(family) and all(promised(way, i) for i in family)


def losses(
    way: CopyWay,
    source: Held,
    dest: Held,
    items: list[Item],
    verified: list[Verified],
) -> list[Loss]:
    """What ``way`` was asked to keep and the destination lacks, in a fixed order: the image, each
    promised item as the harness reads it, then each verifier that verified at the source and not at
    the destination where its answers judge the way (``speaks_for``), then every tag (when all tags
    were asked for)."""
    found: list[Loss] = []
    if dest.digest != source.digest:
        found.append(
            Loss(
                "the image at the destination",
                "the copy is not the image: another digest, or none, under the tag",
                f"source {source.repo}:{source.tag} {source.digest}; destination {dest.repo}:{dest.tag} "
                f"{dest.digest or '(nothing under the tag)'}",
            )
        )
    at_dest = states(items, source.digest, dest)
    for item in items:
        if not promised(way, item) or at_dest[item.digest] in FOUND_AGAIN:
            continue
        if item.how == SIGNATURE_TAG:
            step = "signature tag at the destination"
            answer = f"destination {referrers.signature_tag(source.digest)}: {dest.signature_tag or '(no such tag)'}"
            answer += f"; signed: {dest.signed}" if dest.signature_tag else ""
            answer += f"; tags: {json.dumps(dest.tags)}"
        else:
            step = "referrers at the destination"
            answer = _listing_answer(dest)
        what = "is there but unlisted" if at_dest[item.digest] == UNLISTED else "is missing"
        found.append(Loss(step, f"{item.writer}'s {item.how} {item.digest} {what} at the destination", answer))
    for check in verified:
        if not speaks_for(way, items, check) or not check.at_source or check.at_destination:
            continue
        found.append(
            Loss(
                f"{check.step} at the destination",
                f"{check.reader} verified {check.writer}'s signature at the source, not at the destination",
                check.answer,
            )
        )
    if way.keeps == KEEPS_TAGS:
        missing = [t for t, d in source.tags.items() if dest.tags.get(t) != d]
        if missing:
            found.append(
                Loss(
                    "tags at the destination",
                    f"tags not copied as they were: {', '.join(missing)}",
                    f"destination tags: {json.dumps(dest.tags)}",
                )
            )
    return found
