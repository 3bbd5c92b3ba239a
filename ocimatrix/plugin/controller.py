"""The controller (the only process without xdist): starts and stops the embedded services, gathers
one record per test from every worker, prints a progress line per cell, writes ``results.json``."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from ocimatrix.matrix import Matrix
from ocimatrix.plugin.items import RECORD_KEY, suite_of
from ocimatrix.results import Record, Results, Run, now_iso, write_results


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
        from ocimatrix.endpoints import ENDPOINTS_ENV
        from ocimatrix.host.services import EmbeddedServices

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
        tools.update(record.versions)
    return dict(sorted(tools.items()))
