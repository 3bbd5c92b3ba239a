"""Shared steps replay only what the implementation said; a harness fault is never kept.

No daemons: the steps are driven with actions that raise what a driver would raise (an engine's
refusal with its step and answer, a dead transport, the harness's own retag failing). The service
watch runs against a real supervised process (a stand-in HTTP server) that the action kills, and
the tag check against a real HTTP server answering like a registry.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ocimatrix import evidence
from ocimatrix.engines.base import EngineError, ResolvedImage, TimedOut, Unsupported
from ocimatrix.errors import HarnessError, ImplementationFailure, ServiceUnavailable
from ocimatrix.host.supervision import Probe, ServiceBook
from ocimatrix.matrix import load_matrix
from ocimatrix.plugin import cell_watch
from ocimatrix.plugin.shared_steps import (
    Outcome,
    PullStep,
    PushedImage,
    Refusal,
    cached_step,
    fail_refused,
    shared_step,
    verify_tag,
)
from ocimatrix.plugin.verdicts import decide
from ocimatrix.system.process import Daemon, is_running

ROOT = Path(__file__).resolve().parent.parent
ZSTD_ANSWER = "failed to register layer: Error processing tar file(exit status 1): archive/tar: invalid tar header"


def refusal(step: str = "docker pull", answer: str = ZSTD_ANSWER) -> EngineError:
    return EngineError(f"{step} 127.0.0.1:5000/ocimatrix/lifecycle/p:run: {answer}", step=step, answer=answer)


def outcome_of(get) -> BaseException | None:
    """What ``get()`` raised, as the cell's test body would see it."""
    try:
        get()
    except BaseException as exc:  # noqa: BLE001 - pytest's outcomes are BaseExceptions too
        return exc
    return None


class Counter:
    """An action that raises the given exceptions in turn, then returns its value."""

    def __init__(self, *raises: BaseException, value: object = "sha256:" + "a" * 64) -> None:
        self.raises = list(raises)
        self.value = value
        self.calls = 0

    def __call__(self):
        self.calls += 1
        evidence.record_command(["podman", "push", f"call-{self.calls}"])
        if self.raises:
            raise self.raises.pop(0)
        return self.value


@pytest.fixture(autouse=True)
def no_supervised_services(monkeypatch):
    """No run's services here unless a test supervises its own."""
    monkeypatch.setattr(cell_watch, "_book", lambda: None)


# --- an implementation's answer is kept and replayed as that answer ---------------------------------


def test_a_refusal_is_replayed_with_its_step_and_answer_in_every_cell():
    cache: dict = {}
    action = Counter(refusal())
    cells = [outcome_of(cached_step(cache, "k", action).get) for _ in range(3)]
    assert action.calls == 1, "the step ran once; the other cells replay its record"
    for exc in cells:
        assert isinstance(exc, ImplementationFailure)
        assert (exc.step, exc.answer) == ("docker pull", ZSTD_ANSWER)
        assert decide(exc).outcome == "failed"
        expected = {"match": "archive/tar: invalid tar header", "step": "^docker pull$", "reason": "zstd"}
        assert decide(exc, expected=expected).outcome == "xfailed"


def test_a_refusal_without_words_fails_but_confirms_nothing():
    cache: dict = {}
    exc = outcome_of(cached_step(cache, "k", Counter(EngineError("docker push: no digest"))).get)
    assert isinstance(exc, pytest.fail.Exception)
    verdict = decide(exc, expected={"match": "no digest", "reason": "r"})
    assert verdict.outcome == "failed" and verdict.answer is None


def test_a_timeout_is_the_tools_and_is_kept():
    cache: dict = {}
    action = Counter(TimedOut("ctr run timed out", step="ctr run", answer="still running after 3 s"))
    first, second = (outcome_of(cached_step(cache, "k", action).get) for _ in range(2))
    assert isinstance(second, ImplementationFailure) and second.answer == "still running after 3 s"
    assert decide(first).outcome == decide(second).outcome == "failed" and action.calls == 1


def test_unsupported_is_a_skip_in_every_cell():
    cache: dict = {}
    action = Counter(Unsupported("docker manifest (20.10) writes Docker manifest lists only"))
    for _ in range(2):
        exc = outcome_of(cached_step(cache, "k", action).get)
        assert isinstance(exc, pytest.skip.Exception) and "manifest lists only" in str(exc.msg)
    assert action.calls == 1


def test_the_steps_commands_land_in_each_cells_repro():
    cache: dict = {}
    step = cached_step(cache, "k", Counter())
    for _ in range(2):
        evidence.begin()
        step.get()
        assert evidence.current().repro == ["podman push call-1"]


# --- a harness fault is not kept: an error where it happened, the step runs again -----------------


def _wrapped_engine_error() -> EngineError:
    try:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError:
            raise EngineError("docker pull: reading the progress stream failed")  # noqa: B904
    except EngineError as exc:
        return exc


HARNESS_FAULTS = [
    HarnessError("re-tagging the index as t gave sha256:b, not sha256:a"),
    ServiceUnavailable("registry 127.0.0.1:5000", "Connection refused"),
    httpx.ConnectError("[Errno 111] Connection refused"),
    ConnectionRefusedError(111, "Connection refused"),
    KeyError("aux"),
    _wrapped_engine_error(),
]


@pytest.mark.parametrize("fault", HARNESS_FAULTS, ids=lambda e: type(e).__name__)
def test_a_harness_fault_errors_the_cell_that_hit_it_and_the_next_cell_retries(fault):
    cache: dict = {}
    action = Counter(fault)
    evidence.begin()
    with pytest.raises(type(fault)) as raised:
        cached_step(cache, "k", action)
    assert decide(raised.value).outcome == "error"
    assert evidence.current().repro == ["podman push call-1"], "the cell shows what the step ran before it broke"
    assert "k" not in cache
    assert cached_step(cache, "k", action).get() == action.value and action.calls == 2


@pytest.mark.parametrize("fault", HARNESS_FAULTS[:3], ids=lambda e: type(e).__name__)
def test_a_shared_step_writes_no_record_for_a_harness_fault(tmp_path, fault):
    action = Counter(fault)
    with pytest.raises(type(fault)):
        shared_step(tmp_path, "podman-oci-gzip", action, lambda v: v, lambda v: v)
    assert not (tmp_path / "podman-oci-gzip.json").exists()
    # The lock is free again and the next worker runs the step itself.
    assert shared_step(tmp_path, "podman-oci-gzip", action, lambda v: v, lambda v: v).get() == action.value
    assert action.calls == 2


def test_a_shared_refusal_is_replayed_by_another_worker(tmp_path):
    shared_step(tmp_path, "podman-oci-zstd", Counter(refusal("podman push", "exit 125: Error: blob upload")), str, str)
    # Another worker: a process of its own, reading the record the first one wrote.
    script = (
        "import sys, json\n"
        "from ocimatrix.plugin.shared_steps import shared_step\n"
        "from ocimatrix.errors import ImplementationFailure\n"
        "def never(): raise SystemExit('the step ran again')\n"
        f"step = shared_step(__import__('pathlib').Path({str(tmp_path)!r}), 'podman-oci-zstd', never, str, str)\n"
        "try:\n    step.get()\nexcept ImplementationFailure as exc:\n"
        "    print(json.dumps([exc.step, exc.answer, str(exc)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    step, answer, message = json.loads(out.stdout)
    assert (step, answer) == ("podman push", "exit 125: Error: blob upload")
    assert "podman push" in message
    record = json.loads((tmp_path / "podman-oci-zstd.json").read_text())
    assert record["refusal"]["answer"] == "exit 125: Error: blob upload"


# --- the service watch: a refusal while a service the step needs died is the harness's ------------


@pytest.fixture
def supervised(tmp_path, monkeypatch) -> Iterator[ServiceBook]:
    """A run's service book with one real service: an HTTP server standing in for the registry."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    url = f"http://127.0.0.1:{port}/"
    daemon = Daemon("registry", argv, tmp_path / "registry.log")
    daemon.start(lambda: httpx.get(url, timeout=1).status_code == 200)
    book = ServiceBook(tmp_path / "state")
    book.add("registry", daemon, Probe("http", url))
    monkeypatch.setattr(cell_watch, "_book", lambda: book)
    try:
        yield book
    finally:
        daemon.stop()
        pid = book.pid("registry")
        if is_running(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_refusal_while_the_registry_died_is_a_harness_fault_and_the_step_is_retried(supervised):
    book = supervised
    first_pid = book.pid("registry")

    def push_while_registry_dies():
        os.kill(book.pid("registry"), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while is_running(first_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        # What podman says when the registry is gone: its own words, but no answer of the builder's.
        raise EngineError(
            "podman push failed (exit 125): dial tcp 127.0.0.1:5000: connect: connection refused",
            step="podman push",
            answer="exit 125: Error: trying to reuse blob ... dial tcp 127.0.0.1:5000: connect: connection refused",
        )

    cache: dict = {}
    with pytest.raises(HarnessError) as raised:
        cached_step(cache, "podman-oci-gzip", push_while_registry_dies, services=["registry"])
    assert "registry stopped answering" in str(raised.value) and "podman push" in str(raised.value)
    assert isinstance(raised.value.__cause__, EngineError)
    assert decide(raised.value).outcome == "error"
    assert book.restart_count("registry") == 1 and book.health("registry").problem is None
    assert "podman-oci-gzip" not in cache
    assert cached_step(cache, "podman-oci-gzip", lambda: "pushed", services=["registry"]).get() == "pushed"


def test_a_refusal_while_the_services_answer_is_the_implementations(supervised):
    cache: dict = {}
    exc = outcome_of(cached_step(cache, "k", Counter(refusal()), services=["registry"]).get)
    assert isinstance(exc, ImplementationFailure) and supervised.restart_count("registry") == 0


def test_a_refusal_while_another_worker_restarted_the_service_is_a_harness_fault(supervised):
    book = supervised

    def refused_meanwhile():
        os.kill(book.pid("registry"), signal.SIGKILL)
        time.sleep(0.2)
        book.revive("registry", "another worker's cell")
        raise refusal("podman push", "exit 125: Error: connection reset by peer")

    with pytest.raises(HarnessError, match="another worker restarted it"):
        cached_step({}, "k", refused_meanwhile, services=["registry"])


# --- a moved tag: the record is not trusted once something else wrote the tag ---------------------


class _Registry(http.server.BaseHTTPRequestHandler):
    tags: dict[str, str] = {}

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        digest = self.tags.get(self.path)
        self.send_response(200 if digest else 404)
        if digest:
            self.send_header("Docker-Content-Digest", digest)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def registry() -> Iterator[tuple[str, dict[str, str]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    _Registry.tags = {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", _Registry.tags
    finally:
        server.shutdown()
        server.server_close()


RECORDED = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


def test_a_tag_that_still_names_the_recorded_digest_passes(registry):
    host, tags = registry
    tags["/v2/ocimatrix/lifecycle/podman-oci-gzip/manifests/bench0"] = RECORDED
    verify_tag(PushedImage(f"{host}/ocimatrix/lifecycle/podman-oci-gzip:bench0", RECORDED, "podman"))


def test_a_moved_tag_names_both_digests_and_blames_no_runner(registry):
    host, tags = registry
    tags["/v2/ocimatrix/lifecycle/podman-oci-gzip/manifests/bench0"] = OTHER
    ref = f"{host}/ocimatrix/lifecycle/podman-oci-gzip:bench0"
    with pytest.raises(HarnessError) as raised:
        verify_tag(PushedImage(ref, RECORDED, "podman"))
    text = str(raised.value)
    assert f"tag {ref} moved: recorded {RECORDED}, now {OTHER}" in text and "something else wrote this tag" in text
    assert decide(raised.value).outcome == "error"


def test_a_deleted_tag_is_a_harness_error(registry):
    host, _ = registry
    with pytest.raises(HarnessError, match="can't be read back"):
        verify_tag(PushedImage(f"{host}/ocimatrix/lifecycle/gone:t", RECORDED, "podman"))


def test_an_unreachable_registry_is_service_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ServiceUnavailable):
        verify_tag(PushedImage(f"127.0.0.1:{port}/ocimatrix/lifecycle/p:t", RECORDED, "podman"))


class _Runner:
    """A runner replaying what one said: the digest it recorded after the pull."""

    key = label = name = "podman"

    def __init__(self, tags: dict[str, str], path: str, moves_to: str | None = None) -> None:
        self.tags, self.path, self.moves_to = tags, path, moves_to
        self.pulls = 0

    def pull(self, ref: str, *, platform: str | None = None) -> None:
        self.pulls += 1
        if self.moves_to:  # something else pushes the tag while this pull runs
            self.tags[self.path] = self.moves_to

    def image_digest(self, ref: str) -> str:
        return self.tags[self.path]

    def resolved_image(self, ref: str, *, platform: str | None = None):
        raise Unsupported("this runner does not say which image of an index it holds")


def test_a_pull_of_a_replayed_record_whose_tag_moved_is_an_error_not_the_runners_fault(registry):
    host, tags = registry
    path = "/v2/ocimatrix/lifecycle/podman-oci-gzip/manifests/bench0"
    tags[path] = OTHER  # the record says RECORDED: another writer re-pushed the tag since
    pushed = Outcome(value=PushedImage(f"{host}/ocimatrix/lifecycle/podman-oci-gzip:bench0", RECORDED, "podman"))
    runner = _Runner(tags, path)
    with pytest.raises(HarnessError, match="moved: recorded") as raised:
        PullStep(runner, pushed, {}).get()  # type: ignore[arg-type]
    assert runner.pulls == 0, "no pull of a tag known to have moved"
    assert decide(raised.value).outcome == "error"


def test_a_tag_moved_during_the_pull_is_an_error(registry):
    host, tags = registry
    path = "/v2/ocimatrix/lifecycle/podman-oci-gzip-2/manifests/t"
    tags[path] = RECORDED
    pushed = Outcome(value=PushedImage(f"{host}/ocimatrix/lifecycle/podman-oci-gzip-2:t", RECORDED, "podman"))
    with pytest.raises(HarnessError, match=f"recorded {RECORDED}, now {OTHER}"):
        PullStep(_Runner(tags, path, moves_to=OTHER), pushed, {}).get()  # type: ignore[arg-type]


def test_a_runner_recording_another_digest_of_an_unmoved_tag_is_its_own_answer(registry):
    host, tags = registry
    path = "/v2/ocimatrix/lifecycle/podman-oci-gzip-3/manifests/t"
    tags[path] = RECORDED

    class Wrong(_Runner):
        def image_digest(self, ref: str) -> str:
            return OTHER

    pushed = Outcome(value=PushedImage(f"{host}/ocimatrix/lifecycle/podman-oci-gzip-3:t", RECORDED, "podman"))
    image = PullStep(Wrong(tags, path), pushed, {}).get()  # type: ignore[arg-type]
    assert (image.digest, image.pushed_digest) == (OTHER, RECORDED)


def test_a_runner_holding_the_pushed_index_beside_its_chosen_manifest_recorded_it(registry):
    """podman keeps an index's digest and the chosen manifest's in RepoDigests, in no telling order: holding
    the pushed one is the pull's answer, another digest alone is not."""
    host, tags = registry
    path = "/v2/ocimatrix/attested/buildx-trixie-oci/manifests/t"
    tags[path] = RECORDED

    class BothDigests(_Runner):
        def image_digest(self, ref: str) -> str:
            return OTHER

        def resolved_image(self, ref: str, *, platform: str | None = None):
            return ResolvedImage(config_digest="sha256:" + "c" * 64, digests=(OTHER, RECORDED))

    pushed = Outcome(value=PushedImage(f"{host}/ocimatrix/attested/buildx-trixie-oci:t", RECORDED, "buildx@trixie"))
    image = PullStep(BothDigests(tags, path), pushed, {}).get()  # type: ignore[arg-type]
    assert (image.digest, image.pushed_digest) == (RECORDED, RECORDED)


# --- the docker zstd expectation is confirmed only by docker's answer to its pull -------------------


@pytest.fixture(scope="module")
def zstd_expectation() -> dict:
    for name in ("default", "nightly"):
        matrix = load_matrix(ROOT / "matrix" / f"{name}.yaml")
        found = [e for e in matrix.expectations if "zstd" in e["reason"] and "Docker 20.10" in e["reason"]]
        assert len(found) == 1 and found[0].get("step"), f"matrix/{name}.yaml: the zstd expectation names its step"
    return found[0]


def test_the_zstd_expectation_is_confirmed_by_dockers_pull_answer(zstd_expectation):
    exc = outcome_of(Outcome(refusal=Refusal.of(refusal())).get)
    assert decide(exc, expected=zstd_expectation).outcome == "xfailed"


@pytest.mark.parametrize(
    "exc",
    [
        # The same words, answered to another step: a push is not the pull the listing names.
        ImplementationFailure("docker push failed", step="docker push", answer=ZSTD_ANSWER),
        # The harness's own sentence carrying the words is no answer at all.
        pytest.fail.Exception("docker pull failed: archive/tar: invalid tar header"),
        AssertionError("archive/tar: invalid tar header"),
        # docker's pull refusing for another reason.
        ImplementationFailure("docker pull failed", step="docker pull", answer="manifest unknown: manifest unknown"),
        # A digest mismatch after a pull that worked.
        ImplementationFailure("digests differ", step="docker image inspect", answer=f"RepoDigests [{OTHER}]"),
    ],
    ids=["push-step", "harness-fail", "bare-assert", "other-pull-error", "digest-mismatch"],
)
def test_a_different_failure_never_confirms_the_zstd_expectation(zstd_expectation, exc):
    assert decide(exc, expected=zstd_expectation).outcome == "failed"


def test_a_registry_gone_during_the_zstd_pull_is_an_error_not_the_known_incompatibility(zstd_expectation):
    fault = ServiceUnavailable("registry 127.0.0.1:5000", "Connection refused")
    assert decide(fault, expected=zstd_expectation).outcome == "error"


# --- a cell that wraps an engine's refusal keeps the answer; a harness fault stays one ----------------


def test_fail_refused_keeps_the_engines_answer():
    with pytest.raises(ImplementationFailure) as raised:
        fail_refused("podman could not run the container", refusal("podman run", "exit 126: permission denied"))
    assert (raised.value.step, raised.value.answer) == ("podman run", "exit 126: permission denied")


def test_fail_refused_raises_a_harness_fault_as_itself():
    fault = _wrapped_engine_error()
    with pytest.raises(EngineError) as raised:
        fail_refused("docker could not run the container", fault)
    assert raised.value is fault and decide(raised.value).outcome == "error"


# --- the lifecycle bench never writes a tag of the harness's ------------------------------------------


def test_the_bench_shell_replay_pushes_to_tags_of_its_own(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import bench_lifecycle

    harness = "127.0.0.1:5000/ocimatrix/lifecycle/podman-oci-gzip"
    repro = [
        f"podman --root /s/root build --format oci -t {harness}:bench0 /s/build-x/context",
        f"podman --root /s/root push --tls-verify=false {harness}:bench0 docker://{harness}:bench0",
        f"skopeo copy docker://{harness}:bench0 docker://{harness}-skopeo-copy-gw0:bench0",
        f"podman --root /s/root run --rm --network none --pull never --runtime /usr/bin/runc {harness}:bench0",
    ]
    lines = bench_lifecycle.replayable(repro, tmp_path / "ctx", 3)
    assert not [line for line in lines if "/ocimatrix/lifecycle/" in line]
    assert all("/ocimatrix-bench/shell-3/podman-oci-gzip" in line for line in lines)
    assert lines[0].endswith(str(tmp_path / "ctx"))
    with pytest.raises(SystemExit, match="no /ocimatrix/lifecycle/ image"):
        bench_lifecycle.replayable(["podman run other:tag"], tmp_path / "ctx", 0)
