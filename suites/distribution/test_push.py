"""distribution-spec v1.1 §Push: blob uploads of every kind, mounts, manifests, and refusals."""

import pytest

from ocimatrix.distribution import push
from ocimatrix.specs import spec

pytestmark = [pytest.mark.axes("registry"), pytest.mark.distribution_push]


@spec("distribution-spec/spec.md#post-then-put", "Pushing a blob monolithically: POST then PUT")
def test_monolithic_upload(dist):
    dist(push.push_blob_post_put)


@spec("distribution-spec/spec.md#single-post", "Pushing a blob monolithically: single POST")
def test_single_post_upload(dist):
    dist(push.push_blob_single_post)


@spec("distribution-spec/spec.md#pushing-a-blob-in-chunks", "Pushing a blob in chunks")
@pytest.mark.parametrize("last_chunk", ["patch", "put"])
def test_chunked_upload(dist, last_chunk):
    dist(push.push_blob_chunked, final_chunk_in_put=last_chunk == "put")


@spec("distribution-spec/spec.md#pushing-a-blob-in-chunks", "Pushing a blob in chunks (out of order: 416)")
def test_out_of_order_chunk_is_416(dist):
    dist(push.push_chunk_out_of_order)


@spec("distribution-spec/spec.md#pushing-a-blob-in-chunks", "Pushing a blob in chunks (upload status: 204)")
def test_upload_status(dist):
    dist(push.upload_status)


@spec("distribution-spec/spec.md#mounting-a-blob-from-another-repository", "Mounting a blob from another repository")
def test_cross_repository_mount(dist):
    dist(push.mount_blob)


@spec("distribution-spec/spec.md#mounting-a-blob-from-another-repository", "Mounting a blob (fallback: 202)")
def test_mount_of_unknown_blob_falls_back_to_upload(dist):
    dist(push.mount_unknown_blob_fallback)


@spec("distribution-spec/spec.md#pushing-manifests", "Pushing Manifests")
@pytest.mark.parametrize("by", ["tag", "digest"])
def test_push_manifest(dist, by):
    dist(push.push_manifest, by=by)


@spec("distribution-spec/spec.md#error-codes", "Error Codes (MANIFEST_INVALID)")
def test_invalid_manifest_is_refused(dist):
    dist(push.push_manifest_invalid)


@spec("distribution-spec/spec.md#push", "Push (MANIFEST_BLOB_UNKNOWN)")
def test_manifest_with_unknown_blobs(dist):
    dist(push.push_manifest_unknown_blobs)


@spec("distribution-spec/spec.md#error-codes", "Error Codes (DIGEST_INVALID: manifest)")
def test_manifest_digest_mismatch_is_refused(dist):
    dist(push.push_manifest_digest_mismatch)


@spec("distribution-spec/spec.md#error-codes", "Error Codes (DIGEST_INVALID: blob)")
def test_blob_digest_mismatch_is_refused(dist):
    dist(push.push_blob_digest_mismatch)


@spec("distribution-spec/spec.md#pushing-manifests-with-subject", "Pushing Manifests with Subject")
def test_manifest_with_missing_subject_is_accepted(dist):
    dist(push.push_manifest_subject_missing)


@spec("distribution-spec/spec.md#pushing-a-blob-in-chunks", "Pushing a blob in chunks (re-sent chunk: 416)")
def test_resent_chunk_is_416(dist):
    dist(push.push_chunk_resent)


@spec("distribution-spec/spec.md#pushing-a-blob-in-chunks", "Pushing a blob in chunks (status from a stale URL: 204)")
def test_upload_status_from_a_stale_url(dist):
    dist(push.upload_status_of_stale_url)


@spec("distribution-spec/spec.md#pushing-a-blob-in-chunks", "Pushing a blob in chunks (streamed, no Content-Range)")
def test_streamed_upload(dist):
    dist(push.push_blob_streamed)


@spec("distribution-spec/spec.md#pushing-blobs", "Pushing blobs (cancelling an upload: 204)")
def test_cancel_upload(dist):
    dist(push.cancel_upload)


@spec("distribution-spec/spec.md#mounting-a-blob-from-another-repository", "Mounting a blob (without from)")
def test_mount_without_from(dist):
    dist(push.mount_without_from)


@spec("distribution-spec/spec.md#pushing-blobs", "Pushing blobs (the empty blob, the empty JSON blob)")
@pytest.mark.parametrize("name", sorted(push.WELL_KNOWN_BLOBS))
def test_well_known_blob(dist, name):
    dist(push.push_well_known_blob, name=name)


@spec("distribution-spec/spec.md#error-codes", "Error Codes (DIGEST_INVALID: every upload method)")
@pytest.mark.parametrize("method", ["post-only", "chunked", "chunked-put-last", "stream"])
def test_blob_bad_digest_is_400(dist, method):
    dist(push.push_blob_bad_digest, method=method)


@spec("distribution-spec/spec.md#pushing-manifests", "Pushing Manifests (malformed digest reference: 400)")
def test_manifest_put_by_malformed_digest_is_400(dist):
    dist(push.push_manifest_malformed_digest)
