"""distribution-spec v1.1 §Content Management: deletion, where the registry allows it."""

import pytest

from ocimatrix.distribution import management
from ocimatrix.specs import spec

pytestmark = [pytest.mark.axes("registry"), pytest.mark.distribution_management]


@spec("distribution-spec/spec.md#deleting-manifests", "Deleting Manifests")
def test_delete_manifest(dist):
    dist(management.delete_manifest)


@spec("distribution-spec/spec.md#deleting-manifests", "Deleting Manifests (not found: 404)")
def test_delete_unknown_manifest_is_404(dist):
    dist(management.delete_unknown_manifest)


@spec("distribution-spec/spec.md#deleting-tags", "Deleting tags")
def test_delete_tag(dist):
    dist(management.delete_tag)


@spec("distribution-spec/spec.md#deleting-blobs", "Deleting Blobs")
def test_delete_blob(dist):
    dist(management.delete_blob)


@spec("distribution-spec/spec.md#deleting-blobs", "Deleting Blobs (not found: 404)")
def test_delete_unknown_blob_is_404(dist):
    dist(management.delete_unknown_blob)


@spec("distribution-spec/spec.md#deleting-manifests", "Deleting Manifests (the tag list follows)")
def test_tag_list_reflects_manifest_delete(dist):
    dist(management.tags_list_after_manifest_delete)
