"""Read the CRI container log format the runtime writes for each container.

Each line is ``<RFC3339Nano timestamp> <stream> <tag> <content>``: stream is ``stdout`` or
``stderr``; tag ``F`` ends a line of the container's output, ``P`` marks a piece of a longer
line the runtime split (containerd splits at ``max_container_log_line_size``), to be joined with
the pieces that follow on the same stream up to the next ``F``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from ocimatrix.errors import OcimatrixError

STREAMS = ("stdout", "stderr")

# Go's RFC3339Nano drops trailing zeros of the fraction (even the dot) and writes either "Z" or
# a numeric offset, depending on the runtime's local time zone.
_TIMESTAMP = re.compile(
    r"(?P<base>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9}))?(?P<zone>Z|[+-]\d{2}:\d{2})"
)


class CriLogFormatError(OcimatrixError):
    """A container log line that does not follow the CRI log format: the runtime wrote it, so the
    line itself (or what reading the file said) is its answer."""

    def __init__(self, message: str, *, answer: str) -> None:
        super().__init__(message)
        self.step = "the container's CRI log file"
        self.answer = answer


@dataclass(frozen=True)
class LogLine:
    timestamp: str
    time_ns: int  # nanoseconds since the epoch, exact (datetime alone would lose the last 3 digits)
    stream: str
    partial: bool
    content: str


@dataclass
class ContainerLog:
    lines: list[LogLine] = field(default_factory=list)

    def text(self, stream: str) -> str:
        """The container's output on one stream, partial pieces joined, one newline per full line."""
        if stream not in STREAMS:
            raise ValueError(f"unknown stream {stream!r}, expected one of {STREAMS}")
        return "".join(line.content + ("" if line.partial else "\n") for line in self.lines if line.stream == stream)

    @property
    def stdout(self) -> str:
        return self.text("stdout")

    @property
    def stderr(self) -> str:
        return self.text("stderr")


def parse_timestamp(text: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 timestamp with up to nine fractional digits."""
    match = _TIMESTAMP.fullmatch(text)
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    zone = "+00:00" if match["zone"] == "Z" else match["zone"]
    seconds = int(datetime.fromisoformat(match["base"] + zone).timestamp())
    fraction = (match["frac"] or "").ljust(9, "0")
    return seconds * 1_000_000_000 + int(fraction)


def parse_line(text: str, where: str = "<log>") -> LogLine:
    """One log line without its newline; ``where`` (file:line) names it in errors."""
    parts = text.split(" ", 3)
    if len(parts) < 3:
        raise CriLogFormatError(
            f"{where}: expected '<timestamp> <stream> <P|F> <content>', got {text!r}", answer=text[:500]
        )
    timestamp, stream, tags = parts[:3]
    # A full line with empty content may be written with or without the space before it.
    content = parts[3] if len(parts) == 4 else ""
    try:
        time_ns = parse_timestamp(timestamp)
    except ValueError as exc:
        raise CriLogFormatError(f"{where}: {exc}", answer=text[:500]) from None
    if stream not in STREAMS:
        raise CriLogFormatError(f"{where}: stream {stream!r} is neither stdout nor stderr", answer=text[:500])
    # The tag field is ':'-separated to leave room for more tags; only P and F are defined.
    tag_set = set(tags.split(":"))
    if not tag_set & {"P", "F"}:
        raise CriLogFormatError(f"{where}: tag field {tags!r} has neither P (partial) nor F (full)", answer=text[:500])
    return LogLine(timestamp, time_ns, stream, "P" in tag_set, content)


def parse_log(text: str, where: str = "<log>") -> ContainerLog:
    log = ContainerLog()
    for number, raw in enumerate(text.split("\n"), start=1):
        if raw == "":
            continue  # the newline that ends the last line, or a stray blank line
        log.lines.append(parse_line(raw, f"{where}:{number}"))
    return log


def read_log(path: Path | str) -> ContainerLog:
    """Parse a container log file; a missing or unreadable file is an OcimatrixError naming it."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CriLogFormatError(
            f"cannot read container log {path}: {exc.strerror}", answer=f"{path}: {exc.strerror}"
        ) from None
    # Containers may write any bytes; keep them visible rather than failing on bad UTF-8.
    return parse_log(data.decode("utf-8", errors="replace"), str(path))


class LogFollower:
    """Follows a container's CRI log file the way ``kubectl logs -f`` does through the kubelet: the lines
    the runtime appends, as it appends them; and across a rotation (the file moved away, ReopenContainerLog,
    a new file at the same path) the rest of the old file, then the new one from its start.

    Only complete lines are parsed; a line still being written waits for its newline."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.lines: list[LogLine] = []
        self.files_followed = 0  # 2 after one rotation
        self.lines_per_file: list[int] = []
        self._file: BinaryIO | None = None
        self._inode: int | None = None
        self._partial = b""
        self._number = 0

    def _open(self) -> bool:
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return False  # moved away, the runtime not told yet: keep reading the old one
        except OSError as exc:
            raise CriLogFormatError(
                f"cannot follow container log {self.path}: {exc.strerror}", answer=f"{self.path}: {exc.strerror}"
            ) from None
        self._file, self._inode = handle, self._stat_inode(handle.fileno())
        self._partial, self._number = b"", 0
        self.files_followed += 1
        self.lines_per_file.append(0)
        return True

    @staticmethod
    def _stat_inode(fd: int) -> int:
        return os.fstat(fd).st_ino

    def _drain(self) -> list[LogLine]:
        if self._file is None:
            return []
        data = self._partial + self._file.read()
        *complete, self._partial = data.split(b"\n")
        new = []
        for raw in complete:
            self._number += 1
            if raw:
                new.append(parse_line(raw.decode("utf-8", errors="replace"), f"{self.path}:{self._number}"))
        self.lines.extend(new)
        self.lines_per_file[-1] += len(new)
        return new

    def _replaced(self) -> bool:
        try:
            return self.path.stat().st_ino != self._inode
        except FileNotFoundError:
            return False

    def poll(self) -> list[LogLine]:
        """The lines written since the last poll (across a rotation: the old file's rest first)."""
        if self._file is None and not self._open():
            return []
        new = self._drain()
        if self._replaced():
            new += self._drain()  # whatever reached the old file before the runtime reopened
            self.close()
            if self._open():
                new += self._drain()
        return new

    def follow(self, until: Callable[[list[LogLine]], bool], timeout: float, interval: float = 0.05) -> bool:
        """Poll until ``until(lines so far)`` holds (True) or ``timeout`` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            if until(self.lines):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
