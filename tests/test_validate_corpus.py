"""Every corpus case must produce the rule id it names; valid cases must produce no error."""

from __future__ import annotations

import pytest
from corpus.make_corpus import CASES

from ocimatrix.oci.rules import RULES
from ocimatrix.oci.validate import validate_source

BROKEN = [c for c in CASES if c.expect]
VALID = [c for c in CASES if not c.expect]


def test_corpus_is_big_enough_and_names_known_rules():
    assert len(BROKEN) >= 40
    assert len(VALID) >= 5
    assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"
    unknown = {c.expect for c in BROKEN} - set(RULES)
    assert not unknown, f"corpus expects rule ids the catalogue lacks: {unknown}"


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
    if RULES[case.expect].level == "error":
        assert not report.ok


@pytest.mark.parametrize("case", VALID, ids=lambda c: c.name)
def test_valid_case_has_no_violation(case, tmp_path):
    source, options = case.build(tmp_path)
    report = validate_source(source, **options)
    assert report.violations == [], [str(v) for v in report.violations]
    assert report.checked["manifests"] + report.checked["configs"] >= 1
