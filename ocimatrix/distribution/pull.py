"""Pull workflow (distribution-spec v1.1 §Pull): the API check, manifests and blobs by tag and digest.

Every registry MUST support all of these. Unknown names, tags and digests MUST give 404; a JSON
error body MUST follow the spec's error format.
"""

from __future__ import annotations

import httpx

from ocimatrix.distribution import expect
from ocimatrix.distribution.client import CheckFailed, DistributionClient, NotApplicable, path_of
from ocimatrix.distribution.content import absent_digest, text_blob
from ocimatrix.distribution.context import DistContext
from ocimatrix.oci.registry_client import parse_challenge
from ocimatrix.registries import redact

API_VERSION_HEADER = "Docker-Distribution-API-Version"
CHALLENGE = "WWW-Authenticate"
REDIRECTS = (301, 302, 303, 307, 308)


def api_version_check(ctx: DistContext) -> None:
    """GET /v2/ answers 200 to an authorized client: the registry implements the spec."""
    what = "API version check"
    response = ctx.request("GET", "/v2/", what=what)
    expect.status(response, 200, what, "a registry implementing the spec answers GET /v2/ with 200 OK")
    expect.note("api_version_header", response.headers.get(API_VERSION_HEADER, "(absent)"))


def api_version_check_unauthenticated(ctx: DistContext) -> None:
    """Without credentials GET /v2/ answers 200, or 401 with a challenge the client can act on."""
    what = "API version check without credentials"
    anonymous = DistributionClient(ctx.target, ctx.client.timeout, auth=False)
    try:
        response = anonymous.request("GET", "/v2/", what=what)
    finally:
        anonymous.close()
    expect.status(response, (200, 401), what, "GET /v2/ answers 200, or 401 when authentication is required")
    if response.status_code == 200:
        expect.note("anonymous_access", "allowed (GET /v2/ answered 200 without credentials)")
        return
    challenge = expect.header(response, CHALLENGE, what, "a 401 MUST carry a challenge (RFC 7235)")
    scheme, params = parse_challenge(challenge)
    if scheme not in ("basic", "bearer"):
        expect.fail(response, what, f"{what}: 401 challenge {challenge!r} is neither Basic nor Bearer", CHALLENGE)
    if scheme == "bearer" and not params.get("realm"):
        expect.fail(
            response, what, f"{what}: Bearer challenge {challenge!r} has no realm to fetch a token from", CHALLENGE
        )
    expect.note("challenge", f"{scheme} " + ", ".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "scope"))
    expect.error_body(response, what, {"UNAUTHORIZED"})


def pull_manifest(ctx: DistContext, by: str) -> None:
    """GET a manifest by tag or digest: 200, the exact bytes pushed, its Content-Type and digest."""
    repo = ctx.new_repo(f"pull-manifest-{by}")
    image = ctx.push_image(repo, "v1")
    reference = "v1" if by == "tag" else image.digest
    what = f"pull manifest by {by}"
    response = ctx.get_manifest(repo, reference, what)
    expect.status(response, 200, what, "a GET of an existing manifest MUST answer 200 OK")
    expect.body_digest(response, image.digest, what, image.size)
    got_type = expect.media_type(response)
    if got_type != image.media_type:
        expect.fail(
            response,
            what,
            f"{what}: Content-Type is {got_type!r}, but the manifest was pushed as {image.media_type!r} "
            "(its mediaType field); the response MUST carry the manifest's media type",
            "Content-Type",
        )
    expect.digest_header(response, image.digest, what)


def head_manifest(ctx: DistContext, by: str) -> None:
    """HEAD a manifest by tag or digest: 200, no body, its digest and size in the headers."""
    repo = ctx.new_repo(f"head-manifest-{by}")
    image = ctx.push_image(repo, "v1")
    reference = "v1" if by == "tag" else image.digest
    what = f"HEAD manifest by {by}"
    response = ctx.get_manifest(repo, reference, what, method="HEAD")
    expect.status(response, 200, what, "a HEAD of an existing manifest MUST answer 200 OK")
    if response.content:
        expect.fail(response, what, f"{what}: the HEAD response carried a {len(response.content)}-byte body")
    expect.digest_header(response, image.digest, what)
    expect.content_length(response, image.size, what)


def pull_blob(ctx: DistContext) -> None:
    """GET a blob by digest: 200 and bytes that hash to the digest; Docker-Content-Digest matches."""
    repo = ctx.new_repo("pull-blob")
    blob = text_blob("pull")
    ctx.push_blob(repo, blob)
    what = "pull blob"
    response = ctx.request("GET", f"/v2/{repo}/blobs/{blob.digest}", what=what)
    if response.status_code in REDIRECTS:
        response = _follow_redirect(ctx, response, what)
        what = f"{what} (at the redirect target)"
    expect.status(response, 200, what, "a GET of an existing blob MUST answer 200 OK")
    expect.body_digest(response, blob.digest, what, blob.size)
    expect.digest_header(response, blob.digest, what)


def head_blob(ctx: DistContext) -> None:
    """HEAD a blob: 200, no body, Content-Length is its size, Docker-Content-Digest its digest."""
    repo = ctx.new_repo("head-blob")
    blob = text_blob("head")
    ctx.push_blob(repo, blob)
    what = "HEAD blob"
    response = ctx.request("HEAD", f"/v2/{repo}/blobs/{blob.digest}", what=what)
    if response.status_code in REDIRECTS:
        # Served from elsewhere (a CDN, a signed URL): the place it points to must serve this blob.
        redirect = response
        response = _follow_redirect(ctx, redirect, what)
        what = f"{what} (at the redirect target)"
        expect.status(response, 200, what, "the redirect target of a HEAD MUST answer 200 OK for the blob")
        expect.content_length(response, blob.size, what)
        step = f"{what}: GET of the redirect target"
        served = _follow_redirect(ctx, redirect, step, method="GET")
        expect.status(served, 200, step, "the redirect target MUST serve the blob")
        expect.body_digest(served, blob.digest, step, blob.size)
        return
    expect.status(response, 200, what, "a HEAD of an existing blob MUST answer 200 OK")
    if response.content:
        expect.fail(response, what, f"{what}: the HEAD response carried a {len(response.content)}-byte body")
    expect.content_length(response, blob.size, what)
    expect.digest_header(response, blob.digest, what)


def _follow_redirect(ctx: DistContext, response: httpx.Response, what: str, method: str = "") -> httpx.Response:
    """Follow a blob's redirect (the spec lets a registry serve blobs from elsewhere) without our
    credentials: they never follow a redirect to another host. A target that doesn't answer is the
    registry's wrong answer (it pointed there), so it fails the check."""
    method = method or response.request.method
    location = expect.header(response, "Location", what, "a redirect MUST say where the blob is")
    expect.note("blob_redirect", f"{response.request.method} answered {response.status_code} to another location")
    target = ctx.client.url(location)
    try:
        return ctx.client.http.request(method, target, auth=None, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise CheckFailed(
            f"{what}: {method} of the redirect target {path_of(target)} failed: {redact(str(exc))}",
            step=what,
            answer=f"{response.status_code} {response.reason_phrase} to {path_of(target)}, which answered "
            f"{type(exc).__name__}: {redact(str(exc))}",
        ) from None


def pull_unknown_manifest(ctx: DistContext, by: str, method: str = "GET") -> None:
    """A tag or digest that was never pushed: 404 (and MANIFEST_UNKNOWN in a JSON body)."""
    repo = ctx.new_repo(f"unknown-manifest-{by}")
    ctx.push_image(repo, "exists")
    reference = "never-pushed" if by == "tag" else absent_digest()
    what = f"{method} unknown manifest by {by}"
    response = ctx.get_manifest(repo, reference, what, method=method)
    expect.status(response, 404, what, "a manifest not found MUST answer 404 Not Found")
    expect.error_body(response, what, {"MANIFEST_UNKNOWN", "NAME_UNKNOWN"})


def pull_unknown_blob(ctx: DistContext, method: str = "GET") -> None:
    """A digest never pushed to an existing repository: 404 (and BLOB_UNKNOWN in a JSON body)."""
    repo = ctx.new_repo("unknown-blob")
    ctx.push_blob(repo, text_blob("exists"))
    what = f"{method} unknown blob"
    response = ctx.request(method, f"/v2/{repo}/blobs/{absent_digest()}", what=what)
    expect.status(response, 404, what, "a blob not found MUST answer 404 Not Found")
    expect.error_body(response, what, {"BLOB_UNKNOWN", "NAME_UNKNOWN"})


def pull_unknown_repository(ctx: DistContext) -> None:
    """A repository nobody pushed to: manifests and blobs answer 404 (NAME_UNKNOWN or *_UNKNOWN)."""
    repo = ctx.new_repo("never-created")
    what = "GET manifest of an unknown repository"
    response = ctx.get_manifest(repo, "latest", what)
    expect.status(response, 404, what, "content not found MUST answer 404 Not Found")
    expect.error_body(response, what, {"NAME_UNKNOWN", "MANIFEST_UNKNOWN"})
    what = "GET blob of an unknown repository"
    response = ctx.request("GET", f"/v2/{repo}/blobs/{absent_digest()}", what=what)
    expect.status(response, 404, what, "content not found MUST answer 404 Not Found")
    expect.error_body(response, what, {"NAME_UNKNOWN", "BLOB_UNKNOWN"})


def pull_manifest_malformed_digest(ctx: DistContext, method: str = "GET") -> None:
    """GET /manifests/sha256:totallywrong: 400 or 404, with the spec's JSON error body."""
    repo = ctx.new_repo("malformed-digest-get")
    ctx.push_image(repo, "exists")
    what = f"{method} manifest by the malformed digest sha256:totallywrong"
    response = ctx.get_manifest(repo, "sha256:totallywrong", what, method=method)
    expect.status(response, (400, 404), what, "a malformed digest is refused (400) or not found (404)")
    expect.error_body(response, what)


def pull_manifest_invalid_tag(ctx: DistContext, method: str = "GET") -> None:
    """A reference that is no valid tag (``.INVALID_MANIFEST_NAME``) names nothing: 404."""
    repo = ctx.new_repo("invalid-tag")
    ctx.push_image(repo, "exists")
    what = f"{method} manifest by the invalid tag .INVALID_MANIFEST_NAME"
    response = ctx.get_manifest(repo, ".INVALID_MANIFEST_NAME", what, method=method)
    expect.status(response, 404, what, "a manifest not found MUST answer 404 (the official suite's check)")
    expect.error_body(response, what)


def pull_invalid_repository_name(ctx: DistContext) -> None:
    """A repository name breaking the name grammar (upper case): 400 NAME_INVALID, or 404."""
    repo = ctx.new_repo("invalid-name").replace("invalid-name", "Invalid_NAME")
    what = "GET manifest of a repository whose name breaks the grammar"
    response = ctx.get_manifest(repo, "latest", what)
    expect.status(response, (400, 404), what, "an invalid name is refused (400 NAME_INVALID) or unknown (404)")
    codes = expect.error_body(response, what) or []
    if response.status_code == 400 and "NAME_INVALID" not in codes:
        expect.fail(response, what, f"{what}: 400 with code(s) {', '.join(codes)}; an invalid name is NAME_INVALID")


# (Range header, expected slice or None for 416) over a 2048-byte blob, as the official suite asks.
BLOB_RANGES: dict[str, tuple[str, slice | None]] = {
    "500-1499": ("bytes=500-1499", slice(500, 1500)),
    "500-": ("bytes=500-", slice(500, None)),
    "-500": ("bytes=-500", slice(-500, None)),
    "2000-5000": ("bytes=2000-5000", slice(2000, None)),
    "500-0": ("bytes=500-0", None),
    "5000-10000": ("bytes=5000-10000", None),
}


def pull_blob_range(ctx: DistContext, case: str) -> None:
    """GET a blob with Range: 206 and exactly those bytes, or 416 for a range outside the blob."""
    header, wanted = BLOB_RANGES[case]
    repo = ctx.new_repo("blob-range")
    blob = text_blob("range", size=2048)
    ctx.push_blob(repo, blob)
    what = f"GET blob with Range: {header}"
    response = ctx.request("GET", f"/v2/{repo}/blobs/{blob.digest}", what=what, headers={"Range": header})
    if response.status_code == 200:
        expect.body_digest(response, blob.digest, what, blob.size)
        raise NotApplicable(f"the registry ignores Range on blobs (answered 200 with the whole blob to {header})")
    if wanted is None:
        expect.status(response, 416, what, "a range outside the blob answers 416 Range Not Satisfiable")
        return
    expect.status(response, 206, what, "a satisfiable range answers 206 Partial Content")
    part = blob.data[wanted]
    if response.content != part:
        expect.fail(
            response, what, f"{what}: served {len(response.content)} bytes that are not bytes {case} of the blob"
        )
    start = blob.size - len(part) if wanted.start is not None and wanted.start < 0 else wanted.start
    content_range = response.headers.get("Content-Range", "")
    allowed = {f"bytes {start}-{start + len(part) - 1}/{blob.size}", f"bytes {start}-{start + len(part) - 1}/*"}
    if content_range not in allowed:
        expect.fail(
            response,
            what,
            f"{what}: Content-Range is {content_range!r}; expected {' or '.join(sorted(allowed))}",
            "Content-Range",
        )
    expect.content_length(response, len(part), what)
