"""docs/runtime.md maps opencontainers/runtime-tools' validation programs at a pinned commit, and every
MUST, MUST NOT, REQUIRED and SHALL of runtime-spec's runtime.md, config.md, config-linux.md, features.md and
features-linux.md at the release the suites read: each row names ocimatrix tests or says why it is not
tested here, and every test a row names exists, so a renamed or deleted test shows up here instead of as a
silently stale map."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ocimatrix.specs import SPECIFICATIONS

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


def must_rows() -> list[re.Match]:
    rows = table("| # | where | the spec's words | test, or why not here |")
    matched = [_MUST_ROW.match(row) for row in rows]
    assert all(matched), [row for row, m in zip(rows, matched, strict=True) if m is None][:3]
    return matched


def test_every_must_of_the_five_documents_has_a_row():
    rows = must_rows()
    assert [int(m[1]) for m in rows] == list(range(1, sum(MUSTS.values()) + 1))
    assert Counter(m[2] for m in rows) == Counter(MUSTS)
    release = SPECIFICATIONS["runtime-spec"].release
    assert all(m[3].startswith(f"https://github.com/opencontainers/runtime-spec/blob/{release}/{m[2]}#") for m in rows)


def test_every_must_row_names_a_test_that_exists_or_says_why_not():
    defined = defined_tests()
    for m in must_rows():
        named = _TEST.findall(m[5])
        assert named or m[5].startswith("not tested: "), f"row {m[1]}: neither a test nor a reason"
        for name in named:
            assert name in defined, f"row {m[1]}: no {name} in suites/runtime"
