"""The image suite's verdict logic (suites/image/image_conformance.py) on reports the real validator builds."""

from __future__ import annotations

from pathlib import Path

import pytest
from suite_modules import load_suite_module

from ocimatrix import evidence
from ocimatrix.oci.annotations import annotation_problems
from ocimatrix.oci.report import Report

_PATH = Path(__file__).resolve().parents[1] / "suites" / "image" / "image_conformance.py"
conformance = load_suite_module("image_conformance", _PATH)


def _report_with(errors: int, warnings: int = 0) -> Report:
    report = Report(source="127.0.0.1:5000/probe@sha256:" + "a" * 64)
    for i in range(errors):
        report.add("descriptor.size-mismatch", f"layers/{i}", f"blob is {i} bytes, the descriptor says {i + 1}")
    for i in range(warnings):
        report.add("index.platform-missing", f"index.json:/manifests/{i}", "entry SHOULD carry a platform")
    report.checked["layers"] += errors
    return report


def test_message_names_tool_rule_place_and_spec_link():
    message = conformance.nonconformance_message("podman 4.3.1", "pushed an image that", _report_with(1, 3))
    headline, *lines = message.splitlines()
    assert headline.startswith("podman 4.3.1 pushed an image that breaks the spec: 1 error in 127.0.0.1:5000/")
    assert lines == [
        "  descriptor.size-mismatch at layers/0: blob is 0 bytes, the descriptor says 1 "
        "(https://github.com/opencontainers/image-spec/blob/v1.1.0/descriptor.md#properties)"
    ], "warnings never appear among the failing lines"


def test_long_lists_are_cut_and_point_to_the_evidence():
    lines = conformance.nonconformance_message("skopeo", "copied", _report_with(25)).splitlines()
    assert len(lines) == 1 + conformance.MAX_LISTED + 1
    assert lines[-1] == "  ... and 5 more (every violation is in the cell's evidence)"


def test_evidence_keeps_every_violation_warnings_included():
    recorder = evidence.Recorder()
    conformance.record_report(recorder, _report_with(2, 1))
    found = recorder.evidence
    assert (found["errors"], found["warnings"]) == (2, 1)
    assert [v["level"] for v in found["violations"]] == ["error", "error", "warning"]
    assert found["checked"] == {"layers": 2}
    assert found["elf_check"].startswith("layer.elf-arch-mismatch")


@pytest.mark.parametrize(("versions", "label"), [({"podman": "4.3.1"}, "podman 4.3.1"), ({}, "podman")])
def test_tool_label_carries_the_version_when_known(versions, label):
    recorder = evidence.Recorder(versions=dict(versions))
    assert conformance.tool_label(recorder, "podman") == label


# Found by the image suite: buildah 1.28 writes org.opencontainers.image.base.digest "" for FROM scratch.
def test_empty_predefined_annotation_values_are_allowed():
    # annotations.md: "While the value MUST be present, it MAY be an empty string."
    empty = {"org.opencontainers.image.base.digest": "", "org.opencontainers.image.base.name": ""}
    assert list(annotation_problems(empty)) == []
    assert [p[0] for p in annotation_problems({"org.opencontainers.image.base.digest": "sha256:xyz"})] == [
        "annotation.value-format"
    ]


def test_the_answer_a_listing_reads_is_the_errors_alone():
    report = _report_with(2, 1)
    assert conformance.violations_answer(report).splitlines() == [
        "descriptor.size-mismatch at layers/0: blob is 0 bytes, the descriptor says 1",
        "descriptor.size-mismatch at layers/1: blob is 1 bytes, the descriptor says 2",
    ]


def test_a_layout_lacking_a_blob_it_lists_is_no_failure(tmp_path):
    """ctr export of a pulled BuildKit index lists the attestation manifest and leaves its blob out:
    image-layout.md lets a layout miss referenced blobs, so the report holds a warning and no error."""
    from corpus.make_corpus import CASES

    from ocimatrix.oci.validate import validate_archive

    case = next(c for c in CASES if c.name == "archive-attestation-blob-absent")
    source, _ = case.build(tmp_path)
    report = validate_archive(source)
    assert report.ok and conformance.violations_answer(report) == ""
    assert [v.rule_id for v in report.warnings] == ["layout.blob-absent"]
    recorder = evidence.Recorder()
    conformance.record_report(recorder, report)
    assert recorder.evidence["violations"][0]["rule_id"] == "layout.blob-absent"


def test_a_listing_is_confirmed_by_the_validators_words_alone(tmp_path):
    """The image suite's failure carries the validator's error lines as the answer to `ocimatrix validate`:
    a listing matching them xfails the cell; one matching only the harness's headline can't confirm it."""
    from corpus.make_corpus import CASES
    from verdict_cases import raised

    from ocimatrix.errors import fail_with
    from ocimatrix.oci.validate import validate_archive
    from ocimatrix.plugin.verdicts import decide

    case = next(c for c in CASES if c.name == "docker-save-layer-missing")
    source, _ = case.build(tmp_path)
    report = validate_archive(source)
    try:
        fail_with(
            conformance.nonconformance_message("ctr 1.6.20", "saved the image it pulled as an archive that", report),
            step="ocimatrix validate",
            answer=conformance.violations_answer(report),
        )
    except Exception as exc:  # noqa: BLE001 - the suite's failure, as pytest hands it over
        failure = raised(exc)
    listed = {"test": "t", "cell": {}, "step": "^ocimatrix validate$", "reason": "r"}
    assert decide(failure, expected={**listed, "match": r"(?m)^blob\.missing at manifest\.json:"}).outcome == "xfailed"
    assert decide(failure, expected={**listed, "match": r"breaks the spec"}).outcome == "failed"
    assert decide(failure, expected={**listed, "step": "^ctr export$", "match": r"blob\.missing"}).outcome == "failed"
