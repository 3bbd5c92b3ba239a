"""Content management (distribution-spec v1.1 §Content Management): deleting manifests, tags and
blobs. Registries MAY disable deletion; then they MUST answer 405, or 400 with the error code
``UNSUPPORTED`` (the official conformance suite checks exactly that), and the check is skipped with
that answer as its reason: the refusal is the registry's own declaration, a bare 405 included. A 400
with any other code is a refusal the client can't tell from a bad request: it fails.
"""

from __future__ import annotations

import httpx

from ocimatrix.distribution import expect
from ocimatrix.distribution.client import NotApplicable
from ocimatrix.distribution.content import absent_digest, text_blob
from ocimatrix.distribution.context import DistContext

DISABLED = (400, 405)


def _disabled(response: httpx.Response, what: str, feature: str) -> None:
    """Raise NotApplicable when ``response`` says ``feature`` is disabled (400/405, which is lawful)."""
    if response.status_code not in DISABLED:
        return
    answer = expect.refusal_of_optional_feature(response, what, feature)
    expect.note("deletion", f"{feature} disabled: {answer}")
    raise NotApplicable(f"{feature} disabled by this registry ({answer}); the spec allows 405, or 400 UNSUPPORTED")


def _gone(ctx: DistContext, repo: str, reference: str, what: str) -> None:
    response = ctx.get_manifest(repo, reference, what)
    expect.status(response, 404, what, "deleted content MUST then answer 404")


def delete_manifest(ctx: DistContext) -> None:
    """DELETE /manifests/<digest>: 202, then the digest and the tags pointing at it answer 404."""
    repo = ctx.new_repo("delete-manifest")
    image = ctx.push_image(repo, "v1")
    what = "delete manifest by digest"
    response = ctx.request("DELETE", f"/v2/{repo}/manifests/{image.digest}", what=what)
    _disabled(response, what, "manifest deletion")
    expect.status(response, 202, what, "a deleted manifest MUST answer 202 Accepted")
    _gone(ctx, repo, image.digest, f"{what}: GET by digest afterwards")
    _gone(ctx, repo, "v1", f"{what}: GET by the tag that pointed at it")


def delete_unknown_manifest(ctx: DistContext) -> None:
    """DELETE of a manifest digest never pushed: 404 (MANIFEST_UNKNOWN in a JSON body)."""
    repo = ctx.new_repo("delete-unknown-manifest")
    ctx.push_image(repo, "v1")
    what = "delete an unknown manifest"
    response = ctx.request("DELETE", f"/v2/{repo}/manifests/{absent_digest()}", what=what)
    _disabled(response, what, "manifest deletion")
    expect.status(response, 404, what, "deleting a manifest that doesn't exist MUST answer 404")
    expect.error_body(response, what, {"MANIFEST_UNKNOWN", "NAME_UNKNOWN"})


def delete_tag(ctx: DistContext) -> None:
    """DELETE /manifests/<tag>: 202 and only that tag goes; or 400/405 and the tag stays."""
    repo = ctx.new_repo("delete-tag")
    image = ctx.push_image(repo, "gone")
    ctx.push_manifest(repo, "kept", image)
    what = "delete tag"
    response = ctx.request("DELETE", f"/v2/{repo}/manifests/gone", what=what)
    if response.status_code in DISABLED:
        check = ctx.get_manifest(repo, "gone", f"{what}: the refused tag")
        expect.status(check, 200, f"{what}: the refused tag", "a refused deletion MUST leave the tag in place")
        _disabled(response, what, "tag deletion")
    expect.status(response, 202, what, "a deleted tag MUST answer 202 Accepted")
    _gone(ctx, repo, "gone", f"{what}: GET of the deleted tag")
    for reference in ("kept", image.digest):
        step = f"{what}: GET {reference} afterwards"
        check = ctx.get_manifest(repo, reference, step)
        expect.status(check, 200, step, "deleting a tag MUST NOT delete the manifest or its other tags")


def delete_blob(ctx: DistContext) -> None:
    """DELETE /blobs/<digest>: 202, then the blob answers 404."""
    repo = ctx.new_repo("delete-blob")
    blob = text_blob("delete")
    ctx.push_blob(repo, blob)
    what = "delete blob"
    response = ctx.request("DELETE", f"/v2/{repo}/blobs/{blob.digest}", what=what)
    _disabled(response, what, "blob deletion")
    expect.status(response, 202, what, "a deleted blob MUST answer 202 Accepted")
    check = ctx.request("HEAD", f"/v2/{repo}/blobs/{blob.digest}", what=f"{what}: HEAD afterwards")
    expect.status(check, 404, f"{what}: HEAD afterwards", "a deleted blob MUST then answer 404")


def delete_unknown_blob(ctx: DistContext) -> None:
    """DELETE of a blob never pushed: 404 (BLOB_UNKNOWN in a JSON body)."""
    repo = ctx.new_repo("delete-unknown-blob")
    ctx.push_blob(repo, text_blob("exists"))
    what = "delete an unknown blob"
    response = ctx.request("DELETE", f"/v2/{repo}/blobs/{absent_digest()}", what=what)
    _disabled(response, what, "blob deletion")
    expect.status(response, 404, what, "deleting a blob that doesn't exist MUST answer 404")
    expect.error_body(response, what, {"BLOB_UNKNOWN", "NAME_UNKNOWN"})


def _tag_list(ctx: DistContext, repo: str, what: str) -> tuple[httpx.Response, list[str]]:
    response = ctx.request("GET", f"/v2/{repo}/tags/list", what=what)
    expect.status(response, 200, what, "listing the tags of an existing repository MUST answer 200 OK")
    return response, list(expect.json_object(response, what, {"tags": list}).get("tags") or [])


def tags_list_after_manifest_delete(ctx: DistContext) -> None:
    """Deleting a tagged manifest by digest takes its tags out of the tag list."""
    repo = ctx.new_repo("delete-then-list")
    image = ctx.push_image(repo, "doomed")
    ctx.push_image(repo, "survivor")
    _, before = _tag_list(ctx, repo, "tag list before the delete")
    what = "delete a tagged manifest by digest"
    response = ctx.request("DELETE", f"/v2/{repo}/manifests/{image.digest}", what=what)
    _disabled(response, what, "manifest deletion")
    expect.status(response, 202, what, "a deleted manifest MUST answer 202 Accepted")
    what = "tag list after the delete"
    listed, after = _tag_list(ctx, repo, what)
    if "doomed" in after or len(after) >= len(before):
        expect.fail(
            listed,
            what,
            f"{what}: still lists {after} (before: {before}); the tag 'doomed' pointed at the "
            "deleted manifest and MUST no longer be listed",
        )
    if "survivor" not in after:
        expect.fail(listed, what, f"{what}: {after} lost the tag 'survivor' of another manifest")
