"""docs/runtime.md maps opencontainers/runtime-tools' validation programs at a pinned commit: each row
names ocimatrix tests or says why it is not tested here, and every test a row names exists, so a renamed
or deleted test shows up here instead of as a silently stale map."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "runtime.md"
SUITE = ROOT / "suites" / "runtime"
RUNTIME_TOOLS = "5e639034dcdc2422164e3d7d76a737e2fb451a67"
PROGRAMS = 59
# Lines holding MUST / MUST NOT / REQUIRED / SHALL outside code blocks in the five documents at v1.2.0:
# runtime.md 50, config.md 141, config-linux.md 80, features.md 10, features-linux.md 8.
MUSTS = {"runtime.md": 50, "config.md": 141, "config-linux.md": 80, "features.md": 10, "features-linux.md": 8}
_TEST = re.compile(r"`(?:[\w.]*::)?(test_\w+)`")
_MUST_ROW = re.compile(r"^\| (\d+) \| \[([\w-]+\.md)#[\w-]+\]\((\S+)\) \| (.+) \| (.+) \|$")


def defined_tests() -> set[str]:
    found = set()
    for path in SUITE.glob("test_*.py"):
        text = path.read_text()
        found |= set(re.findall(r"^def (test_\w+)\(", text, re.M))
        # The release dimension's tests are made in a loop, one per SPEC_RELEASES entry.
        releases = re.search(r"^SPEC_RELEASES = \(([^)]*)\)", text, re.M)
        if releases:
            found |= {
                f"test_runs_config_declared_as_{r.replace('.', '_')}" for r in re.findall(r'"([\d.]+)"', releases[1])
            }
    return found


def table(header: str) -> list[str]:
    lines = DOC.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_runtime_tools_map_counts_every_program_at_the_pinned_commit():
    text = DOC.read_text()
    assert RUNTIME_TOOLS in text
    statuses: Counter[str] = Counter()
    for row in table("| runtime-tools program |"):
        cells = row.split(" | ")
        programs = len(re.findall(r"`[^`]+`", cells[0]))
        status = cells[-1].rstrip(" |")
        kind = next(k for k in ("partly", "differently", "not covered", "covered") if status.startswith(k))
        statuses[kind] += programs
    assert sum(statuses.values()) == PROGRAMS
    summary = (
        f"**{statuses['covered']} covered, {statuses['partly']} partly (the row says which part), "
        f"{statuses['differently']} covered differently, {statuses['not covered']} not covered**"
    )
    assert summary in " ".join(text.split())


def test_runtime_tools_map_names_only_tests_that_exist():
    defined = defined_tests()
    for row in table("| runtime-tools program |"):
        for name in _TEST.findall(row):
            assert name in defined, f"{row[:60]}: no {name} in suites/runtime"
