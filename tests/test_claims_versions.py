"""The version-range matcher claims use for engines and kernels."""

from __future__ import annotations

import pytest

from ocimatrix.tools.versions import RangeError, parse_range, parse_version


@pytest.mark.parametrize(
    ("text", "version", "admitted"),
    [
        (">=24", "24.0.7", True),
        (">=24", "20.10.24+dfsg1", False),
        ("<23", "20.10.24+dfsg1", True),
        ("<23", "23.0.0", False),
        (">=4.4,<5", "4.4.0", True),
        (">=4.4,<5", "4.3.1", False),
        (">=4.4,<5", "5.0.0-rc1", False),
        ("20.10", "20.10.24+dfsg1", True),
        ("20.10", "20.1.0", False),
        ("==1.6", "1.6.20~ds1", True),
        ("1.6", "1.7.0", False),
        ("!=4.3", "4.3.1", False),
        ("!=4.3", "4.4.0", True),
        (">3.2", "3.2.0", False),
        ("<=3.2", "3.2", True),
        ("*", "0.1", True),
        ("", "99", True),
        (24, "24.0.1", True),
        (">=24", "unknown", False),
    ],
)
def test_range_admits(text, version, admitted):
    assert parse_range(text).admits(version) is admitted


def test_parse_version_reads_leading_numbers():
    assert parse_version("v1.6.20~ds1") == (1, 6, 20)
    assert parse_version("podman version 4.3") is None


@pytest.mark.parametrize("text", [">=", "~>4", "4.x", ">=5,<4", ">5,<=5"])
def test_bad_ranges_say_why(text):
    with pytest.raises(RangeError):
        parse_range(text)


def test_lowest_bound():
    assert parse_range(">=4.19,<6").lowest() == (4, 19)
    assert parse_range("<6").lowest() is None
