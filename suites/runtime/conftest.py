"""Fixtures of the runtime suite: the cell's OCI runtime, one shared busybox rootfs, and a lab that
writes bundles, drives containers through the runtime's command line and always deletes them.

Verdicts (``ocimatrix/plugin/verdicts.py`` decides; every check here hands it the runtime's own answer):
- an operation the spec makes a MUST (create, start, state, kill, delete) refused or wrong: failed,
  with ``step`` the operation and ``answer`` its ``exit N: <stderr>``;
- a configuration the runtime refuses at create or start: failed the same way. A property is
  skipped only when that is decided before the container is made: the runtime's ``features``
  document leaves it out (``Lab.needs_feature``), or the host lacks what it needs (a cgroup
  controller, a capability of the harness's own: ``Lab.needs_cgroup``, ``Lab.needs_host_capability``);
- a configuration the runtime accepts and then gets wrong: failed with what the container showed
  (its probe's output, a mount line, the hook log); one it ignores altogether is skipped only when
  the property is newer than the spec version the runtime declares (``Lab.since``): config.md's
  Extensibility makes it ignore properties it does not know;
- a bundle the harness could not write: HarnessError (error);
- processes that outlive ``delete --force``: killed by pid, and the test fails in teardown, the
  answer naming which of the test's containers (``role``) they belonged to.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import secrets
import shlex
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

from ocimatrix.errors import HarnessError, ImplementationFailure, fail_with
from ocimatrix.images.busybox import HOST_BUSYBOX
from ocimatrix.runtime.bundle import GROUP, MOUNT_POINTS, PASSWD, Bundle, Rootfs, write_raw_bundle, write_rootfs
from ocimatrix.runtime.capabilities import sets_from_status
from ocimatrix.runtime.cli import (
    CallResult,
    Container,
    FeaturesSeen,
    OciRuntime,
    RuntimeHang,
    make_state_root,
    runtime_binary,
    version_number,
)
from ocimatrix.runtime.config import Process, RuntimeConfig
from ocimatrix.runtime.documents import semver_key
from ocimatrix.runtime.leftovers import (
    ProcessMark,
    describe,
    kill_all,
    mark,
    remove_cgroups,
)
from ocimatrix.system.process import processes_mentioning
from ocimatrix.tools import catalog
from ocimatrix.tools.generations import HOST_GENERATION

CGROUP_ROOT = Path("/sys/fs/cgroup")
# How long ``state`` must keep saying stopped before a test acts on a stopped container, and how often it is asked.
SETTLE_HOLD = 0.5
SETTLE_POLL = 0.05


def _status_of(result: CallResult) -> str:
    """The status a ``state`` call answered, or what it said instead (``refused: exit N``, ``not JSON``)."""
    if not result.ok:
        return f"refused: exit {result.returncode}"
    try:
        document = json.loads(result.stdout)
    except ValueError:
        return "not JSON"
    return str(document.get("status")) if isinstance(document, dict) else "not JSON"


def _runs(statuses: list[str]) -> list[str]:
    """``[stopped, stopped, running, stopped]`` -> ``[stopped x2, running, stopped]``: the turns, counted."""
    out: list[str] = []
    for status, group in itertools.groupby(statuses):
        count = len(list(group))
        out.append(status if count == 1 else f"{status} x{count}")
    return out


@pytest.fixture(scope="session")
def runtime_workdir() -> Iterator[Path]:
    """The run's scratch dir: rootfs, bundles and every runtime's --root; removed at the end.

    Under the run's state directory when ``ocimatrix run`` started one: a generation's root sees it at
    the same path, so its runtimes read the same bundles (the root's own /tmp and /var/tmp are tmpfs
    of its namespace)."""
    from ocimatrix.endpoints import ENDPOINTS_ENV, Endpoints

    parent = Path("/var/tmp")
    if os.environ.get(ENDPOINTS_ENV):
        state = Path(Endpoints.load(os.environ[ENDPOINTS_ENV]).state_dir)
        parent = state if state.is_dir() else parent
    path = Path(tempfile.mkdtemp(prefix="ocimatrix-runtime-", dir=parent))
    os.chmod(path, 0o755)
    yield path
    # Whatever a runtime left running from this run names the run's directory: stop it before removing it.
    kill_all(processes_mentioning(str(path)))
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def runtime_versions() -> dict[str, str]:
    """Each cell runtime's ``--version`` text (``runc@trixie`` -> ...), asked once per worker."""
    return {}


@pytest.fixture(scope="session")
def runtime_features() -> FeaturesSeen:
    """Each runtime binary's ``features`` answer, asked once per worker."""
    return {}


@pytest.fixture(scope="session")
def rootfs(runtime_workdir: Path) -> Rootfs:
    if not HOST_BUSYBOX.exists():
        pytest.skip("no /bin/busybox on this host: install busybox-static (ocimatrix provision)")
    return write_rootfs(runtime_workdir / "rootfs", HOST_BUSYBOX)


def rootfs_repro(rootfs: Rootfs) -> str:
    """The shared rootfs, as one shell line (the masking tests' files included)."""
    root = shlex.quote(str(rootfs.path))
    dirs = " ".join(f"{root}/{d}" for d in (*MOUNT_POINTS, "bin", "etc", "srv/secret"))
    return (
        f"mkdir -p {dirs} && cp /bin/busybox {root}/bin/"
        f" && for a in $(/bin/busybox --list); do ln -sf busybox {root}/bin/$a; done"
        f" && printf %s {shlex.quote(PASSWD)} > {root}/etc/passwd && printf %s {shlex.quote(GROUP)} > {root}/etc/group"
        f" && echo s3cret > {root}/etc/secret && echo s3cret > {root}/srv/secret/key"
        f" && chmod 1777 {root}/tmp && chmod 777 {root}/home/probe"
    )


def _generation_runtime(value: str, runtime_workdir: Path, features_seen: FeaturesSeen) -> OciRuntime:
    """``runc@trixie``: the root's binary, entered in the generation's namespace as its engines run it.
    A generation this run could not start is an error of the cell (ServiceUnavailable), never a skip."""
    from ocimatrix.endpoints import ENDPOINTS_ENV, Endpoints

    name, generation = catalog.split_generation(value)
    if not os.environ.get(ENDPOINTS_ENV):
        pytest.skip(f"{value} runs in the {generation} root, which only `ocimatrix run` starts")
    site = Endpoints.load(os.environ[ENDPOINTS_ENV]).site(generation)
    binary = catalog.lookup(value, "runtime").binary
    if not site.has(binary):
        pytest.skip(
            f"the {generation} root has no {binary} (package {catalog.lookup(value).package} not installed in it)"
        )
    return OciRuntime(
        value, binary, make_state_root(runtime_workdir, value), enter=site.cli, features_seen=features_seen
    )


@pytest.fixture
def oci_runtime(
    cell, runtime_workdir: Path, runtime_versions: dict[str, str], runtime_features: FeaturesSeen, recorder
) -> OciRuntime:
    name = cell["runtime"]
    tool, generation = catalog.split_generation(name)
    if generation != HOST_GENERATION:
        runtime = _generation_runtime(name, runtime_workdir, runtime_features)
    else:
        binary = runtime_binary(name)
        if binary is None:
            pytest.skip(
                f"{name} is not installed on this host (Debian package {name}; `ocimatrix provision` installs it)"
            )
        runtime = OciRuntime(name, binary, make_state_root(runtime_workdir, name), features_seen=runtime_features)
    if name not in runtime_versions:
        runtime_versions[name] = runtime.version_text()
    text = runtime_versions[name]
    recorder.versions[name] = version_number(text.splitlines()[0] if text else "")
    recorder.add("runtime_version", text)
    recorder.evidence.setdefault("tools", {})["runtime"] = {
        "tool": tool,
        "generation": generation,
        "binary": runtime.binary,
        "version": recorder.versions[name],
    }
    return runtime


@dataclass
class Ran:
    """A container run to its end: what it wrote, and the last state the runtime reported."""

    container: Container
    stdout: str
    stderr: str
    state: dict[str, Any] | None

    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    @property
    def seen(self) -> str:
        """What the container's probe printed, as a failure's answer: stdout, and stderr when it said anything."""
        said = self.stdout.strip()
        if self.stderr.strip():
            said += ("\n" if said else "") + f"stderr: {self.stderr.strip()}"
        return said[-3000:]

    def value(self, key: str) -> str:
        """The value of a ``key=value`` line the probe printed (the last one wins)."""
        found = [line.partition("=")[2] for line in self.lines() if line.startswith(f"{key}=")]
        if not found:
            fail_with(
                f"the container printed no {key}= line; stdout: {self.stdout[-800:]!r}, stderr: {self.stderr[-800:]!r}",
                step="the container's probe",
                answer=self.seen or "no output",
            )
        return found[-1]


class Lab:
    def __init__(
        self, runtime: OciRuntime, rootfs: Rootfs, workdir: Path, recorder, test_name: str, version_text: str = ""
    ) -> None:
        self.runtime = runtime
        self.version_text = version_text
        self.rootfs = rootfs
        self.workdir = workdir
        self.recorder = recorder
        self.created: list[str] = []
        self.roles: dict[str, str] = {}
        self.marks: dict[str, ProcessMark] = {}
        stem = re.sub(r"[^a-z0-9]+", "-", test_name.lower().removeprefix("test_"))[:24].strip("-")
        self._ids = (f"om-{stem}-{secrets.token_hex(3)}-{n}" for n in itertools.count())

    @property
    def name(self) -> str:
        """The runtime's command, as steps and answers name it (``runc``, whatever its generation: the
        cell names the generation, and an expectation's ``step:`` reads the same on each)."""
        return self.runtime.tool

    def use_own_state_root(self) -> None:
        """A ``--root`` of this test's own, before it makes any container: what the worker's other tests
        left in the shared one (crun 1.21 caches compiled seccomp filters there) can't reach it."""
        if self.created:
            raise HarnessError("use_own_state_root() after a container was made")
        label = f"{self.runtime.name}-{secrets.token_hex(3)}"
        root = make_state_root(self.workdir / "own-roots", label)
        self.runtime = OciRuntime(
            self.runtime.name,
            self.runtime.binary,
            root,
            enter=self.runtime.enter,
            flags=self.runtime.flags,
            features_seen=self.runtime.features_seen,
        )

    def config(self, script: str, **overrides: Any) -> RuntimeConfig:
        """A container that runs ``sh -c script`` in the shared rootfs (read-only unless overridden)."""
        return RuntimeConfig(Process(["sh", "-c", script]), root_path=str(self.rootfs.path), **overrides)

    def scratch(self, label: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=self.workdir))
        os.chmod(path, 0o777)
        return path

    def new_id(self) -> str:
        """A container id of this test's own (``om-<test>-<random>-<n>``)."""
        return next(self._ids)

    def bundle(self, config: RuntimeConfig) -> tuple[str, Bundle]:
        container_id = self.new_id()
        return container_id, self.raw_bundle(container_id, config.to_json())

    def raw_bundle(self, container_id: str, document: dict[str, Any]) -> Bundle:
        """The bundle of ``container_id`` holding ``document`` as given, recorded as evidence and repro."""
        bundle = write_raw_bundle(self.workdir / "bundles" / container_id, document)
        self.recorder.add("config", bundle.config)
        text = json.dumps(bundle.config, separators=(",", ":"))
        self.recorder.repro.append(f"mkdir -p {shlex.quote(str(bundle.path))}")
        self.recorder.repro.append(f"printf '%s\\n' {shlex.quote(text)} > {shlex.quote(str(bundle.config_path))}")
        return bundle

    def create(self, config: RuntimeConfig, *, role: str = "container") -> Container:
        """``create``, failing with the runtime's own words when it refuses."""
        container_id, bundle = self.bundle(config)
        container, result = self.create_bundle(container_id, bundle, role=role)
        if not result.ok:
            self.refused("create", result)
        return container

    def create_bundle(
        self, container_id: str, bundle: Bundle, *, role: str = "container"
    ) -> tuple[Container, CallResult]:
        """``create`` whatever it answers; the container is deleted in teardown either way. ``role``
        names it in a teardown failure (``the first container``), so a leftover is told from another."""
        self.created.append(container_id)
        self.roles[container_id] = role
        try:
            container, result = self.runtime.create(container_id, bundle.path)
        except RuntimeHang as exc:
            raise ImplementationFailure(str(exc), step=exc.step, answer=exc.answer) from None
        if result.ok:
            # Remember the container's process, to find it again should the runtime lose track of it.
            state = self.runtime.call("state", container_id, record=False)
            with contextlib.suppress(ValueError, TypeError):
                seen = mark(int(json.loads(state.stdout)["pid"])) if state.ok else None
                if seen is not None:
                    self.marks[container_id] = seen
        return container, result

    def refused(self, operation: str, result: CallResult) -> NoReturn:
        """The runtime refused an operation the test needed: its exit status and words are the answer."""
        self.recorder.add(f"{operation}_refused", result.words)
        fail_with(
            f"{self.name} {operation} refused (exit {result.returncode}): {result.words}",
            step=f"{self.name} {operation}",
            answer=result.answer,
        )

    def start(self, container: Container) -> None:
        result = self.runtime.start(container.id)
        if not result.ok:
            self.refused("start", result)

    def state(self, container: Container) -> dict[str, Any]:
        result = self.runtime.state(container.id)
        if not result.ok:
            self.refused("state", result)
        try:
            return json.loads(result.stdout)
        except ValueError:
            fail_with(
                f"{self.name} state printed something that is not JSON: {result.stdout[:500]!r}",
                step=f"{self.name} state",
                answer=f"exit 0: {result.stdout[:1500]}",
            )

    def wait_stopped(self, container: Container, timeout: float = 20.0) -> dict[str, Any] | None:
        status, document = self.runtime.wait_for_status(container.id, ["stopped"], timeout)
        if status != "stopped":
            fail_with(
                f"{container.id} still reports status {status!r} {timeout:.0f}s after its process should end",
                step=f"{self.name} state, until stopped",
                answer=f"status {status!r} after {timeout:.0f}s",
            )
        return document

    def wait_settled_stopped(
        self, container: Container, timeout: float = 20.0, *, hold: float = SETTLE_HOLD
    ) -> dict[str, Any] | None:
        """``state`` until it has said stopped on every poll for ``hold`` seconds: the state a test then
        acts on (kill, start or delete of a stopped container) is the one the runtime keeps.

        runsc computes the status on each ``state`` (it signals the container and reads a failure as
        stopped, its stored status staying running), so one answer of stopped may be followed by
        running again now and then. Each answer that turned back is kept as evidence
        (``state_turned_back``: the statuses in the order given, with the time since the first
        stopped); a runtime that never settles fails with them as its answer."""
        document = self.wait_stopped(container, timeout)
        deadline = time.monotonic() + timeout
        seen: list[str] = ["stopped"]
        first = since = time.monotonic()
        while time.monotonic() - since < hold:
            result = self.runtime.call("state", container.id, record=False)
            status = _status_of(result)
            seen.append(status)
            if status == "stopped":
                document = json.loads(result.stdout)
            else:
                since = time.monotonic()
                if time.monotonic() > deadline:
                    break
            time.sleep(SETTLE_POLL)
        if any(status != "stopped" for status in seen):
            turned = {"statuses": _runs(seen), "seconds_after_first_stopped": round(time.monotonic() - first, 2)}
            self.recorder.add("state_turned_back", turned)
            if seen[-1] != "stopped":
                fail_with(
                    f"{container.id} went back from stopped to {seen[-1]!r} and did not settle in {timeout:.0f}s",
                    step=f"{self.name} state, until it stays stopped",
                    answer=f"statuses in turn: {', '.join(_runs(seen))}",
                )
        return document

    def delete_stopped(self, container: Container, timeout: float = 5.0) -> CallResult:
        """``delete`` (no ``--force``) of a container whose state said stopped, retried while the runtime
        answers that it is not stopped, until ``timeout``. runsc 20240729 does so now and then (about one
        delete in ten here) right after its own ``state`` said stopped: the same turn back as
        ``wait_settled_stopped`` reads. Each refusal is evidence (``delete_refused_while_stopped``) and a
        delete that never succeeds still fails with the runtime's words."""
        result = self.runtime.delete(container.id)
        deadline = time.monotonic() + timeout
        refusals = []
        while not result.ok and "not stopped" in result.words and time.monotonic() < deadline:
            refusals.append(result.answer)
            time.sleep(0.1)
            result = self.runtime.delete(container.id)
        if refusals:
            self.recorder.add("delete_refused_while_stopped", {"times": len(refusals), "first": refusals[0]})
        return result

    def wait_for_output(self, container: Container, text: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in container.output():
            if time.monotonic() > deadline:
                fail_with(
                    f"the container never printed {text!r}; stdout {container.output()[-500:]!r}",
                    step=f"the container's output, waiting for {text!r}",
                    answer=f"stdout {container.output()[-1000:]!r}, stderr {container.errors()[-1000:]!r}",
                )
            time.sleep(0.05)

    def run(self, config: RuntimeConfig, *, timeout: float = 20.0) -> Ran:
        """Create, start, wait for ``stopped``; the output is recorded as evidence."""
        container = self.create(config)
        self.start(container)
        state = self.wait_stopped(container, timeout)
        ran = Ran(container, container.output(), container.errors(), state)
        self.recorder.add("stdout", ran.stdout[-4000:])
        if ran.stderr:
            self.recorder.add("stderr", ran.stderr[-4000:])
        return ran

    def run_probe(self, script: str, **overrides: Any) -> Ran:
        return self.run(self.config(script, **overrides))

    def feature(self, *path: str) -> Any:
        """A value of the runtime's features document; None when it has none or doesn't say."""
        _, document = self.runtime.features_document()
        value: Any = document
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    def needs_feature(self, path: tuple[str, ...], wanted: str | None = None) -> None:
        """Skip, with the runtime's own answer, when its features document says it lacks something."""
        value = self.feature(*path)
        where = ".".join(path)
        if value is None:
            return  # no features document, or silent on it: the container run decides
        if wanted is None and value is False:
            pytest.skip(f"`{self.name} features` says {where} = false")
        if wanted is not None and isinstance(value, list) and wanted not in value:
            pytest.skip(f"`{self.name} features` does not list {wanted!r} in {where}: {value}")

    def needs_cgroup(self, controller: str) -> None:
        """Skip, before any container is made, when this host has no cgroup v1 hierarchy for
        ``controller`` (the suite reads limits there) or the runtime's features deny cgroup v1."""
        self.needs_feature(("linux", "cgroup", "v1"))
        hierarchy = CGROUP_ROOT / controller
        if not hierarchy.is_dir() or not (hierarchy / "cgroup.procs").exists():
            pytest.skip(f"this host has no cgroup v1 {controller} hierarchy at {hierarchy}")

    def needs_host_capability(self, capability: str, why: str) -> None:
        """Skip when the harness itself lacks ``capability``: the runtime it starts inherits its sets,
        so no runtime could do what needs it here. Decided from /proc/self/status before acting."""
        held = sets_from_status(Path("/proc/self/status").read_text())
        if capability not in held.get("effective", set()):
            pytest.skip(f"this host's harness process lacks {capability} ({why}); /proc/self/status CapEff")

    def declared_spec_version(self) -> tuple[str, str]:
        """(version, where it was read): ``features``' ociVersionMax, else the ``--version`` spec line."""
        high = self.feature("ociVersionMax")
        if isinstance(high, str):
            return high, f"`{self.name} features`: ociVersionMax {high}"
        line = next((x for x in self.version_text.splitlines() if x.startswith("spec:")), "")
        return line.removeprefix("spec:").strip(), f"`{self.name} --version`: {line.strip()}"

    @contextlib.contextmanager
    def since(self, version: str, what: str, *, ignored: bool) -> Iterator[None]:
        """A check of a property added in runtime-spec ``version``.

        config.md's Extensibility makes a runtime ignore properties it does not know. When the check
        fails, the runtime left the property without any effect (``ignored``) and it declares an
        older spec version, it is skipped with its own declaration. A property it acted on, wrongly,
        still fails; a pass stays a pass, whatever the runtime declares.
        """
        try:
            yield
        except (AssertionError, pytest.fail.Exception) as failure:
            declared, source = self.declared_spec_version()
            have, need = semver_key(declared), semver_key(version)
            if ignored and have is not None and need is not None and have < need:
                pytest.skip(
                    f"{source}; {what} came in runtime-spec {version} and {self.name} ignores it, as the spec "
                    f"asks of a runtime that does not know a property (observed: {str(failure).splitlines()[0][:300]})"
                )
            raise

    def _sweep(self, container_id: str) -> list[str]:
        """Kill what survived ``delete --force``: the container's process, or any naming its bundle."""
        first = self.marks.get(container_id)
        deadline = time.monotonic() + 2
        while first is not None and first.alive() and time.monotonic() < deadline:
            time.sleep(0.05)  # a process killed by delete --force may take a moment to go
        survivors = set(processes_mentioning(str(self.workdir / "bundles" / container_id)))
        if first is not None and first.alive():
            survivors.add(first.pid)
        if not survivors:
            return []
        described = [describe(pid) for pid in sorted(survivors)]
        kill_all(sorted(survivors))
        deadline = time.monotonic() + 5
        while any(mark(pid) for pid in survivors) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.recorder.add("leftover_processes", described)
        self.recorder.add("leftover_cgroups_removed", remove_cgroups(container_id))
        return [f"processes survived delete --force (killed by the harness): {described}"]

    def cleanup(self) -> None:
        leftovers: list[tuple[str, str]] = []  # (the container's role, what was left of it)
        for container_id in self.created:
            role = self.roles.get(container_id, "container")
            try:
                self.runtime.delete(container_id, force=True)
                still = self.runtime.call("state", container_id, record=False)
            except RuntimeHang as exc:
                leftovers.append((role, f"{exc.step}: {exc.answer}"))
                continue
            if still.ok:
                leftovers.append((role, f"state still answers after delete --force: {still.stdout[:200]}"))
            leftovers += [(role, found) for found in self._sweep(container_id)]
        if leftovers:
            # The runtime's doing, not the harness's: a test that passed becomes a failure, one that failed stays so.
            roles = sorted({role for role, _ in leftovers})
            fail_with(
                f"{self.name} left containers behind: {'; '.join(f'{r}: {what}' for r, what in leftovers)}",
                step=f"{self.name} delete --force (teardown) of the {', '.join(roles)}",
                answer="; ".join(what for _, what in leftovers),
            )


@pytest.fixture
def lab(
    request, oci_runtime: OciRuntime, rootfs: Rootfs, runtime_workdir: Path, runtime_versions: dict[str, str], recorder
) -> Iterator[Lab]:
    made = Lab(
        oci_runtime,
        rootfs,
        runtime_workdir,
        recorder,
        request.node.originalname,
        runtime_versions.get(oci_runtime.name, ""),
    )
    recorder.repro.append(rootfs_repro(rootfs))
    yield made
    made.cleanup()
