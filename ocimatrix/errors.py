"""Errors the CLI turns into a message and an exit code instead of a traceback, and the line between
a harness fault and an implementation's fault that a cell's verdict rests on."""

from typing import NoReturn


class OcimatrixError(Exception):
    """A failure with a message meant for the user; ``exit_code`` is what the CLI returns."""

    exit_code = 1


class UsageError(OcimatrixError):
    """Bad input: a malformed matrix, an unknown engine, an unreadable file, wrong arguments."""

    exit_code = 2


class HarnessError(OcimatrixError):
    """The harness, or a service it started or was pointed at, broke.

    A cell that raises it is recorded as ``error``: never ``failed`` (the implementation under test is
    not to blame), never ``skipped`` (nothing was decided before the cell ran), never an expected
    failure (a known incompatibility is not confirmed by a service that was simply gone).
    """


class ServiceUnavailable(HarnessError):
    """A daemon, registry or endpoint stopped answering: refused, reset, or silent past its deadline."""

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"{service} does not answer: {detail}")
        self.service = service
        self.detail = detail


class ImplementationFailure(AssertionError):
    """The implementation under test answered, and its answer is wrong: the cell is ``failed``.

    ``answer`` is the implementation's own words or the value the harness observed (an HTTP status and
    body, a CRI status and message, a runtime's exit code and stderr, a hook log, a mount's options),
    never the harness's sentence about it; ``step`` names what the harness had asked for when it got
    that answer (``PUT manifest by malformed digest``, ``runc create``). A listed known
    incompatibility's ``match:`` (and ``step:``) are read against these two only.
    """

    def __init__(self, message: str, *, step: str, answer: str) -> None:
        super().__init__(message)
        self.step = step
        self.answer = answer


def fail_with(message: str, *, step: str, answer: object) -> NoReturn:
    """Fail the cell with the implementation's own ``answer`` to ``step`` kept beside ``message``."""
    raise ImplementationFailure(message, step=step, answer=answer if isinstance(answer, str) else repr(answer))


class EngineError(OcimatrixError):
    """The engine refused or failed an action; the message carries its own words.

    ``answer`` is those words alone (stderr, the daemon's error) and ``step`` the action asked for
    (``docker pull``), so that an expectation is read against what the engine said, not the
    harness's sentence around it; ``None`` when the engine said nothing the harness could keep.
    """

    def __init__(self, message: str, *, step: str | None = None, answer: str | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.answer = answer


class TimedOut(EngineError):
    """A command, or the container it ran, outlived its timeout: the tool's fault, once it was killed."""


class Unsupported(OcimatrixError):
    """The tool has no way to express this action; cells asking for it are skipped with this reason."""
