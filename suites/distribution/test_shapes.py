"""distribution-spec v1.1 §Push and §Pull over the content shapes of the official suite's redesign:
indexes (nested, empty), artifacts, subjects present and missing, descriptor ``data``, custom fields,
no layers, non-distributable layers, large manifests, sha512 digests."""

import pytest

from ocimatrix.distribution import shapes
from ocimatrix.specs import spec

pytestmark = [pytest.mark.axes("registry"), pytest.mark.distribution_push, pytest.mark.distribution_pull]


# Shapes a registry is known to trip over get a test of their own, so a matrix can name them.
OWN_TESTS = ("non-distributable-layers", "sha512")


@spec("distribution-spec/spec.md#pushing-manifests", "Pushing Manifests (content shapes, read back by digest and tag)")
@pytest.mark.parametrize("shape", [s for s in shapes.SHAPES if s not in OWN_TESTS])
def test_content_shape_round_trip(dist, shape):
    dist(shapes.round_trip, shape=shape)


@spec("distribution-spec/spec.md#pushing-manifests", "Pushing Manifests (non-distributable layers, blobs not pushed)")
def test_content_shape_non_distributable_layers(dist):
    dist(shapes.round_trip, shape="non-distributable-layers")


@spec("distribution-spec/spec.md#pushing-manifests", "Pushing Manifests (sha512 digests)")
def test_content_shape_sha512(dist):
    dist(shapes.round_trip, shape="sha512")
