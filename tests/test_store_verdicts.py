"""The store-state suite's verdicts on answers recorded from a real run (podman 4.3 and 5.4, dockerd 20.10
and 26.1, ctr 1.6 and 1.7): the suite's own judge turns each run into a verdict, and the listings of
both matrices are confirmed only by the engine's recorded answer, never by another failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from suite_modules import load_suite_module

from ocimatrix.evidence import Recorder
from ocimatrix.matrix import load_matrix
from ocimatrix.plugin.verdicts import decide
from ocimatrix.resources import SUITES_DIR

ROOT = Path(__file__).resolve().parents[1]
MATRICES = (ROOT / "matrix/default.yaml", ROOT / "matrix/nightly.yaml")
STORE = SUITES_DIR / "store"


store_conftest = load_suite_module("ocimatrix_store_conftest", STORE / "conftest.py")
store_tests = load_suite_module("ocimatrix_store_tests", STORE / "test_store_state.py")
Ran = store_conftest.Ran

PODMAN_43 = "WARNING: image platform ({arm64 linux  [] }) does not match the expected platform ({amd64 linux  [] })\n"
PODMAN_54 = "WARNING: image platform (linux/arm64) does not match the expected platform (linux/amd64)\n"
CTR_REFUSAL = "ctr: content digest sha256:6abc7787e7dd4f2d5e88853dd245d4bbb6d2bfe7459a5daa8dceb654ad707a23: not found"
DOCKER_REFUSAL = (
    "image with reference 127.0.0.1:42625/ocimatrix/store:other-platform-docker-4cf2fc18 was found but does not "
    "match the specified platform: wanted linux/amd64, actual: linux/arm64"
)
STEPS = {
    "podman asked": "podman run --platform linux/amd64 --pull never",
    "podman none": "podman run --pull never (no platform)",
    "docker none": "docker run --pull never (no platform)",
}


def ran_arm64(asked: str | None, stderr: str = "") -> Ran:
    ran = Ran(asked, exit_code=0, machine="aarch64", marker="index linux/arm64 other-platform-podman-4cf2fc18")
    ran.stderr = stderr
    return ran


def judged(ran: Ran, step: str) -> BaseException | None:
    try:
        store_tests.judge_platform(ran, "linux/amd64", "linux/arm64", step, Recorder(), "linux/arm64")
    except BaseException as exc:  # noqa: BLE001 - the verdict's input, traceback and all
        return exc
    return None


# (test, engine, step key, the recorded run)
RECORDED = [
    ("test_run_asking_another_platform_than_pulled", "podman", "podman asked", ran_arm64("linux/amd64", PODMAN_43)),
    ("test_run_asking_another_platform_than_pulled", "podman", "podman asked", ran_arm64("linux/amd64", PODMAN_54)),
    ("test_run_with_no_platform_after_pulling_another", "podman", "podman none", ran_arm64(None, PODMAN_43)),
    ("test_run_with_no_platform_after_pulling_another", "podman", "podman none", ran_arm64(None, PODMAN_54)),
    ("test_run_with_no_platform_after_pulling_another", "docker", "docker none", ran_arm64(None)),
]


def listing(path: Path, test: str, engine: str) -> dict:
    found = [e for e in load_matrix(path).expectations if e["test"] == test and engine in e["cell"].get("engine", ())]
    assert len(found) == 1, f"{path.name}: expected one listing of {test} for {engine}"
    return found[0]


@pytest.mark.parametrize("path", MATRICES, ids=lambda p: p.name)
@pytest.mark.parametrize(("test", "engine", "step", "ran"), RECORDED)
def test_the_recorded_run_confirms_the_listing(path, test, engine, step, ran):
    verdict = decide(judged(ran, STEPS[step]), expected=listing(path, test, engine))
    assert verdict.outcome == "xfailed", verdict.reason


@pytest.mark.parametrize("path", MATRICES, ids=lambda p: p.name)
@pytest.mark.parametrize(
    ("test", "engine", "step", "ran"),
    [
        # The right platform's image ran after all: no failure, so the strict listing turns the cell failed.
        ("test_run_with_no_platform_after_pulling_another", "docker", "docker none", None),
        # The wrong image could not even start: a failure, but not the one listed.
        (
            "test_run_with_no_platform_after_pulling_another",
            "podman",
            "podman none",
            Ran(None, exit_code=1, stderr="exec /bin/sh: exec format error"),
        ),
        # The wrong image ran, but at another step than the listing's.
        ("test_run_asking_another_platform_than_pulled", "podman", "podman none", ran_arm64("linux/amd64", PODMAN_54)),
    ],
)
def test_another_answer_never_confirms_the_listing(path, test, engine, step, ran):
    if ran is None:
        ran = Ran(None, exit_code=0, machine="x86_64", marker="index linux/amd64 no-platform-docker-4cf2fc18")
        assert judged(ran, STEPS[step]) is None
        return
    verdict = decide(judged(ran, STEPS[step]), expected=listing(path, test, engine))
    assert verdict.outcome == "failed", verdict.reason


@pytest.mark.parametrize("words", [CTR_REFUSAL, DOCKER_REFUSAL])
def test_a_refusal_in_words_passes_and_is_recorded(words):
    recorder = Recorder()
    ran = Ran("linux/amd64", refusal=words, step="run")
    store_tests.judge_platform(ran, "linux/amd64", "linux/arm64", "run", recorder, "linux/arm64")
    assert recorder.evidence["refused"] == words
    assert decide(None).outcome == "passed"


def test_the_right_platform_passes_and_the_wrong_one_names_what_ran():
    right = Ran("linux/amd64", exit_code=0, machine="x86_64", marker="index linux/amd64 other-platform-docker-1")
    assert judged(right, "run") is None
    wrong = judged(ran_arm64("linux/amd64"), "run")
    verdict = decide(wrong)
    assert verdict.outcome == "failed"
    assert verdict.answer is not None
    assert verdict.answer.text.startswith("exit 0; machine=aarch64; marker=index linux/arm64 ")
