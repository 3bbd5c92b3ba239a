"""docs/mutation.md, the list of the verdict core's surviving mutants, checked against what it lists.

Every run of the self-tests checks the list itself: each row names a mutant of a function that
``tox -e mutation`` mutates (setup.cfg ``[mutation] targets``) and says what became of it. Run by
``tox -e mutation`` after mutmut (``MUTANTS`` names mutmut's results), it also checks that run: every
mutant that was not killed is listed as equivalent or left with a reason, none listed as killed came
back, and at least 90% of the mutants that are not equivalent were killed.
"""

from __future__ import annotations

import configparser
import fnmatch
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "mutation.md"
ROW = re.compile(r"^\| `(?P<name>[^`]+)` \| (?P<verdict>equivalent|killed|left) \| (?P<why>.+) \|$")
VERDICTS = ("equivalent", "killed", "left")
# mutmut's words for a mutant the tests caught: a test failed, pytest itself broke on it, or a test
# never finished (mutmut stops it past 15 times the unmutated run).
CAUGHT = ("killed", "caught by type check", "timeout")


def targets() -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    return parser["mutation"]["targets"].split()


def listed() -> dict[str, tuple[str, str]]:
    rows: dict[str, tuple[str, str]] = {}
    lines = DOC.read_text().splitlines()
    start = lines.index("## Surviving mutants")
    for number, line in enumerate(lines[start:], start + 1):
        if not line.startswith("| `"):
            continue
        match = ROW.match(line)
        assert match, f"docs/mutation.md:{number}: a row reads | `mutant` | equivalent, killed or left | why |"
        assert match["name"] not in rows, f"docs/mutation.md:{number}: {match['name']} is listed twice"
        rows[match["name"]] = (match["verdict"], match["why"].strip())
    return rows


def is_target(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def test_the_list_names_targeted_mutants_and_why_each_lived():
    rows, patterns = listed(), targets()
    assert rows, "docs/mutation.md lists no mutant"
    for name, (verdict, why) in rows.items():
        assert re.fullmatch(r"ocimatrix\.[\w.ǁ]+__mutmut_\d+", name), name
        assert is_target(name, patterns), f"{name} is not a mutant of setup.cfg's [mutation] targets"
        if verdict == "killed":
            test_file = why.split("::")[0].strip("` ")
            assert (ROOT / test_file).is_file(), f"{name}: killed by {why}, which is no test file"
        else:
            assert len(why) > 20, f"{name}: say why it is {verdict}"


def results(path: Path, patterns: list[str]) -> dict[str, str]:
    """``mutmut results --all true``'s lines, ``    NAME: STATUS``, of the targeted mutants."""
    found = {}
    for line in path.read_text().splitlines():
        name, sep, status = line.strip().partition(": ")
        if sep and is_target(name, patterns):
            found[name] = status
    return found


@pytest.mark.skipif("MUTANTS" not in os.environ, reason="checks a mutmut run: tox -e mutation sets MUTANTS")
def test_every_survivor_of_the_run_is_listed_and_nine_in_ten_are_killed():
    rows, run = listed(), results(Path(os.environ["MUTANTS"]), targets())
    assert run, "mutmut reported no mutant of the targets"
    unchecked = sorted(n for n, status in run.items() if status in ("not checked", "check was interrupted by user"))
    assert not unchecked, f"{len(unchecked)} mutants were not run (out of time?), e.g. {unchecked[:5]}"
    lived = {name: status for name, status in run.items() if status not in CAUGHT}
    unlisted = sorted(f"{n} ({s})" for n, s in lived.items() if rows.get(n, ("killed",))[0] == "killed")
    equivalent = [n for n, (verdict, _) in rows.items() if verdict == "equivalent" and n in run]
    killed = sum(1 for status in run.values() if status in CAUGHT)
    summary = f"{len(run)} mutants: {killed} killed, {len(equivalent)} equivalent, {len(lived) - len(equivalent)} left"
    print(summary)
    assert not unlisted, f"{summary}; survivors not listed in docs/mutation.md as equivalent or left: {unlisted}"
    assert killed >= 0.9 * (len(run) - len(equivalent)), summary
