"""The decision table's corners that mutation testing found unguarded (docs/mutation.md): exceptions
known by their library's name, causes given with ``from``, chains that loop, the answer each kind of
exception carries, and the reasons ``decide`` writes."""

from __future__ import annotations

import itertools

import docker.errors
import grpc
import httpx
import pytest
import requests

from ocimatrix.engines.base import EngineError
from ocimatrix.errors import ImplementationFailure
from ocimatrix.plugin.verdicts import Answer, Verdict, _chain, _type_names, answer_of, combine, decide, is_harness_fault

KNOWN = {"test": "t", "cell": {}, "match": r"NOT_FOUND", "reason": "stop is not idempotent"}


class _Rpc(grpc.RpcError):
    """A CRI status as grpc raises it: a code, details, and (from ocimatrix's client) the step."""

    def __init__(self, code: grpc.StatusCode, details: str | None = None, step: str | None = None) -> None:
        self._code = code
        if details is not None:
            self.details = lambda: details
        if step is not None:
            self.step = step

    def code(self) -> grpc.StatusCode:
        return self._code


class _RpcWithoutStatus(grpc.RpcError):
    def code(self):
        raise ValueError("no status was received")


class _BareRpc(grpc.RpcError):
    """grpc's base class as such: no code at all."""


def _while_handling(outer: BaseException, inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException:  # noqa: BLE001
            raise outer  # noqa: B904 - the implicit context is what is under test
    except BaseException as exc:  # noqa: BLE001
        return exc


def _caused(outer: BaseException, cause: BaseException) -> BaseException:
    """``raise outer from cause`` outside any handler: a cause, no context."""
    try:
        raise outer from cause
    except BaseException as exc:  # noqa: BLE001
        assert exc.__context__ is None
        return exc


# ---------------------------------------------------------------- which library said it


def test_an_exception_is_known_by_its_full_and_its_package_name():
    names = _type_names(requests.exceptions.ReadTimeout())
    assert {"requests.exceptions.ReadTimeout", "requests.ReadTimeout", "requests.exceptions.Timeout"} <= names
    assert "builtins.OSError" in names


@pytest.mark.parametrize(
    "transport",
    [
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("server disconnected without sending a response"),
        httpx.ConnectTimeout("nobody accepted"),
        requests.exceptions.ConnectionError("socket gone"),
        _Rpc(grpc.StatusCode.UNAVAILABLE),
        _RpcWithoutStatus(),
        _BareRpc(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_an_assertion_made_while_a_transport_was_failing_is_that_failure(transport):
    # Only the transport check sees these through the chain (a bare one is an error anyway).
    assert is_harness_fault(_while_handling(AssertionError("the harness's words"), transport))
    assert is_harness_fault(_caused(EngineError("pull failed"), transport))


@pytest.mark.parametrize(
    "answer",
    [
        httpx.ReadTimeout("answered past the deadline"),
        requests.exceptions.ReadTimeout("answered past the deadline"),
        _Rpc(grpc.StatusCode.DEADLINE_EXCEEDED),
        _Rpc(grpc.StatusCode.NOT_FOUND),
        docker.errors.APIError("500 Server Error", explanation="No such container: x"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_late_or_refusing_answers_are_the_implementation_s(answer):
    assert not is_harness_fault(answer)
    assert not is_harness_fault(_while_handling(AssertionError("wrong"), answer))
    assert decide(answer).outcome == "failed"


def test_an_engine_error_is_a_fault_only_when_it_wraps_a_dead_transport():
    assert not is_harness_fault(_caused(EngineError("refused"), ValueError("bad manifest")))
    assert not is_harness_fault(_while_handling(EngineError("refused"), KeyError("config")))
    assert is_harness_fault(_caused(EngineError("refused"), ConnectionResetError()))


# ---------------------------------------------------------------- the chain


def test_a_chain_that_loops_is_walked_once():
    first, second = ValueError("a"), ValueError("b")
    first.__context__, second.__context__ = second, first
    # At most a few links are taken, so a chain walked forever fails here instead of hanging.
    assert list(itertools.islice(_chain(first), 5)) == [first, second]
    assert answer_of(first) is None and is_harness_fault(first)


def test_an_explicit_cause_is_followed_before_the_context():
    inner = EngineError("podman pull failed", step="podman pull", answer="exit 125: manifest unknown")
    outer = _caused(ImplementationFailure("pull refused", step="", answer=None), inner)  # type: ignore[arg-type]
    assert list(_chain(outer)) == [outer, inner]
    assert answer_of(outer) == Answer("podman pull", "exit 125: manifest unknown")
    context = ValueError("handled earlier")
    both = _while_handling(_caused(AssertionError("x"), inner), context)
    assert list(_chain(both)) == [both, inner]


# ---------------------------------------------------------------- the answer each exception carries


def test_an_answer_without_a_step_is_named_by_its_class():
    class Refusal(Exception):
        answer = "exit 1: invalid argument"

    assert answer_of(Refusal()) == Answer("Refusal", "exit 1: invalid argument")
    assert answer_of(ImplementationFailure("m", step="", answer="a")) == Answer("ImplementationFailure", "a")


def test_a_cri_status_is_its_code_and_details_to_its_step():
    assert answer_of(_Rpc(grpc.StatusCode.NOT_FOUND, "container x not found")) == Answer(
        "CRI call", "NOT_FOUND: container x not found"
    )
    assert answer_of(_Rpc(grpc.StatusCode.NOT_FOUND, "gone", step="StopContainer")) == Answer(
        "StopContainer", "NOT_FOUND: gone"
    )
    assert answer_of(_Rpc(grpc.StatusCode.INTERNAL)) == Answer("CRI call", "INTERNAL: ")
    assert answer_of(_RpcWithoutStatus()) is None
    assert answer_of(_BareRpc()) is None


def test_an_rpc_error_with_no_status_is_the_harness_s_not_an_answer():
    # Nothing answered, so nothing can be the implementation's failure: an error, never failed.
    assert is_harness_fault(_BareRpc())
    assert is_harness_fault(_RpcWithoutStatus())


def test_dockerd_s_answer_is_its_explanation():
    explained = docker.errors.APIError("409 Client Error", explanation="Conflict. The container name is in use")
    assert answer_of(explained) == Answer("docker API", "Conflict. The container name is in use")
    bare = docker.errors.APIError("500 Server Error")
    assert answer_of(bare) == Answer("docker API", str(bare))
    assert decide(explained, expected={**KNOWN, "match": "name is in use"}).outcome == "xfailed"


# ---------------------------------------------------------------- the reasons decide writes


def test_a_service_that_broke_is_the_reason_with_the_cell_s_own_error_cut_short():
    assert decide(None, service_broke="containerd stopped answering") == Verdict(
        "error", "containerd stopped answering"
    )
    long = "x" * 2500
    verdict = decide(AssertionError(long), service_broke="registry died")
    assert (
        verdict.reason
        == f"registry died; the cell's own error: AssertionError: {long}"[
            : len("registry died; the cell's own error: ") + 2000
        ]
    )


def test_a_failure_keeps_the_implementation_s_answer():
    verdict = decide(ImplementationFailure("wrong exit code", step="runc start", answer="exit 1: no such file"))
    assert verdict == Verdict(
        "failed", "ImplementationFailure: wrong exit code", Answer("runc start", "exit 1: no such file")
    )


def test_a_different_failure_says_what_was_listed_and_what_was_answered():
    answer = "A" * 1500 + "B"
    verdict = decide(ImplementationFailure("m", step="StopContainer", answer=answer), expected=KNOWN)
    assert f"with: {'A' * 1500}." in verdict.reason and "AB" not in verdict.reason
    assert "the implementation's answer must match /NOT_FOUND/" in verdict.reason
    stepped = decide(
        ImplementationFailure("m", step="other", answer="x"), expected={**KNOWN, "step": "^StopContainer$"}
    )
    assert "the implementation's answer to a step matching /^StopContainer$/ must match /NOT_FOUND/" in stepped.reason
    unanswered = decide(AssertionError("bare"), expected=KNOWN)
    assert unanswered.reason == (
        "failed, but not as the known incompatibility listed for this cell (stop is not idempotent): the "
        "implementation's answer must match /NOT_FOUND/; no answer of the implementation was recorded with "
        "this failure. The failure: AssertionError: bare"
    )
    long = decide(AssertionError("y" * 2100), expected=KNOWN)
    assert long.reason.endswith("The failure: AssertionError: " + "y" * (2000 - len("AssertionError: ")))


def test_a_failure_s_text_is_its_class_and_message_cut_at_4000():
    assert decide(KeyError()).reason == "KeyError"
    assert decide(ValueError("bad")).reason == "ValueError: bad"
    with pytest.raises(pytest.fail.Exception) as failed:
        pytest.fail("the runtime left a container behind")
    assert decide(failed.value).reason == "the runtime left a container behind"
    prefix = "AssertionError: "
    fits = "z" * (3999 - len(prefix))
    assert decide(AssertionError(fits)).reason == prefix + fits
    cut = "z" * (4000 - len(prefix))
    assert decide(AssertionError(cut)).reason == prefix + cut + " ..."
    assert decide(AssertionError(cut + "tail")).reason == prefix + cut + " ..."


def test_no_phase_at_all_is_a_pass():
    assert combine([]) == Verdict("passed")
