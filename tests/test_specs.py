"""The one spec marker: a reference into a pinned specification, its label and its link."""

from __future__ import annotations

import pytest

from ocimatrix.specs import label, link, spec


def test_a_reference_links_into_the_pinned_release():
    assert (
        link("runtime-spec/config.md#root")
        == "https://github.com/opencontainers/runtime-spec/blob/v1.2.0/config.md#root"
    )
    assert label("distribution-spec/spec.md#pulling-manifests", "Pulling manifests") == (
        "distribution-spec v1.1.0 §Pulling manifests"
    )


def test_the_marker_carries_label_and_link():
    marker = spec("image-spec/config.md#properties", "config Env").mark
    assert marker.name == "spec"
    assert marker.args == ("image-spec v1.1.0 §config Env", link("image-spec/config.md#properties"))


def test_an_unknown_specification_is_named():
    with pytest.raises(ValueError, match="unknown specification 'oci-spec'"):
        link("oci-spec/x.md")
