"""Drive an OCI runtime through its command line: the runtime-spec operations and ``features``.

runtime.md names the operations (state, create, start, kill, delete) without a command line; runc's
(``create --bundle B ID``, ``state ID``, ``kill ID SIG``, ``delete [--force] ID``) is the one crun
and runsc share, so one driver serves all three. Every call is recorded as a repro line, with the
runtime's state directory (``--root``) under the run's temp dir, never the system's.

A runtime of another generation (``runc@trixie``) is run as that generation's engines run it: its
root's binary, started inside the generation's mount namespace (``GenerationSite.cli``), since it
needs the root's libraries (trixie's runc wants glibc 2.38) and, for runsc 20240729, a real
``pivot_root``ed ``/`` to make its gofer's user namespace. Bundles and ``--root`` then live under the
run's state directory, which the root sees at the same path.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocimatrix import evidence
from ocimatrix.errors import HarnessError, OcimatrixError, UsageError
from ocimatrix.tools import catalog

# (the command prefix and binary) -> the features call and its document: two generations' /usr/bin/runc differ.
FeaturesSeen = dict[tuple[str, ...], tuple["CallResult", dict[str, Any] | None]]


class RuntimeHang(OcimatrixError):
    """A runtime command did not return in time: the runtime's doing, reported as a failure.

    ``step`` and ``answer`` are what ``ImplementationFailure`` carries: the operation, and its
    silence (no exit status within the deadline)."""

    def __init__(self, name: str, operation: str, timeout: float) -> None:
        super().__init__(f"{name} {operation} did not return within {timeout:.0f}s")
        self.step = f"{name} {operation}"
        self.answer = f"no exit status within {timeout:.0f}s"


@dataclass
class CallResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def words(self) -> str:
        """What the runtime said, for a skip or failure reason."""
        text = (self.stderr.strip() or self.stdout.strip()) or f"exit {self.returncode}, no output"
        # The message opens a usage dump (runsc) and closes a log (runc): keep both ends.
        return text if len(text) <= 1200 else f"{text[:600]} [...] {text[-600:]}"

    @property
    def answer(self) -> str:
        """The runtime's answer as a verdict reads it: ``exit N: <what it said>``."""
        return f"exit {self.returncode}: {self.words}"


@dataclass
class Container:
    id: str
    bundle: Path
    stdout_path: Path
    stderr_path: Path

    def output(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""

    def errors(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""


# ``runc=/opt/runc-build/runc,crun=/usr/local/bin/crun``: the binary to test for a runtime, instead of
# the catalog's (a build of one's own, or a wrapper standing in for the runtime).
BINARIES_ENV = "OCIMATRIX_RUNTIME_BINARIES"


def binaries_from_env(text: str | None = None) -> dict[str, str]:
    """``OCIMATRIX_RUNTIME_BINARIES`` as {runtime: binary}; UsageError naming the variable when malformed."""
    text = os.environ.get(BINARIES_ENV, "") if text is None else text
    found = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, sep, path = entry.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise UsageError(f"{BINARIES_ENV}: {entry!r} is not NAME=PATH (e.g. runc=/opt/runc/runc)")
        found[name.strip()] = path.strip()
    return found


def runtime_binary(name: str) -> str | None:
    """The binary ``OCIMATRIX_RUNTIME_BINARIES`` names for ``name``, else the one the tool catalog binds
    it to, else the one on PATH; None when there is none."""
    from ocimatrix.tools import catalog

    chosen = binaries_from_env().get(name)
    if chosen is not None:
        if not os.access(chosen, os.X_OK):
            raise UsageError(f"{BINARIES_ENV}: {name}={chosen} is not an executable file")
        return chosen

    try:
        bound = catalog.lookup(name, "runtime").binary
    except OcimatrixError:
        bound = ""
    if bound and os.access(bound, os.X_OK):
        return bound
    return shutil.which(name)


def _identity(argv: list[str]) -> list[str]:
    return argv


class OciRuntime:
    """One runtime's command line. ``name`` is the cell's spelling (``runc``, ``runc@trixie``); ``enter``
    turns a command into the one that runs it where the runtime lives (its generation's namespace),
    ``flags`` are global options on top of the ones every run of the runtime gets (the catalog's
    ``engine_flags``: gVisor's no-network, say). ``features_seen`` keeps each binary's ``features``
    answer for whoever hands the same dict to the next instance (a session fixture)."""

    def __init__(
        self,
        name: str,
        binary: str,
        state_root: Path,
        *,
        enter: Callable[[list[str]], list[str]] | None = None,
        flags: Sequence[str] = (),
        features_seen: FeaturesSeen | None = None,
    ) -> None:
        self.name = name
        self.binary = binary
        self.state_root = state_root
        self.enter = enter or _identity
        self.flags = tuple(flags)
        self.features_seen: FeaturesSeen = {} if features_seen is None else features_seen

    @property
    def tool(self) -> str:
        """The runtime's own name, whatever its generation (``runc@trixie`` -> ``runc``)."""
        return self.name.partition("@")[0]

    def argv(self, *args: str) -> list[str]:
        own = [self.binary, "--root", str(self.state_root), *catalog.engine_flags(self.tool), *self.flags]
        return self.enter([*own, *args])

    def call(self, *args: str, timeout: float = 30.0, record: bool = True) -> CallResult:
        argv = self.argv(*args)
        if record:
            evidence.record_command(argv)
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise RuntimeHang(self.name, args[0], timeout) from None
        except OSError as exc:
            raise HarnessError(f"cannot execute {self.binary}: {exc}") from exc
        return CallResult(argv, proc.returncode, proc.stdout, proc.stderr)

    def version_text(self) -> str:
        """All of ``--version``: runc, crun and runsc each add a ``spec: X`` line (the spec they implement)."""
        try:
            argv = self.enter([self.binary, "--version"])
            return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    # --- the operations ---------------------------------------------------------------------

    def create(self, container_id: str, bundle: Path, timeout: float = 60.0) -> tuple[Container, CallResult]:
        """``create``; the container's stdio (no terminal) goes to files in the bundle.

        Before start, whatever the files hold is the runtime's own output."""
        return self._with_stdio_files("create", container_id, bundle, timeout)

    def run_attached(self, container_id: str, bundle: Path, timeout: float = 60.0) -> tuple[Container, CallResult]:
        """``run`` in the foreground: create, start and wait, returning the container's exit status."""
        return self._with_stdio_files("run", container_id, bundle, timeout)

    def create_in_background(self, container_id: str, bundle: Path) -> tuple[Container, PendingCall]:
        """``create`` started and not waited for: to ask the runtime about a container while its create
        is still under way (a createRuntime hook holding it in ``creating``)."""
        container = Container(container_id, bundle, bundle / "stdout", bundle / "stderr")
        argv = self.argv("create", "--bundle", str(bundle), container_id)
        _record_with_stdio(argv, container)
        try:
            with open(container.stdout_path, "wb") as out, open(container.stderr_path, "wb") as err:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        except OSError as exc:
            raise HarnessError(f"cannot execute {self.binary} create: {exc}") from exc
        return container, PendingCall(self.name, "create", argv, proc, container)

    def _with_stdio_files(
        self, operation: str, container_id: str, bundle: Path, timeout: float
    ) -> tuple[Container, CallResult]:
        container = Container(container_id, bundle, bundle / "stdout", bundle / "stderr")
        argv = self.argv(operation, "--bundle", str(bundle), container_id)
        _record_with_stdio(argv, container)
        try:
            with open(container.stdout_path, "wb") as out, open(container.stderr_path, "wb") as err:
                proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeHang(self.name, operation, timeout) from None
        except OSError as exc:
            raise HarnessError(f"cannot execute {self.binary} {operation}: {exc}") from exc
        return container, CallResult(argv, proc.returncode, container.output(), container.errors())

    def start(self, container_id: str) -> CallResult:
        return self.call("start", container_id)

    def state(self, container_id: str) -> CallResult:
        return self.call("state", container_id)

    def state_document(self, container_id: str) -> dict[str, Any] | None:
        """The parsed state, or None when the runtime refused or printed something that is not JSON."""
        result = self.state(container_id)
        if not result.ok:
            return None
        try:
            return json.loads(result.stdout)
        except ValueError:
            return None

    def kill(self, container_id: str, signal: str = "KILL") -> CallResult:
        return self.call("kill", container_id, signal)

    def delete(self, container_id: str, *, force: bool = False) -> CallResult:
        return self.call("delete", *(["--force"] if force else []), container_id)

    def features(self) -> CallResult:
        return self.call("features")

    def features_document(self) -> tuple[CallResult, dict[str, Any] | None]:
        """``features`` once per binary (per ``features_seen``): (the call, the parsed document or None)."""
        key = tuple(self.enter([self.binary]))
        if key not in self.features_seen:
            result = self.call("features", record=False)
            document = None
            if result.ok:
                try:
                    document = json.loads(result.stdout)
                except ValueError:
                    document = None
            self.features_seen[key] = (result, document if isinstance(document, dict) else None)
        return self.features_seen[key]

    def wait_for_status(
        self, container_id: str, wanted: Sequence[str], timeout: float = 20.0, *, or_gone: bool = False
    ) -> tuple[str | None, dict[str, Any] | None]:
        """Poll ``state`` until its status is one of ``wanted``: (status, last state), unrecorded polls.
        ``or_gone``: stop too when ``state`` refuses (the container is no more, e.g. after a failed create)."""
        deadline = time.monotonic() + timeout
        document: dict[str, Any] | None = None
        while True:
            result = self.call("state", container_id, record=False)
            if not result.ok and or_gone:
                return None, None
            if result.ok:
                try:
                    document = json.loads(result.stdout)
                except ValueError:
                    document = None
            status = (document or {}).get("status")
            if status in wanted or time.monotonic() > deadline:
                return status, document
            time.sleep(0.05)


@dataclass
class PendingCall:
    """An operation running in the background; ``finish`` waits for it (and kills it past ``timeout``)."""

    name: str
    operation: str
    argv: list[str]
    proc: subprocess.Popen
    container: Container

    def finish(self, timeout: float = 30.0) -> CallResult:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeHang(self.name, self.operation, timeout) from None
        return CallResult(self.argv, code, self.container.output(), self.container.errors())


def _record_with_stdio(argv: list[str], container: Container) -> None:
    line = evidence.shell_line(argv)
    line += f" </dev/null >{shlex.quote(str(container.stdout_path))} 2>{shlex.quote(str(container.stderr_path))}"
    recorder = evidence.current()
    if line not in recorder.repro:
        recorder.repro.append(line)


def version_number(line: str) -> str:
    """The version in a ``--version`` first line: ``runc version 1.1.5+ds1`` -> 1.1.5+ds1; gVisor's
    Debian version ``0.0~20221219.0`` -> 20221219.0 (its release date is the version a range compares)."""
    for word in line.split():
        word = word.removeprefix("release-")
        if word.startswith("0.0~"):
            word = word.removeprefix("0.0~")
        if word[:1].isdigit() and "." in word:
            return word
    return line


def make_state_root(base: Path, name: str) -> Path:
    root = base / f"state-{name}"
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    return root
