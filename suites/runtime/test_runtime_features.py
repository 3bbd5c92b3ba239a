"""features.md: the runtime's features document, validated and kept as evidence for the report."""

from __future__ import annotations

import json

import pytest
from runtime_spec import RUNTIME_AXES

from ocimatrix.errors import HarnessError, fail_with
from ocimatrix.runtime.documents import features_release, problems, undefined_features
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

    Valid as the release its ``ociVersionMax`` names defines it (``schemas/runtime/features/``):
    features.md says the document "MUST NOT contain properties that are not defined in this version".
    A property of a later release is the runtime's answer and the finding (``evidence["features_release"]``
    says which schema was read and why).
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
        fail_with(
            f"{lab.name} features exited 0 but printed something that is not JSON: {result.stdout[:300]!r}",
            step=f"{lab.name} features",
            answer=f"exit 0: {result.stdout[:1500]}",
        )
    recorder.add("features", document)
    release = features_release(document.get("ociVersionMax"))
    recorder.add("features_release", {"schema": release.release, "exact": release.exact, "why": release.why})
    found = problems("features", document)
    if not found:
        return
    undefined = undefined_features(document)
    # The answer is the document itself, in short: what it declares and what it holds beyond that.
    answer = f"ociVersionMax {document.get('ociVersionMax')}"
    if undefined:
        answer += f"; properties of a later release: {', '.join(undefined)}"
    others = [p for p in found if "not defined in runtime-spec" not in p]
    if others:
        answer += f"; {'; '.join(others)}"
    fail_with(
        f"{lab.name}'s features document breaks features.md (schema of runtime-spec {release.release}): {found}",
        step=f"{lab.name} features",
        answer=answer,
    )


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
        if ran.value("ociVersion") != version:
            fail_with(
                f"{key} {version}: the container printed {ran.stdout!r}",
                step=f"a container whose config.json declares ociVersion {version} ({key})",
                answer=ran.seen or "no output",
            )
        # The bundle really said so: what the runtime read is on disk in the bundle.
        written = json.loads((ran.container.bundle / "config.json").read_text())["ociVersion"]
        if written != version:
            raise HarnessError(f"the harness wrote ociVersion {written!r}, not {version!r}")
