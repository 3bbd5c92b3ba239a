"""Every corpus case must produce the rule id it names; valid cases must produce no error."""

from __future__ import annotations

import pytest
from corpus.make_corpus import CASES

from ocimatrix.oci.rules import RULES, rule
from ocimatrix.oci.validate import validate_source

BROKEN = [c for c in CASES if c.expect]
VALID = [c for c in CASES if not c.expect]

# Each rule's level, written down here and not read from the catalogue under test: a rule moved from
# error (a MUST, or what image-spec's schema rejects) to warning, or back, must change this list too.
ERRORS = {
    "annotation.reserved-key",
    "annotation.schema",
    "annotation.value-format",
    "archive.link-escape",
    "archive.malformed",
    "archive.unknown-format",
    "archive.unsafe-path",
    "attestation.layer-media-type",
    "attestation.statement",
    "attestation.subject-annotation",
    "attestation.subject-missing",
    "blob.missing",
    "blob.unreadable",
    "config.diff-id-mismatch",
    "config.diff-ids-count",
    "config.rootfs-type",
    "config.schema",
    "datetime.format",
    "descriptor.data-encoding",
    "descriptor.data-mismatch",
    "descriptor.digest-mismatch",
    "descriptor.empty-content",
    "descriptor.media-type-format",
    "descriptor.media-type-mismatch",
    "descriptor.schema",
    "descriptor.size",
    "descriptor.size-mismatch",
    "descriptor.url-format",
    "digest.format",
    "docker-archive.schema",
    "docker-manifest-list.schema",
    "docker-manifest.schema",
    "docker.config-media-type",
    "docker.layer-media-type",
    "index.media-type",
    "index.nesting-too-deep",
    "index.platform-mismatch",
    "index.platform-not-found",
    "index.schema",
    "index.schema-version",
    "json.duplicate-key",
    "json.invalid",
    "json.too-large",
    "layer.compression-corrupt",
    "layer.compression-mismatch",
    "layer.compression-unsupported",
    "layer.elf-arch-mismatch",
    "layer.hardlink-to-directory",
    "layer.link-escape",
    "layer.path-absolute",
    "layer.path-traversal",
    "layer.tar-malformed",
    "layer.through-symlink",
    "layer.whiteout-invalid",
    "layer.whiteout-same-layer",
    "layout.blob-digest-mismatch",
    "layout.blob-not-regular",
    "layout.blobs-missing",
    "layout.index-missing",
    "layout.oci-layout-missing",
    "layout.schema",
    "layout.version",
    "manifest.artifact-type-required",
    "manifest.config-media-type",
    "manifest.layers-empty",
    "manifest.media-type",
    "manifest.schema",
    "manifest.schema-version",
    "manifest.schema1",
    "platform.schema",
    "registry.digest-header-mismatch",
}
WARNINGS = {
    "annotation.key-format",
    "annotation.reserved-namespace",
    "archive.duplicate-member",
    "attestation.platform",
    "attestation.predicate-type",
    "config.history-count",
    "descriptor.artifact-type-mismatch",
    "descriptor.digest-unsupported",
    "descriptor.media-type-deprecated",
    "descriptor.media-type-unknown",
    "descriptor.url-scheme",
    "docker-archive.config-id",
    "index.manifest-media-type",
    "index.media-type-missing",
    "index.platform-missing",
    "layer.duplicate-entry",
    "layer.hardlink-target-absent",
    "layer.symlink-escape",
    "layout.blob-absent",
    "layout.blob-name",
    "manifest.layer-media-type",
    "manifest.media-type-missing",
    "manifest.subject-media-type",
    "platform.features-reserved",
    "platform.unknown-architecture",
    "platform.unknown-os",
    "platform.unknown-variant",
    "registry.content-type-mismatch",
}
LEVEL = dict.fromkeys(ERRORS, "error") | dict.fromkeys(WARNINGS, "warning")


def test_corpus_is_big_enough_and_names_known_rules():
    assert len(BROKEN) >= 40
    assert len(VALID) >= 5
    assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"
    unknown = {c.expect for c in BROKEN} - set(RULES)
    assert not unknown, f"corpus expects rule ids the catalogue lacks: {unknown}"


def test_every_rule_has_the_level_pinned_here():
    assert not ERRORS & WARNINGS
    assert set(RULES) == set(LEVEL), "a rule was added or removed: pin its level in ERRORS or WARNINGS"
    moved = {rule_id: rule.level for rule_id, rule in RULES.items() if rule.level != LEVEL[rule_id]}
    assert not moved, f"rules whose level differs from the one pinned here: {moved}"


@pytest.mark.parametrize("case", BROKEN, ids=lambda c: f"{c.name}->{c.expect}")
def test_broken_case_reports_its_rule(case, tmp_path):
    source, options = case.build(tmp_path)
    report = validate_source(source, **options)
    found = sorted(report.rule_ids())
    assert case.expect in found, f"{case.name}: expected {case.expect}, got {found}"
    violation = next(v for v in report.violations if v.rule_id == case.expect)
    assert violation.where, "every violation names where it is"
    assert violation.spec_url.startswith("https://")
    assert "\n" not in violation.message
    assert violation.level == LEVEL[case.expect], f"{case.name}: {violation}"
    if LEVEL[case.expect] == "error":
        assert not report.ok
        assert str(violation).startswith("ERROR ")


@pytest.mark.parametrize("case", VALID, ids=lambda c: c.name)
def test_valid_case_has_no_violation(case, tmp_path):
    source, options = case.build(tmp_path)
    report = validate_source(source, **options)
    assert report.violations == [], [str(v) for v in report.violations]
    assert report.checked["manifests"] + report.checked["configs"] >= 1


def test_an_unknown_rule_id_says_where_rules_are_added():
    assert rule("layer.path-traversal").level == "error"
    with pytest.raises(KeyError) as unknown:
        rule("layer.no-such-rule")
    assert unknown.value.args == ("unknown validation rule id 'layer.no-such-rule': add it to ocimatrix/oci/rules.py",)
