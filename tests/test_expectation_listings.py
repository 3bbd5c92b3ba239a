"""Every known incompatibility listed in the shipped matrices, against failures that are not it.

A listing is confirmed only by the implementation's own answer; whatever the harness's message
says, a failure that carries no answer, an empty answer, or a service that answers nothing must
never turn a cell ``xfailed``. The suites' own self-tests add each listing's recorded real answer
and recorded different answers of the same test.
"""

from __future__ import annotations

import pytest
from verdict_cases import raised

from ocimatrix.errors import HarnessError, ImplementationFailure
from ocimatrix.matrix import load_matrix
from ocimatrix.plugin.verdicts import decide
from ocimatrix.resources import MATRIX_DIR


def _listings() -> list:
    found = []
    for path in sorted(MATRIX_DIR.glob("*.yaml")):
        for index, expected in enumerate(load_matrix(path).expectations):
            found.append(pytest.param(expected, id=f"{path.stem}-{index}-{expected['test']}"))
    return found


@pytest.mark.parametrize("expected", _listings())
def test_the_harness_words_never_confirm_a_listing(expected):
    # The harness's message may say anything, the listing's own words included.
    bait = f"{expected['reason']} {expected['match']} {expected.get('step', '')}"
    assert decide(raised(AssertionError(bait)), expected=expected).outcome == "failed"


@pytest.mark.parametrize("expected", _listings())
def test_an_empty_answer_never_confirms_a_listing(expected):
    empty = ImplementationFailure("the check failed", step=expected.get("step") or "the step", answer="")
    assert decide(raised(empty), expected=expected).outcome == "failed"


@pytest.mark.parametrize("expected", _listings())
def test_a_silent_service_is_never_a_listed_incompatibility(expected):
    assert decide(raised(ConnectionRefusedError(111, "Connection refused")), expected=expected).outcome == "error"
    assert decide(raised(HarnessError(expected["match"])), expected=expected).outcome == "error"
