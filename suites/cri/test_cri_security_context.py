"""The kubelet's security context through the CRI, checked from inside the container.

Pods and containers are created with what the kubelet sends for a Pod spec
(``ocimatrix/cri/security_context.py``): for a pod that asks nothing, seccomp RuntimeDefault on the
sandbox, Unconfined on its containers and the default masked and read-only paths; then seccomp
RuntimeDefault and ``no_new_privs`` when the pod asks for them, a read-only root, run-as-user, group
and supplemental groups, the PID and IPC namespace choices. Each is read back from inside the
container: ``/proc/self/status`` (Seccomp, NoNewPrivs), ``/proc/self/mountinfo`` and reads of the
masked paths, writes refused with EROFS, ``id``, namespace links against the host's. A runtime that
does not do what was asked fails with what the container saw as its answer.

Recursive read-only mounts and user namespaces run only where the runtime's Status declares them for
the cell's runtime handler (``runtime_handlers[].features``, as the kubelet and critest ask); else
they are skipped with that answer, before anything is created. Mount propagation is critest's own
check: a host directory bind-mounted shared or private in the mount namespace the runtime lives in
(a generation's containerd lives in its root's), a mount made on the host after the container
started, and one made in a privileged container.

The probe image carries the busybox binary: applets the image has no link for run as
``/bin/busybox <applet>``.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from cri_probe import GID, SERVE, UID, mount_points

from ocimatrix.cri.client import CriError
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.cri.messages import shown
from ocimatrix.cri.security_context import (
    DEFAULT_MASKED_PATHS,
    DEFAULT_READONLY_PATHS,
    ContainerSecurity,
    PodSecurity,
)
from ocimatrix.errors import HarnessError, fail_with
from ocimatrix.specs import spec
from ocimatrix.tools import catalog

AXES = ("engine", "runtime")
BUSYBOX = "/bin/busybox"
ROOT = ContainerSecurity(run_as_user=0)  # the probe image's User is not root; a write check needs root
EROFS = "Read-only file system"


def _run(pod, probe, name: str, script: str, **overrides) -> str:
    """Run ``script`` in a container of ``pod`` to its end: its stdout (stderr folded in)."""
    status, log = pod.run_to_exit(name, probe, command=["/bin/sh", "-c", f"{{ {script}; }} 2>&1"], **overrides)
    if status.exit_code != 0:
        fail_with(
            f"the probe script exited {status.exit_code}",
            step=f"run the {name} probe",
            answer=(log.stdout + log.stderr).strip()[-600:] or f"exit code {status.exit_code}, no output",
        )
    return log.stdout


def _fields(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


# -- the kubelet's defaults for a pod that asks nothing -------------------------------------------------------

PATHS_SCRIPT = (
    "for p in {masked}; do "
    f'if [ -d "$p" ]; then echo "masked $p dir $({BUSYBOX} ls -A "$p" 2>&1 | {BUSYBOX} wc -l)"; '
    f'elif [ -e "$p" ]; then echo "masked $p file $({BUSYBOX} head -c 4096 "$p" 2>/dev/null | {BUSYBOX} wc -c)"; '
    'else echo "masked $p absent"; fi; done; '
    "for p in {readonly}; do "
    # A file root may write: a directory's first one (by its mode bits: access(2) would already say
    # EROFS). Appending nothing opens it for writing and writes no byte, where the path is not read-only.
    f'if [ -d "$p" ]; then t=$({BUSYBOX} find "$p" -type f -perm -200 2>/dev/null | {BUSYBOX} head -n 1); '
    'elif [ -e "$p" ]; then t="$p"; else echo "readonly $p absent"; continue; fi; '
    'if [ -z "$t" ]; then echo "readonly $p nofile"; continue; fi; '
    'echo "readonly $p $t $( (: >> "$t") 2>&1 && echo opened for writing)"; done; '
    "echo MOUNTINFO; cat /proc/self/mountinfo"
)


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "LinuxContainerSecurityContext.masked_paths, readonly_paths (the kubelet's defaults)")
def test_kubelet_default_masked_and_readonly_paths(cell, new_pod, probe, recorder):
    pod = new_pod("paths")
    script = PATHS_SCRIPT.format(masked=" ".join(DEFAULT_MASKED_PATHS), readonly=" ".join(DEFAULT_READONLY_PATHS))
    output = _run(pod, probe, "paths", script, security=ROOT)
    report, _, mountinfo = output.partition("MOUNTINFO\n")
    points = mount_points(mountinfo)
    seen, problems = {}, []
    for line in report.splitlines():
        kind, path, rest = (line.split(" ", 2) + ["", ""])[:3]
        seen[f"{kind} {path}"] = rest
        if rest == "absent":
            continue  # nothing of the host's to hide at that path on this kernel
        if kind == "masked":
            shape, _, amount = rest.partition(" ")
            if path not in points or amount.strip() != "0":
                problems.append(f"{path} ({shape}) shows {amount.strip()} {'entries' if shape == 'dir' else 'bytes'}")
        elif kind == "readonly":
            # The mount is the runtime's doing; a write into it is what a process meets.
            options = points.get(path, "no mount at that path")
            if "ro" not in options.split(","):
                problems.append(f"{path}: its mount is {options}")
            if rest != "nofile" and EROFS not in rest:
                problems.append(f"{path}: a write to {rest.strip()}")
    recorder.add("paths_seen", seen)
    recorder.add("paths_mounts", {p: points.get(p, "") for p in (*DEFAULT_MASKED_PATHS, *DEFAULT_READONLY_PATHS)})
    if len(seen) != len(DEFAULT_MASKED_PATHS) + len(DEFAULT_READONLY_PATHS):
        raise HarnessError(f"the paths probe printed {len(seen)} lines of report: {report[-400:]}")
    if problems:
        fail_with(
            "the kubelet sent its default masked and read-only paths; inside the container: " + "; ".join(problems),
            step="CreateContainer with the kubelet's default masked_paths and readonly_paths",
            answer="; ".join(problems),
        )


HOST_BOUNDING_SET = "the harness's own (all the kernel knows: it runs as root)"
STATUS_CASES = {
    # A pod that asks nothing: the kubelet sends seccomp Unconfined and no_new_privs false.
    "kubelet-defaults": (None, None, None, {"Seccomp": "0", "NoNewPrivs": "0"}),
    # The restricted Pod Security Standard's asks, at the pod's level and the container's.
    "restricted": (
        PodSecurity(seccomp="RuntimeDefault"),
        ContainerSecurity(allow_privilege_escalation=False, capabilities_drop=("ALL",)),
        None,
        {"Seccomp": "2", "NoNewPrivs": "1", "CapBnd": "0000000000000000"},
    ),
    # critest's "nil profile, which is unconfined": no seccomp field at all.
    "no-seccomp-field": (None, None, "seccomp", {"Seccomp": "0", "NoNewPrivs": "0"}),
    # critest's "adding ALL capabilities": the bounding set is every capability.
    "add-all-capabilities": (
        None,
        ContainerSecurity(capabilities_add=("ALL",)),
        None,
        {"Seccomp": "0", "CapBnd": HOST_BOUNDING_SET},
    ),
}


def _status_lines(text: str) -> dict[str, str]:
    return {key: value.strip() for key, value in (line.split(":", 1) for line in text.splitlines() if ":" in line)}


@pytest.mark.axes(*AXES)
@pytest.mark.parametrize("case", list(STATUS_CASES))
@spec("cri/api.proto", "LinuxContainerSecurityContext.seccomp, no_new_privs, capabilities (/proc/self/status)")
def test_seccomp_no_new_privs_and_capabilities(cell, new_pod, probe, recorder, case):
    pod_security, security, cleared, asked = STATUS_CASES[case]
    host = _status_lines(Path("/proc/self/status").read_text())["CapBnd"]
    expected = {key: host if value == HOST_BOUNDING_SET else value for key, value in asked.items()}
    pod = new_pod("status", security=pod_security)
    config = pod.container_config("status", probe, command=["/bin/cat", "/proc/self/status"], security=security)
    if cleared:
        config.linux.security_context.ClearField(cleared)
    recorder.add("security_context", shown(config.linux.security_context))
    container = pod.create_config(config)
    pod.cri.start_container(container)
    status = pod.cri.wait_for_exit(container, timeout=20)
    lines = pod.cri.container_log(container).stdout
    seen = _status_lines(lines)
    observed = {key: seen.get(key, "absent") for key in expected}
    recorder.add("status_lines", observed)
    if status.exit_code != 0 or "Seccomp" not in seen:
        raise HarnessError(f"cat /proc/self/status exited {status.exit_code}: {lines[-300:]!r}")
    if observed != expected:
        answer = " ".join(f"{key}: {value}" for key, value in observed.items())
        fail_with(
            f"asked {shown(config.linux.security_context.seccomp) or 'no seccomp profile'}, no_new_privs "
            f"{config.linux.security_context.no_new_privs} and capabilities "
            f"{shown(config.linux.security_context.capabilities) or 'none'}: /proc/self/status should say "
            f"{expected}, the container's says {observed}",
            step=f"CreateContainer ({case})",
            answer=answer,
        )


@pytest.mark.axes(*AXES)
@pytest.mark.parametrize("readonly", [True, False], ids=["readonly-root", "writable-root"])
@spec("cri/api.proto", "LinuxContainerSecurityContext.readonly_rootfs (readOnlyRootFilesystem)")
def test_readonly_rootfs(cell, new_pod, probe, recorder, readonly):
    pod = new_pod("rootfs")
    security = ContainerSecurity(run_as_user=0, read_only_root_filesystem=readonly)
    output = _run(pod, probe, "rootfs", 'echo "write=$( (: >> /ocimatrix-write) 2>&1 && echo ok)"', security=security)
    written = _fields(output).get("write", output.strip())
    recorder.add("root_write", written)
    wanted = EROFS if readonly else "ok"
    if wanted not in written:
        fail_with(
            f"readonly_rootfs {readonly}: a write to / as root should "
            f"{'be refused with EROFS' if readonly else 'work'}; it got {written!r}",
            step=f"write to / with readonly_rootfs {readonly}",
            answer=written,
        )


@pytest.mark.axes(*AXES)
@spec(
    "cri/api.proto",
    "LinuxSandboxSecurityContext / LinuxContainerSecurityContext run_as_user, run_as_group, supplemental_groups",
)
def test_run_as_user_group_and_supplemental_groups(cell, new_pod, probe, recorder):
    # Pod level: user, group, fsGroup and supplementalGroups; the container overrides the user.
    pod_security = PodSecurity(run_as_user=1500, run_as_group=1600, supplemental_groups=(1700, 1800), fs_group=1900)
    pod = new_pod("runas", security=pod_security)
    script = "echo uid=$(id -u); echo gid=$(id -g); echo groups=$(id -G)"
    seen = _fields(_run(pod, probe, "runas", script, security=ContainerSecurity(run_as_user=1501)))
    got = {
        "uid": seen.get("uid", ""),
        "gid": seen.get("gid", ""),
        "groups": sorted(set(seen.get("groups", "").split())),
    }
    recorder.add("id", got)
    expected = {"uid": "1501", "gid": "1600", "groups": sorted({"1600", "1700", "1800", "1900"})}
    if got != expected:
        fail_with(
            f"the pod asked runAsUser 1500 (the container 1501), runAsGroup 1600, fsGroup 1900 and supplemental groups "
            f"1700, 1800 (the image's User is {UID}:{GID}): id says {got}",
            step="CreateContainer with run_as_user, run_as_group and supplemental_groups",
            answer=f"uid={got['uid']} gid={got['gid']} groups={' '.join(got['groups'])}",
        )


NAMESPACE_CASES = {
    # hostPID and hostIPC: the node's namespaces.
    "host": (PodSecurity(host_pid=True, host_ipc=True), {"pid": "host", "ipc": "host"}),
    # shareProcessNamespace: one PID namespace for the pod, whose first process is the sandbox's.
    "pod": (PodSecurity(share_process_namespace=True), {"pid": "pod", "ipc": "own"}),
    # The kubelet's default: a PID namespace per container (the container's process is its PID 1).
    "container": (PodSecurity(), {"pid": "container", "ipc": "own"}),
}


def _pid_kind(pid_link: str, host_pid: str, self_pid: str) -> str:
    if pid_link == host_pid:
        return "host"
    return "container" if self_pid == "1" else "pod"


@contextlib.contextmanager
def _host_shm_segment(recorder) -> Iterator[str]:
    """A SysV shared-memory segment made in the host's IPC namespace (critest's HostIpc check): its id.
    Every containerd here, a generation's too, lives in the host's IPC namespace."""
    argv = ["ipcmk", "-M", "4096"]
    recorder.command(argv)
    made = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    found = re.search(r"(\d+)\s*$", made.stdout.strip())
    if made.returncode != 0 or found is None:
        raise HarnessError(f"ipcmk -M 4096 exited {made.returncode}: {made.stdout.strip()} {made.stderr.strip()}")
    try:
        yield found.group(1)
    finally:
        subprocess.run(["ipcrm", "-m", found.group(1)], capture_output=True, timeout=10, check=False)


@pytest.mark.axes(*AXES)
@pytest.mark.parametrize("case", list(NAMESPACE_CASES))
@spec("cri/api.proto", "NamespaceOption.pid, ipc (NODE, POD, CONTAINER)")
def test_pid_and_ipc_namespaces(cell, new_pod, probe, recorder, case):
    pod_security, expected = NAMESPACE_CASES[case]
    host = {kind: os.readlink(f"/proc/self/ns/{kind}") for kind in ("pid", "ipc")}
    with _host_shm_segment(recorder) as segment:
        pod = new_pod("namespaces", security=pod_security)
        links = "; ".join(f"echo {k}=$({BUSYBOX} readlink /proc/self/ns/{k})" for k in ("pid", "ipc"))
        # /proc/sysvipc/shm lists the segments of the process's IPC namespace: column 2 is the id.
        shm = f"echo shm=$({BUSYBOX} awk 'NR > 1 {{print $2}}' /proc/sysvipc/shm | {BUSYBOX} tr '\\n' ' ')"
        seen = _fields(_run(pod, probe, "namespaces", f"echo self=$$; {links}; {shm}"))
    shm_ids = seen.get("shm", "").split()
    got = {
        "pid": _pid_kind(seen.get("pid", ""), host["pid"], seen.get("self", "")),
        "ipc": "host" if seen.get("ipc") == host["ipc"] and segment in shm_ids else "own",
    }
    recorder.add("namespaces", {"container": seen, "host": host, "host_segment": segment, "judged": got})
    if got != expected or (expected["ipc"] == "own" and segment in shm_ids):
        options = pod.config.linux.security_context.namespace_options
        fail_with(
            f"asked pid {api.NamespaceMode.Name(options.pid)} ipc {api.NamespaceMode.Name(options.ipc)}; the "
            f"container's namespaces are {got} (it saw {seen}; the host's links {host}, its segment {segment})",
            step=f"RunPodSandbox and CreateContainer with namespace options ({case})",
            answer=" ".join(f"{k}={v}" for k, v in seen.items()),
        )


# -- what the runtime handler declares: recursive read-only mounts, user namespaces -----------------------------


def _handler_features(cri, cell) -> tuple[api.RuntimeHandlerFeatures | None, str]:
    """The features the runtime's Status declares for the cell's handler, and that answer as text."""
    handler = catalog.split_generation(cell["runtime"])[0]
    handlers = list(cri.status().runtime_handlers)
    answer = "Status.runtime_handlers: " + (
        "; ".join(f"{h.name or '(default)'}: {shown(h.features)}" for h in handlers) or "none (the field is empty)"
    )
    found = next((h for h in handlers if h.name == handler), None)
    return (found.features if found is not None else None), answer


@contextlib.contextmanager
def _host_directory(cri_runtime, endpoints, recorder, label: str) -> Iterator[tuple[Path, callable]]:
    """A scratch directory under the run's state dir, and a runner of commands in the mount namespace
    the CRI runtime lives in (a generation's containerd: its root's), so mounts made there are the ones
    the runtime sees. Everything mounted under the directory goes at the end."""
    base = Path(endpoints.state_dir) / "cri" / "security" / f"{label}-{uuid.uuid4().hex[:8]}"
    site = cri_runtime.site

    def host(argv: Sequence[str]) -> str:
        full = site.cli(list(argv)) if site is not None else list(argv)
        recorder.command(full)
        done = subprocess.run(full, capture_output=True, text=True, timeout=30, check=False)
        if done.returncode != 0:
            raise HarnessError(f"{' '.join(full)} exited {done.returncode}: {done.stderr.strip()[-300:]}")
        return done.stdout

    base.mkdir(parents=True)
    try:
        yield base, host
    finally:
        # Deepest first; lazily, since a container may still hold a mount while its pod goes.
        with contextlib.suppress(HarnessError):
            mounts = host(["cat", "/proc/self/mountinfo"])
            for point in sorted(
                (p for p in mount_points(mounts) if p.startswith(f"{base}/") or p == str(base)), key=len, reverse=True
            ):
                with contextlib.suppress(HarnessError):
                    host(["umount", "-l", point])
        subprocess.run(["rm", "-rf", "--one-file-system", str(base)], check=False)


RRO_CASES = {
    # critest's Mount Readonly rows: what a container must see, or the refusal CreateContainer must answer.
    "non-recursive": dict(readonly=True, recursive_read_only=False, propagation=api.PROPAGATION_PRIVATE),
    "recursive": dict(readonly=True, recursive_read_only=True, propagation=api.PROPAGATION_PRIVATE),
    "recursive-host-to-container": dict(
        readonly=True, recursive_read_only=True, propagation=api.PROPAGATION_HOST_TO_CONTAINER
    ),
    "recursive-bidirectional": dict(readonly=True, recursive_read_only=True, propagation=api.PROPAGATION_BIDIRECTIONAL),
    "recursive-not-readonly": dict(readonly=False, recursive_read_only=True, propagation=api.PROPAGATION_PRIVATE),
}


@pytest.mark.axes(*AXES)
@pytest.mark.parametrize("case", list(RRO_CASES))
@spec("cri/api.proto", "Mount.readonly, recursive_read_only (RuntimeHandlerFeatures.recursive_read_only_mounts)")
def test_readonly_mounts(request, cell, cri, cri_runtime, endpoints, new_pod, recorder, case):
    asked = RRO_CASES[case]
    if asked["recursive_read_only"]:
        features, answer = _handler_features(cri, cell)
        recorder.add("handler_features", answer)
        if features is None or not features.recursive_read_only_mounts:
            pytest.skip(f"{cell['engine']} declares no recursive read-only mounts for this handler ({answer})")
    probe = request.getfixturevalue("probe")  # pulled once the cell is known to run
    with _host_directory(cri_runtime, endpoints, recorder, "rro") as (base, host):
        if asked["propagation"] != api.PROPAGATION_PRIVATE:
            # A shared mount, so that the propagation asked is possible and only its clash with a
            # recursive read-only mount is left to refuse (critest leaves the directory private).
            host(["mount", "--bind", str(base), str(base)])
            host(["mount", "--make-rshared", str(base)])
        (base / "tmpfs").mkdir()
        host(["mount", "-t", "tmpfs", "-o", "size=1m", "ocimatrix-rro", str(base / "tmpfs")])
        pod = new_pod("rro")
        mount = api.Mount(container_path="/mnt", host_path=str(base), **asked)
        valid = asked["readonly"] and asked["propagation"] == api.PROPAGATION_PRIVATE
        if not valid:
            # critest: the runtime must refuse a recursive read-only mount that is not read-only and private.
            try:
                pod.create("rro", probe, command=SERVE, mounts=[mount], security=ROOT)
            except CriError as exc:
                recorder.add("refusal", exc.answer)
                return
            fail_with(
                f"CreateContainer accepted a recursive read-only mount with readonly {asked['readonly']} and "
                f"propagation {api.MountPropagation.Name(asked['propagation'])}; the CRI says it must be refused",
                step=f"CreateContainer ({case})",
                answer="CreateContainer succeeded",
            )
        script = 'echo "top=$( (: >> /mnt/top) 2>&1 && echo ok)"; echo "sub=$( (: >> /mnt/tmpfs/sub) 2>&1 && echo ok)"'
        output = _run(pod, probe, "rro", script, mounts=[mount], security=ROOT)
        seen = _fields(output)
        recorder.add("writes", seen)
        wanted = {"top": EROFS, "sub": EROFS if asked["recursive_read_only"] else "ok"}
        wrong = {k: seen.get(k, "") for k, v in wanted.items() if v not in seen.get(k, "")}
        if wrong:
            fail_with(
                f"a {case} read-only mount of a directory with a tmpfs under it: writes should give {wanted}, "
                f"the container got {seen}",
                step=f"write into the {case} read-only mount",
                answer=output.strip(),
            )


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "NamespaceOption.userns_options (RuntimeHandlerFeatures.user_namespaces)")
def test_user_namespace(cell, cri, recorder):
    features, answer = _handler_features(cri, cell)
    recorder.add("handler_features", answer)
    if features is None or not features.user_namespaces:
        pytest.skip(f"{cell['engine']} declares no user namespaces for this handler ({answer})")
    # Declared: still not a pod the kubelet would send here. The API refuses hostUsers: false beside
    # hostNetwork, and every pod on this host has the node's network (no CNI pod network).
    pytest.skip(
        f"{cell['engine']} declares user namespaces ({answer}), but the kubelet never sends one with the node's "
        "network, and pods here need the node's network (no CNI pod network on this host)"
    )


# -- mount propagation, as critest checks it --------------------------------------------------------------------

PROPAGATION_CASES = {
    "private": (api.PROPAGATION_PRIVATE, False, False),
    "host-to-container": (api.PROPAGATION_HOST_TO_CONTAINER, True, False),
    "bidirectional": (api.PROPAGATION_BIDIRECTIONAL, True, True),
}


@pytest.mark.axes(*AXES)
@pytest.mark.parametrize("case", list(PROPAGATION_CASES))
@spec("cri/api.proto", "Mount.propagation (PRIVATE, HOST_TO_CONTAINER, BIDIRECTIONAL)")
def test_mount_propagation(cell, cri, cri_runtime, endpoints, new_pod, probe, recorder, case):
    propagation, into_container, onto_host = PROPAGATION_CASES[case]
    with _host_directory(cri_runtime, endpoints, recorder, "propagation") as (base, host):
        source, flag_dir = base / "mnt", base / "src"
        (source / "from-host").mkdir(parents=True)
        flag_dir.mkdir()
        (flag_dir / "flag").write_text("host\n")
        # The directory becomes a mount of its own, shared or private, as critest makes it.
        host(["mount", "--bind", str(source), str(source)])
        host(["mount", "--make-rprivate" if propagation == api.PROPAGATION_PRIVATE else "--make-rshared", str(source)])
        # Privileged, as critest's: the container mounts something itself.
        pod = new_pod("propagation", privileged=True)
        mount = api.Mount(container_path=str(source), host_path=str(source), propagation=propagation)
        container = pod.start(
            "propagation",
            probe,
            command=SERVE,
            mounts=[mount],
            security=ContainerSecurity(run_as_user=0, privileged=True),
        )
        reported = list(cri.container_status(container).mounts)
        recorder.add("status_mounts", [shown(m) for m in reported])
        # As critest: ContainerStatus reports the volume as it was asked for.
        if [(m.container_path, m.host_path, m.readonly, m.propagation) for m in reported] != [
            (str(source), str(source), False, propagation)
        ]:
            fail_with(
                f"ContainerStatus should report the one volume at {source}, writable, with propagation "
                f"{api.MountPropagation.Name(propagation)}",
                step="ContainerStatus of a container with a volume",
                answer="; ".join(shown(m) for m in reported) or "no mounts",
            )
        host(["mount", "--bind", str(flag_dir), str(source / "from-host")])
        listed = cri.exec_sync(container, [BUSYBOX, "ls", "-A", str(source / "from-host")], timeout=10)
        seen_in_container = listed.stdout.decode().split()
        made = cri.exec_sync(
            container,
            [
                "/bin/sh",
                "-c",
                f"mkdir -p {source}/from-container && {BUSYBOX} mount --bind /etc {source}/from-container",
            ],
            timeout=10,
        )
        if made.exit_code != 0:
            fail_with(
                "a privileged container could not bind-mount /etc under its volume",
                step="mount --bind in the container",
                answer=(made.stdout + made.stderr).decode().strip() or f"exit code {made.exit_code}",
            )
        seen_on_host = host(["ls", "-A", str(source / "from-container")]).split()
        recorder.add("seen", {"in container": seen_in_container, "on host": seen_on_host[:5]})
        problems = []
        if bool(seen_in_container) != into_container:
            problems.append(
                f"a mount made on the host after the start {'should' if into_container else 'should not'} reach the "
                f"container; it lists {seen_in_container or 'nothing'}"
            )
        if bool(seen_on_host) != onto_host:
            problems.append(
                f"a mount made in the container {'should' if onto_host else 'should not'} reach the host; the host "
                f"lists {seen_on_host[:5] or 'nothing'}"
            )
        if problems:
            fail_with(
                f"propagation {api.MountPropagation.Name(propagation)}: " + "; ".join(problems),
                step=f"mounts across a {case} volume",
                answer="; ".join(problems),
            )
