"""Requests are shaped like the kubelet's: node network, no hostname, namespaces repeated per
container, user_specified_image on every ImageSpec."""

import pytest

from ocimatrix.cri import messages
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.errors import UsageError

REF = "127.0.0.1:5000/ocimatrix/busybox:1"
IMAGE_ID = "sha256:" + "ab" * 32


@pytest.fixture
def pod() -> api.PodSandboxConfig:
    return messages.pod_sandbox_config("web", "team", "uid-1", "/logs/team_web_uid-1", labels={"a": "b"})


def test_pod_uses_node_network_without_hostname(pod):
    assert pod.metadata == api.PodSandboxMetadata(name="web", namespace="team", uid="uid-1", attempt=0)
    assert pod.hostname == ""
    assert pod.log_directory == "/logs/team_web_uid-1"
    assert dict(pod.labels) == {
        "a": "b",
        "io.kubernetes.pod.name": "web",
        "io.kubernetes.pod.namespace": "team",
        "io.kubernetes.pod.uid": "uid-1",
    }, "the kubelet labels every pod with its name, namespace and uid"
    options = pod.linux.security_context.namespace_options
    assert (options.network, options.pid, options.ipc) == (api.NODE, api.CONTAINER, api.POD)


def test_container_repeats_pod_namespace_options(pod):
    pod.linux.security_context.namespace_options.ipc = api.NODE  # whatever the pod has, the container gets
    config = messages.container_config(pod, "app", REF)
    assert config.linux.security_context.namespace_options == pod.linux.security_context.namespace_options
    # A copy, not a shared message: changing the container's must not change the pod's.
    config.linux.security_context.namespace_options.pid = api.POD
    assert pod.linux.security_context.namespace_options.pid == api.CONTAINER


def test_container_image_spec_like_kubelet(pod):
    pulled = messages.container_config(pod, "app", REF, image_ref=IMAGE_ID)
    assert pulled.image == api.ImageSpec(image=IMAGE_ID, user_specified_image=REF)
    by_ref = messages.container_config(pod, "app", REF)
    assert by_ref.image == api.ImageSpec(image=REF, user_specified_image=REF)


def test_image_spec_for_pulls_sets_user_specified_image():
    assert messages.image_spec(REF).user_specified_image == REF


def test_container_process_fields(pod):
    config = messages.container_config(
        pod,
        "app",
        REF,
        command=["/bin/sh", "-c"],
        args=["exit 42"],
        env={"B": "2", "A": "1"},
        working_dir="/tmp",
        attempt=3,
    )
    assert list(config.command) == ["/bin/sh", "-c"] and list(config.args) == ["exit 42"]
    assert [(kv.key, kv.value) for kv in config.envs] == [("B", "2"), ("A", "1")]  # order kept
    assert config.working_dir == "/tmp"
    assert config.metadata == api.ContainerMetadata(name="app", attempt=3)
    assert config.log_path == "app/3.log"


@pytest.mark.parametrize(
    "user, expected",
    [
        (1000, {"run_as_user": 1000}),
        ("1000", {"run_as_user": 1000}),
        ("1000:2000", {"run_as_user": 1000, "run_as_group": 2000}),
        ("nobody", {"run_as_username": "nobody"}),
        ("nobody:65534", {"run_as_username": "nobody", "run_as_group": 65534}),
        (0, {"run_as_user": 0}),
    ],
)
def test_user_maps_to_security_context(pod, user, expected):
    security = messages.container_config(pod, "app", REF, user=user).linux.security_context
    got = {}
    for field in ("run_as_user", "run_as_group"):
        if security.HasField(field):
            got[field] = getattr(security, field).value
    if security.run_as_username:
        got["run_as_username"] = security.run_as_username
    assert got == expected


def test_no_user_leaves_image_default(pod):
    security = messages.container_config(pod, "app", REF).linux.security_context
    assert not security.HasField("run_as_user") and security.run_as_username == ""


def test_group_name_is_refused(pod):
    with pytest.raises(UsageError, match="numeric group id"):
        messages.container_config(pod, "app", REF, user="1000:staff")


def test_basic_auth():
    auth = messages.basic_auth("u", "p", "127.0.0.1:5000")
    assert (auth.username, auth.password, auth.server_address) == ("u", "p", "127.0.0.1:5000")


def test_container_labels_and_annotations_like_kubelet(pod):
    config = messages.container_config(pod, "app", REF, attempt=2, labels={"x": "y"}, annotations={"n": "1"})
    assert dict(config.labels) == {
        "x": "y",
        "io.kubernetes.pod.name": "web",
        "io.kubernetes.pod.namespace": "team",
        "io.kubernetes.pod.uid": "uid-1",
        "io.kubernetes.container.name": "app",
    }
    assert dict(config.annotations) == {"n": "1", "io.kubernetes.container.restartCount": "2"}
    assert config.log_path == "app/2.log"
    assert config.metadata == api.ContainerMetadata(name="app", attempt=2)


def test_a_pod_label_cannot_override_the_kubelet_ones():
    config = messages.pod_sandbox_config("web", "team", "uid-1", "/logs", labels={"io.kubernetes.pod.name": "other"})
    assert config.labels["io.kubernetes.pod.name"] == "web"
