"""Content discovery (distribution-spec v1.1 §Content Discovery): the tag list with ``n``/``last``
pagination and ``Link``, the referrers API with ``artifactType`` filtering, and the referrers tag
schema clients fall back to when the API is absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx

from ocimatrix.distribution import expect
from ocimatrix.distribution.client import NotApplicable
from ocimatrix.distribution.content import (
    Manifest,
    absent_digest,
    make_artifact,
    make_index,
    referrer_descriptor,
    referrers_tag,
)
from ocimatrix.distribution.context import DistContext
from ocimatrix.oci.mediatypes import OCI_INDEX
from ocimatrix.oci.schemas import schema_errors

# Pushed in this (shuffled) order, so a registry that lists in insertion or storage order shows it.
TAGS_PUSH_ORDER = ("t5", "t2", "t8", "t1", "t7", "t3", "t6", "t4")
PAGE = 3
MAX_PAGES = 20
SBOM_TYPE = "application/vnd.ocimatrix.test.sbom.v1+json"
SIGNATURE_TYPE = "application/vnd.ocimatrix.test.signature.v1+json"
_LINK = re.compile(r'<([^>]*)>\s*;[^,]*\brel="?next"?', re.IGNORECASE)


def _push_tags(ctx: DistContext, label: str) -> tuple[str, list[str]]:
    repo = ctx.new_repo(label)
    image = ctx.push_image(repo, TAGS_PUSH_ORDER[0])
    for tag in TAGS_PUSH_ORDER[1:]:
        ctx.push_manifest(repo, tag, image)
    return repo, sorted(TAGS_PUSH_ORDER)


def _tag_page(
    ctx: DistContext, url: str, what: str, query: dict[str, str] | None = None
) -> tuple[httpx.Response, list[str], str]:
    """One page: the answer, its tags and the next page's URL from its Link header ('' when there is none)."""
    response = ctx.request("GET", url, what=what, query=query)
    expect.status(response, 200, what, "listing the tags of an existing repository MUST answer 200 OK")
    document = _tag_document(response, what)
    link = response.headers.get("Link", "")
    match = _LINK.search(link)
    if link and not match:
        expect.fail(response, what, f'{what}: Link header {link!r} is not an RFC 5988 link with rel="next"', "Link")
    return response, list(document["tags"]), (ctx.client.url(match.group(1)) if match else "")


def _tag_document(response: httpx.Response, what: str) -> dict[str, Any]:
    """A tag list that keeps to the spec's format (an object with ``name`` and ``tags``), or the check fails."""
    document = expect.json_body(response, what)
    problems = expect.schema_problems("tags-list", document)
    if problems:
        expect.fail(
            response,
            what,
            f"{what}: the tag list breaks the spec's format ({'; '.join(problems[:5])}). "
            f"Body: {expect.excerpt(response)}",
        )
    return document


def tags_list(ctx: DistContext) -> None:
    """GET /v2/<name>/tags/list: 200, the repository's name and every tag pushed to it."""
    repo, expected = _push_tags(ctx, "tags")
    what = "tag list"
    response = ctx.request("GET", f"/v2/{repo}/tags/list", what=what)
    expect.status(response, 200, what, "listing the tags of an existing repository MUST answer 200 OK")
    document = _tag_document(response, what)
    if document["name"] != repo:
        expect.fail(response, what, f"{what}: 'name' is {document['name']!r}, expected the repository {repo!r}")
    tags = list(document["tags"])
    match = _LINK.search(response.headers.get("Link", ""))
    pages = 1
    last = response
    while match and pages < MAX_PAGES:  # a registry may page even without n: follow it to the end
        last, more, next_url = _tag_page(ctx, ctx.client.url(match.group(1)), f"{what}, page {pages + 1} (from Link)")
        tags += more
        pages += 1
        match = _LINK.search(f'<{next_url}>; rel="next"') if next_url else None
    if sorted(tags) != expected:
        missing = sorted(set(expected) - set(tags))
        extra = sorted(set(tags) - set(expected))
        expect.fail(
            last,
            what,
            f"{what}: tags {tags} don't match the pushed {expected} (missing {missing}, unexpected {extra})",
        )
    expect.note("tags_listed", f"{len(tags)} tags over {pages} page(s)")


def tags_list_order(ctx: DistContext) -> None:
    """The tag list is in lexical order, whatever order the tags were pushed in."""
    repo, expected = _push_tags(ctx, "tags-order")
    what = "tag list order"
    response, tags, _ = _tag_page(ctx, f"/v2/{repo}/tags/list", what)
    if tags != sorted(tags):
        expect.fail(
            response,
            what,
            f"{what}: tags came back as {tags}; the list MUST be in lexical order ({sorted(tags)}) "
            f"(pushed in the order {list(TAGS_PUSH_ORDER)})",
        )


def _paginate(
    ctx: DistContext, repo: str, what: str, first_query: dict[str, str], expected: list[str]
) -> tuple[httpx.Response, list[str]]:
    """Follow ``Link`` from the first page; every page holds at most n tags, in order, none repeated."""
    response, tags, next_url = _tag_page(ctx, f"/v2/{repo}/tags/list", what, first_query)
    pages = [(response, tags)]
    while next_url and len(pages) < MAX_PAGES:
        response, tags, next_url = _tag_page(ctx, next_url, f"{what}, page {len(pages) + 1} (from Link)")
        pages.append((response, tags))
    if next_url:
        expect.fail(
            response,
            what,
            f"{what}: still a Link after {MAX_PAGES} pages of at most {PAGE} tags for {len(expected)} tags",
            "Link",
        )
    for number, (answer, page) in enumerate(pages, 1):
        if len(page) > PAGE:
            expect.fail(
                answer,
                what,
                f"{what}: page {number} holds {len(page)} tags {page} for n={PAGE}; "
                "a response MUST hold at most n tags",
            )
        last = number == len(pages)
        if len(page) < PAGE and not last:
            expect.fail(answer, what, f"{what}: page {number} holds {len(page)} tags but a Link promised more", "Link")
    listed = [tag for _, page in pages for tag in page]
    if len(listed) != len(set(listed)):
        expect.fail(response, what, f"{what}: pages repeat tags: {[page for _, page in pages]}")
    return pages[0][0], listed


def tags_list_n(ctx: DistContext) -> None:
    """?n=<int>: at most n tags, fewer only with a Link to the rest; following Link lists them all."""
    repo, expected = _push_tags(ctx, "tags-n")
    what = f"tag list with n={PAGE}"
    response, listed = _paginate(ctx, repo, what, {"n": str(PAGE)}, expected)
    first = listed[:PAGE]
    if first != expected[:PAGE]:
        expect.fail(
            response,
            what,
            f"{what}: the first page is {first}; without 'last' it MUST be the first {PAGE} tags "
            f"in lexical order {expected[:PAGE]}",
        )
    if listed != expected[: len(listed)]:
        expect.fail(
            response, what, f"{what}: following Link listed {listed}; expected the tags in lexical order {expected}"
        )
    if len(listed) < len(expected):
        expect.note("tags_pagination", f"first page {first} and no Link (a client continues with last=)")
    else:
        expect.note("tags_pagination", f"{len(listed)} tags over pages of at most {PAGE}, linked with Link")


def tags_list_last(ctx: DistContext) -> None:
    """?n=<int>&last=<tag>: only tags lexically after <tag>, at most n of them, in order."""
    repo, expected = _push_tags(ctx, "tags-last")
    last = expected[2]
    what = f"tag list with n={PAGE}&last={last}"
    response, tags, _ = _tag_page(ctx, f"/v2/{repo}/tags/list", what, {"n": str(PAGE), "last": last})
    after = [t for t in expected if t > last]
    if len(tags) > PAGE:
        expect.fail(response, what, f"{what}: answered {len(tags)} tags {tags}; a response MUST hold at most n={PAGE}")
    if tags != after[: len(tags)] or not tags:
        expect.fail(
            response,
            what,
            f"{what}: answered {tags}; expected the tags after {last!r} in lexical order, i.e. {after[:PAGE]}",
        )


def tags_list_unknown_repo(ctx: DistContext) -> None:
    """The tag list of a repository nobody pushed to: 404 (NAME_UNKNOWN in a JSON body)."""
    repo = ctx.new_repo("never-created")
    what = "tag list of an unknown repository"
    response = ctx.request("GET", f"/v2/{repo}/tags/list", what=what)
    expect.status(response, 404, what, "an unknown repository answers 404 Not Found")
    expect.error_body(response, what, {"NAME_UNKNOWN"})


# --- referrers ----------------------------------------------------------------------------------
#
# The referrers API is optional in v1.1: a registry without it answers 404 to every referrers request
# (clients then use the tag schema), one with it MUST NOT answer 404 to any (§Listing Referrers), an
# unknown subject included. So a 404 is lawful only once the API's absence is established by an answer
# that can't mean anything else: the registry did not answer OCI-Subject when a referrer was pushed
# (a registry with the API MUST), and it answered 404 for a subject that has referrers.


@dataclass
class Referrers:
    repo: str
    subject: Manifest
    artifacts: list[Manifest]
    subject_header: bool  # the registry answered OCI-Subject: it processed the subject field


def _push_referrers(ctx: DistContext, label: str) -> Referrers:
    repo = ctx.new_repo(label)
    subject = ctx.push_image(repo, "v1")
    artifacts = [
        make_artifact(subject.descriptor(), SBOM_TYPE, {"org.ocimatrix.kind": "sbom"}),
        make_artifact(subject.descriptor(), SIGNATURE_TYPE, {"org.ocimatrix.kind": "signature"}),
    ]
    header = True
    for artifact in artifacts:
        for blob in artifact.blobs:
            ctx.push_blob(repo, blob, "setup: pushing a referrer's blobs")
        response = ctx.push_manifest(repo, artifact.digest, artifact, "setup: pushing a referrer")
        told = response.headers.get("OCI-Subject")
        if told is not None and told.strip() != subject.digest:
            expect.fail(
                response,
                "setup: pushing a referrer",
                f"setup: pushing a referrer: OCI-Subject is {told!r}, but the subject is {subject.digest}",
                "OCI-Subject",
            )
        header = header and told is not None
    return Referrers(repo, subject, artifacts, header)


def _api_absent(response: httpx.Response, refs: Referrers, what: str) -> NoReturn:
    """A 404 for a subject that has referrers: lawful (no referrers API) unless the registry declared the
    API by answering OCI-Subject to the referrers' pushes."""
    if refs.subject_header:
        expect.fail(
            response,
            what,
            f"{what}: {expect.request_line(response)} answered 404, although the registry answered OCI-Subject to "
            "the referrers' pushes (it processes subjects, so it has the referrers API); a registry with the "
            "referrers API MUST NOT answer 404 to a referrers request",
        )
    expect.note("referrers_api", "absent (no OCI-Subject on push; GET /v2/<name>/referrers/<digest> answered 404)")
    raise NotApplicable(
        "registry has no referrers API (no OCI-Subject on pushing a referrer, and GET "
        "/v2/<name>/referrers/<digest> of a subject with referrers answered 404); clients fall back "
        "to the referrers tag schema, checked by the referrers tag schema test"
    )


def _index_answer(response: httpx.Response, what: str) -> list[dict[str, Any]]:
    """A referrers answer: 200, the image index media type, a valid image index; its descriptors."""
    expect.status(response, 200, what, "the referrers API MUST answer 200 with an image index")
    got_type = expect.media_type(response)
    if got_type != OCI_INDEX:
        expect.fail(
            response,
            what,
            f"{what}: Content-Type is {got_type!r}; the referrers list MUST be {OCI_INDEX}",
            "Content-Type",
        )
    document = expect.json_object(response, what)
    problems = [f"{pointer}: {message}" for _, pointer, message in schema_errors("index", document)]
    if problems:
        expect.fail(response, what, f"{what}: the referrers list is not a valid image index: {'; '.join(problems[:5])}")
    return expect.descriptors(response, what, document)


def _referrers(
    ctx: DistContext, refs: Referrers, what: str, artifact_type: str = ""
) -> tuple[httpx.Response, list[dict[str, Any]]]:
    query = {"artifactType": artifact_type} if artifact_type else None
    response = ctx.request(
        "GET",
        f"/v2/{refs.repo}/referrers/{refs.subject.digest}",
        what=what,
        query=query,
        headers={"Accept": OCI_INDEX},
    )
    if response.status_code == 404:
        _api_absent(response, refs, what)
    listed = _index_answer(response, what)
    expect.note("referrers_api", "present")
    return response, listed


def _check_listed(response: httpx.Response, what: str, listed: list[dict[str, Any]], artifacts: list[Manifest]) -> None:
    by_digest = {d.get("digest"): d for d in listed}
    for artifact in artifacts:
        expected = referrer_descriptor(artifact)
        got = by_digest.get(artifact.digest)
        if got is None:
            expect.fail(
                response,
                what,
                f"{what}: referrer {artifact.digest} ({expected['artifactType']}) is not listed; "
                f"listed: {sorted(map(str, by_digest))}",
            )
        for key in ("mediaType", "size", "artifactType", "annotations"):
            if got.get(key) != expected.get(key):
                expect.fail(
                    response,
                    what,
                    f"{what}: the descriptor of {artifact.digest} has {key}={got.get(key)!r}, "
                    f"expected {expected.get(key)!r}",
                )


def referrers_api(ctx: DistContext) -> None:
    """GET /v2/<name>/referrers/<digest>: an image index listing every manifest whose subject it is."""
    refs = _push_referrers(ctx, "referrers")
    expect.note("oci_subject_header", "returned" if refs.subject_header else "absent")
    what = "referrers API"
    response, listed = _referrers(ctx, refs, what)
    _check_listed(response, what, listed, refs.artifacts)


def referrers_api_filter(ctx: DistContext) -> None:
    """?artifactType=: only matching referrers when OCI-Filters-Applied says the filter was applied."""
    refs = _push_referrers(ctx, "referrers-filter")
    what = f"referrers API with artifactType={SBOM_TYPE}"
    response, listed = _referrers(ctx, refs, what, SBOM_TYPE)
    applied = [f.strip() for f in response.headers.get("OCI-Filters-Applied", "").split(",") if f.strip()]
    if "artifactType" in applied:
        _check_listed(response, what, listed, refs.artifacts[:1])
        others = [d for d in listed if d.get("artifactType") != SBOM_TYPE]
        if others:
            expect.fail(
                response,
                what,
                f"{what}: OCI-Filters-Applied says artifactType was applied, yet other types are "
                f"listed: {[d.get('artifactType') for d in others]}",
                "OCI-Filters-Applied",
            )
        expect.note("referrers_filter", "applied (OCI-Filters-Applied: artifactType)")
    else:
        _check_listed(response, what, listed, refs.artifacts)
        expect.note("referrers_filter", "not applied (no OCI-Filters-Applied; the spec says SHOULD)")


def referrers_tag_schema(ctx: DistContext) -> None:
    """The fallback: the client keeps an image index of referrers under the tag <alg>-<hex>."""
    refs = _push_referrers(ctx, "referrers-tag")
    api = ctx.request(
        "GET",
        f"/v2/{refs.repo}/referrers/{refs.subject.digest}",
        what="probing the referrers API",
        headers={"Accept": OCI_INDEX},
    )
    api_state = "absent (404)" if api.status_code == 404 else f"answered {api.status_code}"
    tag = referrers_tag(refs.subject.digest)
    what = f"referrers tag schema (tag {tag})"
    step = f"{what}: reading the current list"
    response = ctx.get_manifest(refs.repo, tag, step)
    expect.status(response, (200, 404), step, "404 when no list exists yet, else the list")
    current: list[dict[str, Any]] = []
    if response.status_code == 200:
        current = list(expect.descriptors(response, step, expect.json_object(response, step)))
    known = {d.get("digest") for d in current}
    listed = current + [referrer_descriptor(a) for a in refs.artifacts if a.digest not in known]
    index = make_index(listed)
    ctx.push_manifest(refs.repo, tag, index, f"{what}: pushing the updated list")
    step = f"{what}: reading it back"
    response = ctx.get_manifest(refs.repo, tag, step)
    expect.status(response, 200, step, "the tag MUST resolve to the pushed index")
    expect.body_digest(response, index.digest, step)
    if expect.media_type(response) != OCI_INDEX:
        expect.fail(
            response,
            step,
            f"{step}: the list came back as {expect.media_type(response)!r}, not {OCI_INDEX}",
            "Content-Type",
        )
    document = expect.json_object(response, step)
    _check_listed(response, step, expect.descriptors(response, step, document), refs.artifacts)
    expect.note("referrers_api", api_state)
    if api.status_code == 404:
        expect.note("referrers", "referrers API absent; fallback tag schema works")
    else:
        expect.note("referrers", f"referrers API {api_state}; the fallback tag schema works too")


def referrers_of_unknown_subject(ctx: DistContext) -> None:
    """GET /v2/<name>/referrers/<digest nobody pushed>: 200 and an empty image index.

    Whether the registry has the API is established first, from a subject that has referrers: the
    OCI-Subject header on their push, else the referrers list of that subject (404 there: no API, the
    check does not apply). With the API, a 404 for the unknown digest fails: the spec forbids it.
    """
    refs = _push_referrers(ctx, "referrers-empty")
    if not refs.subject_header:
        what = "probing the referrers API with a subject that has referrers"
        probe = ctx.request(
            "GET", f"/v2/{refs.repo}/referrers/{refs.subject.digest}", what=what, headers={"Accept": OCI_INDEX}
        )
        if probe.status_code == 404:
            _api_absent(probe, refs, what)
        expect.status(probe, 200, what, "a registry with the referrers API MUST answer 200 with an image index")
    expect.note("referrers_api", "present" + (" (OCI-Subject on push)" if refs.subject_header else ""))
    what = "referrers of a digest nobody pushed"
    response = ctx.request(
        "GET", f"/v2/{refs.repo}/referrers/{absent_digest()}", what=what, headers={"Accept": OCI_INDEX}
    )
    if response.status_code == 404:
        expect.fail(
            response,
            what,
            f"{what}: {expect.request_line(response)} answered 404, but the registry has the referrers API (it "
            "listed the referrers of a known subject, or answered OCI-Subject); with the API it MUST answer 200 "
            "and an empty image index for a digest nothing refers to, never 404 (distribution-spec §Listing "
            "Referrers)",
        )
    listed = _index_answer(response, what)
    if listed != []:
        expect.fail(
            response, what, f"{what}: 'manifests' is {listed!r}; nothing refers to this digest, so it MUST be []"
        )
