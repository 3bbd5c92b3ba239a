"""Judging claims on recorded cells: what verifies, what contradicts, and what never verifies."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ocimatrix.claims.badge import GREEN, RED, badge_colour, badge_svg, badge_text
from ocimatrix.claims.html import evidence_html, index_html
from ocimatrix.claims.judge import exit_code, judge, judge_all
from ocimatrix.claims.junit import junit_xml
from ocimatrix.claims.load import parse_claims
from ocimatrix.claims.plan import all_claims, matrix_document, plan_document
from ocimatrix.claims.record import fingerprint, report_json
from ocimatrix.results import Record, Results, Run

CLAIMS = {
    "claims": 1,
    "vendor": "V",
    "product": "P",
    "image": {
        "source": {"reference": "127.0.0.1:5000/v/app:1"},
        "platforms": ["linux/amd64", "linux/arm64"],
        "runs_on": [{"engine": "docker", "version": ">=24"}, {"engine": "podman", "version": ">=4.3"}],
        "checks": {"smoke": {"command": ["/app"]}, "metadata": {"non_root": True}},
    },
    "registry": {"embedded": True, "workflows": ["pull"], "features": ["referrers"]},
}
INSTALLED = {"docker": "20.10.24+dfsg1", "podman": "4.3.1", "containerd": "1.6.20"}
RUNS = "suites/claims/test_image_claims.py::test_image_runs"


@pytest.fixture
def claims():
    claims_file = parse_claims(CLAIMS, Path("c.yaml"), "", "sha256:" + "0" * 64)
    return {c.id: c for c in all_claims(claims_file, INSTALLED)}


def run_record(outcome: str, platform: str = "linux/amd64", ran: str | None = "linux/amd64", podman="4.3.1", **kw):
    evidence = {"ran_platform": ran} if ran else {}
    cell = {"engine": "podman", "runtime": "runc", "platform": platform, "versions": {"podman": podman}}
    return Record(
        test=f"{RUNS}[podman-runc-{platform.replace('/', '_')}]",
        suite="claims",
        outcome=outcome,
        cell=cell,
        evidence=evidence,
        **kw,
    )


def test_passed_cell_on_the_claimed_platform_verifies(claims):
    found = judge(claims["image.runs.linux-amd64.podman.runc"], [run_record("passed")])
    assert found.verdict == "verified"


def test_a_skipped_cell_never_verifies(claims):
    found = judge(claims["image.runs.linux-amd64.podman.runc"], [run_record("skipped", reason="no crun here")])
    assert found.verdict == "unverifiable"
    assert "no crun here" in found.reason


def test_an_errored_cell_never_verifies(claims):
    records = [run_record("error", reason="dockerd does not answer")]
    found = judge(claims["image.runs.linux-amd64.podman.runc"], records)
    assert found.verdict == "error"
    assert exit_code([found]) == 1


def test_a_failed_cell_contradicts_with_its_cells(claims):
    records = [run_record("failed", reason="Failed: exited 1", repro=["podman run ..."])]
    found = judge(claims["image.runs.linux-amd64.podman.runc"], records)
    assert found.verdict == "contradicted"
    assert found.reason.endswith("exited 1")
    assert found.cells[0].record.repro == ["podman run ..."]


def test_a_cell_that_ran_another_platform_never_speaks_for_the_claimed_one(claims):
    found = judge(
        claims["image.runs.linux-arm64.podman.runc"], [run_record("passed", "linux/arm64", ran="linux/amd64")]
    )
    assert found.verdict == "unverifiable"
    assert "ran linux/amd64, not linux/arm64" in found.reason


def test_a_passed_cell_without_platform_evidence_does_not_verify(claims):
    found = judge(claims["image.runs.linux-amd64.podman.runc"], [run_record("passed", ran=None)])
    assert found.verdict == "unverifiable"
    assert "ran_platform missing" in found.reason


def test_an_engine_version_outside_the_range_is_not_evidence(claims):
    found = judge(claims["image.runs.linux-amd64.podman.runc"], [run_record("failed", podman="4.2.0")])
    assert found.verdict == "unverifiable"
    assert "outside the claimed >=4.3" in found.reason


def test_no_installed_engine_in_range_is_decided_before_the_run(claims):
    claim = claims["image.runs.linux-amd64.docker.runc"]
    assert "no docker here is inside the claimed range >=24: found docker 20.10.24+dfsg1" in claim.unverifiable
    assert judge(claim, []).verdict == "unverifiable"


def test_nothing_collected_is_unverifiable(claims):
    assert judge(claims["image.non-root.linux-amd64"], []).verdict == "unverifiable"


def test_a_lawfully_absent_feature_contradicts_the_claim_that_it_exists(claims):
    asked = Record(
        test="suites/distribution/test_discovery.py::test_referrers_api[vendor]",
        suite="distribution",
        outcome="skipped",
        cell={"registry": "vendor"},
        reason="registry has no referrers API",
        evidence={"exchanges": ["GET /v2/x/referrers/sha256:... -> 404"]},
    )
    assert judge(claims["registry.feature.referrers"], [asked]).verdict == "contradicted"
    asked.evidence = {}  # skipped before asking the registry: true of the host, not an answer
    assert judge(claims["registry.feature.referrers"], [asked]).verdict == "unverifiable"


def test_the_plan_runs_only_what_can_be_tested(claims):
    claims_file = parse_claims(CLAIMS, Path("c.yaml"))
    listed = all_claims(claims_file, INSTALLED)
    matrix = matrix_document(claims_file, listed, "linux/amd64")
    assert matrix["axes"]["engine"] == ["podman"]  # docker >=24 is not installed here
    assert matrix["axes"]["registry"] == ["vendor"]
    assert matrix["registries"]["vendor"] == {"embedded": True}
    selections = plan_document(claims_file, listed)["select"]
    runs = [s for s in selections if s["tests"] == ["test_image_runs"]]
    assert {s["cell"]["engine"][0] for s in runs} == {"podman"}


def test_fingerprint_changes_with_each_part():
    base = fingerprint("sha256:a", ["sha256:i"], {"docker": "20.10"}, "0.1.0")
    assert base == fingerprint("sha256:a", ["sha256:i", "sha256:i"], {"docker": "20.10"}, "0.1.0")
    for other in (
        fingerprint("sha256:b", ["sha256:i"], {"docker": "20.10"}, "0.1.0"),
        fingerprint("sha256:a", ["sha256:j"], {"docker": "20.10"}, "0.1.0"),
        fingerprint("sha256:a", ["sha256:i"], {"docker": "24.0"}, "0.1.0"),
        fingerprint("sha256:a", ["sha256:i"], {"docker": "20.10"}, "0.2.0"),
    ):
        assert other["sha256"] != base["sha256"]


def test_badge_text_and_colour():
    assert badge_text({"verified": 11, "contradicted": 1, "error": 0, "unverifiable": 0}) == "11/12 verified"
    assert badge_colour({"verified": 11, "contradicted": 1}) == RED
    assert badge_colour({"verified": 3, "contradicted": 0, "error": 0, "unverifiable": 0}) == GREEN
    svg = badge_svg({"verified": 11, "contradicted": 1, "error": 0, "unverifiable": 0})
    assert "11/12 verified" in svg and RED in svg
    ET.fromstring(svg)


def test_exit_codes(claims):
    verified = judge(claims["image.runs.linux-amd64.podman.runc"], [run_record("passed")])
    unverifiable = judge(claims["image.non-root.linux-amd64"], [])
    assert exit_code([verified]) == 0
    assert exit_code([verified, unverifiable]) == 3


def test_reports_render(claims):
    claims_file = parse_claims(CLAIMS, Path("c.yaml"), "", "sha256:" + "0" * 64)
    records = [run_record("failed", reason="Failed: exited 1", repro=["podman run x"])]
    judgements = judge_all(list(claims.values()), records)
    report = report_json(claims_file, judgements, Results(run=Run(), results=records))
    page = index_html(report, "cells/site/index.html")
    assert 'href="evidence/0.html"' in page and "contradicted" in page
    assert "<script" not in page and "<link" not in page  # nothing is fetched: it works from file://
    assert "podman run x" in evidence_html(0, records[0].to_json())
    suite = ET.fromstring(junit_xml("P", judgements).split("\n", 1)[1]).find("testsuite")
    assert suite.get("failures") == "1" and int(suite.get("skipped")) == len(judgements) - 1
