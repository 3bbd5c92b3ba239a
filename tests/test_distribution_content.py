"""The content the distribution checks push is valid per the image-spec, and helpers follow the spec."""

from __future__ import annotations

import json

import pytest

from ocimatrix.distribution import shapes
from ocimatrix.distribution.client import path_of, with_query
from ocimatrix.distribution.content import (
    make_artifact,
    make_image,
    make_index,
    referrer_descriptor,
    referrers_tag,
    text_blob,
)
from ocimatrix.distribution.context import safe_component
from ocimatrix.distribution.expect import schema_problems
from ocimatrix.oci.digest import digest_bytes
from ocimatrix.oci.schemas import schema_errors


@pytest.mark.parametrize(
    ("digest", "tag"),
    [
        ("sha256:" + "a" * 64, "sha256-" + "a" * 64),
        ("sha512:" + "b" * 128, "sha512-" + "b" * 64),
        (
            "test+algorithm+using+algorithm+separators+and+lots+of+characters+to+excercise+overall+truncation:"
            "alsoSome=InTheEncodedSectionToShowHyphenReplacementAndLotsAndLotsOfCharactersToExcerciseEncodedTruncation",
            "test-algorithm-using-algorithm-s-alsoSome-InTheEncodedSectionToShowHyphenReplacementAndLotsAndLot",
        ),
    ],
)
def test_referrers_tag_follows_the_spec_examples(digest, tag):
    assert referrers_tag(digest) == tag


def test_images_artifacts_and_indexes_are_valid_documents():
    image = make_image("x", annotations={"a": "b"})
    assert list(schema_errors("manifest", json.loads(image.body))) == []
    config = image.blobs[0]
    assert list(schema_errors("config", json.loads(config.data))) == []
    assert image.digest == str(digest_bytes(image.body))
    artifact = make_artifact(image.descriptor(), "application/vnd.example+json", {"k": "v"})
    assert list(schema_errors("manifest", json.loads(artifact.body))) == []
    index = make_index([referrer_descriptor(artifact)])
    assert list(schema_errors("index", json.loads(index.body))) == []
    assert referrer_descriptor(artifact)["artifactType"] == "application/vnd.example+json"
    assert referrer_descriptor(artifact)["annotations"] == {"k": "v"}
    assert make_image("x").digest != make_image("x").digest  # unique content every time


def test_text_blobs_are_unique_and_sized():
    a, b = text_blob("l"), text_blob("l", size=300)
    assert a.digest != b.digest and b.size == 300
    assert a.data.decode().rstrip("\n").isprintable()


def test_error_schema_accepts_spec_bodies_and_rejects_others():
    good = {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {"Tag": "x"}}]}
    assert schema_problems("error", good) == []
    assert schema_problems("error", {"errors": [{"code": "BLOB_UNKNOWN"}]}) == []
    assert schema_problems("error", {"errors": []})
    assert schema_problems("error", {"error": "x"})
    assert any("/errors/0/code" in p for p in schema_problems("error", {"errors": [{"code": "RANGE_INVALID"}]}))


def test_upload_urls_keep_their_query():
    url = "http://r/v2/a/blobs/uploads/u?_state=abc%3D%3D"
    assert with_query(url, {"digest": "sha256:00"}) == "http://r/v2/a/blobs/uploads/u?_state=abc%3D%3D&digest=sha256:00"
    assert with_query("http://r/x", {"n": "3"}) == "http://r/x?n=3"
    assert path_of("http://r/v2/x?_state=" + "s" * 200).endswith("?_state=" + "s" * 80 + "...")


def test_repository_components_are_safe():
    assert safe_component("ABC_def/ghi--") == "abc-def-ghi"
    assert safe_component("") == "x"


@pytest.mark.parametrize("shape", sorted(shapes.SHAPES))
def test_every_shape_is_valid_per_the_image_spec(shape):
    data = shapes.build(shape)
    assert data.manifests, shape
    for manifest, _ in data.manifests:
        kind = "index" if manifest.media_type == "application/vnd.oci.image.index.v1+json" else "manifest"
        problems = [rule for rule, _, _ in schema_errors(kind, json.loads(manifest.body))]
        # The image-spec's own schema wants a layer; the official suite pushes "no layers" on purpose.
        allowed = ["manifest.layers-empty"] if shape == "no-layers" else []
        assert problems == allowed, (shape, manifest.document)
        assert manifest.digest.startswith(f"{data.algorithm}:")
    for digest, blob in data.blobs.items():
        assert digest == blob.digest and digest.startswith(f"{data.algorithm}:")


def test_shapes_carry_what_they_are_named_for():
    assert (
        shapes.build("index-of-index").manifests[-1][0].document["manifests"][0]["mediaType"].endswith("index.v1+json")
    )
    assert shapes.build("empty-index").manifests[-1][0].document["manifests"] == []
    assert shapes.build("no-layers").manifests[-1][0].document["layers"] == []
    data_field = shapes.build("data-field").manifests[-1][0].document
    assert all("data" in d for d in [data_field["config"], *data_field["layers"]])
    custom = shapes.build("custom-fields").manifests[-1][0].document
    assert shapes.CUSTOM_FIELD in custom
    nondist = shapes.build("non-distributable-layers")
    foreign = [d for d in nondist.manifests[-1][0].document["layers"] if "urls" in d]
    assert len(foreign) == 2 and not any(d["digest"] in nondist.blobs for d in foreign)
    with_subject = shapes.build("artifacts-with-subject")
    (listed,) = with_subject.referrers.values()
    assert {d.get("artifactType") for d in listed} == {
        "application/vnd.oci.image.config.v1+json",  # no artifactType: the config's media type stands in
        shapes.EXAMPLE_TYPE_1,
        shapes.EXAMPLE_TYPE_2,
    }
    assert shapes.build("sha512").algorithm == "sha512"
