"""Checks of opencontainers/runtime-tools' validation suite that the other runtime tests did not make.

Each names the runtime-tools program it mirrors; ``docs/runtime.md`` maps the whole suite.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from runtime_spec import RUNTIME_AXES

from ocimatrix import evidence
from ocimatrix.errors import HarnessError, fail_with
from ocimatrix.runtime.bundle import Bundle
from ocimatrix.runtime.cli import Container
from ocimatrix.runtime.config import Mount, Rlimit, RuntimeConfig
from ocimatrix.runtime.documents import semver_key
from ocimatrix.specs import spec

pytestmark = pytest.mark.axes(*RUNTIME_AXES)

LONG_RUNNING = "echo started; while true; do sleep 0.2; done"
INHERITED = ("ipc", "uts", "net", "cgroup")


def bundle_with_extra(lab, config: RuntimeConfig, extra: dict[str, Any]) -> tuple[str, Bundle]:
    """A bundle whose config.json carries top-level properties the typed builder does not model."""
    container_id, bundle = lab.bundle(config)
    document = {**bundle.config, **extra}
    try:
        bundle.config_path.write_text(json.dumps(document, indent=2) + "\n")
    except OSError as exc:
        raise HarnessError(f"could not rewrite {bundle.config_path}: {exc}") from exc
    compact = json.dumps(document, separators=(",", ":"))
    lab.recorder.repro[-1] = f"printf '%s\\n' {shlex.quote(compact)} > {shlex.quote(str(bundle.config_path))}"
    lab.recorder.add("config", document)
    return container_id, Bundle(bundle.path, document)


def refusal(lab, container_id: str, bundle: Bundle) -> tuple[str | None, str]:
    """(what the runtime said refusing the bundle at create or start, None when it ran it to the end;
    what each operation answered, as ``create exit 0, start exit 0, stopped; stdout: ...``)."""
    container, created = lab.create_bundle(container_id, bundle)
    if not created.ok:
        return f"create: {created.words}", f"create {created.answer}"
    started = lab.runtime.start(container.id)
    if not started.ok:
        return f"start: {started.words}", f"create exit 0, start {started.answer}"
    state = lab.wait_stopped(container) or {}
    return None, f"create exit 0, start exit 0, {state.get('status')}; stdout: {container.output().strip()[-300:]}"


def must_refuse(lab, config: RuntimeConfig, what: str) -> None:
    container_id, bundle = lab.bundle(config)
    said, answered = refusal(lab, container_id, bundle)
    if said is None:
        fail_with(
            f"{lab.name} created and ran a container whose config.json has {what}, without an error",
            step=f"{lab.name} create and start of a config.json with {what}",
            answer=answered,
        )
    lab.recorder.add("refused", said)


@spec("runtime-spec/config.md#extensibility", "config: Extensibility (an unknown property MUST NOT be an error)")
def test_unknown_property_is_not_an_error(lab):
    """runtime-tools misc_props, second case."""
    container_id, bundle = bundle_with_extra(
        lab, lab.config("echo ran"), {"org.ocimatrix.unknown": {"any": ["shape", 1]}}
    )
    said, answered = refusal(lab, container_id, bundle)
    if said is not None:
        fail_with(
            f"{lab.name} refused a config.json with one unknown top-level property: {said}",
            step=f"{lab.name} create and start of a config.json with an unknown top-level property",
            answer=answered,
        )


@spec("runtime-spec/config.md#valid-values", "config: Valid values (an invalid ociVersion MUST be an error)")
def test_invalid_oci_version_is_an_error(lab):
    """runtime-tools misc_props, third case: ociVersion "invalid" is not SemVer."""
    must_refuse(lab, lab.config("echo ran", oci_version="invalid"), 'ociVersion "invalid"')


@spec(
    "runtime-spec/config.md#posix-process",
    "config: POSIX process: rlimits (a type with no kernel interface MUST be an error)",
)
def test_unknown_rlimit_type_is_an_error(lab):
    """runtime-tools process_rlimits_fail."""
    config = lab.config("echo ran")
    config.process.rlimits = [Rlimit("RLIMIT_OCIMATRIX", 1024, 1024)]
    must_refuse(lab, config, "the rlimit type RLIMIT_OCIMATRIX")


@spec(
    "runtime-spec/config.md#linux-process",
    "config: Linux process: capabilities (a name with no kernel interface: an error before 1.1.0, then a warning)",
)
def test_unknown_capability_is_an_error(lab, recorder):
    """runtime-tools process_capabilities_fail, judged by the release the runtime declares. runtime-spec 1.0.x:
    a value that can't be mapped "MUST cause an error" (what runtime-tools asks); from 1.1.0 it "MUST be
    logged as a warning" and runtimes "SHOULD NOT fail". So a runtime declaring 1.1.0 or newer may run it
    (or, against a SHOULD NOT only, refuse it): what it did is recorded, not judged."""
    config = lab.config("echo ran")
    config.process.capabilities = {kind: ["CAP_OCIMATRIX"] for kind in ("bounding", "effective", "permitted")}
    declared, source = lab.declared_spec_version()
    have, warning_since = semver_key(declared), semver_key("1.1.0")
    if have is not None and warning_since is not None and have >= warning_since:
        container_id, bundle = lab.bundle(config)
        said, answered = refusal(lab, container_id, bundle)
        recorder.add("unknown_capability", {"declared": source, "refused": said, "answer": answered})
        return
    must_refuse(lab, config, "the capability CAP_OCIMATRIX")


@spec(
    "runtime-spec/config-linux.md#namespaces",
    "config-linux: Namespaces (a type not listed MUST be inherited from the runtime)",
)
def test_unlisted_namespaces_are_the_runtimes(lab, recorder):
    """runtime-tools linux_ns_itype, for the namespaces a container can share without harm to the host."""
    config = lab.config("for n in " + " ".join(INHERITED) + "; do echo $n=$(readlink /proc/self/ns/$n); done")
    config.hostname = None  # a hostname needs a uts namespace of its own
    config.namespaces = [ns for ns in config.namespaces if ns.type not in ("ipc", "uts", "network", "cgroup")]
    ran = lab.run(config)
    # The runtime is a child of this process and inherits its namespaces.
    runtime_side = {n: os.readlink(f"/proc/self/ns/{n}") for n in INHERITED}
    inside = {n: ran.value(n) for n in INHERITED}
    recorder.add("namespaces", {"runtime": runtime_side, "container": inside})
    own = [n for n in INHERITED if inside[n] != runtime_side[n]]
    if own:
        fail_with(
            f"config.json lists no {own} namespace, so the container must share the runtime's; "
            f"it has its own: { {n: (inside[n], runtime_side[n]) for n in own} }",
            step="/proc/self/ns links of a container whose config.json lists no ipc, uts, network, cgroup namespace",
            answer=" ".join(f"{n}={inside[n]}" for n in INHERITED)
            + "; the runtime's: "
            + " ".join(f"{n}={runtime_side[n]}" for n in INHERITED),
        )


@spec(
    "runtime-spec/config-linux.md#namespaces",
    "config-linux: Namespaces (a path of another namespace type MUST be an error)",
)
def test_namespace_path_of_another_type_is_an_error(lab):
    """runtime-tools linux_ns_path_type: join "ipc" through a uts namespace file."""
    owner = lab.create(lab.config(LONG_RUNNING, hostname="ns-owner"), role="owner container")
    lab.start(owner)
    lab.wait_for_output(owner, "started")
    pid = lab.state(owner)["pid"]
    joiner = lab.config("echo ran")
    # A uts namespace of a container, never the host's: a runtime that got this wrong must not touch the host.
    joiner.set_namespace("ipc", f"/proc/{pid}/ns/uts")
    must_refuse(lab, joiner, f'namespace type "ipc" with the path of a uts namespace (/proc/{pid}/ns/uts)')


def create_with_pid_file(lab, pid_file: str) -> tuple[Container, subprocess.CompletedProcess]:
    container_id, bundle = lab.bundle(lab.config(LONG_RUNNING))
    lab.created.append(container_id)
    container = Container(container_id, bundle.path, bundle.path / "stdout", bundle.path / "stderr")
    argv = lab.runtime.argv("create", "--bundle", str(bundle.path), "--pid-file", pid_file, container_id)
    lab.recorder.repro.append(
        f"{evidence.shell_line(argv)} </dev/null >{shlex.quote(str(container.stdout_path))}"
        f" 2>{shlex.quote(str(container.stderr_path))}"
    )
    # The container keeps its stdio open: files, not pipes, or this would wait for the container's end.
    try:
        with open(container.stdout_path, "wb") as out, open(container.stderr_path, "wb") as err:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=60)
    except subprocess.TimeoutExpired:
        fail_with(
            f"{lab.name} create --pid-file did not return within 60s",
            step=f"{lab.name} create --pid-file",
            answer="no exit status within 60s",
        )
    except OSError as exc:
        raise HarnessError(f"cannot execute {lab.runtime.binary}: {exc}") from exc
    return container, done


@spec("runtime-spec/runtime.md#state", "runtime: State: pid (as `create --pid-file` writes it)")
def test_pid_file_holds_the_state_pid(lab, recorder):
    """runtime-tools pidfile: the --pid-file of its command-line interface names the state's pid."""
    pid_file = str(lab.scratch("pidfile") / "pid")
    container, done = create_with_pid_file(lab, pid_file)
    if done.returncode != 0:
        fail_with(
            f"{lab.name} create --pid-file refused (exit {done.returncode}): {container.errors()[-800:]}",
            step=f"{lab.name} create --pid-file",
            answer=f"exit {done.returncode}: {container.errors()[-1200:].strip()}",
        )
    written = Path(pid_file).read_text().strip() if os.path.exists(pid_file) else None
    state = lab.state(container)
    recorder.add("pid_file", written)
    recorder.add("state_created", state)
    assert written is not None, f"{lab.name} create --pid-file {pid_file} wrote no file"
    assert written == str(state["pid"]), f"the pid file says {written!r}, the state's pid is {state['pid']}"


# --- linux_masked_paths: nested paths, device nodes, a relative path, a symlink loop ----------------

MASK_DIR = "/mnt/masks"  # a scratch directory bind-mounted here: the shared rootfs stays as it is
NESTED = ("masked-dir", "masked-file", "masked-dir/masked-subdir", "masked-dir/masked-file",
          "masked-dir/masked-subdir/masked-file")  # fmt: skip
DEVICES = {"block": ("b", 7, 200), "char": ("c", 1, 8), "fifo": ("p", 0, 0)}


def masks_scratch(lab) -> Path:
    """runtime-tools' nested tree (each file holding ``secrets``, the subdir not empty) and one device node of
    each kind its ``checkMaskedDeviceNodes`` makes, in a directory the container sees at MASK_DIR."""
    lab.needs_host_capability("CAP_MKNOD", "the masked device nodes are made by the harness")
    root = lab.scratch("masks")
    (root / "masked-dir" / "masked-subdir").mkdir(parents=True)
    (root / "masked-dir" / "masked-subdir" / "tmp").write_text("x")
    for path in ("masked-file", "masked-dir/masked-file", "masked-dir/masked-subdir/masked-file"):
        (root / path).write_text("secrets")
    for name, (kind, major, minor) in DEVICES.items():
        mode = {"b": 0o60644, "c": 0o20644, "p": 0o10644}[kind]
        os.mknod(root / f"masked-{name}", mode, os.makedev(major, minor))
    return root


@spec("runtime-spec/config-linux.md#masked-paths", "config-linux: Masked paths: nested paths and device nodes")
def test_masked_paths_nested_and_device_nodes(lab, recorder):
    """runtime-tools ``linux_masked_paths`` (checkMaskedPaths, checkMaskedDeviceNodes): five nested masked
    paths can't be read (a file reads empty, a directory lists empty), and a masked block, character or FIFO
    node is no longer that node (stat: what the runtime put over it, e.g. /dev/null's 1,3)."""
    root = masks_scratch(lab)
    paths = [f"{MASK_DIR}/{p}" for p in (*NESTED, *(f"masked-{d}" for d in DEVICES))]
    probe = "; ".join(
        [f"echo {p}=$(cat {MASK_DIR}/{p} 2>/dev/null)" for p in NESTED if "file" in p.rsplit("/", 1)[-1]]
        + [
            f"echo {p}=$(ls -A {MASK_DIR}/{p} 2>/dev/null | tr '\\n' ' ')"
            for p in NESTED
            if "file" not in p.rsplit("/", 1)[-1]
        ]
        + [f"echo masked-{d}=$(stat -c '%F %t,%T' {MASK_DIR}/masked-{d})" for d in DEVICES]
    )
    mounts = [*lab.config("").mounts, Mount.bind(str(root), MASK_DIR)]
    ran = lab.run_probe(probe, mounts=mounts, masked_paths=paths)
    seen = {line.partition("=")[0]: line.partition("=")[2].strip() for line in ran.lines() if "=" in line}
    recorder.add("masked", seen)
    unmasked = {p: seen.get(p) for p in NESTED if seen.get(p)}
    kinds = {"block": "block special file 7,c8", "char": "character special file 1,8", "fifo": "fifo"}
    unmasked |= {
        f"masked-{d}": seen.get(f"masked-{d}") for d in DEVICES if seen.get(f"masked-{d}", "").startswith(kinds[d])
    }
    if unmasked or len(seen) != len(NESTED) + len(DEVICES):
        fail_with(
            f"masked paths still show what they hold: {unmasked or seen}",
            step=f"read, list and stat the masked paths under {MASK_DIR}",
            answer=" ".join(ran.lines()) or "no output",
        )


@spec("runtime-spec/config-linux.md#masked-paths", "config-linux: Masked paths (MUST be absolute: a relative one)")
def test_relative_masked_path_is_an_error(lab):
    """runtime-tools ``linux_masked_paths`` checkMaskedRelPaths: a relative masked path is expected to be an
    error (config-linux.md: the values MUST be absolute paths)."""
    must_refuse(lab, lab.config("echo ran", masked_paths=["masked-relpath"]), 'maskedPaths ["masked-relpath"]')


@spec("runtime-spec/config-linux.md#masked-paths", "config-linux: Masked paths (a symlink that resolves nowhere)")
def test_masked_symlink_loop_is_an_error(lab):
    """runtime-tools ``linux_masked_paths`` checkMaskedSymlinks: a masked path that is a symlink to itself
    (``../masked-symlink``) is expected to be an error."""
    root = lab.scratch("masks")
    (root / "masked-symlink").symlink_to("../masks/masked-symlink")
    mounts = [*lab.config("").mounts, Mount.bind(str(root), "/mnt/masks")]
    config = lab.config("echo ran", mounts=mounts, masked_paths=["/mnt/masks/masked-symlink"])
    must_refuse(lab, config, "a masked path that is a symlink to itself")


# --- linux_ns_path: every namespace type this host can hand over by path -------------------------

# What a container can join by path here. user: joining one needs uid/gid mappings the config builder
# does not write; time: only where the runtime's features list it (runc 1.1 and crun do not know it).
JOINABLE = ("ipc", "uts", "net", "pid", "mnt", "cgroup")
NS_FLAGS = {"ipc": "--ipc", "uts": "--uts", "net": "--net", "pid": "--pid", "mnt": "--mount", "cgroup": "--cgroup",
            "time": "--time"}  # fmt: skip
CONFIG_TYPE = {"net": "network", "mnt": "mount"}


@spec("runtime-spec/config-linux.md#namespaces", "config-linux: Namespaces: every type joined by path")
def test_every_namespace_type_joined_by_path(lab, recorder):
    """runtime-tools ``linux_ns_path``: namespaces made by ``unshare`` outside any container (ipc, mnt, net,
    pid, uts, and here cgroup, and time where the runtime lists it), each given to the container by path;
    the container's ``/proc/self/ns`` links must be those namespaces."""
    kinds = list(JOINABLE)
    if "time" in (lab.feature("linux", "namespaces") or []):
        kinds.append("time")
    for kind in kinds:
        lab.needs_feature(("linux", "namespaces"), CONFIG_TYPE.get(kind, kind))
    argv = ["unshare", *(NS_FLAGS[k] for k in kinds), "--fork", "sleep", "60"]
    evidence.record_command(argv)
    holder = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        child = _child_of(holder.pid)
        wanted = {k: os.readlink(f"/proc/{child}/ns/{'time_for_children' if k == 'time' else k}") for k in kinds}
        config = lab.config(" ; ".join(f"echo {k}=$(readlink /proc/self/ns/{k})" for k in kinds))
        for kind in kinds:
            config.set_namespace(CONFIG_TYPE.get(kind, kind), f"/proc/{child}/ns/{kind}")
        ran = lab.run(config)
    finally:
        holder.kill()
        holder.wait()
    seen = {k: ran.value(k) for k in kinds}
    recorder.add("namespaces", {"wanted": wanted, "seen": seen})
    if seen != wanted:
        fail_with(
            f"namespaces given by path, yet the container's are {seen}; the paths' are {wanted}",
            step="/proc/self/ns links of a container joining " + ", ".join(kinds) + " by path",
            answer=" ".join(f"{k}={seen[k] == wanted[k] and 'joined' or seen[k]}" for k in kinds),
        )


def _child_of(pid: int, timeout: float = 5.0) -> int:
    """The process ``unshare --fork`` started: it is the one inside the new pid namespace."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = Path(f"/proc/{pid}/task/{pid}/children")
        found = children.read_text().split() if children.exists() else []
        if found:
            return int(found[0])
        time.sleep(0.02)
    raise HarnessError(f"unshare (pid {pid}) started no child within {timeout:.0f}s")
