"""distribution-spec v1.1 §Pull: every registry MUST support all of it."""

import pytest

from ocimatrix.distribution import pull
from ocimatrix.specs import spec

pytestmark = [pytest.mark.axes("registry"), pytest.mark.distribution_pull]


@spec("distribution-spec/spec.md#determining-support", "Determining Support")
def test_api_version_check(dist):
    dist(pull.api_version_check)


@spec("distribution-spec/spec.md#determining-support", "Determining Support (end-1: 200 or 401)")
def test_api_version_check_without_credentials(dist):
    dist(pull.api_version_check_unauthenticated)


@spec("distribution-spec/spec.md#pulling-manifests", "Pulling manifests")
@pytest.mark.parametrize("by", ["tag", "digest"])
def test_pull_manifest(dist, by):
    dist(pull.pull_manifest, by=by)


@spec("distribution-spec/spec.md#checking-if-content-exists-in-the-registry", "Checking if content exists")
@pytest.mark.parametrize("by", ["tag", "digest"])
def test_head_manifest(dist, by):
    dist(pull.head_manifest, by=by)


@spec("distribution-spec/spec.md#pulling-blobs", "Pulling blobs")
def test_pull_blob(dist):
    dist(pull.pull_blob)


@spec("distribution-spec/spec.md#checking-if-content-exists-in-the-registry", "Checking if content exists")
def test_head_blob(dist):
    dist(pull.head_blob)


@spec("distribution-spec/spec.md#pulling-manifests", "Pulling manifests (not found: 404)")
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("by", ["tag", "digest"])
def test_unknown_manifest_is_404(dist, by, method):
    dist(pull.pull_unknown_manifest, by=by, method=method)


@spec("distribution-spec/spec.md#pulling-blobs", "Pulling blobs (not found: 404)")
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_unknown_blob_is_404(dist, method):
    dist(pull.pull_unknown_blob, method=method)


@spec("distribution-spec/spec.md#error-codes", "Error Codes (NAME_UNKNOWN)")
def test_unknown_repository_is_404(dist):
    dist(pull.pull_unknown_repository)


@spec("distribution-spec/spec.md#error-codes", "Error Codes (malformed digest: 400 or 404 with a JSON body)")
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_malformed_digest_is_refused(dist, method):
    dist(pull.pull_manifest_malformed_digest, method=method)


@spec("distribution-spec/spec.md#pulling-manifests", "Pulling manifests (invalid tag .INVALID_MANIFEST_NAME: 404)")
def test_invalid_tag_is_404(dist):
    dist(pull.pull_manifest_invalid_tag, method="GET")


@spec(
    "distribution-spec/spec.md#pulling-manifests", "Pulling manifests (HEAD of invalid tag .INVALID_MANIFEST_NAME: 404)"
)
def test_invalid_tag_head_is_404(dist):
    dist(pull.pull_manifest_invalid_tag, method="HEAD")


@spec("distribution-spec/spec.md#error-codes", "Error Codes (NAME_INVALID)")
def test_invalid_repository_name_is_refused(dist):
    dist(pull.pull_invalid_repository_name)


@spec("distribution-spec/spec.md#pulling-blobs", "Pulling blobs (Range requests: 206)")
@pytest.mark.parametrize("case", [c for c, (_, part) in pull.BLOB_RANGES.items() if part is not None])
def test_blob_range_request(dist, case):
    dist(pull.pull_blob_range, case=case)


@spec("distribution-spec/spec.md#pulling-blobs", "Pulling blobs (Range outside the blob: 416)")
@pytest.mark.parametrize("case", [c for c, (_, part) in pull.BLOB_RANGES.items() if part is None])
def test_unsatisfiable_blob_range_is_416(dist, case):
    dist(pull.pull_blob_range, case=case)
