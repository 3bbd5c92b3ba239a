"""The pytest plugin: matrix cells become parameters, outcomes become results records.

Suite tests ask for a ``cell`` fixture and say which axes they vary over with
``@pytest.mark.axes(...)``; the plugin parametrizes them with the matrix's cells. On the controller
(the only process when running without xdist) it starts the embedded services, gathers one record
per test from every worker, prints progress, and writes ``results.json``.
"""

from __future__ import annotations

import fnmatch
import json
import os
import secrets
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from ocimatrix import evidence
from ocimatrix.cell_watch import Watch, services_of_cell
from ocimatrix.errors import HarnessError, OcimatrixError
from ocimatrix.matrix import DEFAULT_MATRIX, Matrix, load_matrix, value_matches, versions_match
from ocimatrix.redaction import redact
from ocimatrix.resources import SUITES_DIR
from ocimatrix.results import Record, Results, Run, Spec, now_iso, write_results
from ocimatrix.run_ids import RUN_ID_ENV
from ocimatrix.run_ids import run_id as worker_run_id
from ocimatrix.verdicts import Verdict, combine, decide

MATRIX_ENV = "OCIMATRIX_MATRIX"
RECORD_KEY = "ocimatrix_record"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ocimatrix", "ocimatrix conformance matrix")
    group.addoption("--matrix", default=None, help="matrix file (default: matrix/default.yaml for suites/)")
    group.addoption("--results", default="reports/results.json", help="where to write results.json")
    group.addoption(
        "--endpoints",
        default=None,
        help="endpoints.json of services already running (default: start the embedded services)",
    )
    group.addoption("--ocimatrix-progress", action="store_true", help="print one line per finished cell")
    group.addoption(
        "--shard",
        default=None,
        metavar="K/N",
        help="run only the K-th of N deterministic slices of the cells (hosts of a nightly each take one)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "axes(*names): the matrix axes a suite test is parametrized over")
    config.addinivalue_line("markers", "spec(section, url): the spec section a suite test checks")
    matrix_path = _matrix_path(config)
    if matrix_path is None:
        return
    try:
        matrix = load_matrix(matrix_path)
    except OcimatrixError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[MATRIX_KEY] = matrix
    config.pluginmanager.register(VersionedExpectations(), "ocimatrix-versioned-expectations")
    parse_shard(config.getoption("shard"))  # a bad --shard is refused before any service starts
    from ocimatrix.allure_labels import register as register_allure_labels

    register_allure_labels(config)  # suite, spec section and cell axes as Allure labels, when --alluredir
    if hasattr(config, "workerinput"):
        return  # workers reuse what the controller started (through the environment)
    os.environ[MATRIX_ENV] = str(Path(matrix_path).resolve())
    os.environ.setdefault(RUN_ID_ENV, secrets.token_hex(4))
    controller = Controller(config, matrix)
    config.pluginmanager.register(controller, "ocimatrix-controller")
    controller.start_services()


def pytest_unconfigure(config: pytest.Config) -> None:
    controller = config.pluginmanager.get_plugin("ocimatrix-controller")
    if controller is not None:
        controller.stop_services()


MATRIX_KEY = pytest.StashKey[Matrix]()
STATE_KEY = pytest.StashKey[dict]()
EXPECTATION_KEY = pytest.StashKey[dict]()
PENDING_KEY = pytest.StashKey[list]()


def _matrix_path(config: pytest.Config) -> str | None:
    explicit = config.getoption("matrix") or os.environ.get(MATRIX_ENV)
    if explicit:
        return explicit
    # Running suites/ without --matrix means "the default matrix", as `ocimatrix run` would.
    for arg in config.args:
        path = Path(arg.split("::")[0]).resolve()
        if path == SUITES_DIR or SUITES_DIR in path.parents:
            return str(DEFAULT_MATRIX)
    return None


def suite_of(path: Path) -> str:
    try:
        return Path(path).resolve().relative_to(SUITES_DIR).parts[0]
    except (ValueError, IndexError):
        return ""


def cell_id(cell: dict[str, str]) -> str:
    return "-".join(str(v).replace("/", "_") for v in cell.values())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cell" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("axes")
    if marker is None:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: a test taking 'cell' needs @pytest.mark.axes(...)")
    matrix = metafunc.config.stash.get(MATRIX_KEY, None)
    if matrix is None:
        metafunc.parametrize("cell", [pytest.param(None, marks=pytest.mark.skip(reason="no matrix loaded"))])
        return
    suite = suite_of(metafunc.definition.path)
    cells = matrix.cells_for(marker.args, suite)
    if not cells:
        reason = f"matrix {matrix.name} has no cells for axes {', '.join(marker.args)}"
        metafunc.parametrize("cell", [pytest.param(None, marks=pytest.mark.skip(reason=reason))])
        return
    metafunc.parametrize("cell", cells, ids=[cell_id(c) for c in cells])


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    k, sep, n = text.partition("/")
    if not (sep and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise pytest.UsageError(f"--shard {text}: expected K/N with 1 <= K <= N, e.g. --shard 2/4")
    return int(k), int(n)


def in_shard(nodeid: str, shard: tuple[int, int] | None) -> bool:
    """Stable across hosts and Python runs (unlike hash()), so N hosts together cover every cell once."""
    if shard is None:
        return True
    k, n = shard
    return zlib.crc32(nodeid.encode()) % n == k - 1


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    matrix = config.stash.get(MATRIX_KEY, None)
    if matrix is None:
        return
    shard = parse_shard(config.getoption("shard"))
    keep, drop = [], []
    for item in items:
        suite = suite_of(item.path)
        if (suite and not matrix.runs_suite(suite)) or not in_shard(item.nodeid, shard):
            drop.append(item)
            continue
        keep.append(item)
        _apply_expectations(item, matrix)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _apply_expectations(item: pytest.Item, matrix: Matrix) -> None:
    """Known incompatibilities from the matrix file become strict xfails, so a fix shows up as XPASS.

    One that names ``versions`` waits for the versions the cell's tools report (known once its
    fixtures bound them): ``VersionedExpectations`` applies it at the end of setup.
    """
    cell = _cell_of(item) or {}
    name = item.originalname if hasattr(item, "originalname") else item.name
    matching = [
        expected
        for expected in matrix.expectations
        if fnmatch.fnmatchcase(name, expected["test"])
        and all(value_matches(cell.get(axis), values) for axis, values in expected["cell"].items())
    ]
    if matching and not matching[0].get("versions"):
        _expect(item, matching[0])
    elif matching:
        item.stash[PENDING_KEY] = matching  # the first that fits the cell's versions applies


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


@pytest.fixture(scope="session")
def matrix(request: pytest.FixtureRequest) -> Matrix:
    loaded = request.config.stash.get(MATRIX_KEY, None)
    if loaded is None:
        pytest.skip("no matrix loaded (run through `ocimatrix run` or `pytest suites/`)")
    return loaded


@pytest.fixture(scope="session")
def run_id() -> str:
    """Unique per run and per xdist worker, so parallel cells never share an image name."""
    return worker_run_id()


@pytest.fixture(scope="session")
def endpoints():
    from ocimatrix.host.services import ENDPOINTS_ENV, Endpoints

    path = os.environ.get(ENDPOINTS_ENV)
    if not path:
        pytest.skip("no embedded services are running (run through `ocimatrix run`)")
    return Endpoints.load(path)


@pytest.fixture
def recorder() -> evidence.Recorder:
    """This test's repro commands and evidence (drivers write into it too)."""
    return evidence.current()


# --- per-test records, built where the test ran (worker or not) ---------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    state = item.stash[STATE_KEY] = {"verdicts": {}, "start": time.monotonic()}
    evidence.begin()
    matrix = item.config.stash.get(MATRIX_KEY, None)
    if matrix is None or not suite_of(item.path):
        return
    watch = state["watch"] = Watch.begin(item.nodeid, services_of_cell(_cell_of(item), matrix))
    found = watch.dead_on_arrival()
    if found:
        reason, logs = found
        evidence.current().evidence.update(logs)
        state["fault_reason"] = reason
        raise HarnessError(reason)


def _cell_of(item: pytest.Item) -> dict | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("cell") if callspec else None


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
    cell = dict(_cell_of(item) or {})
    if recorder.versions:
        cell["versions"] = dict(recorder.versions)
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
        evidence=redact(_jsonable(recorder.evidence)),
    )


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return json.loads(json.dumps(value, default=str))


# --- the controller: services, progress, results.json ----------------------------------------


class Controller:
    def __init__(self, config: pytest.Config, matrix: Matrix) -> None:
        self.config = config
        self.matrix = matrix
        self.results = Results(run=Run(matrix=str(matrix.path)))
        self.total = 0
        self.done = 0
        self.services = None
        self.progress = config.getoption("ocimatrix_progress")
        self.results_path = Path(config.getoption("results"))

    def log(self, message: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(message)
        else:
            print(message, file=sys.stderr)

    def start_services(self) -> None:
        from ocimatrix.host.services import ENDPOINTS_ENV, EmbeddedServices

        given = self.config.getoption("endpoints") or os.environ.get(ENDPOINTS_ENV)
        if given:
            os.environ[ENDPOINTS_ENV] = str(Path(given).resolve())
            return
        generations = self.generations_needed()
        self.services = EmbeddedServices(
            log=lambda m: print(f"ocimatrix: {m}", file=sys.stderr),
            registry_port=self.matrix.embedded_registry_port,
            generations=generations,
        )
        if generations:
            print(f"ocimatrix: generations this run names: {', '.join(generations)}", file=sys.stderr)
        try:
            endpoints = self.services.start()
        except BaseException:
            self.services.stop()
            raise
        os.environ[ENDPOINTS_ENV] = str(Path(endpoints.state_dir) / "endpoints.json")
        for service, error in endpoints.errors.items():
            print(f"ocimatrix: {service} did not start, its cells will be errors: {error}", file=sys.stderr)

    def generations_needed(self) -> tuple[str, ...]:
        """The root generations the cells of the suites this run collects name (all suites when the
        run is given the suites directory)."""
        suites = {suite_of(Path(arg.split("::")[0])) for arg in self.config.args}
        if "" in suites or not suites:
            return self.matrix.generations()
        return self.matrix.generations(tuple(suites))

    def stop_services(self) -> None:
        if self.services is not None:
            self.services.stop()
            self.services = None

    # Totals for the progress line: xdist tells the controller what each worker collected.
    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        self.total = max(self.total, len(ids))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = max(self.total, len(session.items))

    @pytest.hookimpl(wrapper=True)
    def pytest_report_teststatus(self, report, config):
        status = yield
        if self.progress and status:
            # Our one line per cell replaces pytest's letters, which would interleave with it.
            category, _letter, word = status
            return category, "", word
        return status

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        payload = dict(report.user_properties).get(RECORD_KEY)
        if payload is None:
            if report.when in ("setup", "call", "teardown") or report.outcome != "failed":
                return
            # A crashed worker reports the lost test (when="???") without our record.
            payload = Record(
                test=report.nodeid, suite="", outcome="error", reason=str(report.longrepr)[-2000:]
            ).to_json()
        record = Record.from_json(payload)
        self.results.results.append(record)
        self.done += 1
        if self.progress:
            self._progress(record)

    def _progress(self, record: Record) -> None:
        total = max(self.total, self.done)
        width = len(str(total))
        # The clock starts when the first cell began, so service start-up doesn't count as cell time.
        if getattr(self, "_progress_started", None) is None:
            self._progress_started = time.monotonic() - record.duration_s
        eta = eta_text(time.monotonic() - self._progress_started, self.done, total)
        line = f"[{self.done:>{width}}/{total}] {record.outcome.upper():<7} {record.test} ({record.duration_s:.1f}s)"
        line += eta
        if record.outcome in ("failed", "error"):
            line += f"\n    reason: {record.reason.splitlines()[0] if record.reason else '?'}"
            if record.repro:
                line += "\n    repro:  " + "\n            ".join(record.repro)
        elif record.outcome == "skipped":
            line += f"\n    skipped: {record.reason}"
        self.log(line)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.results.run.finished = now_iso()
        self.results.run.tools = collect_tool_versions(self.results.results)
        if self.services is not None:
            self.results.run.restarts = self.services.restarts()
        self.results.results.sort(key=lambda r: r.test)
        write_results(self.results, self.results_path)
        counts = self.results.counts()
        summary = ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
        self.log(f"ocimatrix: {summary} -> {self.results_path}")


def eta_text(elapsed_s: float, done: int, total: int) -> str:
    """`` · ETA 4m10s``: the mean wall-clock time per finished cell times the cells left; "" when unknown.

    Wall-clock rather than each cell's own duration, so parallel workers and the time between
    cells count: with two workers, cells finish twice as fast as each one takes.
    """
    remaining = total - done
    if done <= 0 or remaining <= 0 or elapsed_s <= 0:
        return ""
    seconds = round(elapsed_s / done * remaining)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        text = f"{hours}h{minutes:02d}m"
    elif minutes:
        text = f"{minutes}m{secs:02d}s"
    else:
        text = f"{secs}s"
    return f" · ETA {text}"


def collect_tool_versions(records: list[Record]) -> dict[str, str]:
    tools: dict[str, str] = {}
    for record in records:
        tools.update(record.cell.get("versions") or {})
    return dict(sorted(tools.items()))
