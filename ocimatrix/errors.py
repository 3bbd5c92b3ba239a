"""Errors the CLI turns into a message and an exit code instead of a traceback."""


class OcimatrixError(Exception):
    """A failure with a message meant for the user; ``exit_code`` is what the CLI returns."""

    exit_code = 1


class UsageError(OcimatrixError):
    """Bad input: a malformed matrix, an unknown engine, an unreadable file, wrong arguments."""

    exit_code = 2
