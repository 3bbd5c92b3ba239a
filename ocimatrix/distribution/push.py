"""Push workflow (distribution-spec v1.1 §Push): monolithic, single-POST and chunked blob uploads,
upload status, cross-repository mounts, manifests by tag and digest, and what must be refused.
"""

from __future__ import annotations

import re

import httpx

from ocimatrix.distribution import expect
from ocimatrix.distribution.client import NotApplicable
from ocimatrix.distribution.content import (
    OCTET_STREAM,
    Blob,
    absent_digest,
    make_artifact,
    make_image,
    text_blob,
)
from ocimatrix.distribution.context import DistContext

_RANGE = re.compile(r"^(?:bytes=)?0-(\d+)$")
CHUNK_MIN_HEADER = "OCI-Chunk-Min-Length"
# Beyond this a check would hold hundreds of MiB in memory per chunk: the check is not for such a registry.
MAX_CHUNK = 64 * 1024 * 1024


def _chunk_size(response: httpx.Response, what: str, wanted: int) -> int:
    """The size for every chunk but the last: ``wanted``, or the registry's ``OCI-Chunk-Min-Length``
    from the POST's answer when that is larger (the spec: each chunk but the final one SHOULD be at
    least that long; the official suite adapts its chunks the same way)."""
    value = response.headers.get(CHUNK_MIN_HEADER)
    if value is None:
        return wanted
    if not value.strip().isdigit():
        expect.fail(response, what, f"{what}: {CHUNK_MIN_HEADER}: {value!r} is not a number of bytes", CHUNK_MIN_HEADER)
    minimum = int(value)
    expect.note("chunk_min_length", minimum)
    if minimum > MAX_CHUNK:
        raise NotApplicable(
            f"the registry asks for chunks of at least {minimum} bytes ({CHUNK_MIN_HEADER} on POST); "
            f"this check sends chunks of at most {MAX_CHUNK}"
        )
    return max(wanted, minimum)


def _padded(data: bytes, size: int) -> bytes:
    """``data`` made ``size`` bytes long (printable filler), so a chunk meets the registry's minimum."""
    return data + (b"-" * (size - len(data))) if size > len(data) else data


def _assert_blob_stored(ctx: DistContext, repo: str, blob: Blob, what: str) -> None:
    response = ctx.request("GET", f"/v2/{repo}/blobs/{blob.digest}", what=f"{what} (reading it back)")
    expect.status(response, 200, f"{what} (reading it back)", "an uploaded blob MUST be pullable")
    expect.body_digest(response, blob.digest, f"{what} (reading it back)", blob.size)


def _complete(
    ctx: DistContext,
    location: str,
    blob: Blob | None,
    digest: str,
    what: str,
    headers: dict[str, str] | None = None,
) -> None:
    response = ctx.request(
        "PUT",
        location,
        what=what,
        query={"digest": digest},
        headers={"Content-Type": OCTET_STREAM, **(headers or {})},
        content=blob.data if blob else b"",
    )
    expect.status(response, 201, what, "closing an upload with PUT ?digest= MUST answer 201 Created")
    expect.header(response, "Location", what, "201 MUST carry the blob's Location")


def _range_end(response: httpx.Response, what: str, rule: str) -> int:
    """The last byte the upload holds, from the answer's ``Range: 0-<end>`` (a MUST)."""
    value = expect.header(response, "Range", what, rule)
    match = _RANGE.match(value.strip())
    if not match:
        expect.fail(response, what, f"{what}: Range header {value!r} is not of the form 0-<end>", "Range")
    return int(match.group(1))


def push_blob_post_put(ctx: DistContext) -> None:
    """POST /blobs/uploads/ (202 + Location), then PUT <location>?digest= with the bytes (201)."""
    repo = ctx.new_repo("post-put")
    blob = text_blob("post-put")
    what = "monolithic upload (POST then PUT)"
    location = ctx.upload_location(ctx.start_upload(repo, what), what)
    _complete(ctx, location, blob, blob.digest, what)
    ctx.cleanup.blobs.append((repo, blob.digest))
    _assert_blob_stored(ctx, repo, blob, what)


def push_blob_single_post(ctx: DistContext) -> None:
    """POST ?digest= with the body: 201 when supported, else 202 and a PUT finishes (both lawful)."""
    repo = ctx.new_repo("single-post")
    blob = text_blob("single-post")
    what = "single-request upload (POST ?digest=)"
    response = ctx.start_upload(repo, what, query={"digest": blob.digest}, content=blob.data)
    expect.status(response, (201, 202), what, "201 Created, or 202 Accepted when single POST is unsupported")
    ctx.cleanup.blobs.append((repo, blob.digest))
    if response.status_code == 201:
        expect.header(response, "Location", what, "201 MUST carry the blob's Location")
        expect.note("single_post", "supported (201)")
    else:
        expect.note("single_post", "not supported: 202 and an upload session, finished with PUT")
        location = ctx.upload_location(response, what)
        _complete(ctx, location, blob, blob.digest, f"{what}, finished with PUT after 202")
    _assert_blob_stored(ctx, repo, blob, what)


def push_blob_chunked(ctx: DistContext, final_chunk_in_put: bool = False) -> None:
    """POST, PATCH chunks with Content-Range (202, Location, Range 0-<end>), PUT ?digest= (201)."""
    repo = ctx.new_repo("chunked")
    what = "chunked upload" + (" (last chunk in the PUT)" if final_chunk_in_put else "")
    started = ctx.start_upload(repo, what)
    location = ctx.upload_location(started, what)
    size = _chunk_size(started, what, 100)
    blob = text_blob("chunked", size=3 * size)
    chunks = [blob.data[:size], blob.data[size : 2 * size], blob.data[2 * size :]]
    offset = 0
    patched = chunks[:-1] if final_chunk_in_put else chunks
    for index, chunk in enumerate(patched):
        end = offset + len(chunk) - 1
        step = f"{what}, chunk {index + 1} (bytes {offset}-{end})"
        response = ctx.request(
            "PATCH",
            location,
            what=step,
            content=chunk,
            headers={"Content-Type": OCTET_STREAM, "Content-Range": f"{offset}-{end}"},
        )
        location = ctx.upload_location(response, step)
        got = _range_end(response, step, "each chunk's 202 MUST carry Range: 0-<end>")
        if got != end:
            expect.fail(response, step, f"{step}: Range says the upload ends at byte {got}, expected {end}", "Range")
        offset = end + 1
    if final_chunk_in_put:
        last = chunks[-1]
        headers = {"Content-Range": f"{offset}-{offset + len(last) - 1}"}
        _complete(ctx, location, Blob(last), blob.digest, f"{what}, closing PUT with the last chunk", headers)
    else:
        _complete(ctx, location, None, blob.digest, f"{what}, closing PUT")
    ctx.cleanup.blobs.append((repo, blob.digest))
    _assert_blob_stored(ctx, repo, blob, what)


def push_chunk_out_of_order(ctx: DistContext) -> None:
    """A chunk that does not start where the last one ended MUST be refused with 416."""
    repo = ctx.new_repo("out-of-order")
    what = "chunked upload, first chunk"
    started = ctx.start_upload(repo, what)
    location = ctx.upload_location(started, what)
    size = _chunk_size(started, what, 10)
    response = ctx.request(
        "PATCH",
        location,
        what=what,
        content=_padded(b"0123456789", size),
        headers={"Content-Type": OCTET_STREAM, "Content-Range": f"0-{size - 1}"},
    )
    location = ctx.upload_location(response, what)
    gap = 2 * size  # a chunk of the same size, one chunk's worth past where the upload ends
    what = f"chunked upload, out-of-order chunk (bytes {gap}-{gap + size - 1} after 0-{size - 1})"
    response = ctx.request(
        "PATCH",
        location,
        what=what,
        content=_padded(b"abcdefghij", size),
        headers={"Content-Type": OCTET_STREAM, "Content-Range": f"{gap}-{gap + size - 1}"},
    )
    if response.status_code == 202:
        expect.fail(
            response,
            what,
            f"{what}: the registry accepted a chunk starting at byte {gap} when the upload held {size} bytes "
            f"(202, Range {response.headers.get('Range')!r}); chunks MUST be uploaded in order and an "
            "out-of-order chunk MUST be refused with 416 Requested Range Not Satisfiable",
            "Range",
        )
    expect.status(response, 416, what, "an out-of-order chunk MUST answer 416 Requested Range Not Satisfiable")
    expect.error_body(response, what)


def upload_status(ctx: DistContext) -> None:
    """GET <location> of an upload in progress: 204, Location, Range 0-<last byte received>."""
    repo = ctx.new_repo("upload-status")
    what = "upload status"
    started = ctx.start_upload(repo, what)
    location = ctx.upload_location(started, what)
    chunk = b"status-probe-0123456789"
    chunk = _padded(chunk, _chunk_size(started, what, len(chunk)))
    response = ctx.request(
        "PATCH",
        location,
        what=f"{what}: first chunk",
        content=chunk,
        headers={"Content-Type": OCTET_STREAM, "Content-Range": f"0-{len(chunk) - 1}"},
    )
    location = ctx.upload_location(response, f"{what}: first chunk")
    response = ctx.request("GET", location, what=what)
    expect.status(response, 204, what, "the status of an active upload MUST answer 204 No Content")
    expect.header(response, "Location", what, "the upload status MUST carry Location")
    end = _range_end(response, what, "the upload status MUST carry Range")
    if end != len(chunk) - 1:
        expect.fail(
            response,
            what,
            f"{what}: Range ends at byte {end}, but {len(chunk)} bytes were uploaded (expected 0-{len(chunk) - 1})",
            "Range",
        )


def mount_blob(ctx: DistContext) -> None:
    """POST ?mount=<digest>&from=<repo>: 201 with the blob now in the target repository, or 202."""
    source = ctx.new_repo("mount-from")
    target = ctx.new_repo("mount-to")
    blob = text_blob("mount")
    ctx.push_blob(source, blob)
    what = "cross-repository mount"
    response = ctx.start_upload(target, what, query={"mount": blob.digest, "from": source})
    expect.status(response, (201, 202), what, "201 Created when mounted, 202 Accepted when the registry can't")
    ctx.cleanup.blobs.append((target, blob.digest))
    if response.status_code == 201:
        expect.header(response, "Location", what, "a mount's 201 MUST carry the blob's Location")
        expect.note("mount", "mounted (201)")
    else:
        expect.note("mount", "not mounted: 202, finished as a regular upload")
        location = ctx.upload_location(response, what)
        _complete(ctx, location, blob, blob.digest, f"{what}: the 202 fallback upload")
    _assert_blob_stored(ctx, target, blob, what)


def mount_unknown_blob_fallback(ctx: DistContext) -> None:
    """Mounting a blob the source doesn't have: 202 and an upload session that works."""
    source = ctx.new_repo("mount-from")
    target = ctx.new_repo("mount-to")
    ctx.push_blob(source, text_blob("mount-source"))
    blob = text_blob("mount-fallback")
    what = "mount of a blob the source repository doesn't have"
    response = ctx.start_upload(target, what, query={"mount": blob.digest, "from": source})
    if response.status_code == 201:
        expect.fail(
            response,
            what,
            f"{what}: answered 201 Created for {blob.digest}, which was never pushed anywhere",
            "Location",
        )
    location = ctx.upload_location(response, what)
    _complete(ctx, location, blob, blob.digest, f"{what}: uploading through the 202 session")
    ctx.cleanup.blobs.append((target, blob.digest))
    _assert_blob_stored(ctx, target, blob, what)


def push_manifest(ctx: DistContext, by: str) -> None:
    """PUT a manifest by tag or digest: 201, Location, and the same bytes come back."""
    repo = ctx.new_repo(f"push-manifest-{by}")
    image = make_image(repo)
    for blob in image.blobs:
        ctx.push_blob(repo, blob)
    reference = "v1" if by == "tag" else image.digest
    what = f"push manifest by {by}"
    response = ctx.push_manifest(repo, reference, image, what, "a stored manifest MUST answer 201 Created")
    expect.header(response, "Location", what, "201 MUST carry the manifest's Location")
    expect.digest_header(response, image.digest, what)
    response = ctx.get_manifest(repo, reference, f"{what} (reading it back)")
    expect.status(response, 200, f"{what} (reading it back)", "a pushed manifest MUST be pullable")
    expect.body_digest(response, image.digest, f"{what} (reading it back): the registry MUST store it byte for byte")


def push_manifest_invalid(ctx: DistContext) -> None:
    """A body that is not a manifest at all is refused with a 4XX (MANIFEST_INVALID in a JSON body)."""
    repo = ctx.new_repo("invalid-manifest")
    ctx.push_image(repo, "exists")
    what = "push of an invalid manifest"
    body = b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": '
    response = ctx.request(
        "PUT",
        f"/v2/{repo}/manifests/broken",
        what=what,
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        content=body,
    )
    if response.status_code < 400:
        expect.fail(
            response, what, f"{what}: the registry stored truncated JSON as a manifest ({response.status_code})"
        )
    expect.status(response, range(400, 500), what, "an invalid manifest is refused with a 4XX")
    expect.error_body(response, what, {"MANIFEST_INVALID"})


def push_manifest_unknown_blobs(ctx: DistContext) -> None:
    """A manifest naming blobs never pushed: accepted, or refused with MANIFEST_BLOB_UNKNOWN."""
    repo = ctx.new_repo("manifest-blob-unknown")
    image = make_image(repo)
    what = "push of a manifest whose blobs were never uploaded"
    response = ctx.request(
        "PUT",
        f"/v2/{repo}/manifests/v1",
        what=what,
        headers={"Content-Type": image.media_type},
        content=image.body,
    )
    if response.status_code == 201:
        ctx.cleanup.manifests.append((repo, image.digest))
        expect.note("manifest_blob_check", "accepted a manifest with missing blobs (the spec allows it)")
        return
    expect.status(response, range(400, 500), what, "refusing it is lawful, with a 4XX")
    expect.error_body(response, what, {"MANIFEST_BLOB_UNKNOWN"})
    expect.note("manifest_blob_check", "refuses manifests with missing blobs")


def push_manifest_digest_mismatch(ctx: DistContext) -> None:
    """PUT /manifests/<digest> whose body hashes to something else is refused (DIGEST_INVALID)."""
    repo = ctx.new_repo("manifest-digest-mismatch")
    image = make_image(repo)
    for blob in image.blobs:
        ctx.push_blob(repo, blob)
    wrong = absent_digest()
    what = "push of a manifest under a digest that is not its own"
    response = ctx.request(
        "PUT",
        f"/v2/{repo}/manifests/{wrong}",
        what=what,
        headers={"Content-Type": image.media_type},
        content=image.body,
    )
    if response.status_code < 400:
        ctx.cleanup.manifests.append((repo, image.digest))
        expect.fail(
            response,
            what,
            f"{what}: answered {response.status_code}; storing content under a digest it doesn't "
            "hash to breaks content addressability",
        )
    expect.status(response, range(400, 500), what, "a digest mismatch is refused with a 4XX")
    expect.error_body(response, what, {"DIGEST_INVALID", "MANIFEST_INVALID"})


def push_blob_digest_mismatch(ctx: DistContext) -> None:
    """Closing an upload with a digest the bytes don't hash to: refused, and nothing stored under it."""
    repo = ctx.new_repo("blob-digest-mismatch")
    blob = text_blob("mismatch")
    wrong = absent_digest()
    what = "upload closed with the wrong digest"
    location = ctx.upload_location(ctx.start_upload(repo, what), what)
    response = ctx.request(
        "PUT",
        location,
        what=what,
        query={"digest": wrong},
        headers={"Content-Type": OCTET_STREAM},
        content=blob.data,
    )
    if response.status_code < 400:
        ctx.cleanup.blobs.append((repo, wrong))
        expect.fail(
            response, what, f"{what}: answered {response.status_code}; the bytes hash to {blob.digest}, not {wrong}"
        )
    expect.status(response, range(400, 500), what, "a digest that doesn't match the content is refused (4XX)")
    expect.error_body(response, what, {"DIGEST_INVALID", "BLOB_UPLOAD_INVALID"})
    check = ctx.request("HEAD", f"/v2/{repo}/blobs/{wrong}", what=f"{what} (checking nothing was stored)")
    expect.status(check, 404, f"{what} (checking nothing was stored)", "refused content MUST NOT be stored")


def push_manifest_subject_missing(ctx: DistContext) -> None:
    """A manifest whose subject doesn't exist (yet) MUST be accepted: referrers may come first."""
    repo = ctx.new_repo("subject-first")
    subject = make_image(repo)
    artifact = make_artifact(subject.descriptor())
    for blob in artifact.blobs:
        ctx.push_blob(repo, blob)
    what = "push of an artifact whose subject was not pushed yet"
    response = ctx.push_manifest(
        repo, artifact.digest, artifact, what, "a registry MUST accept a manifest whose subject doesn't exist"
    )
    expect.note("oci_subject_header", response.headers.get("OCI-Subject", "(absent)"))
    expect.note("put_answer", f"{response.status_code} {response.reason_phrase}")


def _patch(ctx: DistContext, location: str, chunk: bytes, start: int | None, what: str):
    headers = {"Content-Type": OCTET_STREAM}
    if start is not None:
        headers["Content-Range"] = f"{start}-{start + len(chunk) - 1}"
    return ctx.request("PATCH", location, what=what, content=chunk, headers=headers)


def push_chunk_resent(ctx: DistContext) -> None:
    """A chunk sent again to the session URL it was first sent to MUST be refused with 416."""
    repo = ctx.new_repo("chunk-resent")
    what = "chunked upload, first chunk"
    started = ctx.start_upload(repo, what)
    stale = ctx.upload_location(started, what)
    size = _chunk_size(started, what, 33)
    first = text_blob("resent", size=2 * size).data[:size]
    ctx.upload_location(_patch(ctx, stale, first, 0, what), what)
    what = f"chunked upload, the first chunk (bytes 0-{len(first) - 1}) sent again to its first URL"
    response = _patch(ctx, stale, first, 0, what)
    if response.status_code == 202:
        expect.fail(
            response,
            what,
            f"{what}: the registry accepted the same bytes twice (202, Range {response.headers.get('Range')!r}); "
            "a chunk that does not start where the upload ends MUST be refused with 416",
            "Range",
        )
    expect.status(response, 416, what, "a re-sent chunk MUST answer 416 Requested Range Not Satisfiable")
    expect.error_body(response, what)


def upload_status_of_stale_url(ctx: DistContext) -> None:
    """GET on an upload's first URL after a chunk landed: 204, the current Location and Range."""
    repo = ctx.new_repo("stale-status")
    what = "upload status from a stale URL: first chunk"
    started = ctx.start_upload(repo, what)
    stale = ctx.upload_location(started, what)
    chunk = b"stale-session-probe-0123456789"
    chunk = _padded(chunk, _chunk_size(started, what, len(chunk)))
    ctx.upload_location(_patch(ctx, stale, chunk, 0, what), what)
    what = "upload status from the session's first URL (before the chunk was sent)"
    response = ctx.request("GET", stale, what=what)
    expect.status(response, 204, what, "the status of an active upload MUST answer 204, from any of its URLs")
    expect.header(response, "Location", what, "the upload status MUST carry the session's current Location")
    end = _range_end(response, what, "the upload status MUST carry Range")
    if end != len(chunk) - 1:
        expect.fail(
            response,
            what,
            f"{what}: Range ends at byte {end}; {len(chunk)} bytes were uploaded (0-{len(chunk) - 1})",
            "Range",
        )


def push_blob_streamed(ctx: DistContext) -> None:
    """PATCH the whole blob without Content-Range (streamed), then PUT ?digest= closes it (201)."""
    repo = ctx.new_repo("streamed")
    blob = text_blob("streamed", size=200)
    what = "streamed upload (PATCH without Content-Range)"
    location = ctx.upload_location(ctx.start_upload(repo, what), what)
    location = ctx.upload_location(_patch(ctx, location, blob.data, None, what), what)
    _complete(ctx, location, None, blob.digest, f"{what}, closing PUT")
    ctx.cleanup.blobs.append((repo, blob.digest))
    _assert_blob_stored(ctx, repo, blob, what)


def cancel_upload(ctx: DistContext) -> None:
    """DELETE <location> cancels an upload (204); the session then answers 404 BLOB_UPLOAD_UNKNOWN."""
    repo = ctx.new_repo("cancel")
    what = "cancelling an upload"
    location = ctx.upload_location(ctx.start_upload(repo, what), what)
    response = ctx.request("DELETE", location, what=what)
    if response.status_code in (400, 405):
        answer = expect.refusal_of_optional_feature(response, what, "upload cancellation")
        raise NotApplicable(f"the registry does not cancel uploads ({answer})")
    expect.status(response, 204, what, "a cancelled upload MUST answer 204 No Content")
    what = "status of the cancelled upload"
    response = ctx.request("GET", location, what=what)
    expect.status(response, 404, what, "a cancelled upload MUST be gone (404)")
    expect.error_body(response, what, {"BLOB_UPLOAD_UNKNOWN"})


def mount_without_from(ctx: DistContext) -> None:
    """POST ?mount=<digest> without from: 201 when the registry finds the blob itself, else 202 (both lawful)."""
    source = ctx.new_repo("mount-anonymous-from")
    target = ctx.new_repo("mount-anonymous-to")
    blob = text_blob("mount-anonymous")
    ctx.push_blob(source, blob)
    what = "mount without from"
    response = ctx.start_upload(target, what, query={"mount": blob.digest})
    expect.status(response, (201, 202), what, "201 when mounted, 202 and an upload session otherwise")
    ctx.cleanup.blobs.append((target, blob.digest))
    if response.status_code == 201:
        expect.note("mount_without_from", "mounted (201)")
    else:
        expect.note("mount_without_from", "not mounted: 202, finished as a regular upload")
        _complete(ctx, ctx.upload_location(response, what), blob, blob.digest, f"{what}: the 202 fallback upload")
    _assert_blob_stored(ctx, target, blob, what)


WELL_KNOWN_BLOBS = {"empty": b"", "empty-json": b"{}"}


def push_well_known_blob(ctx: DistContext, name: str) -> None:
    """The empty blob and the empty JSON blob push, read back and HEAD like any other."""
    repo = ctx.new_repo(f"blob-{name}")
    blob = Blob(WELL_KNOWN_BLOBS[name])
    what = f"push of the {name} blob ({blob.digest[:19]}...)"
    location = ctx.upload_location(ctx.start_upload(repo, what), what)
    _complete(ctx, location, blob, blob.digest, what)
    ctx.cleanup.blobs.append((repo, blob.digest))
    _assert_blob_stored(ctx, repo, blob, what)
    check = ctx.request("HEAD", f"/v2/{repo}/blobs/{blob.digest}", what=f"{what}: HEAD")
    expect.status(check, 200, f"{what}: HEAD", "a pushed blob MUST answer HEAD with 200")
    expect.content_length(check, blob.size, f"{what}: HEAD")


def push_blob_bad_digest(ctx: DistContext, method: str) -> None:
    """Bytes that don't hash to the digest the client names are refused with 400, however they came."""
    repo = ctx.new_repo(f"bad-digest-{method}")
    blob = text_blob("bad-digest", size=120)
    claimed = Blob(blob.data + b"oh no").digest  # what the client claims; the bytes sent hash elsewhere
    what = f"upload ({method}) whose bytes don't hash to the digest given"
    if method == "post-only":
        response = ctx.start_upload(repo, what, query={"digest": claimed}, content=blob.data)
        if response.status_code == 202:
            expect.note("single_post", "not supported (202): the bad digest goes to the closing PUT")
            location = ctx.upload_location(response, what)
            response = ctx.request(
                "PUT",
                location,
                what=what,
                query={"digest": claimed},
                headers={"Content-Type": OCTET_STREAM},
                content=blob.data,
            )
    else:
        started = ctx.start_upload(repo, what)
        location = ctx.upload_location(started, what)
        if method != "stream":
            size = _chunk_size(started, what, 60)
            if size > 60:
                blob = text_blob("bad-digest", size=2 * size)
                claimed = Blob(blob.data + b"oh no").digest
        chunks = [blob.data] if method == "stream" else [blob.data[:size], blob.data[size:]]
        start: int | None = None if method == "stream" else 0
        for chunk in chunks[:-1] if method == "chunked-put-last" else chunks:
            location = ctx.upload_location(_patch(ctx, location, chunk, start, what), what)
            start = None if start is None else start + len(chunk)
        last = chunks[-1] if method == "chunked-put-last" else b""
        headers = {"Content-Type": OCTET_STREAM}
        if last:
            headers["Content-Range"] = f"{start}-{start + len(last) - 1}"
        response = ctx.request("PUT", location, what=what, query={"digest": claimed}, headers=headers, content=last)
    if response.status_code < 400:
        ctx.cleanup.blobs.append((repo, claimed))
        expect.fail(
            response, what, f"{what}: answered {response.status_code}; the bytes hash to {blob.digest}, not {claimed}"
        )
    expect.status(response, 400, what, "a digest that doesn't match the content MUST be refused with 400")
    expect.error_body(response, what, {"DIGEST_INVALID", "BLOB_UPLOAD_INVALID"})
    check = ctx.request("HEAD", f"/v2/{repo}/blobs/{claimed}", what=f"{what} (checking nothing was stored)")
    expect.status(check, 404, f"{what} (checking nothing was stored)", "refused content MUST NOT be stored")


def push_manifest_malformed_digest(ctx: DistContext) -> None:
    """PUT /manifests/sha256:baddigeststring: a reference that is no digest is refused with 400."""
    repo = ctx.new_repo("malformed-digest-put")
    image = make_image(repo)
    for blob in image.blobs:
        ctx.push_blob(repo, blob)
    what = "push of a manifest under the malformed digest sha256:baddigeststring"
    response = ctx.request(
        "PUT",
        f"/v2/{repo}/manifests/sha256:baddigeststring",
        what=what,
        headers={"Content-Type": image.media_type},
        content=image.body,
    )
    if response.status_code < 400:
        ctx.cleanup.manifests.append((repo, image.digest))
        expect.fail(response, what, f"{what}: answered {response.status_code}; a malformed digest MUST be refused")
    expect.status(response, 400, what, "a malformed digest reference is refused with 400")
    expect.error_body(response, what, {"DIGEST_INVALID", "MANIFEST_INVALID", "NAME_INVALID", "UNSUPPORTED"})
