"""distribution-spec v1.1 §Content Discovery: tag lists and referrers."""

import pytest

from ocimatrix.distribution import discovery, spec_ref

pytestmark = [pytest.mark.axes("registry"), pytest.mark.distribution_discovery]


@pytest.mark.spec(*spec_ref("listing-tags", "Listing Tags"))
def test_tags_list(dist):
    dist(discovery.tags_list)


@pytest.mark.spec(*spec_ref("listing-tags", "Listing Tags (lexical order)"))
def test_tags_list_is_in_lexical_order(dist):
    dist(discovery.tags_list_order)


@pytest.mark.spec(*spec_ref("listing-tags", "Listing Tags (n and Link)"))
def test_tags_list_pagination_with_n(dist):
    dist(discovery.tags_list_n)


@pytest.mark.spec(*spec_ref("listing-tags", "Listing Tags (last)"))
def test_tags_list_pagination_with_last(dist):
    dist(discovery.tags_list_last)


@pytest.mark.spec(*spec_ref("listing-tags", "Listing Tags (unknown repository: 404)"))
def test_tags_list_of_unknown_repository_is_404(dist):
    dist(discovery.tags_list_unknown_repo)


@pytest.mark.spec(*spec_ref("listing-referrers", "Listing Referrers"))
def test_referrers_api(dist):
    dist(discovery.referrers_api)


@pytest.mark.spec(*spec_ref("listing-referrers", "Listing Referrers (artifactType filter)"))
def test_referrers_api_artifact_type_filter(dist):
    dist(discovery.referrers_api_filter)


@pytest.mark.spec(*spec_ref("referrers-tag-schema", "Referrers Tag Schema (fallback when the API is absent)"))
def test_referrers_tag_schema_fallback(dist):
    dist(discovery.referrers_tag_schema)


@pytest.mark.spec(*spec_ref("listing-referrers", "Listing Referrers (unknown subject: empty index)"))
def test_referrers_of_unknown_subject_is_empty(dist):
    dist(discovery.referrers_of_unknown_subject)
