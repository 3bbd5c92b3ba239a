"""The security context the kubelet sends through the CRI, built from what a Pod spec asks.

The kubelet (``pkg/kubelet/kuberuntime``: ``security_context.go``, ``helpers.go``,
``kuberuntime_sandbox.go``; ``pkg/securitycontext/util.go``) turns a Pod's ``securityContext`` and
each container's into the CRI's ``LinuxSandboxSecurityContext`` and ``LinuxContainerSecurityContext``.
What it sends even for a pod that asks nothing is what this module calls the kubelet's defaults:

- the sandbox always gets seccomp ``RuntimeDefault`` (the pause container), whatever the pod asks;
- every container gets the default masked and read-only paths (unless ``procMount: Unmasked``);
- a container's seccomp profile is the container's ask, else the pod's, else ``Unconfined``
  (``RuntimeDefault`` when the node runs the kubelet with ``--seccomp-default``); the field is
  always set, never left empty;
- ``no_new_privs`` only when ``allowPrivilegeEscalation: false`` is asked (unset means false);
- ``readonly_rootfs`` and ``privileged`` as asked; run-as-user and run-as-group of the container,
  else the pod's; supplemental groups are the pod's ``fsGroup`` then its ``supplementalGroups``;
- namespace options from ``hostNetwork``, ``hostPID``, ``hostIPC`` and ``shareProcessNamespace``.

Two things the kubelet does are left out on purpose: it fills ``run_as_user`` / ``run_as_username``
from the image's User when no one asked (here the runtime reads the image config itself, which the
CRI suite's image-config tests check), and it adds the groups of the pod's volumes
(``GetExtraSupplementalGroupsForPod``; the harness mounts no persistent volumes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.errors import UsageError

# pkg/securitycontext/util.go at Kubernetes main (kept there in step with moby's defaults);
# /sys/devices/virtual/powercap joined in 1.31, /proc/asound moved from the read-only list to this one.
DEFAULT_MASKED_PATHS: tuple[str, ...] = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
)
DEFAULT_READONLY_PATHS: tuple[str, ...] = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

SECCOMP_TYPES = ("RuntimeDefault", "Unconfined", "Localhost")
PROC_MOUNT_TYPES = ("Default", "Unmasked")


def _check_choice(field: str, value: str | None, allowed: Sequence[str]) -> None:
    if value is not None and value not in allowed:
        raise UsageError(f"{field}: {value!r} is none of {', '.join(allowed)}")


@dataclass(frozen=True)
class PodSecurity:
    """A Pod spec's ``securityContext`` and the namespace choices beside it. The defaults are a pod
    that asks nothing, on the node's network: there is no CNI pod network on a test host."""

    run_as_user: int | None = None
    run_as_group: int | None = None
    supplemental_groups: tuple[int, ...] = ()
    fs_group: int | None = None
    seccomp: str | None = None  # seccompProfile.type
    seccomp_localhost: str = ""  # seccompProfile.localhostProfile, already joined to the kubelet's profile root
    host_network: bool = True
    host_pid: bool = False
    host_ipc: bool = False
    share_process_namespace: bool = False

    def __post_init__(self) -> None:
        _check_choice("pod securityContext.seccompProfile.type", self.seccomp, SECCOMP_TYPES)


@dataclass(frozen=True)
class ContainerSecurity:
    """A container's ``securityContext``; None leaves a field to the pod (or to the default)."""

    run_as_user: int | None = None
    run_as_group: int | None = None
    seccomp: str | None = None
    seccomp_localhost: str = ""
    allow_privilege_escalation: bool | None = None
    read_only_root_filesystem: bool | None = None
    privileged: bool | None = None
    proc_mount: str | None = None
    capabilities_add: tuple[str, ...] = ()
    capabilities_drop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_choice("container securityContext.seccompProfile.type", self.seccomp, SECCOMP_TYPES)
        _check_choice("container securityContext.procMount", self.proc_mount, PROC_MOUNT_TYPES)


@dataclass(frozen=True)
class Node:
    """The kubelet's own settings that change what it sends."""

    seccomp_default: bool = False  # --seccomp-default: RuntimeDefault for containers that ask nothing


def namespace_options(pod: PodSecurity) -> api.NamespaceOption:
    """The kubelet's NamespacesForPod: the node's namespace when the pod asks for it; else the PID
    namespace is the pod's with ``shareProcessNamespace``, the container's own without."""
    pid = api.NODE if pod.host_pid else api.POD if pod.share_process_namespace else api.CONTAINER
    return api.NamespaceOption(
        network=api.NODE if pod.host_network else api.POD,
        pid=pid,
        ipc=api.NODE if pod.host_ipc else api.POD,
    )


def _groups(pod: PodSecurity) -> list[int]:
    return ([pod.fs_group] if pod.fs_group is not None else []) + list(pod.supplemental_groups)


def sandbox_security_context(pod: PodSecurity, *, privileged: bool = False) -> api.LinuxSandboxSecurityContext:
    """What RunPodSandbox carries; ``privileged`` is true when any of the pod's containers is."""
    context = api.LinuxSandboxSecurityContext(
        namespace_options=namespace_options(pod),
        supplemental_groups=_groups(pod),
        privileged=privileged,
        # Whatever the pod asks, the pause container runs under the runtime's default profile.
        seccomp=api.SecurityProfile(profile_type=api.SecurityProfile.RuntimeDefault),
    )
    if pod.run_as_user is not None:
        context.run_as_user.value = pod.run_as_user
    if pod.run_as_group is not None:
        context.run_as_group.value = pod.run_as_group
    return context


def seccomp_profile(pod: PodSecurity, container: ContainerSecurity, node: Node = Node()) -> api.SecurityProfile:
    """The container's ask first, then the pod's, then the node's fallback; always a profile."""
    if container.seccomp is not None:
        kind, localhost = container.seccomp, container.seccomp_localhost
    elif pod.seccomp is not None:
        kind, localhost = pod.seccomp, pod.seccomp_localhost
    else:
        kind, localhost = ("RuntimeDefault" if node.seccomp_default else "Unconfined"), ""
    if kind == "Localhost":
        if not localhost:
            # The kubelet refuses such a pod itself, before any CRI call.
            raise UsageError("seccompProfile.type Localhost needs localhostProfile")
        return api.SecurityProfile(profile_type=api.SecurityProfile.Localhost, localhost_ref=localhost)
    return api.SecurityProfile(profile_type=api.SecurityProfile.ProfileType.Value(kind))


def container_security_context(
    pod: PodSecurity, container: ContainerSecurity = ContainerSecurity(), node: Node = Node()
) -> api.LinuxContainerSecurityContext:
    """What CreateContainer carries for ``container`` in ``pod`` (without the namespace options,
    which the caller copies from the sandbox config: the kubelet computes both from one pod)."""
    unmasked = container.proc_mount == "Unmasked"
    context = api.LinuxContainerSecurityContext(
        privileged=bool(container.privileged),
        readonly_rootfs=bool(container.read_only_root_filesystem),
        supplemental_groups=_groups(pod),
        # Only an explicit allowPrivilegeEscalation: false sets it; unset is false.
        no_new_privs=container.allow_privilege_escalation is False,
        masked_paths=[] if unmasked else list(DEFAULT_MASKED_PATHS),
        readonly_paths=[] if unmasked else list(DEFAULT_READONLY_PATHS),
        seccomp=seccomp_profile(pod, container, node),
    )
    if container.capabilities_add or container.capabilities_drop:
        context.capabilities.add_capabilities.extend(container.capabilities_add)
        context.capabilities.drop_capabilities.extend(container.capabilities_drop)
    user = container.run_as_user if container.run_as_user is not None else pod.run_as_user
    group = container.run_as_group if container.run_as_group is not None else pod.run_as_group
    if user is not None:
        context.run_as_user.value = user
    if group is not None:
        context.run_as_group.value = group
    return context


def seccomp_name(profile: api.SecurityProfile) -> str:
    """A profile as the Pod spec spells it (``Localhost:<ref>`` for a localhost one)."""
    name = api.SecurityProfile.ProfileType.Name(profile.profile_type)
    return f"{name}:{profile.localhost_ref}" if profile.localhost_ref else name
