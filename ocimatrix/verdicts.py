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

import pytest

from ocimatrix.errors import HarnessError, OcimatrixError, UsageError

# A CRI status the runtime answered with is the runtime's; UNAVAILABLE means nobody answered.
_GRPC_TRANSPORT_CODES = {"UNAVAILABLE"}


def _type_names(exc: BaseException) -> set[str]:
    """Qualified names of the exception's classes, so the check needs none of those libraries imported."""
    return {f"{k.__module__}.{k.__name__}" for k in type(exc).__mro__}


def _transport_failure(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionError):  # refused, reset, aborted, broken pipe
        return True
    names = _type_names(exc)
    if "httpx.TransportError" in names:  # ConnectError, ReadTimeout, RemoteProtocolError ...
        return True
    if "requests.exceptions.ConnectionError" in names:  # docker-py's view of a dead socket
        return True
    if "grpc.RpcError" in names:
        code = getattr(exc, "code", None)
        try:
            name = code().name if callable(code) else ""
        except Exception:  # noqa: BLE001 - an RpcError without a status is no answer at all
            return True
        return name in _GRPC_TRANSPORT_CODES
    return False


def is_harness_fault(exc: BaseException) -> bool:
    """True when the exception says the harness or a service broke rather than the implementation."""
    if isinstance(exc, HarnessError):
        return True
    if isinstance(exc, AssertionError | pytest.fail.Exception | pytest.skip.Exception | pytest.xfail.Exception):
        return False
    if _transport_failure(exc):
        return True
    # ``raise ... from None`` says the earlier exception was handled: it explains nothing about this one.
    cause = exc.__cause__ if exc.__cause__ is not None else (None if exc.__suppress_context__ else exc.__context__)
    if isinstance(exc, OcimatrixError) and not isinstance(exc, UsageError):
        # An engine's, registry's or CRI runtime's own refusal; unless it only wraps a dead transport.
        return cause is not None and _transport_failure(cause)
    # A status the CRI runtime answered with (UNAVAILABLE was caught above), or dockerd's own error answer.
    answered = {"grpc.RpcError", "docker.errors.APIError"}
    return not (answered & _type_names(exc))


def matches_expectation(pattern: str, failure: str) -> bool:
    """A known incompatibility is confirmed only by a failure that says what the listing says."""
    return re.search(pattern, failure) is not None


def skip_unless_started(endpoints, service: str, what: str) -> None:
    """Skip when ``service`` is not installed on this host; an error when it is but did not start."""
    from ocimatrix.engines.base import service_missing

    if endpoints.unavailable(service) is not None:
        pytest.skip(service_missing(endpoints, service, what))


def run_container(runner, spec, recorder, failure: str):
    """Run ``spec`` with the cell's runner and keep what it did as evidence.

    A runner that has no way to express the run skips the cell with its own reason (true of the
    tool, decided before anything ran); one that tries and fails fails the cell as ``failure: <its
    words>``. The exit code and output become evidence either way the container ends.
    """
    from ocimatrix.engines.base import EngineError, Unsupported

    try:
        result = runner.run(spec)
    except Unsupported as exc:
        pytest.skip(str(exc))
    except EngineError as exc:
        pytest.fail(f"{failure}: {exc}", pytrace=False)
    recorder.add("exit_code", result.exit_code)
    recorder.add("stdout", result.stdout[-4000:])
    if result.stderr.strip():
        recorder.add("stderr", result.stderr[-4000:])
    return result
