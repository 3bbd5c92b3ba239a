"""Which outcome a cell's exception means: the implementation's fault (``failed``) or the harness's (``error``).

The line is drawn once, here, so every suite keeps the four outcomes apart the same way:

- ``failed``: an assertion about what the implementation did, or an error the implementation itself
  answered with (an engine's refusal, a CRI status other than UNAVAILABLE, a registry's HTTP error).
- ``error``: a ``HarnessError`` (a service stopped answering, a step the harness owns broke), a
  transport failure (refused, reset, a socket that vanished), or any other exception: an unexpected
  exception is the harness's own code breaking, never evidence against the tool under test.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from ocimatrix.errors import EngineError, HarnessError, ImplementationFailure, OcimatrixError, Unsupported, UsageError

# A CRI status the runtime answered with is the runtime's; UNAVAILABLE means nobody answered.
_GRPC_TRANSPORT_CODES = {"UNAVAILABLE"}


def _type_names(exc: BaseException) -> set[str]:
    """Names of the exception's classes, as ``package.Class`` (``httpx.ReadTimeout``, although httpx
    defines it in ``httpx._exceptions``) and fully qualified, so the check needs none of those
    libraries imported."""
    names = set()
    for klass in type(exc).__mro__:
        names.add(f"{klass.__module__}.{klass.__name__}")
        names.add(f"{klass.__module__.split('.')[0]}.{klass.__name__}")
    return names


def _transport_failure(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionError):  # refused, reset, aborted, broken pipe
        return True
    names = _type_names(exc)
    if "httpx.TransportError" in names:  # ConnectError, RemoteProtocolError, a connect that timed out ...
        # An answer that came too late is the server's (past the client's deadline: ``failed``); the
        # service watch's own health probe tells a server that answers nothing at all (``error``).
        return not ("httpx.TimeoutException" in names and "httpx.ConnectTimeout" not in names)
    if "requests.exceptions.ConnectionError" in names:  # docker-py's view of a dead socket
        return True
    if "grpc.RpcError" in names:
        code = getattr(exc, "code", None)
        if not callable(code):  # grpc's bare base class: no status, so nothing answered
            return True
        try:
            name = code().name
        except Exception:  # noqa: BLE001 - an RpcError without a status is no answer at all
            return True
        return name in _GRPC_TRANSPORT_CODES
    return False


def _late_answer(exc: BaseException) -> bool:
    """A server that took a connection and then answered past the client's deadline: its failure.
    (One that answers nothing at all is told apart by the service watch's health probe.)"""
    names = _type_names(exc)
    late = {"httpx.TimeoutException", "requests.ReadTimeout"}
    return bool(late & names) and "httpx.ConnectTimeout" not in names


def is_harness_fault(exc: BaseException) -> bool:
    """True when the exception says the harness or a service broke rather than the implementation."""
    if isinstance(exc, HarnessError):
        return True
    if isinstance(exc, pytest.skip.Exception | pytest.xfail.Exception):
        return False
    if isinstance(exc, AssertionError | pytest.fail.Exception):
        # A failure raised while handling (or from) a harness fault is that fault, whatever it says.
        return any(isinstance(link, HarnessError) or _transport_failure(link) for link in list(_chain(exc))[1:])
    if _transport_failure(exc):
        return True
    if _late_answer(exc):
        return False
    # ``raise ... from None`` says the earlier exception was handled: it explains nothing about this one.
    cause = exc.__cause__ if exc.__cause__ is not None else (None if exc.__suppress_context__ else exc.__context__)
    if isinstance(exc, OcimatrixError) and not isinstance(exc, UsageError):
        # An engine's, registry's or CRI runtime's own refusal; unless it only wraps a dead transport.
        return cause is not None and _transport_failure(cause)
    # A status the CRI runtime answered with (UNAVAILABLE was caught above), or dockerd's own error answer.
    answered = {"grpc.RpcError", "docker.errors.APIError"}
    return not (answered & _type_names(exc))


@dataclass(frozen=True)
class Answer:
    """What the implementation itself said or showed when a check failed, and to which step."""

    step: str
    text: str

    def to_json(self) -> dict[str, str]:
        return {"step": self.step, "text": self.text}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = (
            current.__cause__
            if current.__cause__ is not None
            else (None if current.__suppress_context__ else current.__context__)
        )


def answer_of(exc: BaseException) -> Answer | None:
    """The implementation's own answer an exception carries: an ``ImplementationFailure``'s or an
    ``EngineError``'s ``answer``, a CRI status with its message, dockerd's error explanation.

    None when the failure carries none (a bare assertion, a harness message): such a failure can
    never confirm a listed known incompatibility.
    """
    for link in _chain(exc):
        answer = getattr(link, "answer", None)
        if isinstance(answer, str):
            return Answer(str(getattr(link, "step", None) or type(link).__name__), answer)
        names = _type_names(link)
        if "grpc.RpcError" in names:
            code, details = getattr(link, "code", None), getattr(link, "details", None)
            try:
                status = f"{code().name}: {details() if callable(details) else ''}"
            except Exception:  # noqa: BLE001 - an RpcError without a status carries no answer
                return None
            return Answer(str(getattr(link, "step", None) or "CRI call"), status)
        if "docker.errors.APIError" in names:
            return Answer("docker API", str(getattr(link, "explanation", None) or link))
    return None


def matches_expectation(expected: Mapping[str, Any], answer: Answer | None) -> bool:
    """A known incompatibility is confirmed only by the implementation's own answer: ``match`` is
    searched in that answer's text, ``step`` (when listed) in the step it answered."""
    if answer is None:
        return False
    step = expected.get("step")
    if step and re.search(step, answer.step) is None:
        return False
    return re.search(expected["match"], answer.text) is not None


@dataclass(frozen=True)
class Verdict:
    """One phase's outcome (``passed``, ``failed``, ``error``, ``skipped``, ``xfailed``) and why."""

    outcome: str
    reason: str = ""
    answer: Answer | None = None


# Worst first: a cell's outcome is the worst of its phases'.
SEVERITY = ("error", "failed", "xfailed", "skipped", "passed")


def decide(
    exc: BaseException | None,
    *,
    service_broke: str | None = None,
    expected: Mapping[str, Any] | None = None,
    xpassed: str | None = None,
) -> Verdict:
    """The decision table, one phase (setup, call or teardown) at a time.

    - nothing raised: ``passed``, unless the cell was a strict known incompatibility that passed
      (``xpassed``: the listing is out of date, ``failed``);
    - a service the cell relied on stopped answering while it ran (``service_broke``), or the
      exception is the harness's (``is_harness_fault``): ``error``, whatever else was raised,
      a skip included: a dead daemon is never "not supported here";
    - a skip: ``skipped`` with its reason;
    - a failure while a known incompatibility is listed for the cell (``expected``): ``xfailed``
      only when the implementation's own answer matches the listing, else ``failed`` naming both;
    - any other failure (an assertion, the implementation's refusal, in a fixture or in teardown
      alike): ``failed``.
    """
    if exc is None:
        if xpassed:
            return Verdict("failed", xpassed)
        if service_broke:
            return Verdict("error", service_broke)
        return Verdict("passed")
    text = _exception_text(exc)
    if service_broke:
        return Verdict("error", f"{service_broke}; the cell's own error: {text[:2000]}")
    if isinstance(exc, pytest.skip.Exception):
        return Verdict("skipped", str(exc.msg))
    if is_harness_fault(exc):
        return Verdict("error", text)
    answer = answer_of(exc)
    if expected is None:
        return Verdict("failed", text, answer)
    if matches_expectation(expected, answer):
        return Verdict("xfailed", f"known: {expected['reason']}", answer)
    said = (
        f"the implementation answered {answer.step!r} with: {answer.text[:1500]}"
        if answer
        else ("no answer of the implementation was recorded with this failure")
    )
    step = f" to a step matching /{expected['step']}/" if expected.get("step") else ""
    return Verdict(
        "failed",
        f"failed, but not as the known incompatibility listed for this cell ({expected['reason']}): "
        f"the implementation's answer{step} must match /{expected['match']}/; {said}. The failure: {text[:2000]}",
        answer,
    )


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """A cell's outcome from its phases': the worst one, with its reason."""
    ordered = sorted(verdicts, key=lambda v: SEVERITY.index(v.outcome))
    return ordered[0] if ordered else Verdict("passed")


def _exception_text(exc: BaseException) -> str:
    if isinstance(exc, pytest.skip.Exception | pytest.fail.Exception):
        return str(exc.msg)
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text if len(text) < 4000 else text[:4000] + " ..."


def skip_unless_started(endpoints, service: str, what: str) -> None:
    """Skip when ``service`` is not installed on this host; an error when it is but did not start."""
    from ocimatrix.endpoints import service_missing

    if endpoints.unavailable(service) is not None:
        pytest.skip(service_missing(endpoints, service, what))


def run_container(runner, spec, recorder, failure: str):
    """Run ``spec`` with the cell's runner and keep what it did as evidence.

    A runner that has no way to express the run skips the cell with its own reason (true of the
    tool, decided before anything ran); one that tries and fails fails the cell as ``failure: <its
    words>``. The exit code and output become evidence either way the container ends.
    """
    try:
        result = runner.run(spec)
    except Unsupported as exc:
        pytest.skip(str(exc))
    except EngineError as exc:
        if is_harness_fault(exc):
            raise
        raise ImplementationFailure(
            f"{failure}: {exc}", step=exc.step or failure, answer=exc.answer if exc.answer is not None else str(exc)
        ) from exc
    recorder.add("exit_code", result.exit_code)
    recorder.add("stdout", result.stdout[-4000:])
    if result.stderr.strip():
        recorder.add("stderr", result.stderr[-4000:])
    return result
