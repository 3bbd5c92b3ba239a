"""The tools the harness knows: name -> driver, where it comes from, and what it can do.

One line per tool (``TOOLS``). The matrix checker reads the names, roles and endpoint keys from here,
the fixtures bind drivers through ``bind``, the services' supervision asks which embedded daemons a
tool works through, and the suites ask a bound driver ``supports(...)`` instead of checking its type.
Drivers are imported only when a cell binds one, so loading a matrix never imports docker-py or gRPC.

A tool exists in one or more *generations* (a Debian release whose packages it comes from):
``bookworm`` is this host's own system; ``trixie`` and ``sid`` are roots of their own, prepared by
provisioning (``ocimatrix/generations``), whose daemons the embedded services start chrooted beside
the host's. A matrix names a generation's tool as ``docker@trixie``; a bare name is this host's.

Adding a tool: write its driver module (a subclass of ``engines.base.Engine``) and add its line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ocimatrix.errors import UsageError

if TYPE_CHECKING:
    from ocimatrix.engines.base import Engine

HOST_GENERATION = "bookworm"  # the Debian release this host's packages come from
ROOT_GENERATIONS = ("trixie", "sid")  # generations run from a prepared root (ocimatrix/generations)
GENERATIONS = (HOST_GENERATION, *ROOT_GENERATIONS)
ROLES = ("engine", "builder", "copier", "runtime")


@dataclass(frozen=True)
class Capabilities:
    """What a tool can do, declared, so a suite can ask before it tries (and skip with the reason).

    Empty tuples mean "not at all"; ``reasons`` holds the driver's own words for a missing capability
    (``{name}``, ``{version}``, ``{value}`` and ``{host}``, this host's platform, are filled in): the
    skip reason a reader sees.
    """

    run: bool = True  # pulls and runs images (the matrix's ``engine`` axis)
    build: bool = False  # builds images from a context
    push_formats: tuple[str, ...] = ()  # manifest formats it pushes: "oci", "docker"
    push_compressions: tuple[str, ...] = ()  # layer compressions it pushes: "gzip", "zstd", "none"
    index_formats: tuple[str, ...] = ()  # multi-platform index kinds it pushes ("oci" index, "docker" list)
    save_formats: tuple[str, ...] = ()  # archive formats it saves an image to
    cri: bool = False  # speaks Kubernetes' CRI (pods, containers, ExecSync ...)
    platform_choice: bool = True  # pulls and runs a platform other than the host's on request
    user_override: bool = True  # runs a container as a user other than the image's
    engine_runtime: bool = False  # (runtimes) the engines here are set up to run containers with it
    no_network: bool = True  # runs a container with no network at all (an untrusted image's only way to run)
    reasons: dict[str, str] = field(default_factory=dict)


# How a capability asked by name (with an optional value) reads off the declaration.
_CHECKS = {
    "run": lambda c, v: c.run,
    "build": lambda c, v: c.build,
    "push": lambda c, v: bool(c.push_formats),
    "push_format": lambda c, v: v in c.push_formats,
    "push_compression": lambda c, v: v in c.push_compressions,
    "index": lambda c, v: v in c.index_formats if v else bool(c.index_formats),
    "save": lambda c, v: v in c.save_formats if v else bool(c.save_formats),
    "cri": lambda c, v: c.cri,
    "platform_choice": lambda c, v: c.platform_choice,
    "user_override": lambda c, v: c.user_override,
    "no_network": lambda c, v: c.no_network,
}
CAPABILITIES = tuple(_CHECKS)

_DEFAULT_REASONS = {
    "run": "{name} does not run containers",
    "build": "{name} does not build images",
    "push": "{name} does not push images",
    "push_format": "{name} cannot push {value} manifests",
    "push_compression": "{name} cannot push {value}-compressed layers",
    "index": "{name} cannot create multi-platform images",
    "save": "{name} has no command that saves an image to an archive",
    "cri": "{name} is not a CRI runtime",
    "platform_choice": "{name} cannot choose the platform it pulls and runs",
    "user_override": "{name} cannot run a container as another user than the image's",
    "no_network": "{name} cannot run a container without a network",
}


@dataclass(frozen=True)
class SinceVersion:
    """Capabilities a tool has only in some versions: ``changes`` (fields of ``Capabilities``; ``reasons``
    are merged) apply when the bound tool's version is in ``versions`` (a range: ``>=1.7``, ``<23``).
    Declared on the tool's catalog line, so a suite still only asks ``supports()``."""

    versions: str
    changes: dict[str, Any]
    evidence: str = ""  # where the difference shows (a flag, a release note), for a reader of the catalog


def capabilities_at(tool: Tool, version: str) -> Capabilities:
    """``tool``'s capabilities at ``version`` (its base line with every ``SinceVersion`` whose range admits it)."""
    from ocimatrix.claims.versions import parse_range

    found = tool.capabilities
    for override in tool.by_version:
        if version and parse_range(override.versions).admits(version):
            changes = dict(override.changes)
            if "reasons" in changes:
                changes["reasons"] = {**found.reasons, **changes["reasons"]}
            found = replace(found, **changes)
    return found


def supports(capabilities: Capabilities, capability: str, value: str | None = None) -> bool:
    if capability not in _CHECKS:
        raise UsageError(f"unknown capability {capability!r}; known: {', '.join(CAPABILITIES)}")
    return bool(_CHECKS[capability](capabilities, value))


def reason_template(capabilities: Capabilities, capability: str) -> str:
    key = capability
    return capabilities.reasons.get(key) or _DEFAULT_REASONS.get(key, "{name} cannot " + capability)


@dataclass(frozen=True)
class Tool:
    """One line of the catalog."""

    name: str
    driver: str  # "module:Class", imported on first bind; "" for a tool no driver wraps (yet)
    roles: tuple[str, ...]
    package: str  # the Debian package it comes from (its origin, recorded with each cell)
    capabilities: Capabilities = Capabilities()
    # The ``Endpoints`` field of the embedded daemon it talks to, "" when the harness starts none for it.
    embedded_endpoint: str = ""
    # A matrix may hand over a daemon of the user's under ``endpoints: {NAME: unix://...}``.
    user_endpoint: bool = False
    # The harness's own daemons the driver works through (see host/supervision.py): a cell using
    # the tool is an error, not a failure, when one of them stops answering.
    embedded_services: tuple[str, ...] = ()
    binary: str = ""  # the default binary, for tools driven through their command line
    generations: tuple[str, ...] = GENERATIONS
    # (runtimes) containerd runs it only through a shim of its own: (runtime type, the shim's binary).
    # Empty: containerd's runc shim runs it as its BinaryName, as it runs runc and crun.
    containerd_shim: tuple[str, str] = ()
    # (runtimes) global options an engine passes it (dockerd's runtimeArgs, podman's --runtime-flag).
    engine_flags: tuple[str, ...] = ()
    # What changes with the version bound (e.g. ctr gained ``run --user`` in 1.7).
    by_version: tuple[SinceVersion, ...] = ()

    def driver_class(self) -> type[Engine]:
        if not self.driver:
            raise UsageError(f"{self.name} has no driver in ocimatrix.engines")
        module, _, attr = self.driver.partition(":")
        return getattr(importlib.import_module(module), attr)


# Pods here share the host's network namespace (NamespaceOption.network = NODE): no CNI network exists.
_CRI_HOST_NETWORK = "{name} here runs pods on the host's network (no CNI), so it never runs an untrusted image"
_CRI_PLATFORM = (
    "the CRI has no platform choice: PullImage and CreateContainer use the runtime's own platform ({host}), not {value}"
)
_STORAGE_TOOLS = {"push_formats": ("oci", "docker"), "index_formats": ("oci", "docker"), "build": True}

# What every CRI runtime can and can't do here, whoever implements it.
_CRI_CAPABILITIES = Capabilities(
    cri=True,
    platform_choice=False,
    no_network=False,
    reasons={"platform_choice": _CRI_PLATFORM, "no_network": _CRI_HOST_NETWORK},
)

TOOLS: tuple[Tool, ...] = (
    Tool(
        "docker",
        "ocimatrix.engines.docker_engine:DockerEngine",
        ("engine", "builder"),
        package="docker.io",
        capabilities=Capabilities(
            build=True,
            push_formats=("docker",),  # the 20.10 legacy builder and push emit Docker v2 schema 2 only
            push_compressions=("gzip",),
            index_formats=("docker",),  # `docker manifest` writes manifest lists only
            save_formats=("docker",),
            reasons={
                "push_format": "docker {version} builds and pushes only Docker v2 schema 2 images",
                "push_compression": "docker {version} push compresses layers with gzip only",
                "save": "docker {version} saves only the docker-archive format",
            },
        ),
        by_version=(
            SinceVersion(
                ">=25",
                {"save_formats": ("docker", "oci")},
                "docker 25's save writes an OCI image layout (oci-layout, index.json) around the docker-archive",
            ),
        ),
        embedded_endpoint="docker",
        user_endpoint=True,
        embedded_services=("dockerd", "containerd"),
        binary="/usr/bin/docker",
    ),
    Tool(
        "podman",
        "ocimatrix.engines.podman_engine:PodmanEngine",
        ("engine", "builder"),
        package="podman",
        capabilities=Capabilities(
            **_STORAGE_TOOLS,
            push_compressions=("gzip", "zstd"),  # 4.3 push can't leave layers uncompressed (buildah's -D can)
            save_formats=("oci", "docker"),
            reasons={
                "push_compression": "{name} {version} push has no option to leave layers uncompressed "
                "(--disable-compression is buildah's)"
            },
        ),
        binary="/usr/bin/podman",
    ),
    Tool(
        "buildah",
        "ocimatrix.engines.podman_engine:BuildahEngine",
        ("builder",),
        package="buildah",
        capabilities=Capabilities(
            **_STORAGE_TOOLS,
            run=False,
            push_compressions=("gzip", "zstd", "none"),
            reasons={"run": "buildah is a builder; it does not run containers as a runner in the matrix"},
        ),
        binary="/usr/bin/buildah",
    ),
    Tool(
        "containerd",
        "ocimatrix.engines.containerd_engine:ContainerdEngine",
        ("engine",),
        package="containerd",
        capabilities=Capabilities(
            save_formats=("oci",),
            user_override=False,
            reasons={
                "save": "ctr exports OCI archives (with a Docker manifest.json alongside) only",
                "user_override": "ctr {version} run has no --user flag; the image's User can't be overridden",
            },
        ),
        by_version=(SinceVersion(">=1.7", {"user_override": True}, "ctr 1.7 run has --user (1.6 has not)"),),
        embedded_endpoint="containerd",
        user_endpoint=True,
        embedded_services=("containerd",),
        binary="/usr/bin/ctr",
    ),
    Tool(
        "containerd-cri",
        "ocimatrix.engines.cri_engine:CriEngine",
        ("engine",),
        package="containerd",
        capabilities=_CRI_CAPABILITIES,
        embedded_endpoint="cri",
        user_endpoint=True,
    ),
    Tool(
        "cri-o",
        "ocimatrix.engines.cri_engine:CrioEngine",
        ("engine",),
        package="cri-o",
        capabilities=_CRI_CAPABILITIES,
        user_endpoint=True,  # never embedded: only a CRI-O the matrix names is driven
        generations=(HOST_GENERATION,),  # no generation root installs it
    ),
    Tool(
        "skopeo",
        "ocimatrix.engines.skopeo_copier:SkopeoCopier",
        ("copier",),
        package="skopeo",
        capabilities=Capabilities(run=False),
        binary="/usr/bin/skopeo",
    ),
    Tool("runc", "", ("runtime",), "runc", Capabilities(run=False, engine_runtime=True), binary="/usr/bin/runc"),
    Tool("crun", "", ("runtime",), "crun", Capabilities(run=False, engine_runtime=True), binary="/usr/bin/crun"),
    # gVisor: the runtime suite drives it directly; dockerd has it in its runtimes, podman takes its
    # path, containerd (ctr, CRI) needs gVisor's own shim, which Debian 12's runsc package lacks.
    Tool(
        "runsc",
        "",
        ("runtime",),
        "runsc",
        Capabilities(run=False, engine_runtime=True),
        binary="/usr/bin/runsc",
        containerd_shim=("io.containerd.runsc.v1", "containerd-shim-runsc-v1"),
        # The containers have no network; in its default mode (a netstack of its own) runsc 20221219
        # refuses to start them here ("cannot run with network enabled in root network namespace").
        engine_flags=("--network=none",),
        generations=(HOST_GENERATION,),  # the runtime suite drives this host's runsc only
    ),
)

_BY_NAME = {tool.name: tool for tool in TOOLS}


def names(role: str) -> tuple[str, ...]:
    """The tools that can take ``role`` ("engine", "builder", "copier", "runtime"), in catalog order."""
    return tuple(tool.name for tool in TOOLS if role in tool.roles)


def endpoint_keys() -> tuple[str, ...]:
    """The names a matrix's ``endpoints:`` may hand a daemon of the user's to."""
    return tuple(tool.name for tool in TOOLS if tool.user_endpoint)


def engine_runtimes() -> dict[str, str]:
    """OCI runtime -> its binary, for the runtimes the engines here are set up to use."""
    return {t.name: t.binary for t in TOOLS if "runtime" in t.roles and t.capabilities.engine_runtime}


def containerd_shim(runtime: str) -> tuple[str, str]:
    """(runtime type, shim binary) when containerd runs ``runtime`` through a shim of its own; () for
    one its runc shim runs (and for a runtime the catalog doesn't know, such as the recording shim)."""
    tool = _BY_NAME.get(split_generation(runtime)[0])
    return tool.containerd_shim if tool is not None else ()


def engine_flags(runtime: str) -> tuple[str, ...]:
    """The global options engines pass ``runtime`` (none for one the catalog doesn't know)."""
    tool = _BY_NAME.get(split_generation(runtime)[0])
    return tool.engine_flags if tool is not None else ()


def split_generation(value: str) -> tuple[str, str]:
    """``docker@trixie`` -> (docker, trixie); a bare name is this host's generation."""
    name, _, generation = value.partition("@")
    return name, generation or HOST_GENERATION


def generation_of(value: str) -> str:
    """The generation a cell value names (``runc@trixie`` -> trixie; ``runc`` -> this host's)."""
    return split_generation(value)[1]


def spelled(name: str, generation: str) -> str:
    """The cell spelling of a tool of ``generation``: bare for this host's, ``name@generation`` otherwise.
    Versions, service names and cache keys use it, so two generations in one cell never collide."""
    return name if generation == HOST_GENERATION else f"{name}@{generation}"


def root_generations(values: Iterable[str]) -> tuple[str, ...]:
    """The generations other than this host's that ``values`` (cell values of tool axes) name, sorted."""
    found = {generation_of(v) for v in values if isinstance(v, str) and "@" in v}
    return tuple(sorted(found - {HOST_GENERATION}))


def lookup(value: str, role: str | None = None) -> Tool:
    """The catalog line for ``value`` (``name`` or ``name@generation``); UsageError names what is known."""
    name, generation = split_generation(value)
    tool = _BY_NAME.get(name)
    if tool is None or (role is not None and role not in tool.roles):
        known = names(role) if role else tuple(_BY_NAME)
        raise UsageError(f"unknown {role or 'tool'} '{value}'; known: {', '.join(known)}")
    if generation not in tool.generations:
        raise UsageError(f"{name} has no generation '{generation}'; known: {', '.join(tool.generations)}")
    return tool


def known_values(role: str) -> tuple[str, ...]:
    """Every spelling a matrix may use for ``role``: the bare names (this host's generation) and
    ``name@generation`` for each generation a tool exists in."""
    values: list[str] = []
    for name in names(role):
        values.append(name)
        values += [f"{name}@{g}" for g in _BY_NAME[name].generations]
    return tuple(values)


def embedded_services(value: str) -> tuple[str, ...]:
    """The harness's daemons ``value`` works through, by the names supervision knows them
    (``dockerd`` for the host's, ``dockerd@trixie`` for a generation's)."""
    try:
        tool = lookup(value)
    except UsageError:
        return ()
    generation = generation_of(value)
    return tuple(spelled(service, generation) for service in tool.embedded_services)


def bind(value: str, endpoints: Any, *, role: str, endpoint: str | None = None, binary: str | None = None) -> Engine:
    """A driver instance for ``value`` in ``role``, bound to ``endpoint`` (a daemon the matrix names)
    or to the embedded one (of the value's generation), and to ``binary`` (default: the host's, or the
    generation root's); one tool can be bound many times (other binaries, sockets, roots)."""
    tool = lookup(value, role)
    generation = generation_of(value)
    if generation != HOST_GENERATION and endpoint:
        raise UsageError(f"{value}: a generation's tool is the harness's own; endpoints: names a daemon of the host")
    return tool.driver_class()(endpoints, tool=tool, endpoint=endpoint, binary=binary, generation=generation)
