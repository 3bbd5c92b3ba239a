"""Version ranges for supportability claims: ``">=24"``, ``"<23"``, ``">=4.4,<5"``, ``"20.10"``.

A range is comma-separated clauses that must all hold. A clause is an operator (``>=``, ``>``,
``<=``, ``<``, ``==``, ``!=``) and a dotted number; a bare number (or ``==``) means "this release
line": ``20.10`` admits 20.10.0 and 20.10.24, not 20.1 or 20.100. ``*`` (or an empty range) admits
every version. Versions are read as their leading dotted numbers, so a packager's suffix
(``20.10.24+dfsg1``, ``1.6.20~ds1``, ``5.0.0-rc1``) never stops a match; missing components count
as 0 (``4.4`` == ``4.4.0``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = re.compile(r"^\s*v?(\d+(?:\.\d+)*)")
_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|=|>|<)?\s*v?(\d+(?:\.\d+)*)\s*$")


class RangeError(ValueError):
    """A range that can't be read; the message says which clause and why."""


def parse_version(text: str) -> tuple[int, ...] | None:
    """The leading dotted numbers of ``text`` (``'20.10.24+dfsg1'`` -> (20, 10, 24)), or None."""
    found = _VERSION.match(str(text or ""))
    return tuple(int(part) for part in found.group(1).split(".")) if found else None


def _padded(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    width = max(len(a), len(b))
    return a + (0,) * (width - len(a)), b + (0,) * (width - len(b))


@dataclass(frozen=True)
class Clause:
    op: str
    version: tuple[int, ...]

    def admits(self, version: tuple[int, ...]) -> bool:
        if self.op == "==":
            # A release line: compare only as many components as the clause names (4.4 admits 4.4.7).
            mine, theirs = _padded(version[: len(self.version)], self.version)
            return mine == theirs
        if self.op == "!=":
            return not Clause("==", self.version).admits(version)
        mine, theirs = _padded(version, self.version)
        return {
            ">=": mine >= theirs,
            ">": mine > theirs,
            "<=": mine <= theirs,
            "<": mine < theirs,
        }[self.op]

    def __str__(self) -> str:
        return f"{self.op}{'.'.join(map(str, self.version))}"


@dataclass(frozen=True)
class VersionRange:
    text: str
    clauses: tuple[Clause, ...]

    def admits(self, version: str) -> bool:
        """True when ``version`` (a tool's own words, e.g. '20.10.24+dfsg1') is inside the range."""
        parsed = parse_version(version)
        if parsed is None:
            return False
        return all(clause.admits(parsed) for clause in self.clauses)

    def lowest(self) -> tuple[int, ...] | None:
        """The smallest version the range admits by its lower bounds (None: unbounded below)."""
        bounds = [c.version for c in self.clauses if c.op in (">=", ">", "==")]
        return max(bounds) if bounds else None

    def __str__(self) -> str:
        return self.text or "*"


def parse_range(text: str | int | float) -> VersionRange:
    """Read a range; raises ``RangeError`` naming the clause that is wrong."""
    source = str(text).strip()
    if source in ("", "*", "any"):
        return VersionRange(source, ())
    clauses = []
    for raw in source.split(","):
        found = _CLAUSE.match(raw)
        if not found:
            raise RangeError(
                f"version range clause {raw.strip()!r} is not OPERATOR VERSION "
                "(operators >=, >, <=, <, ==, !=; e.g. '>=24', '>=4.4,<5', '20.10')"
            )
        op = found.group(1) or "=="
        clauses.append(Clause("==" if op == "=" else op, tuple(int(p) for p in found.group(2).split("."))))
    version_range = VersionRange(source, tuple(clauses))
    if _empty(version_range):
        raise RangeError(f"version range {source!r} admits no version at all")
    return version_range


def _empty(version_range: VersionRange) -> bool:
    """Obvious contradictions only (a lower bound above an upper bound): a typo like '>=5,<4'."""
    lower = [c for c in version_range.clauses if c.op in (">=", ">")]
    upper = [c for c in version_range.clauses if c.op in ("<=", "<")]
    for low in lower:
        for high in upper:
            a, b = _padded(low.version, high.version)
            if a > b or (a == b and (low.op == ">" or high.op == "<")):
                return True
    return False
