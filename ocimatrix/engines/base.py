"""The one interface every engine driver implements, and the values that cross it.

A driver wraps one tool (docker-py against dockerd, the podman CLI, ctr, buildah, CRI ...) and takes
the paths of its binaries so another version of the tool can be tested side by side. Every action is
recorded as the equivalent shell command, which becomes the cell's repro.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ocimatrix import evidence
from ocimatrix.endpoints import Endpoints
from ocimatrix.engines.identity import package_origin
from ocimatrix.errors import EngineError, TimedOut, Unsupported
from ocimatrix.images.busybox import host_platform_name
from ocimatrix.runtime import recording_shim
from ocimatrix.tools import capabilities as caps
from ocimatrix.tools import catalog

# OCI runtime -> binary, for the runtimes the engines here are set up to use (from the catalog).
RUNTIME_BINARIES = catalog.engine_runtimes()


@dataclass
class RunSpec:
    image: str
    runtime: str = catalog.DEFAULT_RUNTIME
    args: list[str] | None = None  # replaces the image's Cmd
    entrypoint: list[str] | None = None  # replaces the image's Entrypoint (and, per Docker semantics, Cmd)
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    workdir: str | None = None
    platform: str | None = None
    timeout: float = 120.0


@dataclass
class RunResult:
    exit_code: int
    stdout: str
    stderr: str = ""


@dataclass
class ResolvedImage:
    """The single-platform image a reference resolved to in an engine's store (after a pull).

    For a multi-platform index this says which variant the engine chose: ``config_digest`` (the
    image ID, what it would run) always; the platform manifest's digest when the engine tells.
    """

    config_digest: str
    architecture: str = ""
    os: str = ""
    variant: str = ""  # "" when the engine doesn't report variants (podman 4.3 inspect)
    manifest_digest: str = ""  # the platform manifest, when the engine reports it
    digests: tuple[str, ...] = ()  # every manifest digest the engine ties to the reference
    how: str = ""  # the command the answer comes from, for the evidence


@dataclass
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


def run_command(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 300.0,
    check: bool = True,
    record: bool = True,
    what: str = "",
) -> CommandResult:
    """Run a tool, record it for the repro, and turn a failure into an EngineError with the tool's words."""
    if record:
        evidence.record_command(argv, env)
    full_env = dict(os.environ, **(env or {}))
    try:
        proc = subprocess.run(
            [str(a) for a in argv],
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise EngineError(f"{argv[0]}: not found") from None
    except subprocess.TimeoutExpired:
        raise TimedOut(f"{what or argv[0]} timed out after {timeout:.0f} s: {evidence.shell_line(argv)}") from None
    result = CommandResult(proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip())[-1500:]
        step = what or Path(argv[0]).name
        answer = f"exit {proc.returncode}: {detail}"
        raise EngineError(f"{step} failed (exit {proc.returncode}): {detail}", step=step, answer=answer)
    return result


def docker_style_run_args(spec: RunSpec, runtime: str, entrypoint: list[str], name: str = "") -> list[str]:
    """``run`` arguments up to and including the image, for CLIs that follow docker's (docker, podman):
    never pull, never network. ``entrypoint`` is the ``--entrypoint`` value(s) the CLI wants, or [];
    ``name`` lets a container that outlives its timeout be found and removed."""
    args = ["run", "--rm", "--network", "none", "--pull", "never", "--runtime", runtime]
    if name:
        args += ["--name", name]
    if spec.platform:
        args += ["--platform", spec.platform]
    for key, value in spec.env.items():
        args += ["--env", f"{key}={value}"]
    if spec.user is not None:
        args += ["--user", spec.user]
    if spec.workdir is not None:
        args += ["--workdir", spec.workdir]
    args += entrypoint
    args.append(spec.image)
    return args


def first_line_version(argv: Sequence[str]) -> str:
    """Read 'tool version X.Y.Z ...' style output; '' if the tool is missing."""
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, timeout=20).stdout
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return ""
    for word in out.split():
        word = word.strip(",").removeprefix("v")
        if word[:1].isdigit() and "." in word:
            return word
    return ""


def runtime_versions() -> dict[str, str]:
    return {name: first_line_version([path, "--version"]) for name, path in RUNTIME_BINARIES.items()}


class BoundTool:
    """One binding of a catalog line (``tools/catalog.py``) to binaries and sockets: the same
    driver class can be bound twice (another generation's dockerd beside this host's). What the
    tool can do is declared on its catalog line; ask ``supports()`` before asking for it."""

    name: ClassVar[str]

    def __init__(
        self,
        endpoints: Endpoints,
        *,
        tool: catalog.Tool | None = None,
        endpoint: str | None = None,
        binary: str | None = None,
        generation: str = catalog.HOST_GENERATION,
    ) -> None:
        self.endpoints = endpoints
        self.tool = tool or catalog.lookup(self.name)
        self.named_endpoint = endpoint or ""  # a daemon of the user's, handed over by the matrix
        self.generation = generation
        # Another generation's tools run from its root (paths are the root's, commands enter it);
        # a generation the run could not start raises ServiceUnavailable here: its cells are errors.
        self.site = None if generation == catalog.HOST_GENERATION else endpoints.site(generation)
        self.binary = binary or self.tool.binary
        self.endpoint = ""  # set by drivers that talk to a daemon
        self._identity: dict[str, str] | None = None
        self._capabilities: caps.Capabilities | None = None

    @property
    def label(self) -> str:
        """The tool as a cell names it: ``docker`` (this host's) or ``docker@trixie``."""
        return catalog.spelled(self.name, self.generation)

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """``argv`` as this tool's generation runs it: unchanged on the host, entered into a root otherwise."""
        return self.site.cli(list(argv)) if self.site else list(argv)

    def tool_env(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        return self.site.environment(dict(env or {})) if self.site else dict(env or {})

    def has_binary(self, path: str | None = None) -> bool:
        path = path or self.binary
        return self.site.has(path) if self.site else os.path.exists(path)

    def runtime_binary(self, runtime: str) -> str:
        """The binary of OCI runtime ``runtime`` (``crun``, ``crun@trixie``) this tool hands its containers
        to: this host's, or the path inside the root of the tool's own generation. A runtime of another
        generation than the engine's can't be handed over (its binary needs its own root's libraries)."""
        name, generation = catalog.split_generation(runtime)
        if generation != self.generation:
            raise Unsupported(
                f"{runtime} is of generation {generation}, {self.label} of {self.generation}: an engine runs the "
                "runtimes of its own generation"
            )
        if name == recording_shim.RECORDING_RUNTIME:
            # The run's recording shim: installed under the run's state directory, not a catalog binary; a
            # generation's root sees that directory at the same path, and the shim execs the root's runc.
            binary = str(recording_shim.shim_path(self.endpoints.state_dir))
            if not os.path.exists(binary):
                raise Unsupported(f"the run's recording shim is not installed ({binary} missing)")
            return binary
        if name in RUNTIME_BINARIES:
            binary = RUNTIME_BINARIES[name]
        else:
            raise Unsupported(f"unknown runtime {name}; known: {', '.join(RUNTIME_BINARIES)}")
        if not self.has_binary(binary):
            where = f" in the root of {self.generation}" if self.site else ""
            raise Unsupported(f"{runtime} is not installed ({binary} missing{where})")
        return binary

    # -- what it is and what it can do ------------------------------------------------------------

    @property
    def key(self) -> str:
        """This binding, for caches shared by cells: tool, generation and what it is bound to."""
        return f"{self.name}@{self.generation}:{self.endpoint or self.binary}"

    @property
    def capabilities(self) -> caps.Capabilities:
        """The catalog line's capabilities at this binding's version (``Tool.by_version``)."""
        if not self.tool.by_version:
            return self.tool.capabilities
        if self._capabilities is None:
            self._capabilities = caps.capabilities_at(self.tool, self.capability_version())
        return self._capabilities

    def capability_version(self) -> str:
        """The version capabilities are judged at: a root's packaged version (no daemon asked), else the
        tool's own answer; "" (the base line) when the tool can't say, which its cell then shows."""
        if self.site:
            packaged = self.site.version_of(self.name) or self.site.version_of(self.tool.package)
            if packaged:
                return packaged
        try:
            return self.version()
        except Exception:  # noqa: BLE001 - a daemon that can't say (docker-py raises its own): the base line
            return ""

    def embedded_address(self) -> str:
        """Where the harness's own daemon for this tool listens ("" when it starts none, or it failed)."""
        return self.endpoints.address(self.tool.embedded_endpoint)

    @property
    def embedded_services(self) -> tuple[str, ...]:
        return () if self.named_endpoint else self.tool.embedded_services

    def supports(self, capability: str, value: str | None = None) -> bool:
        """Whether this tool can do ``capability`` (e.g. "save", "cri", ("push_format", "oci"))."""
        return caps.supports(self.capabilities, capability, value)

    def why_not(self, capability: str, value: str | None = None) -> str:
        """The driver's own words for a capability it lacks: the skip reason a reader sees."""
        template = caps.reason_template(self.capabilities, capability)
        version = self._version_for_reason() if "{version}" in template else ""
        host = host_platform_name() if "{host}" in template else ""
        return template.format(name=self.name, version=version, value=value or "", host=host)

    def _version_for_reason(self) -> str:
        try:
            return self.version()
        except Exception:  # noqa: BLE001 - a reason must never raise
            return "(version unknown)"

    def require(self, capability: str, value: str | None = None) -> None:
        if not self.supports(capability, value):
            raise Unsupported(self.why_not(capability, value))

    def versions(self) -> dict[str, str]:
        """Tool label -> version, as a cell records them (a CRI endpoint adds what it reports)."""
        return {self.label: self.version()}

    def runtime_version_of(self, runtime: str) -> str | None:
        """The version of ``runtime`` as this tool vouches for it; None: it vouches for none (the host's
        binary is asked). A CRI endpoint, whose handlers may run binaries other than the host's, answers."""
        return None

    def close(self) -> None:
        """Close the clients the driver opened (docker-py, gRPC); the fixture that bound it calls this."""

    def identity(self) -> dict[str, str]:
        """Which tool this cell used, fully: version, generation, binary, endpoint and origin."""
        if self._identity is None:
            found: dict[str, Any] = {"tool": self.name, "generation": self.generation}
            found["version"] = self.version()
            if self.binary:
                found["binary"] = f"{self.binary} (in {self.site.rootfs})" if self.site else self.binary
            if self.endpoint:
                found["endpoint"] = self.endpoint
            if self.site:
                packaged = self.site.tools.get(self.name) or next(
                    (t for t in self.site.tools.values() if t.get("package") == self.tool.package), {}
                )
                found["origin"] = packaged.get("origin") or f"the root of generation {self.generation}"
                package = packaged.get("package") or self.tool.package
                found["package"] = f"{package} {packaged.get('version', '(not in the root)')}"
            elif self.named_endpoint:
                found["origin"] = "a daemon the matrix names under endpoints:"
            else:
                found["origin"] = "the harness's own daemon" if self.tool.embedded_endpoint else "this host"
                found["package"] = package_origin(self.tool.package)
            self._identity = found
        return self._identity

    def version(self) -> str:
        raise NotImplementedError


class Engine(BoundTool, ABC):
    """A tool that can pull and run images; builders also build and push."""

    @abstractmethod
    def unavailable(self) -> str | None:
        """Why this engine can't run on this host (shown as the skip reason), or None."""

    @abstractmethod
    def version(self) -> str: ...

    @contextmanager
    def scratch(self, prefix: str) -> Iterator[str]:
        """A directory for files a command writes (a digest file, a CLI config) that outlives the command
        as long as the services do, so the recorded repro line can be replayed against them; the
        state directory's cleanup removes it."""
        parent = Path(self.endpoints.state_dir or tempfile.gettempdir()) / "scratch"
        parent.mkdir(parents=True, exist_ok=True)
        yield tempfile.mkdtemp(prefix=prefix, dir=parent)

    def build(self, context: Path, ref: str, *, format: str, platform: str) -> None:
        raise Unsupported(self.why_not("build"))

    def push(self, ref: str, *, format: str, compression: str) -> str:
        """Push ``ref`` and return the manifest digest the registry got (sha256:...)."""
        raise Unsupported(self.why_not("push"))

    def build_index(self, ref: str, per_platform: dict[str, str], *, format: str) -> str:
        """Push a multi-platform index to ``ref`` listing images already in the registry.

        ``per_platform`` maps a platform ("linux/arm/v7") to the reference of its pushed image;
        ``format`` "oci" makes an OCI image index, "docker" a Docker manifest list. Returns the
        index digest the registry got.
        """
        raise Unsupported(self.why_not("index", format))

    def build_and_push(
        self,
        context: Path,
        ref: str,
        *,
        platforms: list[str],
        format: str,
        compression: str,
        provenance: str = "",
    ) -> str:
        """Build ``context`` for every platform in one build (``supports("multi_platform_build")``), with
        ``provenance`` attestations (``supports("attestations", mode)``), and push it to ``ref``;
        returns the digest the registry got (an index's, when there is more than one manifest)."""
        raise Unsupported(self.why_not("multi_platform_build"))

    @abstractmethod
    def pull(self, ref: str, *, platform: str | None = None) -> None: ...

    def resolved_image(self, ref: str, *, platform: str | None = None) -> ResolvedImage:
        """Which image ``ref`` (pulled for ``platform``, None: the engine's default) resolved to."""
        raise Unsupported(f"{self.name} does not say which image of an index it selected")

    @abstractmethod
    def image_digest(self, ref: str) -> str:
        """The manifest digest the engine recorded for ``ref`` when it pulled it."""

    @abstractmethod
    def image_config(self, ref: str) -> dict:
        """The image's OCI config ``config`` section as the engine sees it (Labels, Env, User ...)."""

    @abstractmethod
    def run(self, spec: RunSpec) -> RunResult: ...

    def save(self, ref: str, dest: Path, *, format: str) -> Path:
        raise Unsupported(self.why_not("save", format))

    def load(self, archive: Path) -> None:
        """Load an archive ``save`` wrote back into the store (the names it carries are the image's)."""
        raise Unsupported(f"{self.label} has no way to load an archive into its store here")

    @abstractmethod
    def remove_image(self, ref: str) -> None: ...

    def check_runtime(self, runtime: str) -> None:
        self.runtime_binary(runtime)
