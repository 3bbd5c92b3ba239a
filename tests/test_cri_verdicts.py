"""Each CRI expectation of the default and nightly matrices is confirmed only by the runtime's own
answer to the step it names: the recorded answer of containerd 1.6 is ``xfailed``, any other failure
of the same test (an empty ListImages, a dead socket, NOT_FOUND from another step, a call cut off by
the client's deadline, the harness's own sentence) is not.

The failures are built the way the suite builds them (``CriError`` as the client raises it, then
``cri.verdicts.refused`` / ``listed_images`` as the tests wrap it), so a change to either side that
lets a different failure confirm a listing fails here.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import grpc
import pytest

from ocimatrix.cri.client import CriError
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.cri.kubelet import NO_IMAGE
from ocimatrix.cri.verdicts import described, listed_images, refused
from ocimatrix.errors import ImplementationFailure, ServiceUnavailable
from ocimatrix.matrix import load_matrix
from ocimatrix.plugin.verdicts import decide
from ocimatrix.resources import SUITES_DIR

MATRICES = [Path(__file__).parent.parent / "matrix" / name for name in ("default.yaml", "nightly.yaml")]
POD = "e0b98b9e25d0116345644a78e6474b67f39dbaffe7f15bee5dc3a61502b21b31"
CONTAINER = "d0a527e08cb2052aa4077e9d35871f1886fc15412afdbb960fe7d05baa1e2642"
PROBE_TAG = "127.0.0.1:44699/ocimatrix/cri/probe:9a69fbdf-gw0"
PROBE_ID = "sha256:14cd3dd6bc2d543455a269e5723544e5cf6a2cdbc6b415b78e6192e3612dbe74"
PAUSE_ID = "sha256:181e0cef711a06344f9ef25a2b846d021438baf127cb5ce72332c3e7f7bc8bd0"
PAUSE_TAG = "127.0.0.1:44699/ocimatrix/pause:3.9"
OTHER_ID = "sha256:" + "ab" * 32


def _raised(make) -> BaseException:
    """What ``make`` raises, with the chain Python gives it when raised where the suite raises it."""
    try:
        make()
    except BaseException as exc:  # noqa: BLE001 - the exception itself is under test
        return exc
    raise AssertionError("nothing was raised")


def _refusal(step: str, message: str, error: CriError) -> BaseException:
    """``error`` turned into the check's failure as the suite does it, inside the handler."""

    def make():
        try:
            raise error
        except CriError as exc:
            raise refused(step, message, exc) from exc

    return _raised(make)


def _not_found(rpc: str, what: str, ident: str) -> CriError:
    # containerd 1.6.20's own words (recorded from the embedded containerd's CRI).
    details = f'an error occurred when try to find {what} "{ident}": not found'
    return CriError(rpc, ident, grpc.StatusCode.NOT_FOUND, details)


def _timed_out(rpc: str, ident: str) -> CriError:
    details = "timed out after 120 s (kubelet's runtime-request-timeout)"
    return CriError(rpc, ident, grpc.StatusCode.DEADLINE_EXCEEDED, details, timed_out=True)


def _image(image_id: str, *tags: str) -> api.Image:
    return api.Image(id=image_id, repo_tags=list(tags))


def _listing(images: list[api.Image]) -> BaseException:
    def make():
        raise ImplementationFailure(
            f"ListImages filtered by {PROBE_TAG} did not answer exactly its image",
            step="ListImages filtered by reference",
            answer=listed_images(images),
        )

    return _raised(make)


def _identifiers(step: str, ids: dict[str, str]) -> BaseException:
    """The image identifier check's failure, as suites/cri/test_cri_image_identity.py builds it."""

    def make():
        raise ImplementationFailure(
            f"{', '.join(ids)} must be one image identifier",
            step=step,
            answer="; ".join(f"{k}: {v!r}" for k, v in ids.items()),
        )

    return _raised(make)


# containerd 1.6.20's and 1.7's answers (recorded from the embedded containerd's CRI): the container's image_id empty.
ID_STEP = "ContainerStatus, ListContainers"
PULLED = {"PullImage image_ref": PROBE_ID, "ImageStatus id": PROBE_ID}


def _in_container(status: str, listed: str) -> dict[str, str]:
    return {**PULLED, "ContainerStatus image_id": status, "ListContainers image_id": listed}


def _identifier_cases():
    return (
        lambda: _identifiers(ID_STEP, _in_container("", "")),
        {
            "another image id in the container": lambda: _identifiers(ID_STEP, _in_container(OTHER_ID, OTHER_ID)),
            "only the listed container's id empty": lambda: _identifiers(ID_STEP, _in_container(PROBE_ID, "")),
            "PullImage and ImageStatus disagree": lambda: _identifiers(
                "PullImage, ImageStatus", {"PullImage image_ref": PROBE_ID, "ImageStatus id": ""}
            ),
            "UNAVAILABLE": lambda: _Unavailable(),
            "deadline exceeded": lambda: _timed_out("ContainerStatus", CONTAINER),
            "the harness's sentence": lambda: AssertionError(
                "ContainerStatus image_id: ''; ListContainers image_id: ''"
            ),
        },
    )


class _Unavailable(grpc.RpcError):
    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return "connection refused"


STOP_POD = "StopPodSandbox after remove"
STOP_CTR = "StopContainer after remove"
POD_MESSAGE = "StopPodSandbox of a pod already stopped and removed failed"
CTR_MESSAGE = "StopContainer of a container already stopped and removed failed"

# test -> (the recorded failure that confirms its listing, {name: a different failure of the same test}).
CASES = {
    "test_stop_pod_sandbox_after_remove": (
        lambda: _refusal(STOP_POD, POD_MESSAGE, _not_found("StopPodSandbox", "sandbox", POD)),
        {
            "deadline exceeded": lambda: _refusal(STOP_POD, POD_MESSAGE, _timed_out("StopPodSandbox", POD)),
            "NOT_FOUND of the first stop": lambda: _not_found("StopPodSandbox", "sandbox", POD),
            "NOT_FOUND of RemovePodSandbox": lambda: _not_found("RemovePodSandbox", "sandbox", POD),
            "a container NOT_FOUND": lambda: _refusal(
                STOP_POD, POD_MESSAGE, _not_found("StopPodSandbox", "container", CONTAINER)
            ),
            "UNAVAILABLE": lambda: _Unavailable(),
            "the socket gone": lambda: ServiceUnavailable("CRI endpoint unix:///x.sock", "UNAVAILABLE"),
            "the harness's sentence": lambda: AssertionError(f"{POD_MESSAGE} (StopPodSandbox {POD}: NOT_FOUND: x)"),
        },
    ),
    "test_stop_container_after_remove": (
        lambda: _refusal(STOP_CTR, CTR_MESSAGE, _not_found("StopContainer", "container", CONTAINER)),
        {
            "deadline exceeded": lambda: _refusal(STOP_CTR, CTR_MESSAGE, _timed_out("StopContainer", CONTAINER)),
            "NOT_FOUND of ContainerStatus after remove": lambda: _refusal(
                "ContainerStatus after remove", "not NOT_FOUND", _not_found("ContainerStatus", "container", CONTAINER)
            ),
            "NOT_FOUND of RemoveContainer": lambda: _not_found("RemoveContainer", "container", CONTAINER),
            "a sandbox NOT_FOUND": lambda: _refusal(STOP_CTR, CTR_MESSAGE, _not_found("StopContainer", "sandbox", POD)),
            "UNAVAILABLE": lambda: _Unavailable(),
            "the harness's sentence": lambda: AssertionError(f"{CTR_MESSAGE} (StopContainer: NOT_FOUND: not found)"),
        },
    ),
    "test_same_image_identifier_across_calls": _identifier_cases(),
    "test_same_image_identifier_from_two_registries": _identifier_cases(),
    "test_list_images_filtered_by_reference": (
        lambda: _listing([_image(PAUSE_ID, PAUSE_TAG), _image(PROBE_ID, PROBE_TAG)]),
        {
            "an empty ListImages answer": lambda: _listing([]),
            "only another image": lambda: _listing([_image(PAUSE_ID, PAUSE_TAG)]),
            "two images, not the one asked for": lambda: _listing(
                [_image(PAUSE_ID, PAUSE_TAG), _image(OTHER_ID, "127.0.0.1:1/other:1")]
            ),
            "ImageStatus without an image": lambda: ImplementationFailure(
                "ImageStatus found no probe", step="ImageStatus of the pulled probe", answer=NO_IMAGE
            ),
            "UNAVAILABLE": lambda: _Unavailable(),
            "deadline exceeded": lambda: _timed_out("ListImages", PROBE_TAG),
            "the harness's sentence": lambda: AssertionError(f"ListImages filtered by {PROBE_TAG} returned ['a', 'b']"),
        },
    ),
}


# The CRI metrics calls, as each containerd answered them here (ocimatrix run, 2026-12-08): 1.6.20's grpc server
# does not know the methods, 1.7's and 2.1.9's CRI leave them to the generated stub.
UNIMPLEMENTED_WORDS = {
    "1.6": "unknown method {call} for service runtime.v1.RuntimeService",
    "1.7": "method {call} not implemented",
    "2.1": "method {call} not implemented",
}
METRICS_CALL = {
    "test_list_metric_descriptors": "ListMetricDescriptors",
    "test_list_pod_sandbox_metrics": "ListPodSandboxMetrics",
}
METRICS_MESSAGE = {
    "ListMetricDescriptors": "the runtime did not describe its metrics",
    "ListPodSandboxMetrics": "the runtime did not list its pods' metrics",
}


def _unimplemented(call: str, version: str = "1.6", step: str | None = None) -> BaseException:
    """The metrics test's failure when ``call`` is answered UNIMPLEMENTED, as the suite wraps it."""
    error = CriError(call, "", grpc.StatusCode.UNIMPLEMENTED, UNIMPLEMENTED_WORDS[version].format(call=call))
    return _refusal(step or call, METRICS_MESSAGE.get(call, "refused"), error)


def _metrics_cases(call: str, other: str):
    return (
        lambda: _unimplemented(call),
        {
            "the other metrics call's UNIMPLEMENTED": lambda: _unimplemented(other, step=other),
            "UNIMPLEMENTED of another call": lambda: _refusal(
                call, "refused", CriError(call, "", grpc.StatusCode.UNIMPLEMENTED, "method ExecSync not implemented")
            ),
            "an empty answer": lambda: ImplementationFailure("no descriptor at all", step=call, answer=described([])),
            "UNAVAILABLE": lambda: _Unavailable(),
            "deadline exceeded": lambda: _refusal(call, "refused", _timed_out(call, "")),
            "the harness's sentence": lambda: AssertionError(f"{call}: UNIMPLEMENTED: method {call} not implemented"),
        },
    )


# NRI: containerd 2.1.9 (sid) created a container in a stopped pod, and said so only by answering with its id.
IN_STOPPED_POD = "CreateContainer in a stopped pod"
CASES["test_stop_pod_is_one_event_and_the_pod_is_not_reused"] = (
    lambda: ImplementationFailure(
        "a stopped pod must not take a new container", step=IN_STOPPED_POD, answer=f"created container {CONTAINER}"
    ),
    {
        "the refusal reached the plugin": lambda: ImplementationFailure(
            "a refused CreateContainer reached the plugin",
            step=IN_STOPPED_POD,
            answer=f"CreateContainer via CreateContainer (container {CONTAINER})",
        ),
        "two StopPodSandbox events": lambda: ImplementationFailure(
            "StopPodSandbox called twice must reach the plugin once",
            step="StopPodSandbox, twice",
            answer="StopPodSandbox via StateChange (container -); StopPodSandbox via StateChange (container -)",
        ),
        "UNAVAILABLE": lambda: _Unavailable(),
        "the harness's sentence": lambda: AssertionError(f"{IN_STOPPED_POD}: created container {CONTAINER}"),
    },
)
CASES["test_list_metric_descriptors"] = _metrics_cases("ListMetricDescriptors", "ListPodSandboxMetrics")
CASES["test_list_pod_sandbox_metrics"] = _metrics_cases("ListPodSandboxMetrics", "ListMetricDescriptors")


def _cri_expectations(path: Path) -> list[dict]:
    """The listings of the CRI suite's own tests (another suite's listing may name the CRI engine too)."""
    suite = SUITES_DIR / "cri"
    names = {n for f in suite.glob("test_*.py") for n in re.findall(r"^def (test_\w+)", f.read_text(), re.M)}
    return [
        e
        for e in load_matrix(path).expectations
        if "containerd-cri" in e["cell"].get("engine", ())
        and any(fnmatch.fnmatchcase(n, e["test"].split("[")[0]) for n in names)
    ]


@pytest.mark.parametrize("path", MATRICES, ids=lambda p: p.name)
def test_every_cri_expectation_has_recorded_answers_here(path):
    listed = {e["test"] for e in _cri_expectations(path)}
    assert listed == set(CASES), "a CRI expectation without a mutation self-test here (or one listed no more)"
    for expected in _cri_expectations(path):
        assert expected.get("step"), f"{expected['test']}: a CRI expectation names the step it applies to"


@pytest.mark.parametrize("path", MATRICES, ids=lambda p: p.name)
@pytest.mark.parametrize("test", sorted(CASES))
def test_the_recorded_answer_confirms_the_listing(path, test):
    expected = next(e for e in _cri_expectations(path) if e["test"] == test)
    confirmed, _ = CASES[test]
    verdict = decide(confirmed(), expected=expected)
    assert verdict.outcome == "xfailed", verdict.reason
    assert verdict.answer is not None and verdict.answer.step and verdict.answer.text


@pytest.mark.parametrize("path", MATRICES, ids=lambda p: p.name)
@pytest.mark.parametrize(
    ("test", "different"), [(test, name) for test, (_, others) in sorted(CASES.items()) for name in others]
)
def test_a_different_failure_never_confirms_the_listing(path, test, different):
    expected = next(e for e in _cri_expectations(path) if e["test"] == test)
    exc = CASES[test][1][different]()
    verdict = decide(exc, expected=expected)
    assert verdict.outcome != "xfailed", f"{different!r} confirmed {test}'s listing: {verdict.reason}"
    assert verdict.outcome in ("failed", "error")


def test_a_dead_service_is_an_error_even_with_the_recorded_answer():
    expected = next(e for e in _cri_expectations(MATRICES[0]) if e["test"] == "test_stop_pod_sandbox_after_remove")
    confirmed, _ = CASES["test_stop_pod_sandbox_after_remove"]
    verdict = decide(confirmed(), expected=expected, service_broke="containerd stopped answering while this cell ran")
    assert verdict.outcome == "error"


def test_an_image_status_without_an_image_fails_with_that_answer():
    exc = CASES["test_list_images_filtered_by_reference"][1]["ImageStatus without an image"]()
    verdict = decide(exc)
    assert verdict.outcome == "failed"
    assert verdict.answer is not None and verdict.answer.text == NO_IMAGE


def _metrics_listings(path: Path) -> list[tuple[dict, str]]:
    """Each metrics listing of a matrix with the one version its range names (they pin one release line each)."""
    found = []
    for expected in _cri_expectations(path):
        if expected["test"] in METRICS_CALL:
            ranges = [str(r) for r in expected["versions"].values()]
            version = next(v for v in UNIMPLEMENTED_WORDS if any(r.lstrip("=") == v for r in ranges))
            found.append((expected, version))
    return found


@pytest.mark.parametrize("path", MATRICES, ids=lambda p: p.name)
def test_each_metrics_listing_is_confirmed_by_its_own_version_s_words_only(path):
    listings = _metrics_listings(path)
    assert {e["test"] for e, _ in listings} == set(METRICS_CALL)
    for expected, version in listings:
        call = METRICS_CALL[expected["test"]]
        assert decide(_unimplemented(call, version), expected=expected).outcome == "xfailed", (expected, version)
        for other in UNIMPLEMENTED_WORDS:
            if UNIMPLEMENTED_WORDS[other] != UNIMPLEMENTED_WORDS[version]:
                verdict = decide(_unimplemented(call, other), expected=expected)
                assert verdict.outcome == "failed", f"{other}'s words confirmed the {version} listing"


def test_unimplemented_metrics_without_a_listing_fail_with_the_runtime_s_words():
    verdict = decide(_unimplemented("ListPodSandboxMetrics", "1.7"))
    assert verdict.outcome == "failed"
    assert verdict.answer is not None
    assert (verdict.answer.step, verdict.answer.text) == (
        "ListPodSandboxMetrics",
        "UNIMPLEMENTED: method ListPodSandboxMetrics not implemented",
    )
