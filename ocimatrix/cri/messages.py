"""Build CRI requests shaped the way the kubelet sends them.

Runtimes are tested against what the kubelet does, and some check it: CRI-O refuses a pull or a
container whose ImageSpec lacks ``user_specified_image`` when a signature policy is set, and
expects each container to repeat its pod's namespace options. Pods here use the node's network
(there is no CNI network on a test host), which also means they must not set a hostname.

Like the kubelet's (kuberuntime's labels.go), pod labels carry the pod's name, namespace and uid,
container labels those and the container's name, container annotations the restart count. The
log layout is the kubelet's: ``<log_directory>/<container>/<attempt>.log``.

Security contexts are the kubelet's (``ocimatrix/cri/security_context.py``): a pod that asks nothing
still gets the defaults the kubelet sends (seccomp RuntimeDefault for the sandbox, Unconfined for
its containers, the default masked and read-only paths); ``pod_security`` and ``security`` carry
what a Pod spec asks.

``linux.cgroup_parent`` is left empty (the runtime's default parent) on purpose: the kubelet puts
each pod under a cgroup it creates and removes itself (``kubepods/<qos>/pod<uid>`` with the cgroupfs
driver, ``kubepods-<qos>-pod<uid>.slice`` with systemd), and which spelling a runtime accepts
depends on its cgroup driver; a harness that named a parent would have to own that cgroup too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf import text_format

from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.cri.security_context import (
    ContainerSecurity,
    Node,
    PodSecurity,
    container_security_context,
    namespace_options,
    sandbox_security_context,
)
from ocimatrix.errors import UsageError

# The kubelet's label and annotation keys (k8s.io/kubelet/pkg/types, kuberuntime/labels.go).
POD_NAME_LABEL = "io.kubernetes.pod.name"
POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
POD_UID_LABEL = "io.kubernetes.pod.uid"
CONTAINER_NAME_LABEL = "io.kubernetes.container.name"
RESTART_COUNT_ANNOTATION = "io.kubernetes.container.restartCount"


def kubelet_pod_labels(metadata: api.PodSandboxMetadata) -> dict[str, str]:
    return {
        POD_NAME_LABEL: metadata.name,
        POD_NAMESPACE_LABEL: metadata.namespace,
        POD_UID_LABEL: metadata.uid,
    }


def pod_namespace_options() -> api.NamespaceOption:
    """Node network, pod-wide IPC, a PID namespace per container: the kubelet's choice for a
    ``hostNetwork: true`` pod that does not share its process namespace."""
    return namespace_options(PodSecurity())


def pod_sandbox_config(
    name: str,
    namespace: str,
    uid: str,
    log_directory: str,
    *,
    attempt: int = 0,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    cgroup_parent: str = "",
    security: PodSecurity | None = None,
    privileged: bool = False,
) -> api.PodSandboxConfig:
    """``privileged``: one of the pod's containers will be (the kubelet then marks the sandbox so)."""
    metadata = api.PodSandboxMetadata(name=name, uid=uid, namespace=namespace, attempt=attempt)
    return api.PodSandboxConfig(
        metadata=metadata,
        # hostname stays empty: with the node's network namespace the pod has the node's name.
        log_directory=log_directory,
        labels={**(labels or {}), **kubelet_pod_labels(metadata)},
        annotations=dict(annotations or {}),
        linux=api.LinuxPodSandboxConfig(
            cgroup_parent=cgroup_parent,
            security_context=sandbox_security_context(security or PodSecurity(), privileged=privileged),
        ),
    )


def image_spec(image: str, user_specified_image: str | None = None) -> api.ImageSpec:
    """``image`` is what the runtime should use (a reference or the id PullImage returned);
    ``user_specified_image`` what the user wrote, defaulting to ``image``."""
    return api.ImageSpec(image=image, user_specified_image=user_specified_image or image)


def basic_auth(username: str, password: str, server_address: str = "") -> api.AuthConfig:
    """Registry credentials as the kubelet passes them from an image pull secret."""
    return api.AuthConfig(username=username, password=password, server_address=server_address)


def _user_fields(user: str | int | None) -> dict[str, object]:
    """Map a Docker-style ``--user`` (uid, uid:gid, or name) onto the security context fields."""
    if user is None or user == "":
        return {}
    if isinstance(user, int):
        return {"run_as_user": api.Int64Value(value=user)}
    name, _, group = user.partition(":")
    fields: dict[str, object] = {}
    if name.isdigit():
        fields["run_as_user"] = api.Int64Value(value=int(name))
    else:
        fields["run_as_username"] = name
    if group:
        if not group.isdigit():
            # CRI has no field for a group name; a silent drop would run with the wrong group.
            raise UsageError(f"user {user!r}: CRI accepts only a numeric group id after ':'")
        fields["run_as_group"] = api.Int64Value(value=int(group))
    return fields


def container_config(
    pod_config: api.PodSandboxConfig,
    name: str,
    image: str,
    *,
    image_ref: str | None = None,
    command: Sequence[str] | None = None,
    args: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    working_dir: str = "",
    user: str | int | None = None,
    attempt: int = 0,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    mounts: Sequence[api.Mount] = (),
    tty: bool = False,
    stdin: bool = False,
    stdin_once: bool = False,
    security: ContainerSecurity | None = None,
    pod_security: PodSecurity | None = None,
    node: Node | None = None,
) -> api.ContainerConfig:
    """``image`` is the reference the user asked for; ``image_ref`` the id PullImage returned
    for it, which the kubelet puts in ImageSpec.image (the reference when not given).

    ``security`` is the container's securityContext, ``pod_security`` its pod's (the one its
    sandbox was made from), ``node`` the kubelet's own settings; ``user`` (Docker's ``--user``)
    sets run-as-user and group over them, as a container's runAsUser/runAsGroup would."""
    security_context = container_security_context(
        pod_security or PodSecurity(), security or ContainerSecurity(), node or Node()
    )
    # The kubelet computes both from one pod: the container repeats its sandbox's namespaces.
    security_context.namespace_options.CopyFrom(pod_config.linux.security_context.namespace_options)
    for field, value in _user_fields(user).items():
        if field == "run_as_username":
            security_context.ClearField("run_as_user")
            security_context.run_as_username = str(value)
        else:
            getattr(security_context, field).CopyFrom(value)
    return api.ContainerConfig(
        metadata=api.ContainerMetadata(name=name, attempt=attempt),
        image=image_spec(image_ref or image, image),
        command=list(command or ()),
        args=list(args or ()),
        working_dir=working_dir,
        envs=[api.KeyValue(key=key, value=value) for key, value in (env or {}).items()],
        mounts=list(mounts),
        labels={
            **(labels or {}),
            **kubelet_pod_labels(pod_config.metadata),
            CONTAINER_NAME_LABEL: name,
        },
        annotations={**(annotations or {}), RESTART_COUNT_ANNOTATION: str(attempt)},
        # Relative to the pod's log_directory, named like the kubelet's <container>/<attempt>.log.
        log_path=container_log_path(name, attempt),
        tty=tty,
        stdin=stdin,
        # The kubelet's stdinOnce: the runtime closes the container's stdin when the first attach ends.
        stdin_once=stdin_once,
        linux=api.LinuxContainerConfig(security_context=security_context),
    )


def container_log_path(name: str, attempt: int = 0) -> str:
    return f"{name}/{attempt}.log"


def shown(message: Any) -> str:
    """A runtime's answer (any protobuf message) as one line of text, the way a check keeps it."""
    return (
        text_format.MessageToString(message, as_one_line=True) or f"{type(message).__name__} {{}} (every field unset)"
    )
