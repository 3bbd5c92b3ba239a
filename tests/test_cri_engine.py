"""CriEngine's own logic: which endpoint it drives, and how a RunSpec becomes a CRI container."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from ocimatrix.cri import messages
from ocimatrix.cri.client import CriError
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.endpoints import Endpoints
from ocimatrix.engines import cri_engine
from ocimatrix.engines.base import RunSpec, Unsupported
from ocimatrix.engines.binding import bind
from ocimatrix.engines.cri_answers import config_from_info, is_unknown_handler, repo_digest_for
from ocimatrix.engines.cri_engine import CriEngine, CrioEngine, container_overrides, resolve_endpoint
from ocimatrix.errors import ServiceUnavailable
from ocimatrix.tools import catalog

EMBEDDED = "unix:///var/tmp/ocimatrix-x/containerd/containerd.sock"
REF = "127.0.0.1:5000/ocimatrix/probe:run1"
DIGEST = "sha256:" + "cd" * 32
OTHER = "sha256:" + "ef" * 32


@pytest.fixture
def no_crio(monkeypatch, tmp_path):
    monkeypatch.setattr(cri_engine, "CRIO_DEFAULT_SOCKET", str(tmp_path / "crio.sock"))
    return tmp_path / "crio.sock"


def test_engines_are_in_the_catalog():
    assert catalog.lookup("containerd-cri", "engine").driver_class() is CriEngine
    assert catalog.lookup("cri-o", "engine").driver_class() is CrioEngine
    assert catalog.lookup("cri-o").capabilities.cri and not catalog.lookup("cri-o").capabilities.platform_choice


# ------------------------------------------------------------------ endpoints


def test_a_named_endpoint_wins_over_the_embedded_one():
    named = "unix:///run/containerd/containerd.sock"
    assert resolve_endpoint("containerd-cri", named, EMBEDDED) == (named, "")


def test_containerd_cri_defaults_to_the_embedded_containerd():
    assert resolve_endpoint("containerd-cri", "", EMBEDDED) == (EMBEDDED, "")


def test_containerd_cri_without_embedded_containerd_says_why():
    endpoint, why = resolve_endpoint("containerd-cri", "", "", "containerd not found")
    assert endpoint == ""
    assert "containerd not found" in why


def test_crio_is_used_only_when_named(no_crio):
    named = "unix:///var/run/crio/crio.sock"
    assert resolve_endpoint("cri-o", named, None) == (named, "")
    endpoint, why = resolve_endpoint("cri-o", "", None)
    assert endpoint == ""
    assert "no CRI-O on this host" in why and "endpoints: {cri-o: unix://" in why


def test_a_crio_socket_on_the_host_is_not_used_unless_named(no_crio):
    no_crio.write_text("")  # stands in for the socket: only its existence is looked at
    endpoint, why = resolve_endpoint("cri-o", "", None)
    assert endpoint == ""
    assert f"a CRI-O socket exists at {no_crio}" in why and "only when the matrix names it" in why


def test_the_driver_takes_its_endpoint_from_its_caller_never_from_the_matrix(monkeypatch, tmp_path):
    matrix = tmp_path / "m.yaml"
    matrix.write_text("axes: {engine: [cri-o], builder: [docker]}\nendpoints: {cri-o: 'unix:///tmp/crio-test.sock'}\n")
    monkeypatch.setenv("OCIMATRIX_MATRIX", str(matrix))
    assert CrioEngine(_endpoints(tmp_path)).endpoint == ""
    bound = bind("cri-o", _endpoints(tmp_path), role="engine", endpoint="unix:///tmp/crio-test.sock")
    assert bound.endpoint == "unix:///tmp/crio-test.sock" and bound.named


def _endpoints(tmp_path: Path, **fields) -> Endpoints:
    return Endpoints(state_dir=str(tmp_path), **fields)


def test_embedded_sandbox_image_failure_is_a_service_fault_not_a_skip(tmp_path, monkeypatch):
    monkeypatch.delenv("OCIMATRIX_MATRIX", raising=False)
    endpoints = _endpoints(tmp_path, cri=EMBEDDED, errors={"cri": "could not push the CRI sandbox image"})
    engine = CriEngine(endpoints)
    assert engine.embedded
    with pytest.raises(ServiceUnavailable, match="cannot run pods: could not push the CRI sandbox image"):
        engine.unavailable()


def test_embedded_containerd_not_installed_skips_but_not_started_is_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv("OCIMATRIX_MATRIX", raising=False)
    absent = CriEngine(_endpoints(tmp_path, absent={"containerd": "containerd is not installed"}))
    assert absent.unavailable() == "no embedded containerd (for its CRI): containerd is not installed"
    broken = CriEngine(_endpoints(tmp_path, errors={"containerd": "exited 1 at start"}))
    with pytest.raises(ServiceUnavailable, match="did not start: exited 1 at start"):
        broken.unavailable()


def test_a_named_endpoint_ignores_the_embedded_sandbox_error(tmp_path, monkeypatch):
    monkeypatch.delenv("OCIMATRIX_MATRIX", raising=False)
    endpoints = _endpoints(tmp_path, cri=EMBEDDED, errors={"cri": "no sandbox image"})
    engine = CriEngine(endpoints, endpoint=f"unix://{tmp_path}/missing.sock")
    assert not engine.embedded
    # Named by the user and not there: the endpoint answers nothing, an error (never a skip), and
    # not the embedded daemon's sandbox error either.
    named = r"missing\.sock \(named in the matrix\) does not answer: no such socket"
    with pytest.raises(ServiceUnavailable, match=named):
        engine.unavailable()


def test_the_embedded_socket_gone_is_an_error_not_a_skip(tmp_path, monkeypatch):
    monkeypatch.delenv("OCIMATRIX_MATRIX", raising=False)
    engine = CriEngine(_endpoints(tmp_path, cri=f"unix://{tmp_path}/containerd.sock"))
    assert engine.embedded
    with pytest.raises(ServiceUnavailable, match=r"\(started by the harness\) does not answer: no such socket"):
        engine.unavailable()


def test_a_version_that_answers_only_errors_is_an_error_not_a_skip(tmp_path, monkeypatch):
    monkeypatch.delenv("OCIMATRIX_MATRIX", raising=False)
    sock = tmp_path / "cri.sock"
    sock.write_text("")  # only its existence is looked at before Version is asked
    engine = CriEngine(_endpoints(tmp_path), endpoint=f"unix://{sock}")

    def timing_out(timeout):
        raise CriError("Version", "", grpc.StatusCode.DEADLINE_EXCEEDED, f"runtime not ready after {timeout:g}s")

    monkeypatch.setattr(engine.client, "wait_ready", timing_out)
    with pytest.raises(ServiceUnavailable, match="named in the matrix.*runtime not ready after 10s") as caught:
        engine.unavailable()
    assert isinstance(caught.value.__cause__, CriError)


def test_crio_unavailable_reason_is_the_skip_reason(tmp_path, monkeypatch, no_crio):
    monkeypatch.delenv("OCIMATRIX_MATRIX", raising=False)
    reason = CrioEngine(_endpoints(tmp_path, cri=EMBEDDED)).unavailable()
    assert reason is not None and reason.startswith("no CRI-O on this host")


def test_pod_logs_live_under_the_state_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("OCIMATRIX_MATRIX", raising=False)
    monkeypatch.setenv("OCIMATRIX_RUN_ID", "run42")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    engine = CriEngine(_endpoints(tmp_path, cri=EMBEDDED))
    first, second = engine.pod_config(), engine.pod_config()
    assert first.metadata.uid != second.metadata.uid and first.metadata.name != second.metadata.name
    log_dir = Path(first.log_directory)
    assert log_dir.parent == tmp_path / "cri" / "pods"
    assert log_dir.name == f"ocimatrix_{first.metadata.name}_{first.metadata.uid}"
    assert dict(first.labels) == {
        "io.ocimatrix.owner": "ocimatrix",
        "io.ocimatrix.run": "run42-gw1",
        "io.kubernetes.pod.name": first.metadata.name,
        "io.kubernetes.pod.namespace": "ocimatrix",
        "io.kubernetes.pod.uid": first.metadata.uid,
    }
    assert first.linux.security_context.namespace_options.network == api.NODE


# ------------------------------------------------------------------ RunSpec -> CRI


def _container(spec: RunSpec) -> api.ContainerConfig:
    pod = messages.pod_sandbox_config("p", "ns", "uid", "/logs")
    return messages.container_config(pod, "main", spec.image, image_ref=DIGEST, **container_overrides(spec))


def test_image_defaults_leave_command_args_and_workdir_empty():
    config = _container(RunSpec(image=REF))
    assert (list(config.command), list(config.args), config.working_dir) == ([], [], "")
    assert not config.linux.security_context.HasField("run_as_user")
    assert config.linux.security_context.run_as_username == ""
    assert config.image == api.ImageSpec(image=DIGEST, user_specified_image=REF)


def test_entrypoint_is_command_and_args_are_args():
    config = _container(RunSpec(image=REF, entrypoint=["/bin/echo", "x"], args=["a", "b"]))
    assert list(config.command) == ["/bin/echo", "x"]
    assert list(config.args) == ["a", "b"]
    only_args = _container(RunSpec(image=REF, args=["one"]))
    assert (list(only_args.command), list(only_args.args)) == ([], ["one"])


def test_an_empty_entrypoint_cannot_be_said_in_the_cri():
    # Docker's --entrypoint "" clears Entrypoint; an empty CRI command means "the image's" instead.
    with pytest.raises(Unsupported, match="cannot clear"):
        container_overrides(RunSpec(image=REF, entrypoint=[]))


def test_env_and_workdir():
    config = _container(RunSpec(image=REF, env={"A": "1", "B": "two words"}, workdir="/tmp"))
    assert [(kv.key, kv.value) for kv in config.envs] == [("A", "1"), ("B", "two words")]
    assert config.working_dir == "/tmp"


@pytest.mark.parametrize(
    ("user", "uid", "username", "gid"),
    [
        ("4321:4322", 4321, "", 4322),
        ("1000", 1000, "", None),
        ("ocitest", None, "ocitest", None),
        ("ocitest:77", None, "ocitest", 77),
    ],
)
def test_user_maps_onto_run_as_fields(user, uid, username, gid):
    context = _container(RunSpec(image=REF, user=user)).linux.security_context
    assert (context.run_as_user.value if context.HasField("run_as_user") else None) == uid
    assert context.run_as_username == username
    assert (context.run_as_group.value if context.HasField("run_as_group") else None) == gid


def test_a_group_name_cannot_be_said_in_the_cri():
    with pytest.raises(Unsupported, match="numeric group id"):
        container_overrides(RunSpec(image=REF, user="ocitest:staff"))


# ------------------------------------------------------------------ what the runtime reports


def test_repo_digest_for_the_references_repository():
    digests = [f"127.0.0.1:5000/other/repo@{OTHER}", f"127.0.0.1:5000/ocimatrix/probe@{DIGEST}"]
    assert repo_digest_for(REF, digests) == DIGEST
    assert repo_digest_for(f"127.0.0.1:5000/ocimatrix/probe@{DIGEST}", digests) == DIGEST
    assert repo_digest_for("127.0.0.1:5000/not/pulled:1", digests) == ""
    assert repo_digest_for("not a reference", digests) == ""


def test_config_from_containerd_verbose_image_status():
    info = {
        "info": {
            "chainID": "sha256:00",
            "imageSpec": {
                "architecture": "amd64",
                "os": "linux",
                "config": {"User": "ocitest", "Labels": {"a": "b"}},
            },
        }
    }
    assert config_from_info(info) == {
        "User": "ocitest",
        "Labels": {"a": "b"},
        "architecture": "amd64",
        "os": "linux",
        "variant": "",
    }
    assert config_from_info({}) is None
    assert config_from_info({"info": "not json"}) is None


def test_unknown_runtime_handler_errors_are_recognised():
    containerd = CriError("RunPodSandbox", "p", None, 'failed to get sandbox runtime: no runtime for "x" is configured')
    crio = CriError("RunPodSandbox", "p", None, "failed to find runtime handler x from runtime list map[]")
    other = CriError("RunPodSandbox", "p", None, "failed to start sandbox container: permission denied")
    assert is_unknown_handler(containerd) and is_unknown_handler(crio)
    assert not is_unknown_handler(other)


class _NoCalls:
    """A CRI client that fails the test on any call: a decision taken before acting makes none."""

    def __getattr__(self, name: str):
        raise AssertionError(f"the engine called {name} before deciding the skip")


def test_runsc_without_its_shim_is_skipped_before_run_pod_sandbox(tmp_path, monkeypatch):
    monkeypatch.delenv("OCIMATRIX_MATRIX", raising=False)
    monkeypatch.setattr("ocimatrix.cri.containerd_config.shutil.which", lambda name: None)
    engine = CriEngine(_endpoints(tmp_path, cri=EMBEDDED))
    assert engine.embedded
    engine._client = _NoCalls()
    pod = engine.pod_config()
    with pytest.raises(Unsupported, match="only through containerd-shim-runsc-v1 .*no runsc runtime handler"):
        engine.run_pod(pod, "runsc")
    with pytest.raises(Unsupported, match="no runsc runtime handler"):
        engine._check_own_handler("runsc@trixie")


def test_runsc_with_its_shim_and_a_named_endpoint_are_left_to_the_runtime(tmp_path, monkeypatch):
    monkeypatch.delenv("OCIMATRIX_MATRIX", raising=False)
    monkeypatch.setattr("ocimatrix.cri.containerd_config.shutil.which", lambda name: f"/usr/bin/{name}")
    CriEngine(_endpoints(tmp_path, cri=EMBEDDED))._check_own_handler("runsc")
    monkeypatch.setattr("ocimatrix.cri.containerd_config.shutil.which", lambda name: None)
    # A containerd the matrix names has a config of its own: only its RunPodSandbox answer can tell.
    CriEngine(_endpoints(tmp_path, cri=EMBEDDED), endpoint=f"unix://{tmp_path}/user.sock")._check_own_handler("runsc")
    CriEngine(_endpoints(tmp_path, cri=EMBEDDED))._check_own_handler("runc")


# ------------------------------------------------------------------ NRI: the socket and the runtime's sharing


def _at_version(engine: CriEngine, version: str, monkeypatch) -> CriEngine:
    monkeypatch.setattr(engine, "capability_version", lambda: version)
    monkeypatch.setattr(engine, "version", lambda: version)
    return engine


def test_containerd_1_6_has_no_nri_and_shares_without_a_lock(tmp_path, monkeypatch):
    engine = _at_version(
        CriEngine(_endpoints(tmp_path, cri=f"unix://{tmp_path}/containerd.sock")), "1.6.20", monkeypatch
    )
    with pytest.raises(Unsupported, match=r"containerd-cri 1\.6\.20 has no NRI"):
        engine.nri_socket()
    with engine.sharing(exclusive=True):
        assert not (tmp_path / "cri" / "use").exists()


def test_the_embedded_containerd_s_nri_socket_is_its_own_and_its_absence_an_error(tmp_path, monkeypatch):
    (tmp_path / "containerd").mkdir()
    engine = CriEngine(_endpoints(tmp_path, cri=f"unix://{tmp_path}/containerd/containerd.sock"))
    engine = _at_version(engine, "1.7.24", monkeypatch)
    with pytest.raises(ServiceUnavailable, match="no socket at .*/containerd/nri.sock, as configured"):
        engine.nri_socket()
    (tmp_path / "containerd" / "nri.sock").write_text("")  # stands in for the socket: only its existence is read
    assert engine.nri_socket() == tmp_path / "containerd" / "nri.sock"


def test_a_named_runtime_without_the_default_nri_socket_is_a_skip(tmp_path, monkeypatch):
    monkeypatch.setattr(cri_engine, "NRI_DEFAULT_SOCKET", tmp_path / "nri.sock")
    engine = _at_version(
        CriEngine(_endpoints(tmp_path), endpoint="unix:///run/containerd/containerd.sock"), "2.1.9", monkeypatch
    )
    with pytest.raises(Unsupported, match="no NRI socket at .*nri.sock"):
        engine.nri_socket()


def test_nri_capable_runtimes_are_used_through_one_lock_per_endpoint(tmp_path, monkeypatch):
    engine = _at_version(
        CriEngine(_endpoints(tmp_path, cri=f"unix://{tmp_path}/containerd.sock")), "1.7.24", monkeypatch
    )
    with engine.sharing(), engine.sharing():  # nested: taken once
        locks = sorted(p.name for p in (tmp_path / "cri" / "use").iterdir())
    assert len(locks) == 2 and locks[0].endswith(".lock") and locks[1].endswith(".lock.turnstile")
