"""Errors the CLI turns into a message and an exit code instead of a traceback, and the line between
a harness fault and an implementation's fault that a cell's verdict rests on."""


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
