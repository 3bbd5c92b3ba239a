"""Where the line between ``failed`` and ``error`` falls, for the exceptions suites and drivers raise."""

from __future__ import annotations

import grpc
import httpx
import pytest
import requests

from ocimatrix.engines.base import EngineError, TimedOut
from ocimatrix.errors import HarnessError, ServiceUnavailable, UsageError
from ocimatrix.verdicts import is_harness_fault, matches_expectation


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
        httpx.ReadTimeout("silent"),
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


def test_expectation_patterns_search_the_failure():
    assert matches_expectation(r"NOT_FOUND", "CriError: StopPodSandbox abc: NOT_FOUND: not found")
    assert not matches_expectation(r"NOT_FOUND", "ConnectionRefusedError: [Errno 111] Connection refused")
