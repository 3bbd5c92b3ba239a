"""The CRI suite's newer checks (issue 23) fed CRI-O 1.33's answers, replayed by a gRPC server on a unix
socket and read by the suite's own test functions through the real client: so what those checks say
of CRI-O stays right without a CRI-O in CI.

No CRI-O ran here. Each answer is what CRI-O 1.33's code (cri-o/cri-o, tag v1.33.9) gives:
- ExecSync past its timeout: conmon kills the command's process group with SIGKILL and CRI-O answers
  success with exit code -1 and stderr "command timed out" (internal/oci/runtime_oci.go; conmon's
  TIMED_OUT_MESSAGE), never DEADLINE_EXCEEDED, so the kubelet's probe sees a failed command.
- ImageStatus: the id is the bare hex of the config digest, spec carries only the image's annotations;
  an id, a tag or a digest all resolve to the same stored image (server/image_status.go).
- The config's User: cut at the first ":", a number is the uid, anything else the username
  (getUserFromImage in server/image_status.go).
- RemoveContainer of an unknown id succeeds (truncindex.ErrNotExist), ContainerStatus answers NOT_FOUND
  'could not find container "<id>": container with ID starting with <id> not found: ID does not
  exist', and ListContainers filtered by an unknown id is empty (server/container_*.go).
- The streaming server: the kubelet's own package, on stream_address "127.0.0.1" and stream_port "0"
  (crio.conf's defaults): it listens there and hands out http://127.0.0.1:<the port it got>/exec/<token>.
"""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import grpc
import pytest
from suite_modules import load_suite_module

from ocimatrix import evidence
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.cri.gen import api_pb2_grpc as api_grpc
from ocimatrix.cri.kubelet import KubeletCri
from ocimatrix.images.pause import PushedImage
from ocimatrix.plugin.verdicts import decide
from ocimatrix.resources import SUITES_DIR

REGISTRY = "127.0.0.1:41234"
CELL = {"engine": "cri-o", "runtime": "crun"}
TIMED_OUT_MESSAGE = b"command timed out"  # conmon's, passed on by CRI-O as the command's stderr


def _suite_module(name: str) -> ModuleType:
    return load_suite_module(f"cri_suite_{name}", SUITES_DIR / "cri" / f"{name}.py")


images_suite = _suite_module("test_cri_images")
containers_suite = _suite_module("test_cri_containers")
streaming_suite = _suite_module("test_cri_streaming")
cri_probe = sys.modules["cri_probe"]


def _pushed(name: str, config_hex: str, manifest_hex: str, user: str) -> PushedImage:
    repository = f"{REGISTRY}/ocimatrix/cri/{name}"
    return PushedImage(
        tag_ref=f"{repository}:run1-gw0",
        digest_ref=f"{repository}@sha256:{manifest_hex}",
        manifest_digest=f"sha256:{manifest_hex}",
        config_digest=f"sha256:{config_hex}",
        config={"User": user},
    )


PROBE = _pushed("probe", "3c" * 32, "4d" * 32, cri_probe.USER)
USER_IMAGES = {
    form: _pushed(f"user-{form.replace(':', '-')}", f"{n:02x}" * 32, f"{n + 16:02x}" * 32, user)
    for n, (form, (user, _, _)) in enumerate(cri_probe.USER_FORMS.items(), start=1)
}


def crio_user(user: str) -> tuple[int | None, str]:
    """CRI-O's reading of the config's User: the part before ":", a uid when it is a number."""
    name = user.split(":")[0]
    return (int(name), "") if name.isdigit() else (None, name)


def crio_image(image: PushedImage) -> api.Image:
    uid, username = crio_user(image.config["User"])
    return api.Image(
        id=image.config_digest.removeprefix("sha256:"),
        repo_tags=[image.tag_ref],
        repo_digests=[image.digest_ref],
        size=1_234_567,
        spec=api.ImageSpec(annotations={"org.opencontainers.image.base.name": ""}),
        uid=api.Int64Value(value=uid) if uid is not None else None,
        username=username,
    )


@dataclass
class RecordedCrio(api_grpc.RuntimeServiceServicer, api_grpc.ImageServiceServicer):
    """CRI-O 1.33's answers to the calls the newer checks make."""

    images: list[PushedImage] = field(default_factory=list)
    containers: dict[str, int] = field(default_factory=dict)  # id -> ContainerState
    stream_url: str = ""
    left_running: bytes = b""  # what `ps` shows after a timed-out ExecSync (CRI-O's conmon: nothing)
    # Mutations of the recorded answers, for the checks' failing side.
    removes: bool = True
    alter_status: Callable[[str, api.Image], None] | None = None
    alter_list: Callable[[list[api.Image]], None] | None = None

    def _find(self, ref: str) -> PushedImage | None:
        return next(
            (i for i in self.images if ref in (i.tag_ref, i.digest_ref, i.config_digest.removeprefix("sha256:"))),
            None,
        )

    def ImageStatus(self, request, context):
        found = self._find(request.image.image)
        image = crio_image(found) if found else None
        if image is not None and self.alter_status:
            self.alter_status(request.image.image, image)
        return api.ImageStatusResponse(image=image)

    def ListImages(self, request, context):
        images = [crio_image(i) for i in self.images]
        if self.alter_list:
            self.alter_list(images)
        return api.ListImagesResponse(images=images)

    def PullImage(self, request, context):
        return api.PullImageResponse(image_ref=request.image.image)

    def RemoveImage(self, request, context):
        return api.RemoveImageResponse()

    def ContainerStatus(self, request, context):
        if request.container_id not in self.containers:
            ident = request.container_id
            context.abort(
                grpc.StatusCode.NOT_FOUND,
                f'could not find container "{ident}": container with ID starting with {ident} not found: '
                "ID does not exist",
            )
        state = self.containers[request.container_id]
        return api.ContainerStatusResponse(status=api.ContainerStatus(id=request.container_id, state=state))

    def ListContainers(self, request, context):
        ids = [i for i in self.containers if not request.filter.id or i == request.filter.id]
        return api.ListContainersResponse(containers=[api.Container(id=i, state=self.containers[i]) for i in ids])

    def StopContainer(self, request, context):
        if request.container_id in self.containers:
            self.containers[request.container_id] = api.CONTAINER_EXITED
        return api.StopContainerResponse()

    def RemoveContainer(self, request, context):
        if self.removes:
            self.containers.pop(request.container_id, None)
        return api.RemoveContainerResponse()

    def ExecSync(self, request, context):
        if list(request.cmd) == containers_suite.TIMED_OUT:
            return api.ExecSyncResponse(exit_code=-1, stderr=TIMED_OUT_MESSAGE)
        if request.cmd[:2] == ["/bin/sh", "-c"] and request.cmd[2].startswith("ps -o args"):
            return api.ExecSyncResponse(exit_code=0, stdout=self.left_running)
        context.abort(grpc.StatusCode.UNIMPLEMENTED, f"no recorded answer to {list(request.cmd)}")

    def Exec(self, request, context):
        return api.ExecResponse(url=self.stream_url)


@dataclass
class RecordedPod:
    """The suite's Pod, reduced to what these checks ask of it: containers CRI-O already holds."""

    crio: RecordedCrio
    id: str = "b7e1" * 16

    def create(self, name: str, image: PushedImage, **overrides: Any) -> str:
        container = f"{len(self.crio.containers) + 1:02d}" * 32
        self.crio.containers[container] = api.CONTAINER_CREATED
        return container

    def start(self, name: str, image: PushedImage, **overrides: Any) -> str:
        container = self.create(name, image)
        self.crio.containers[container] = api.CONTAINER_RUNNING
        return container


class Recorder:
    def __init__(self) -> None:
        self.evidence: dict[str, Any] = {}

    def add(self, key: str, value: Any) -> None:
        self.evidence[key] = value


@pytest.fixture
def crio() -> Iterator[tuple[RecordedCrio, KubeletCri]]:
    recorded = RecordedCrio(images=[PROBE, *USER_IMAGES.values()])
    directory = tempfile.mkdtemp(prefix="ocm-crio-", dir="/tmp")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    api_grpc.add_RuntimeServiceServicer_to_server(recorded, server)
    api_grpc.add_ImageServiceServicer_to_server(recorded, server)
    server.add_insecure_port(f"unix://{directory}/crio.sock")
    server.start()
    client = KubeletCri(f"unix://{directory}/crio.sock")
    try:
        with evidence.scoped():
            yield recorded, client
    finally:
        client.close()
        server.stop(None)
        shutil.rmtree(directory, ignore_errors=True)


def _failure(check, *args) -> Any:
    try:
        check(*args)
    except BaseException as exc:  # noqa: BLE001 - the check's failure is under test
        return decide(exc)
    raise AssertionError("the check passed")


# ------------------------------------------------------------------ ExecSync timeout


def test_crio_s_timed_out_exec_sync_passes(crio):
    recorded, cri = crio
    recorder = Recorder()
    containers_suite.test_exec_sync_timeout(CELL, cri, RecordedPod(recorded), PROBE, recorder)
    assert recorder.evidence["timeout_answer"] == {"exit_code": -1, "stderr": "command timed out"}
    assert recorder.evidence["process_after_timeout"] == ""


def test_a_timed_out_command_left_running_fails_with_what_ps_shows(crio):
    recorded, cri = crio
    recorded.left_running = b"/bin/sleep 4321\n"
    verdict = _failure(containers_suite.test_exec_sync_timeout, CELL, cri, RecordedPod(recorded), PROBE, Recorder())
    assert verdict.outcome == "failed"
    assert verdict.answer.step == "ExecSync of ps after the timed-out ExecSync"
    assert verdict.answer.text == "/bin/sleep 4321"


# ------------------------------------------------------------------ RemoveContainer


@pytest.mark.parametrize("check", ["test_remove_created_container", "test_remove_stopped_container"])
def test_crio_removes_created_and_stopped_containers(crio, check):
    recorded, cri = crio
    getattr(containers_suite, check)(CELL, cri, RecordedPod(recorded), PROBE)
    assert recorded.containers == {}


def test_a_removed_container_still_listed_fails_with_the_list(crio):
    recorded, cri = crio
    recorded.removes = False
    verdict = _failure(containers_suite.test_remove_created_container, CELL, cri, RecordedPod(recorded), PROBE)
    assert verdict.outcome == "failed"
    assert verdict.answer.step == "ListContainers after RemoveContainer of a created container"
    assert verdict.answer.text.endswith("CONTAINER_CREATED")


# ------------------------------------------------------------------ ImageStatus and ListImages


def test_crio_answers_image_status_alike_by_id_tag_and_digest(crio):
    _, cri = crio
    recorder = Recorder()
    images_suite.test_image_status_by_every_reference(CELL, cri, PROBE, recorder)
    assert recorder.evidence["references"] == [
        PROBE.config_digest.removeprefix("sha256:"),
        PROBE.tag_ref,
        PROBE.digest_ref,
    ]


def test_an_answer_that_differs_by_id_fails_with_that_answer(crio):
    recorded, cri = crio

    def by_id_without_tags(ref: str, image: api.Image) -> None:
        if ref == PROBE.config_digest.removeprefix("sha256:"):
            del image.repo_tags[:]

    recorded.alter_status = by_id_without_tags
    verdict = _failure(images_suite.test_image_status_by_every_reference, CELL, cri, PROBE, Recorder())
    assert verdict.outcome == "failed" and verdict.answer.step == "ImageStatus by id"
    assert "repo_tags" not in verdict.answer.text and PROBE.digest_ref in verdict.answer.text


@pytest.mark.parametrize("form", list(cri_probe.USER_FORMS))
def test_crio_reports_each_form_of_the_config_s_user(crio, form):
    _, cri = crio
    recorder = Recorder()
    images_suite.test_image_status_user_forms(CELL, cri, USER_IMAGES, form, recorder)
    _, uid, username = cri_probe.USER_FORMS[form]
    assert recorder.evidence["image_user"]["uid"] == uid and recorder.evidence["image_user"]["username"] == username


def test_a_uid_of_0_for_a_named_user_fails(crio, monkeypatch):
    _, cri = crio
    monkeypatch.setattr(sys.modules[__name__], "crio_user", lambda user: (0, user.split(":")[0]))
    verdict = _failure(images_suite.test_image_status_user_forms, CELL, cri, USER_IMAGES, "username", Recorder())
    assert verdict.outcome == "failed" and verdict.answer.text == "uid: 0; username: 'ocitest'"


def test_crio_lists_each_pulled_image_with_its_own_tag(crio):
    _, cri = crio
    images_suite.test_list_images_lists_each_pulled_image(CELL, cri, USER_IMAGES)


def test_an_image_listed_with_another_s_tag_fails_with_the_list(crio):
    recorded, cri = crio
    recorded.alter_list = lambda images: images[2].repo_tags.append(USER_IMAGES["uid"].tag_ref)
    verdict = _failure(images_suite.test_list_images_lists_each_pulled_image, CELL, cri, USER_IMAGES)
    assert verdict.outcome == "failed" and verdict.answer.step == "ListImages"
    assert verdict.answer.text.startswith(f"{len(recorded.images)} images: ")


# ------------------------------------------------------------------ the streaming server


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """Where CRI-O's streaming server listens with crio.conf's stream_address and stream_port."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    yield server
    server.close()


def test_crio_s_streaming_server_is_on_the_loopback_address(crio, listener):
    recorded, cri = crio
    port = listener.getsockname()[1]
    recorded.stream_url = f"http://127.0.0.1:{port}/exec/Rk9vYmFy"
    recorder = Recorder()
    streaming_suite.test_streaming_server_on_loopback_only(CELL, cri, RecordedPod(recorded), PROBE, recorder)
    assert recorder.evidence["streaming_server"]["listening_on"] == ["127.0.0.1"]


def test_an_empty_stream_address_is_a_failure_naming_the_url(crio):
    """stream_address "" makes the kubelet's server listen on every address and name it in the URL."""
    recorded, cri = crio
    recorded.stream_url = "http://[::]:38765/exec/Rk9vYmFy"
    verdict = _failure(
        streaming_suite.test_streaming_server_on_loopback_only, CELL, cri, RecordedPod(recorded), PROBE, Recorder()
    )
    assert verdict.outcome == "failed" and verdict.answer.text.startswith("http://[::]:38765/exec/")
