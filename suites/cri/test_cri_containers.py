"""Containers in a pod: create, start, status, ExecSync, logs, stop with a grace period, remove."""

from __future__ import annotations

import time

import grpc
import pytest
from cri_probe import SERVE

from ocimatrix.cri import logs
from ocimatrix.cri.client import CriError
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.cri.image_ids import digest_or_none
from ocimatrix.cri.verdicts import judge_map, refused
from ocimatrix.errors import fail_with
from ocimatrix.specs import spec

AXES = ("engine", "runtime")


def _state(value: int) -> str:
    return api.ContainerState.Name(value)


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/CreateContainer, StartContainer, ContainerStatus")
def test_container_create_start_status(cell, cri, pod, probe, recorder):
    labels, annotations = {"io.ocimatrix.role": "server"}, {"io.ocimatrix.note": "kept as given"}
    config = pod.container_config("server", probe, command=SERVE, labels=labels, annotations=annotations)
    container = pod.create_config(config)
    created = cri.container_status(container)
    assert created.state == api.CONTAINER_CREATED, f"a created container is {_state(created.state)}"
    assert created.created_at > 0 and created.started_at == 0, (
        f"before StartContainer: created_at {created.created_at}, started_at {created.started_at}"
    )
    assert (created.metadata.name, created.metadata.attempt) == ("server", 0), created.metadata
    # As critest: what the container was given must come back; a runtime may add entries of its own.
    verdicts = [
        judge_map("ContainerStatus.labels", config.labels, created.labels),
        judge_map("ContainerStatus.annotations", config.annotations, created.annotations),
    ]
    recorder.add("container_metadata_maps", {v.what: v.evidence() for v in verdicts})
    problems = [v.problem for v in verdicts if v.problem]
    assert not problems, "; ".join(problems)
    expected_log = str(pod.log_dir / "server" / "0.log")
    assert created.log_path == expected_log, f"log_path {created.log_path!r}, expected {expected_log!r}"

    cri.start_container(container)
    running = cri.container_status(container)
    assert running.state == api.CONTAINER_RUNNING, f"a started container is {_state(running.state)}"
    assert running.started_at >= running.created_at > 0, (running.created_at, running.started_at)
    assert running.finished_at == 0, f"a running container has finished_at {running.finished_at}"
    # The CRI asks for the digested reference of the image the container runs.
    image_ref = running.image_ref
    assert image_ref == probe.digest_ref or digest_or_none(image_ref) == probe.config_digest, (
        f"ContainerStatus image_ref {running.image_ref!r}; the image is {probe.digest_ref}"
    )
    assert container in {c.id for c in cri.list_containers(pod_id=pod.id, state=api.CONTAINER_RUNNING)}


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/ContainerStatus (exit code and timestamps of an exited container)")
def test_exited_container_status(cell, cri, pod, probe):
    status, _ = pod.run_to_exit("exits", probe, command=["/bin/sh", "-c", "sleep 0.2; exit 7"])
    assert status.exit_code == 7, f"the process exited 7, ContainerStatus says {status.exit_code}"
    assert status.finished_at > 0, "an exited container has no finished_at"
    assert status.finished_at >= status.started_at > 0, (
        f"finished_at {status.finished_at} precedes started_at {status.started_at}"
    )
    assert status.finished_at - status.started_at >= 150_000_000, (
        f"the process slept 0.2 s but ran {(status.finished_at - status.started_at) / 1e9:.3f} s by its timestamps"
    )


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/ExecSync (output and exit code)")
def test_exec_sync(cell, cri, pod, probe):
    container = pod.start("server", probe, command=SERVE)
    result = cri.exec_sync(container, ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10)
    assert result.exit_code == 3, f"the command exited 3, ExecSync says {result.exit_code}"
    assert result.stdout == b"out\n", f"ExecSync stdout {result.stdout!r}"
    assert result.stderr == b"err\n", f"ExecSync stderr {result.stderr!r}"
    ok = cri.exec_sync(container, ["/bin/true"], timeout=10)
    assert (ok.exit_code, ok.stdout, ok.stderr) == (0, b"", b""), ok


# A command line nothing else in the container runs (its own loop sleeps 1 s at a time).
TIMED_OUT = ["/bin/sleep", "4321"]


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/ExecSync (timeout: the call ends, and so does the process)")
def test_exec_sync_timeout(cell, cri, pod, probe, recorder):
    container = pod.start("server", probe, command=SERVE)
    started = time.monotonic()
    try:
        result = cri.exec_sync(container, TIMED_OUT, timeout=1)
    except CriError as exc:
        # containerd: the call fails with DEADLINE_EXCEEDED; the kubelet reads that as a probe timeout.
        recorder.add("timeout_answer", str(exc))
        if exc.code != grpc.StatusCode.DEADLINE_EXCEEDED or exc.timed_out:
            raise refused("ExecSync past its 1 s timeout", "ExecSync of a command outliving its timeout", exc) from exc
    else:
        recorder.add("timeout_answer", {"exit_code": result.exit_code, "stderr": result.stderr.decode()})
        assert result.exit_code != 0, "a command cut off by its timeout reported success"
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"ExecSync with timeout 1 s returned after {elapsed:.1f} s"
    # As critest: once the call has returned, the command it timed out on is no longer running.
    line = " ".join(TIMED_OUT)
    left = cri.exec_sync(container, ["/bin/sh", "-c", f"ps -o args | grep -x '{line}' || true"], timeout=10)
    recorder.add("process_after_timeout", left.stdout.decode(errors="replace"))
    if left.stdout.strip() or left.stderr.strip():
        fail_with(
            f"ExecSync returned on its 1 s timeout but {line!r} still runs in the container",
            step="ExecSync of ps after the timed-out ExecSync",
            answer=(left.stdout + left.stderr).decode(errors="replace").strip(),
        )


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "CRI container log format (<RFC3339Nano> <stream> <P|F> <content>) at ContainerConfig.log_path")
def test_logs_in_cri_format(cell, cri, pod, probe):
    script = "echo line one; echo to stderr >&2; printf 'no newline at the end'"
    status, _ = pod.run_to_exit("logger", probe, command=["/bin/sh", "-c", script])
    assert status.exit_code == 0, status
    path = pod.log_dir / "logger" / "0.log"
    assert status.log_path == str(path), f"log_path {status.log_path}, expected {path}"
    raw = path.read_text()
    parsed = [logs.parse_line(line, f"{path}:{n}") for n, line in enumerate(raw.splitlines(), 1)]
    streams = [(line.stream, line.content, line.partial) for line in parsed]
    assert ("stdout", "line one", False) in streams, streams
    assert ("stderr", "to stderr", False) in streams, streams
    # Output that ends without a newline is still written, as a line of its own (P or F tag).
    assert any(s == "stdout" and c == "no newline at the end" for s, c, _ in streams), streams
    stamps = [line.time_ns for line in parsed]
    assert all(stamp >= status.created_at for stamp in stamps), "a log line is stamped before the container existed"


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/StopContainer (SIGTERM, then the process exits within the grace period)")
def test_stop_container_graceful(cell, cri, pod, probe):
    container = pod.start("server", probe, command=SERVE)
    time.sleep(0.3)  # let the shell install its trap
    started = time.monotonic()
    cri.stop_container(container, timeout=10)
    elapsed = time.monotonic() - started
    status = cri.container_status(container)
    assert status.state == api.CONTAINER_EXITED, f"after StopContainer the container is {_state(status.state)}"
    assert status.exit_code == 0, f"the process exits 0 on SIGTERM, ContainerStatus says {status.exit_code}"
    assert elapsed < 5, f"a process that exits on SIGTERM took {elapsed:.1f} s to stop (grace period 10 s)"
    assert "got TERM" in cri.container_log(container).stdout, "the process never saw SIGTERM"


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/StopContainer (timeout: killed once the grace period is over)")
def test_stop_container_kills_after_timeout(cell, cri, pod, probe):
    ignore_term = ["/bin/sh", "-c", "trap '' TERM; while :; do sleep 1; done"]
    container = pod.start("stubborn", probe, command=ignore_term)
    time.sleep(0.3)
    started = time.monotonic()
    cri.stop_container(container, timeout=1)
    elapsed = time.monotonic() - started
    status = cri.container_status(container)
    assert status.state == api.CONTAINER_EXITED, f"after StopContainer the container is {_state(status.state)}"
    assert status.exit_code == 137, f"killed by SIGKILL means exit code 137, ContainerStatus says {status.exit_code}"
    assert 0.9 <= elapsed < 6, f"a process ignoring SIGTERM was stopped after {elapsed:.1f} s, grace period 1 s"


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/StopContainer (idempotent: already stopped)")
def test_stop_container_twice(cell, cri, pod, probe):
    container = pod.start("server", probe, command=SERVE)
    cri.stop_container(container, timeout=0)
    cri.stop_container(container, timeout=0)  # must not fail: the container has already been stopped
    assert cri.container_status(container).state == api.CONTAINER_EXITED


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/StopContainer (idempotent: a container already removed)")
def test_stop_container_after_remove(cell, cri, pod, probe):
    container = pod.start("server", probe, command=SERVE)
    cri.stop_container(container, timeout=0)
    cri.remove_container(container)
    try:
        cri.stop_container(container, timeout=0)
    except CriError as exc:
        raise refused(
            "StopContainer after remove",
            "StopContainer of a container already stopped and removed failed; the CRI calls StopContainer "
            "idempotent, and the kubelet may stop a container again after it is gone",
            exc,
        ) from exc


def _check_removed(cri, container: str, state: str) -> None:
    """As critest, ListContainers by id no longer finds it; and ContainerStatus answers NOT_FOUND."""
    listed = cri.list_containers(container_id=container)
    if container in {c.id for c in listed}:
        fail_with(
            f"ListContainers by id still lists a {state} container after RemoveContainer",
            step=f"ListContainers after RemoveContainer of a {state} container",
            answer="; ".join(f"{c.id} {_state(c.state)}" for c in listed),
        )
    with pytest.raises(CriError) as caught:
        cri.container_status(container)
    if caught.value.code != grpc.StatusCode.NOT_FOUND:
        raise refused(
            "ContainerStatus after remove", "ContainerStatus of a removed container is not NOT_FOUND", caught.value
        )
    cri.remove_container(container)  # must not fail: the container has already been removed


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/RemoveContainer (a running one is removed forcibly; again: idempotent)")
def test_remove_container(cell, cri, pod, probe):
    container = pod.start("server", probe, command=SERVE)
    cri.remove_container(container)
    _check_removed(cri, container, "running")


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/RemoveContainer (a created container, never started)")
def test_remove_created_container(cell, cri, pod, probe):
    container = pod.create("created", probe, command=SERVE)
    cri.remove_container(container)
    _check_removed(cri, container, "created")


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/RemoveContainer (a stopped container)")
def test_remove_stopped_container(cell, cri, pod, probe):
    container = pod.start("server", probe, command=SERVE)
    cri.stop_container(container, timeout=0)
    state = cri.container_status(container).state
    if state != api.CONTAINER_EXITED:
        fail_with(
            f"after StopContainer the container is {_state(state)}",
            step="ContainerStatus after StopContainer",
            answer=_state(state),
        )
    cri.remove_container(container)
    _check_removed(cri, container, "stopped")


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/ListContainers (filters: id, pod, state, label selector)")
def test_list_containers_filters(cell, cri, pod, probe):
    running = pod.start("running", probe, command=SERVE, labels={"io.ocimatrix.role": "running"})
    created = pod.create("created", probe, command=SERVE, labels={"io.ocimatrix.role": "created"})
    assert {c.id for c in cri.list_containers(pod_id=pod.id)} == {running, created}
    assert [c.id for c in cri.list_containers(container_id=created)] == [created]
    assert {c.id for c in cri.list_containers(pod_id=pod.id, state=api.CONTAINER_RUNNING)} == {running}
    assert {c.id for c in cri.list_containers(pod_id=pod.id, state=api.CONTAINER_CREATED)} == {created}
    by_label = {c.id for c in cri.list_containers(labels={"io.ocimatrix.role": "created"})}
    assert by_label == {created}, f"label selector io.ocimatrix.role=created returned {by_label}"
    listed = next(c for c in cri.list_containers(container_id=running))
    assert listed.pod_sandbox_id == pod.id and listed.metadata.name == "running", listed
