"""Where the line between ``failed`` and ``error`` falls, for the exceptions suites and drivers raise."""

from __future__ import annotations

import grpc
import httpx
import pytest
import requests
from verdict_cases import raised

from ocimatrix.engines.base import EngineError, TimedOut
from ocimatrix.errors import HarnessError, ImplementationFailure, ServiceUnavailable, UsageError
from ocimatrix.plugin.verdicts import Answer, answer_of, decide, is_harness_fault, matches_expectation


class _Rpc(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


def _wrapped(outer: Exception, inner: Exception, *, suppress: bool) -> Exception:
    try:
        try:
            raise inner
        except Exception:
            if suppress:
                raise outer from None
            raise outer  # noqa: B904 - the implicit context is what is under test
    except Exception as exc:  # noqa: BLE001
        return exc


@pytest.mark.parametrize(
    "exc",
    [
        HarnessError("the bundle could not be written"),
        ServiceUnavailable("registry at http://127.0.0.1:1", "Connection refused"),
        ConnectionRefusedError(111, "Connection refused"),
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("nobody accepted"),
        requests.exceptions.ConnectionError("socket gone"),
        _Rpc(grpc.StatusCode.UNAVAILABLE),
        KeyError("missing"),
        TypeError("harness bug"),
        _wrapped(EngineError("docker pull failed"), ConnectionResetError(), suppress=False),
    ],
    ids=lambda e: type(e).__name__,
)
def test_harness_faults_are_errors(exc):
    assert is_harness_fault(exc)


@pytest.mark.parametrize(
    "exc",
    [
        AssertionError("digest differs"),
        EngineError("docker pull failed: archive/tar: invalid tar header"),
        TimedOut("the container timed out after 3 s; it was killed and removed"),
        _wrapped(TimedOut("timed out"), requests.exceptions.ReadTimeout(), suppress=True),
        _Rpc(grpc.StatusCode.NOT_FOUND),
        _Rpc(grpc.StatusCode.DEADLINE_EXCEEDED),
        httpx.ReadTimeout("answered past the client's deadline"),
        _wrapped(ImplementationFailure("wrong", step="s", answer="a"), ValueError("parsed it"), suppress=False),
    ],
    ids=lambda e: type(e).__name__,
)
def test_implementation_faults_are_failures(exc):
    assert not is_harness_fault(exc)


def test_pytest_outcomes_are_not_faults():
    with pytest.raises(pytest.fail.Exception) as failed:
        pytest.fail("nope")
    assert not is_harness_fault(failed.value)
    with pytest.raises(pytest.skip.Exception) as skipped:
        pytest.skip("not here")
    assert not is_harness_fault(skipped.value)


def test_usage_error_in_a_cell_is_a_fault():
    assert is_harness_fault(UsageError("bad matrix"))


def test_a_failure_raised_while_handling_a_harness_fault_is_that_fault():
    assert is_harness_fault(_wrapped(AssertionError("registry refused"), ConnectionRefusedError(), suppress=False))
    assert is_harness_fault(_wrapped(AssertionError("no bundle"), HarnessError("disk full"), suppress=False))
    # ``from None`` says the earlier exception was handled and explains nothing.
    assert not is_harness_fault(_wrapped(AssertionError("wrong"), ConnectionRefusedError(), suppress=True))
    assert is_harness_fault(_wrapped(EngineError("pull"), ConnectionResetError(), suppress=False))
    assert not is_harness_fault(_wrapped(EngineError("pull"), ConnectionResetError(), suppress=True))


# --- the decision table -----------------------------------------------------------------------

KNOWN = {"test": "t", "cell": {}, "match": r"NOT_FOUND", "reason": "stop is not idempotent"}
STEPPED = {**KNOWN, "step": r"^GET blob by malformed digest$", "match": r"^500 "}
MALFORMED = "GET blob by malformed digest"


def _skip(reason: str) -> BaseException:
    with pytest.raises(pytest.skip.Exception) as skipped:
        pytest.skip(reason)
    return skipped.value


@pytest.mark.parametrize(
    ("exc", "kwargs", "outcome"),
    [
        (None, {}, "passed"),
        (None, {"xpassed": "[XPASS(strict)] known: fixed"}, "failed"),
        (None, {"service_broke": "containerd stopped answering"}, "error"),
        (AssertionError("digest differs"), {}, "failed"),
        (ImplementationFailure("refused", step="RunPodSandbox", answer="INVALID_ARGUMENT: no"), {}, "failed"),
        (HarnessError("bundle not written"), {}, "error"),
        (ConnectionRefusedError(), {}, "error"),
        (AssertionError("digest differs"), {"service_broke": "registry died"}, "error"),
        (_skip("ctr 1.6 has no --user"), {}, "skipped"),
        (_skip("no CRI endpoint"), {"service_broke": "containerd stopped answering"}, "error"),
        (EngineError("x", step="docker pull", answer="rpc error: NOT_FOUND"), {"expected": KNOWN}, "xfailed"),
        (_Rpc(grpc.StatusCode.NOT_FOUND), {"expected": KNOWN}, "xfailed"),
        (AssertionError("NOT_FOUND in the harness's own words"), {"expected": KNOWN}, "failed"),
        (EngineError("NOT_FOUND in the harness's sentence"), {"expected": KNOWN}, "failed"),
        (ImplementationFailure("m", step="StopContainer", answer="OK"), {"expected": KNOWN}, "failed"),
        (ConnectionRefusedError("NOT_FOUND"), {"expected": KNOWN}, "error"),
        (
            ImplementationFailure("m", step=MALFORMED, answer="500 x"),
            {"expected": STEPPED},
            "xfailed",
        ),
        (ImplementationFailure("m", step="PUT setup blob", answer="500 x"), {"expected": STEPPED}, "failed"),
        (
            ImplementationFailure("m", step=MALFORMED, answer="400 x"),
            {"expected": STEPPED},
            "failed",
        ),
    ],
)
def test_decision_table(exc, kwargs, outcome):
    verdict = decide(raised(exc) if exc is not None else None, **kwargs)
    assert verdict.outcome == outcome, verdict.reason


def test_a_different_failure_names_both_the_listing_and_what_the_implementation_said():
    verdict = decide(ImplementationFailure("m", step="StopContainer", answer="OK twice"), expected=KNOWN)
    assert "stop is not idempotent" in verdict.reason and "/NOT_FOUND/" in verdict.reason
    assert "OK twice" in verdict.reason and "StopContainer" in verdict.reason


def test_the_answer_is_found_through_the_chain_the_harness_wrapped_it_in():
    inner = EngineError("podman pull failed", step="podman pull", answer="exit 125: manifest unknown")
    outer = _wrapped(ImplementationFailure("pull refused", step="", answer=None), inner, suppress=False)  # type: ignore[arg-type]
    assert answer_of(outer) == Answer("podman pull", "exit 125: manifest unknown")
    assert answer_of(AssertionError("x")) is None
    assert answer_of(_Rpc(grpc.StatusCode.NOT_FOUND)).text.startswith("NOT_FOUND")


def test_an_expectation_applies_only_to_the_implementations_answer():
    assert matches_expectation(KNOWN, Answer("StopPodSandbox", "NOT_FOUND: not found"))
    assert not matches_expectation(KNOWN, None)
    assert not matches_expectation(STEPPED, Answer("PUT setup blob", "500 Internal Server Error"))
