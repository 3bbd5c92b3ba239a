"""features.md: the runtime's features document, validated and kept as evidence for the report."""

from __future__ import annotations

import json

import pytest
from runtime_spec import RUNTIME_AXES

from ocimatrix.runtime.documents import problems
from ocimatrix.specs import spec

pytestmark = pytest.mark.axes(*RUNTIME_AXES)


@spec("runtime-spec/features.md#features-document", "features: Features document")
def test_features_document(lab, recorder):
    """The runtime's ``features`` output, checked against features.md and features-linux.md.

    Whether a runtime must answer: features.md says a runtime MAY provide the features document,
    and runtime.md's Operations (state, create, start, kill, delete), the ones a runtime MUST
    support, do not include it (nor does the spec define any command line). So a runtime without
    ``features`` is not wrong: its cell is skipped with its own answer, recorded under
    ``evidence["features"]``. A runtime that answers must answer with a valid document.
    """
    argv = lab.runtime.argv("features")
    recorder.command(argv)
    result, document = lab.runtime.features_document()
    if not result.ok:
        recorder.add("features", {"provided": False, "exit": result.returncode, "answer": result.words})
        pytest.skip(
            f"{lab.name} has no features document (features.md makes it optional); "
            f"`{lab.name} features` exits {result.returncode}: {result.words}"
        )
    if document is None:
        recorder.add("features", {"provided": True, "unparsed": result.stdout[:4000]})
        pytest.fail(f"{lab.name} features exited 0 but printed something that is not JSON: {result.stdout[:300]!r}")
    recorder.add("features", document)
    found = problems("features", document)
    assert not found, f"{lab.name}'s features document breaks features.md: {found}"


@spec(
    "runtime-spec/features.md#specification-version", "features: Features: ociVersionMin and ociVersionMax are accepted"
)
def test_features_oci_versions_are_accepted(lab, recorder):
    result, document = lab.runtime.features_document()
    if document is None:
        pytest.skip(f"{lab.name} has no features document to take ociVersionMin/Max from: {result.words}")
    versions = {"ociVersionMin": document["ociVersionMin"], "ociVersionMax": document["ociVersionMax"]}
    recorder.add("versions_tried", versions)
    for key, version in versions.items():
        ran = lab.run_probe(f"echo ociVersion={version}", oci_version=version)
        assert ran.value("ociVersion") == version, f"{key} {version}: the container printed {ran.stdout!r}"
        # The bundle really said so: what the runtime read is on disk in the bundle.
        assert json.loads((ran.container.bundle / "config.json").read_text())["ociVersion"] == version
