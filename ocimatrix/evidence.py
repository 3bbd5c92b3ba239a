"""What a test leaves behind for the reader: the shell commands that reproduce it, and evidence.

Drivers call ``record_command`` for every engine action; the pytest plugin gives each test a fresh
recorder and copies it into the test's results record, so a failing cell always has a repro.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Recorder:
    repro: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)  # tool -> version, for the cell

    def command(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
        line = shell_line(argv, env)
        if line not in self.repro:
            self.repro.append(line)
        return line

    def add(self, key: str, value: Any) -> None:
        self.evidence[key] = value

    def extend(self, other: Recorder) -> None:
        for line in other.repro:
            if line not in self.repro:
                self.repro.append(line)
        for key, value in other.evidence.items():
            self.evidence.setdefault(key, value)
        self.versions.update(other.versions)


_current = Recorder()

# The roles of the tools a cell used (``evidence["tools"]``) whose answers it judges from that point on:
# the site blames a finding on them, not on every tool the cell merely used.
UNDER_TEST = "under_test"


def current() -> Recorder:
    return _current


def begin() -> Recorder:
    global _current
    _current = Recorder()
    return _current


def judging(*roles: str) -> None:
    """From here on the cell judges the answers of the tools in ``roles`` (``evidence["tools"]`` keys,
    or an axis such as ``registry``); a suite says it as its steps move from one tool to another."""
    _current.add(UNDER_TEST, list(roles))


@contextmanager
def scoped() -> Iterator[Recorder]:
    """A recorder of its own for work shared by many tests (a build), restoring the test's after."""
    global _current
    saved = _current
    _current = Recorder()
    try:
        yield _current
    finally:
        _current = saved


def shell_line(argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
    command = shlex.join(str(a) for a in argv)
    return f"{prefix} {command}" if prefix else command


def record_command(argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    return _current.command(argv, env)
