"""docs/cri.md maps every critest `It` at a pinned commit: one numbered row each, and every ocimatrix
test a row names exists, so a renamed or deleted test shows up here instead of as a silently stale map."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "cri.md"
CRITEST_ITS = 146  # `git grep -E '^\s*It\(' -- pkg/validate` at the pinned commit
PINNED = "ba03eabc14500ba95be34f9cb7149c0f7de6ce33"
STATUSES = ("covered", "covered differently", "weaker than critest", "not covered", "not possible here")
_ROW = re.compile(r"^\| (\d+) \| (.+?) \| (.+?) \| (.+) \|$")
_NAMED = re.compile(r"`(?:suites/(\w+)/)?(test_\w+\.py)?::(test_\w+)`|`(test_\w+\.py)`")


def rows() -> list[tuple[int, str, str, str]]:
    found = []
    for line in DOC.read_text().splitlines():
        match = _ROW.match(line)
        if match:
            found.append((int(match[1]), match[2], match[3], match[4]))
    return found


def test_one_row_per_critest_it_at_the_pinned_commit():
    text = DOC.read_text()
    assert PINNED in text and f"{CRITEST_ITS} rows" in text
    numbers = [number for number, *_ in rows()]
    assert numbers == list(range(1, CRITEST_ITS + 1))
    for number, _, _, status in rows():
        assert status_of(status), f"row {number}: status {status!r}"


def status_of(cell: str) -> str:
    """The longest listed status the cell starts with ("covered differently" before "covered")."""
    return max((s for s in STATUSES if cell.startswith(s)), key=len, default="")


def test_the_counts_line_agrees_with_the_rows():
    text = " ".join(DOC.read_text().split())
    counted = [status_of(status) for *_, status in rows()]
    for status in STATUSES:
        words = "not covered (possible here" if status == "not covered" else status
        assert f"{counted.count(status)} {words}" in text, f"the counts line lacks '{counted.count(status)} {words}'"


def test_every_named_ocimatrix_test_exists():
    sources = {
        path.relative_to(ROOT / "suites").as_posix(): path.read_text() for path in (ROOT / "suites").rglob("*.py")
    }
    for number, _, ours, _ in rows():
        file = None
        for suite, named_file, function, bare_file in _NAMED.findall(ours):
            if bare_file:
                file = bare_file
                continue
            file = named_file or file  # `::test_x` after a file named earlier in the cell
            path = f"{suite or 'cri'}/{file}"
            assert path in sources, f"row {number}: no {path}"
            assert re.search(rf"^def {function}\(", sources[path], re.M), f"row {number}: no {function} in {path}"
