"""distribution-spec v1.1 §Content Discovery: tag lists and referrers."""

import pytest

from ocimatrix.distribution import discovery
from ocimatrix.specs import spec

pytestmark = [pytest.mark.axes("registry"), pytest.mark.distribution_discovery]


@spec("distribution-spec/spec.md#listing-tags", "Listing Tags")
def test_tags_list(dist):
    dist(discovery.tags_list)


@spec("distribution-spec/spec.md#listing-tags", "Listing Tags (lexical order)")
def test_tags_list_is_in_lexical_order(dist):
    dist(discovery.tags_list_order)


@spec("distribution-spec/spec.md#listing-tags", "Listing Tags (n and Link)")
def test_tags_list_pagination_with_n(dist):
    dist(discovery.tags_list_n)


@spec("distribution-spec/spec.md#listing-tags", "Listing Tags (last)")
def test_tags_list_pagination_with_last(dist):
    dist(discovery.tags_list_last)


@spec("distribution-spec/spec.md#listing-tags", "Listing Tags (unknown repository: 404)")
def test_tags_list_of_unknown_repository_is_404(dist):
    dist(discovery.tags_list_unknown_repo)


@spec("distribution-spec/spec.md#listing-referrers", "Listing Referrers")
def test_referrers_api(dist):
    dist(discovery.referrers_api)


@spec("distribution-spec/spec.md#listing-referrers", "Listing Referrers (artifactType filter)")
def test_referrers_api_artifact_type_filter(dist):
    dist(discovery.referrers_api_filter)


@spec("distribution-spec/spec.md#referrers-tag-schema", "Referrers Tag Schema (fallback when the API is absent)")
def test_referrers_tag_schema_fallback(dist):
    dist(discovery.referrers_tag_schema)


@spec("distribution-spec/spec.md#listing-referrers", "Listing Referrers (unknown subject: empty index)")
def test_referrers_of_unknown_subject_is_empty(dist):
    dist(discovery.referrers_of_unknown_subject)
