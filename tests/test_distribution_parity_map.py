"""docs/registries.md maps every `Specify` of distribution-spec's legacy Ginkgo suite at a pinned commit:
one numbered row each, checks and setup/teardown counted, and every ocimatrix test a row names exists
(in the distribution suite, or the signatures suite for artifacts a tool made), so a renamed or deleted
test shows up here instead of as a silently stale map."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "registries.md"
PINNED = "6a670adcb1f7dd3334658991d3541731fef0b744"
# `grep -c 'g.Specify('` over conformance/0[1-4]_*_test.go at the pinned commit.
SPECIFY, CHECKS = 83, 52
_ROW = re.compile(r"^\| (\d+) \| (.+?) \| (check|setup|teardown) \| (.+) \|$")
_TEST = re.compile(r"`(test_\w+)(?:\[[^\]]*\])?`")


def rows() -> list[tuple[int, str, str, str]]:
    return [(int(m[1]), m[2], m[3], m[4]) for m in map(_ROW.match, DOC.read_text().splitlines()) if m is not None]


def test_one_row_per_specify_at_the_pinned_commit():
    assert PINNED in DOC.read_text()
    assert [number for number, *_ in rows()] == list(range(1, SPECIFY + 1))
    kinds = [kind for _, _, kind, _ in rows()]
    assert kinds.count("check") == CHECKS and len(kinds) - CHECKS == SPECIFY - CHECKS
    assert f"{SPECIFY} `g.Specify` blocks: {CHECKS} checks and {SPECIFY - CHECKS} setup or teardown" in " ".join(
        DOC.read_text().split()
    )


def test_every_check_names_an_ocimatrix_test_and_each_exists():
    defined = set()
    for path in [*(ROOT / "suites" / "distribution").glob("test_*.py"), ROOT / "suites/signatures/test_artifacts.py"]:
        defined |= set(re.findall(r"^def (test_\w+)\(", path.read_text(), re.M))
    for number, _, kind, ours in rows():
        named = _TEST.findall(ours)
        if kind == "check":
            assert named, f"row {number}: a check maps to an ocimatrix test"
        for name in named:
            assert name in defined, f"row {number}: no {name} in suites/distribution (or the signatures' artifacts)"
