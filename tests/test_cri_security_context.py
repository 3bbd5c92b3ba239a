"""The security context is the kubelet's: what it sends for a pod that asks nothing, and for each ask.

The expected messages are written out field by field from the kubelet's code (kuberuntime's
security_context.go, helpers.go and kuberuntime_sandbox.go; pkg/securitycontext/util.go), not
derived from the module under test.
"""

from __future__ import annotations

import pytest

from ocimatrix.cri import messages
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.cri.security_context import (
    DEFAULT_MASKED_PATHS,
    DEFAULT_READONLY_PATHS,
    ContainerSecurity,
    Node,
    PodSecurity,
    container_security_context,
    namespace_options,
    sandbox_security_context,
    seccomp_name,
)
from ocimatrix.errors import UsageError

REF = "127.0.0.1:5000/ocimatrix/busybox:1"
RUNTIME_DEFAULT = api.SecurityProfile(profile_type=api.SecurityProfile.RuntimeDefault)
UNCONFINED = api.SecurityProfile(profile_type=api.SecurityProfile.Unconfined)


def test_default_paths_are_kubernetes_main():
    assert DEFAULT_MASKED_PATHS == (
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
    assert DEFAULT_READONLY_PATHS == ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")


def test_a_pod_that_asks_nothing_gets_the_kubelets_defaults():
    pod = messages.pod_sandbox_config("web", "team", "uid-1", "/logs/x")
    sandbox = pod.linux.security_context
    assert sandbox.seccomp == RUNTIME_DEFAULT, "the kubelet runs every sandbox under the runtime's default profile"
    assert not sandbox.privileged and not sandbox.HasField("run_as_user") and list(sandbox.supplemental_groups) == []
    context = messages.container_config(pod, "app", REF).linux.security_context
    assert context.seccomp == UNCONFINED, "a container that asks nothing is sent Unconfined, not an empty field"
    assert list(context.masked_paths) == list(DEFAULT_MASKED_PATHS)
    assert list(context.readonly_paths) == list(DEFAULT_READONLY_PATHS)
    assert (context.no_new_privs, context.readonly_rootfs, context.privileged) == (False, False, False)
    assert not context.HasField("run_as_user") and not context.HasField("run_as_group")
    assert not context.HasField("capabilities")
    assert context.namespace_options == sandbox.namespace_options


def test_node_seccomp_default_turns_the_fallback_into_runtime_default():
    context = container_security_context(PodSecurity(), ContainerSecurity(), Node(seccomp_default=True))
    assert context.seccomp == RUNTIME_DEFAULT


@pytest.mark.parametrize(
    ("pod", "container", "expected"),
    [
        (PodSecurity(seccomp="RuntimeDefault"), ContainerSecurity(), "RuntimeDefault"),
        (PodSecurity(seccomp="RuntimeDefault"), ContainerSecurity(seccomp="Unconfined"), "Unconfined"),
        (PodSecurity(), ContainerSecurity(seccomp="RuntimeDefault"), "RuntimeDefault"),
        (
            PodSecurity(seccomp="Localhost", seccomp_localhost="/var/lib/kubelet/seccomp/a.json"),
            ContainerSecurity(),
            "Localhost:/var/lib/kubelet/seccomp/a.json",
        ),
    ],
    ids=["pod-asks", "container-overrides-pod", "container-asks", "localhost"],
)
def test_seccomp_container_first_then_pod(pod, container, expected):
    assert seccomp_name(container_security_context(pod, container).seccomp) == expected


def test_localhost_without_a_profile_is_bad_input():
    with pytest.raises(UsageError, match="localhostProfile"):
        container_security_context(PodSecurity(seccomp="Localhost"))
    with pytest.raises(UsageError, match="seccompProfile.type: 'Default' is none of"):
        PodSecurity(seccomp="Default")
    with pytest.raises(UsageError, match="procMount"):
        ContainerSecurity(proc_mount="masked")


@pytest.mark.parametrize(("allow", "no_new_privs"), [(None, False), (True, False), (False, True)])
def test_no_new_privs_only_when_escalation_is_refused(allow, no_new_privs):
    context = container_security_context(PodSecurity(), ContainerSecurity(allow_privilege_escalation=allow))
    assert context.no_new_privs is no_new_privs


def test_unmasked_proc_mount_sends_empty_lists():
    context = container_security_context(PodSecurity(), ContainerSecurity(proc_mount="Unmasked"))
    assert list(context.masked_paths) == [] and list(context.readonly_paths) == []


def test_run_as_and_groups_pod_level_with_container_override():
    pod = PodSecurity(run_as_user=1500, run_as_group=1600, supplemental_groups=(1700, 1800), fs_group=1900)
    sandbox = sandbox_security_context(pod)
    assert (sandbox.run_as_user.value, sandbox.run_as_group.value) == (1500, 1600)
    assert list(sandbox.supplemental_groups) == [1900, 1700, 1800], "fsGroup first, then supplementalGroups"
    context = container_security_context(pod, ContainerSecurity(run_as_user=1501, read_only_root_filesystem=True))
    assert (context.run_as_user.value, context.run_as_group.value) == (1501, 1600)
    assert list(context.supplemental_groups) == [1900, 1700, 1800]
    assert context.readonly_rootfs


def test_capabilities_and_privileged_as_asked():
    context = container_security_context(
        PodSecurity(), ContainerSecurity(privileged=True, capabilities_add=("NET_ADMIN",), capabilities_drop=("ALL",))
    )
    assert context.privileged
    assert list(context.capabilities.add_capabilities) == ["NET_ADMIN"]
    assert list(context.capabilities.drop_capabilities) == ["ALL"]
    assert sandbox_security_context(PodSecurity(), privileged=True).privileged


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        (PodSecurity(), (api.NODE, api.CONTAINER, api.POD)),
        (PodSecurity(share_process_namespace=True), (api.NODE, api.POD, api.POD)),
        (PodSecurity(host_pid=True, host_ipc=True), (api.NODE, api.NODE, api.NODE)),
        (PodSecurity(host_network=False), (api.POD, api.CONTAINER, api.POD)),
    ],
    ids=["default", "shared-pid", "host-pid-ipc", "pod-network"],
)
def test_namespace_options_like_namespaces_for_pod(pod, expected):
    options = namespace_options(pod)
    assert (options.network, options.pid, options.ipc) == expected


def test_messages_carry_the_pods_asks_to_its_containers():
    asked = PodSecurity(seccomp="RuntimeDefault", host_pid=True, run_as_user=1500)
    pod = messages.pod_sandbox_config("web", "team", "uid-1", "/logs/x", security=asked, privileged=True)
    assert pod.linux.security_context.privileged and pod.linux.security_context.namespace_options.pid == api.NODE
    context = messages.container_config(
        pod, "app", REF, pod_security=asked, security=ContainerSecurity(allow_privilege_escalation=False)
    ).linux.security_context
    assert context.seccomp == RUNTIME_DEFAULT and context.no_new_privs and context.run_as_user.value == 1500
    assert context.namespace_options.pid == api.NODE


def test_docker_user_wins_over_the_security_context():
    pod = messages.pod_sandbox_config("web", "team", "uid-1", "/logs/x")
    by_name = messages.container_config(pod, "app", REF, user="app", security=ContainerSecurity(run_as_user=7))
    assert by_name.linux.security_context.run_as_username == "app"
    assert not by_name.linux.security_context.HasField("run_as_user")
    by_ids = messages.container_config(pod, "app", REF, user="8:9", security=ContainerSecurity(run_as_user=7))
    assert (by_ids.linux.security_context.run_as_user.value, by_ids.linux.security_context.run_as_group.value) == (8, 9)
