"""Known incompatibilities from the matrix file become strict xfails; the verdict
(``judging``) confirms one only by the implementation's own answer."""

from __future__ import annotations

import fnmatch

import pytest

from ocimatrix import evidence
from ocimatrix.matrix import Matrix, value_matches, versions_match
from ocimatrix.plugin.items import EXPECTATION_KEY, PENDING_KEY, cell_of


def apply_expectations(item: pytest.Item, matrix: Matrix) -> None:
    """Known incompatibilities from the matrix file become strict xfails, so a fix shows up as XPASS.

    One that names ``versions`` waits for the versions the cell's tools report (known once its
    fixtures bound them): ``VersionedExpectations`` applies it at the end of setup.
    """
    cell = cell_of(item) or {}
    name = item.originalname if hasattr(item, "originalname") else item.name
    matching = [
        expected
        for expected in matrix.expectations
        if names_the_test(name, item.name, expected["test"])
        and all(value_matches(cell.get(axis), values) for axis, values in expected["cell"].items())
    ]
    if matching and not matching[0].get("versions"):
        _expect(item, matching[0])
    elif matching:
        item.stash[PENDING_KEY] = matching  # the first that fits the cell's versions applies


def names_the_test(function: str, item_name: str, pattern: str) -> bool:
    """Whether an expectation's ``test`` names this test: a glob of the function's name, or
    ``NAME[ID]`` (a pattern ending in ``]``), globs of the name and of the parametrize id, for a
    finding in some of a test's cases only (``test_blob_range_request[*--500]``)."""
    if pattern.endswith("]") and "[" in pattern:
        base, _, ids = pattern[:-1].partition("[")
        case = item_name[len(function) + 1 : -1] if item_name.startswith(f"{function}[") else ""
        return fnmatch.fnmatchcase(function, base) and fnmatch.fnmatchcase(case, ids)
    return fnmatch.fnmatchcase(function, pattern)


def _expect(item: pytest.Item, expected: dict) -> None:
    item.add_marker(pytest.mark.xfail(reason=f"known: {expected['reason']}", strict=True))
    item.stash[EXPECTATION_KEY] = expected


class VersionedExpectations:
    """Expectations tied to versions, judged once a cell's fixtures recorded its tools' versions:
    inside the range the cell is a strict xfail (a fix is XPASS and fails the run); outside it, the
    cell is expected to pass like any other."""

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        pending = item.stash.get(PENDING_KEY, None)
        if not pending:
            return
        recorder = evidence.current()
        for expected in pending:
            fits = versions_match(expected["versions"], recorder.versions) if expected.get("versions") else True
            ranges = ", ".join(f"{tool} {r}" for tool, r in expected.get("versions", {}).items())
            if fits:
                _expect(item, expected)
                recorder.evidence["expectation"] = f"{expected['reason']} (versions {ranges or 'any'})"
                return
            recorder.evidence.setdefault("expectations_not_applied", []).append(
                f"{expected['reason']}: this cell's versions are outside {ranges}"
                if fits is False
                else f"{expected['reason']}: the cell recorded no version of {ranges}"
            )
