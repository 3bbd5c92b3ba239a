"""The ETA on each progress line: mean wall-clock time per finished cell times the cells left."""

from __future__ import annotations

import pytest

from ocimatrix.plugin import eta_text


@pytest.mark.parametrize(
    ("elapsed", "done", "total", "expected"),
    [
        (36.0, 120, 1642, " · ETA 7m37s"),  # 0.3 s a cell, 1522 left
        (10.0, 10, 15, " · ETA 5s"),
        (60.0, 1, 61, " · ETA 1h00m"),
        (7.0, 1, 2, " · ETA 7s"),
        (125.0, 1, 2, " · ETA 2m05s"),
        (3.0, 3, 5000, " · ETA 1h23m"),
    ],
)
def test_eta_from_the_mean_of_finished_cells(elapsed: float, done: int, total: int, expected: str) -> None:
    assert eta_text(elapsed, done, total) == expected


@pytest.mark.parametrize(("elapsed", "done", "total"), [(10.0, 5, 5), (10.0, 0, 5), (0.0, 3, 5), (10.0, 7, 5)])
def test_no_eta_when_nothing_is_left_or_nothing_is_known(elapsed: float, done: int, total: int) -> None:
    assert eta_text(elapsed, done, total) == ""
