"""Each test's verdict and record, built where the test ran (worker or not): the service watch before
it starts, the decision table (``verdicts.decide``) on each phase, and the record of the whole."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from ocimatrix import evidence
from ocimatrix.errors import HarnessError
from ocimatrix.plugin.cell_watch import Watch, services_of_cell
from ocimatrix.plugin.items import EXPECTATION_KEY, MATRIX_KEY, RECORD_KEY, STATE_KEY, cell_of, suite_of
from ocimatrix.plugin.verdicts import Verdict, combine, decide
from ocimatrix.registries.redaction import redact
from ocimatrix.results import Record, Spec


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    state = item.stash[STATE_KEY] = {"verdicts": {}, "start": time.monotonic()}
    evidence.begin()
    matrix = item.config.stash.get(MATRIX_KEY, None)
    if matrix is None or not suite_of(item.path):
        return
    watch = state["watch"] = Watch.begin(item.nodeid, services_of_cell(cell_of(item), matrix))
    found = watch.dead_on_arrival()
    if found:
        reason, logs = found
        evidence.current().evidence.update(logs)
        state["fault_reason"] = reason
        raise HarnessError(reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    state = item.stash.get(STATE_KEY, None)
    if state is None or item.config.stash.get(MATRIX_KEY, None) is None:
        return report
    verdict = _judge(item, call, report, state)
    state["verdicts"][call.when] = verdict
    if call.when == "teardown":
        report.user_properties.append((RECORD_KEY, build_record(item, state, report).to_json()))
    return report


def _judge(item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport, state: dict) -> Verdict:
    """One phase's verdict from the decision table (``verdicts.decide``), with the evidence it rests
    on: the cell's service watch and the implementation's own answer.

    pytest's own report is corrected to agree, so its exit code and summary match results.json.
    """
    exc = call.excinfo.value if call.excinfo is not None else None
    watch: Watch | None = state.get("watch")
    service_broke = state.get("fault_reason")
    if service_broke is None and watch is not None and (exc is not None or report.failed):
        broke = watch.broke_during()
        if broke:
            service_broke, logs = broke
            evidence.current().evidence.update(logs)
            state["fault_reason"] = service_broke
    expected = item.stash.get(EXPECTATION_KEY, None) if hasattr(report, "wasxfail") or report.failed else None
    xpassed = report.longreprtext[-4000:] if exc is None and report.failed else None
    verdict = decide(exc, service_broke=service_broke, expected=expected, xpassed=xpassed)
    if verdict.answer is not None:
        evidence.current().evidence.setdefault("answer", verdict.answer.to_json())
    if verdict.outcome in ("error", "failed") and hasattr(report, "wasxfail"):
        del report.wasxfail
        report.outcome = "failed"
    elif verdict.outcome == "error" and report.skipped:
        report.outcome = "failed"  # pytest counts it as an error of that phase: a dead daemon is no skip
        report.longrepr = verdict.reason
    return verdict


def build_record(item: pytest.Item, state: dict, report: pytest.TestReport) -> Record:
    recorder = evidence.current()
    cell = dict(cell_of(item) or {})
    marker = item.get_closest_marker("spec")
    spec = Spec(*marker.args) if marker else None
    verdict = combine(state["verdicts"].values())
    outcome, reason = verdict.outcome, verdict.reason
    # Registry credentials are loaded in this process: scrub them from everything the record carries.
    return Record(
        test=item.nodeid,
        suite=suite_of(item.path),
        outcome=outcome,
        cell=cell,
        spec=spec,
        reason=redact(reason),
        duration_s=round(time.monotonic() - state["start"], 3),
        repro=redact(list(recorder.repro)),
        evidence=redact(_jsonable(_with_versions(recorder))),
    )


def _with_versions(recorder: evidence.Recorder) -> dict[str, Any]:
    """The test's evidence, with the versions its tools reported: recorded once, never in the cell,
    which stays the input it was."""
    return {**recorder.evidence, "versions": dict(recorder.versions)} if recorder.versions else dict(recorder.evidence)


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return json.loads(json.dumps(value, default=str))


# --- the controller: services, progress, results.json ----------------------------------------
