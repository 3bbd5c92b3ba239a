"""Exceptions as the decision table sees them, shared by the self-tests that feed it recorded answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ocimatrix.distribution.client import CheckFailed


def raised(exc: BaseException) -> BaseException:
    """``exc`` after a real raise: with its traceback, as pytest hands it over."""
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001 - a raised exception, traceback and all
        return caught


def as_the_suite_fails(step: str, answer: str) -> BaseException:
    """The exception pytest sees from the registry suite's ``dist`` fixture: pytest.fail raised from the CheckFailed."""
    try:
        try:
            raise CheckFailed(f"{step}: the check's own sentence, naming {answer[:40]}", step=step, answer=answer)
        except CheckFailed as exc:
            raise pytest.fail.Exception(str(exc), pytrace=False) from exc
    except BaseException as caught:  # noqa: BLE001
        return caught


SUITES = Path(__file__).resolve().parents[1] / "suites"


def suite_tests(suite: str) -> set[str]:
    """The test functions of ``suite`` (a listing naming one of them is that suite's finding)."""
    return {n for p in (SUITES / suite).glob("test_*.py") for n in re.findall(r"^def (test_\w+)", p.read_text(), re.M)}


def tool_findings() -> set[str]:
    """Test functions whose listings are findings on the tools they drive, whatever the registry
    (the signatures suite's: tests/test_signatures_verdicts.py holds their recorded answers)."""
    return suite_tests("signatures")
