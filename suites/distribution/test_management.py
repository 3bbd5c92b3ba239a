"""distribution-spec v1.1 §Content Management: deletion, where the registry allows it."""

import pytest

from ocimatrix.distribution import management, spec_ref

pytestmark = [pytest.mark.axes("registry"), pytest.mark.distribution_management]


@pytest.mark.spec(*spec_ref("deleting-manifests", "Deleting Manifests"))
def test_delete_manifest(dist):
    dist(management.delete_manifest)


@pytest.mark.spec(*spec_ref("deleting-manifests", "Deleting Manifests (not found: 404)"))
def test_delete_unknown_manifest_is_404(dist):
    dist(management.delete_unknown_manifest)


@pytest.mark.spec(*spec_ref("deleting-tags", "Deleting tags"))
def test_delete_tag(dist):
    dist(management.delete_tag)


@pytest.mark.spec(*spec_ref("deleting-blobs", "Deleting Blobs"))
def test_delete_blob(dist):
    dist(management.delete_blob)


@pytest.mark.spec(*spec_ref("deleting-blobs", "Deleting Blobs (not found: 404)"))
def test_delete_unknown_blob_is_404(dist):
    dist(management.delete_unknown_blob)


@pytest.mark.spec(*spec_ref("deleting-manifests", "Deleting Manifests (the tag list follows)"))
def test_tag_list_reflects_manifest_delete(dist):
    dist(management.tags_list_after_manifest_delete)
