"""Fault tests on real daemons: a service that dies mid-run fails only what it touched.

Each test runs ``ocimatrix run`` on a handful of cells, kills one of the harness's own daemons with
SIGKILL (or stops it with SIGSTOP: alive, answering nothing) while a cell is using it, and checks
the verdicts: the cell in flight (or the next one that needs the service) is ``error`` with the
service's log as evidence, never ``failed`` or ``skipped``;
the service is restarted and the cells after it pass; the run exits 1; nothing of the harness is
left running, mounted or on disk afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ocimatrix.host.supervision import ServiceBook
from ocimatrix.system.process import is_running, mounts_under, processes_mentioning

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(t) for t in ("dockerd", "containerd", "podman", "docker-registry")),
    reason="fault tests need root and the engines (ocimatrix provision)",
)

STATE_DIR = re.compile(r"(/var/tmp/ocimatrix-[A-Za-z0-9_]+)/")
RUN_TIMEOUT = 600


class LiveRun:
    """``ocimatrix run`` in the background, its output read line by line as it comes."""

    def __init__(self, tmp_path: Path, matrix: str, *args: str) -> None:
        (tmp_path / "m.yaml").write_text(matrix)
        self.out = tmp_path / "out"
        argv = [sys.executable, "-m", "ocimatrix.cli", "run", "--matrix", str(tmp_path / "m.yaml")]
        argv += ["--out", str(self.out), "--no-provision", "--no-allure", "-n", "1", *args]
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, what: str, found: Callable[[], object], timeout: float = 180) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = found()
            if value:
                return value
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.01)
        self.process.kill()
        pytest.fail(f"never saw {what}; output:\n" + "\n".join(self.lines[-60:]))

    def state_dir(self) -> Path:
        def found() -> Path | None:
            for line in list(self.lines):
                match = STATE_DIR.search(line)
                if match:
                    return Path(match.group(1))
            return None

        return self.wait_for("the state directory", found)  # type: ignore[return-value]

    def progress_lines(self) -> list[str]:
        return [line for line in self.lines if re.match(r"\[\s*\d+/\d+\] ", line)]

    def finish(self) -> tuple[int, dict]:
        try:
            code = self.process.wait(RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail("the run did not finish; output:\n" + "\n".join(self.lines[-60:]))
        self._reader.join(10)
        return code, json.loads((self.out / "results.json").read_text())


def shim_running(state: Path, namespace: str) -> bool:
    """A container of ``namespace`` runs under the harness's containerd right now."""
    for pid in processes_mentioning(str(state)):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline and b"containerd-shim" in cmdline[0] and namespace.encode() in cmdline:
            return True
    return False


def kill(state: Path, service: str) -> int:
    pid = ServiceBook(state).pid(service)
    os.kill(pid, signal.SIGKILL)
    return pid


def assert_nothing_left(state: Path) -> None:
    assert not processes_mentioning(str(state)), "a process of the harness outlived the run"
    assert not mounts_under(state), "a mount of the harness outlived the run"
    assert not state.exists(), f"{state} outlived the run"


def assert_fault_handled(code: int, data: dict, run: LiveRun, service: str, killed_at: int) -> None:
    records = data["results"]
    errors = [r for r in records if r["outcome"] == "error"]
    assert code == 1, "a run with an errored cell must exit 1"
    assert errors, f"no cell was marked error after {service} was killed"
    assert all(service in r["reason"] for r in errors), [r["reason"] for r in errors]
    assert any(f"{service}_log" in r["evidence"] for r in errors), "the service's last log lines are evidence"
    # Cells may fail on their own (a registry's real findings); never because the service was gone.
    gone = re.compile(r"Connection refused|does not answer|stopped answering|ConnectError")
    blamed = [r["reason"][:200] for r in records if r["outcome"] in ("failed", "xfailed") and gone.search(r["reason"])]
    assert not blamed, f"a dead service was blamed on the implementation: {blamed}"
    assert not [r for r in records if r["outcome"] == "skipped" and "answer" in r["reason"]]
    restarts = data["run"]["restarts"].get(service, [])
    assert len(restarts) == 1 and restarts[0]["outcome"] == "restarted", data["run"]["restarts"]
    later = [line for line in run.progress_lines()[killed_at:] if " PASSED " in line]
    assert later, "no cell passed after the restart: the rest of the run was lost"


LIFECYCLE = """
axes: {{builder: [podman], engine: [{engine}], runtime: [runc], format: [{format}], compression: [gzip]}}
suites: {{lifecycle: {{}}}}
"""


@pytest.mark.parametrize(
    ("engine", "fmt", "service", "namespace"),
    [("docker", "docker", "dockerd", "ocimatrix-moby"), ("containerd", "oci", "containerd", "ocimatrix")],
)
def test_daemon_killed_while_a_container_runs(tmp_path, engine, fmt, service, namespace):
    run = LiveRun(tmp_path, LIFECYCLE.format(engine=engine, format=fmt), "--suite", "lifecycle")
    state = run.state_dir()
    run.wait_for(f"a {engine} container running", lambda: shim_running(state, namespace))
    kill(state, service)
    killed_at = len(run.progress_lines())
    code, data = run.finish()
    assert_fault_handled(code, data, run, service, killed_at)
    assert_nothing_left(state)


DISTRIBUTION = """
axes: {builder: [podman], engine: [podman], registry: [embedded]}
registries: {embedded: {embedded: true}}
suites: {distribution: {}}
"""


def test_registry_killed_mid_suite(tmp_path):
    run = LiveRun(tmp_path, DISTRIBUTION, "--suite", "distribution", "-k", "test_pull or test_push")
    state = run.state_dir()
    run.wait_for("five finished cells", lambda: len(run.progress_lines()) >= 5)
    kill(state, "registry")
    killed_at = len(run.progress_lines())
    code, data = run.finish()
    assert_fault_handled(code, data, run, "registry", killed_at)
    assert_nothing_left(state)


def test_registry_down_before_the_suite_starts(tmp_path):
    # A registry the matrix names that does not answer at all: every cell is an error, none a skip.
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again at once: nothing listens there
    matrix = (
        "axes: {builder: [podman], engine: [podman], registry: [gone]}\n"
        f"registries: {{gone: {{url: 'http://127.0.0.1:{port}', plain_http: true}}}}\n"
        "suites: {distribution: {}}\n"
    )
    run = LiveRun(tmp_path, matrix, "--suite", "distribution", "-k", "test_pull or test_push")
    state = run.state_dir()
    code, data = run.finish()
    records = data["results"]
    assert code == 1 and records
    outcomes = {r["outcome"] for r in records}
    assert outcomes == {"error"}, sorted({(r["outcome"], r["reason"][:100]) for r in records})
    assert all(f"127.0.0.1:{port}" in r["reason"] for r in records)
    assert_nothing_left(state)


CRI = """
axes: {builder: [podman], engine: [containerd-cri], runtime: [runc]}
suites: {cri: {engine: [containerd-cri]}}
"""


def test_containerd_stopped_with_sigstop_during_the_cri_suite(tmp_path):
    """A containerd that answers nothing at all (SIGSTOP) is the harness's service breaking: the cells
    it hangs are ``error``, never ``failed`` (no RPC was answered late: none was answered) nor
    ``skipped``; the hung daemon is killed and restarted, the cells after it run; exit 1; nothing left."""
    run = LiveRun(
        tmp_path,
        CRI,
        "--suite",
        "cri",
        "-k",
        "test_exec_sync or test_stop_container_graceful or test_stop_container_twice",
    )
    state = run.state_dir()
    run.wait_for("a first CRI cell finished", lambda: len(run.progress_lines()) >= 1)
    stopped = ServiceBook(state).pid("containerd")
    os.kill(stopped, signal.SIGSTOP)
    stopped_at = len(run.progress_lines())
    try:
        # The cell in flight (or the next one) finds it silent and the supervision kills it; never later
        # than the client's liveness probes plus the watch's, far inside the kubelet's 2-minute deadline.
        run.wait_for("the stopped containerd replaced", lambda: not is_running(stopped), timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(stopped, signal.SIGCONT)
    code, data = run.finish()
    records = data["results"]
    outcomes = {r["test"].split("::")[-1]: r["outcome"] for r in records}
    errors = [r for r in records if r["outcome"] == "error"]
    assert code == 1, "a run with an errored cell must exit 1"
    assert errors, f"no cell was an error after containerd was stopped: {outcomes}"
    assert all("containerd" in r["reason"] or "CRI endpoint" in r["reason"] for r in errors), [
        r["reason"][:300] for r in errors
    ]
    assert not [r for r in records if r["outcome"] in ("failed", "skipped")], {
        r["test"]: r["reason"][:300] for r in records if r["outcome"] in ("failed", "skipped")
    }
    restarts = data["run"]["restarts"].get("containerd", [])
    assert len(restarts) == 1 and restarts[0]["outcome"] == "restarted", data["run"]["restarts"]
    assert restarts[0]["killed"] == stopped and "answers nothing" in restarts[0]["why"]
    later = [line for line in run.progress_lines()[stopped_at:] if " PASSED " in line or " XFAIL" in line]
    assert later, "no cell ran after the restart: the rest of the run was lost"
    assert_nothing_left(state)


def test_container_outliving_its_timeout_is_killed_and_removed(tmp_path):
    """Each runner: the cell fails with "timed out after N s" (the tool's fault), and no container is left."""
    from ocimatrix.engines.base import RunSpec, TimedOut
    from ocimatrix.engines.binding import bind
    from ocimatrix.host.services import EmbeddedServices
    from ocimatrix.images.busybox import host_platform_name
    from ocimatrix.images.contexts import lifecycle_context

    def sleepers() -> list[int]:
        found = []
        for pid in Path("/proc").iterdir():
            try:
                if pid.name.isdigit() and (pid / "cmdline").read_bytes() == b"sleep\x00313\x00":
                    found.append(int(pid.name))
            except OSError:
                continue
        return found

    with EmbeddedServices(log=lambda _m: None) as endpoints:
        ref = f"{endpoints.registry}/ocimatrix/faults/sleeper:{os.getpid()}"
        builder = bind("podman", endpoints, role="builder")
        platform = host_platform_name()
        builder.build(lifecycle_context(tmp_path, platform, build_id=ref), ref, format="oci", platform=platform)
        builder.push(ref, format="oci", compression="gzip")
        builder.remove_image(ref)
        for name in ("docker", "podman", "containerd"):
            runner = bind(name, endpoints, role="engine")
            runner.pull(ref)
            started = time.monotonic()
            with pytest.raises(TimedOut, match="timed out after 2 s; it was killed and removed"):
                runner.run(RunSpec(image=ref, entrypoint=["sleep"], args=["313"], timeout=2))
            assert time.monotonic() - started < 60, f"{name}: the timeout did not stop the wait"
            deadline = time.monotonic() + 10
            while sleepers() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not sleepers(), f"{name} left the timed-out container's process running"
    assert not processes_mentioning(endpoints.state_dir)
