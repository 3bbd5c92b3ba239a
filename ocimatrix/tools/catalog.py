"""The tools the harness knows: one entry each, every fact about it in that entry.

Each ``Tool`` says its name and the roles it takes (``engine``, ``builder``, ``copier``, ``runtime``,
and ``registry`` / ``support`` for tools no matrix axis names), the driver that wraps it
(``"module:Class"``, imported only when a cell binds one: ``engines.binding.bind``), its Debian
package and what provisioning and a generation's root install for it, how its version is read, the
embedded daemon it talks to, and its declared capabilities. Every other room asks this one: the
matrix checker (names, roles, ``endpoints:`` keys), the fixtures, the services' supervision, the
generation roots, provisioning, claims and the report.

A tool exists in one or more *generations* (``tools.generations``): ``bookworm`` is this host's own
system; ``trixie`` and ``sid`` are roots of their own. A matrix names a generation's tool as
``docker@trixie``; a bare name is this host's.

Adding a tool: write its driver module (a subclass of ``engines.base.Engine``) and add its entry here.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ocimatrix.errors import UsageError
from ocimatrix.tools.capabilities import Capabilities, SinceVersion
from ocimatrix.tools.generations import HOST_GENERATION, NAMES, ROOT_GENERATIONS

GENERATIONS = NAMES
DEFAULT_RUNTIME = "runc"  # dockerd's and containerd's built-in runtime
DEFAULT_REGISTRY = "registry"  # distribution's: the registry every image of a run passes through
# The tool that builds every manifest format and compression and runs what it built: the claims' matrix
# builds (and runs a runtime claim's containers) with it.
REFERENCE_BUILDER = "podman"
# The copier the suites copy with between registries, layouts and archives.
REFERENCE_COPIER = "skopeo"
# One builder for every engine in the engine-config comparison, so each runs the very same image:
# it needs no daemon and pushes OCI.
PROBE_BUILDER = "buildah"
ROLES = ("engine", "builder", "copier", "runtime", "registry", "signer", "attacher", "support")


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
    # The API its daemon answers a health probe on (host/supervision.py's probe kinds), "" for none.
    daemon_api: str = ""
    # Modules beside its driver that hold code for this tool's daemon or config (and so spell its name):
    # with the driver's module, the only places outside this floor that may (tests/test_architecture.py).
    modules: tuple[str, ...] = ()
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
    # The command that prints its version on this host before any daemon starts (``dockerd --version``).
    version_probe: tuple[str, ...] = ()
    # The Debian packages a generation's root installs for it (the first is the tool's own), and
    # whether the root still counts without them (a package a suite may drop).
    root_packages: tuple[str, ...] = ()
    root_optional: bool = False
    # Provisioning of this host: the distributions (os-release IDs) ``ocimatrix provision`` installs it on,
    # Docker's own packages that ship the same binary (if installed, they serve), and the
    # distributions where its absence fails no provisioning (its cells say why).
    provision_on: tuple[str, ...] = ("debian", "ubuntu")
    vendor_packages: tuple[str, ...] = ()
    optional_on: tuple[str, ...] = ()

    def in_root(self, generation: str) -> bool:
        """Whether ``generation``'s root installs this tool's packages: only a root of a generation it lists."""
        return bool(self.root_packages) and generation in self.generations

    def driver_class(self) -> type:
        """The driver class (an ``engines.base.Engine``), imported by name: this floor imports no driver."""
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

# Docker's own packages (the runners' docker-ce, containerd.io; moby-* on older images) ship dockerd,
# containerd and runc and conflict with the distribution's: where one is installed, it serves.
_DOCKER = ("docker-ce", "moby-engine")
_CONTAINERD = ("containerd.io", "moby-containerd")
_RUNC = ("containerd.io", "moby-runc")

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
        daemon_api="docker-api",
        user_endpoint=True,
        embedded_services=("dockerd", "containerd"),
        modules=("ocimatrix.host.services", "ocimatrix.host.generation_daemons", "ocimatrix.host.registry_container"),
        binary="/usr/bin/docker",
        version_probe=("dockerd", "--version"),
        root_packages=("docker.io", "docker-cli"),
        vendor_packages=_DOCKER,
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
        version_probe=("podman", "--version"),
        modules=("ocimatrix.host.services", "ocimatrix.host.generation_daemons", "ocimatrix.host.generation_services"),
        root_packages=("podman", "conmon"),
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
        root_packages=("buildah",),
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
        daemon_api="containerd-api",
        user_endpoint=True,
        embedded_services=("containerd",),
        modules=(
            "ocimatrix.host.containerd_service",
            "ocimatrix.host.services",
            "ocimatrix.host.generation_daemons",
            "ocimatrix.host.generation_services",
            "ocimatrix.engines.cri_answers",  # containerd's CRI info, in its own words
        ),
        binary="/usr/bin/ctr",
        version_probe=("containerd", "--version"),
        root_packages=("containerd",),
        vendor_packages=_CONTAINERD,
    ),
    Tool(
        "containerd-cri",
        "ocimatrix.engines.cri_engine:CriEngine",
        ("engine",),
        package="containerd",
        capabilities=_CRI_CAPABILITIES,
        by_version=(
            SinceVersion(">=1.7", {"nri": True}, "containerd 1.7 added NRI (off unless configured); 1.6 has none"),
        ),
        embedded_endpoint="cri",
        # Its CRI is the harness's containerd's: a cell of it is watched on that daemon.
        embedded_services=("containerd",),
        user_endpoint=True,
        version_probe=("containerd", "--version"),
        provision_on=(),  # containerd's own package, provisioned for the containerd line
    ),
    Tool(
        "cri-o",
        "ocimatrix.engines.cri_engine:CrioEngine",
        ("engine",),
        package="cri-o",
        # NRI (crio.nri, enable_nri) at the socket every NRI runtime defaults to: only where the socket exists.
        capabilities=replace(_CRI_CAPABILITIES, nri=True),
        user_endpoint=True,  # never embedded: only a CRI-O the matrix names is driven
        generations=(HOST_GENERATION,),  # no generation root installs it
        version_probe=("crio", "--version"),
        provision_on=(),  # no reachable package: only a CRI-O the matrix names is driven
    ),
    Tool(
        "skopeo",
        "ocimatrix.engines.skopeo_copier:SkopeoCopier",
        ("copier",),
        package="skopeo",
        capabilities=Capabilities(run=False),
        binary="/usr/bin/skopeo",
        root_packages=("skopeo",),
    ),
    # BuildKit as people ship with it: `docker buildx build` (the docker driver) against a dockerd of
    # its own generation on the containerd image store, which multi-platform images and attestation
    # manifests need. That dockerd runs beside the generation's own (host/buildkit_dockerd.py), so the
    # docker cells keep their classic store. Debian 12 has no docker-buildx package: the roots only.
    Tool(
        "buildx",
        "ocimatrix.engines.buildx_engine:BuildxBuilder",
        ("builder",),
        "docker-buildx",
        Capabilities(
            run=False,
            build=True,
            push_formats=("oci", "docker"),
            push_compressions=("gzip", "zstd", "none"),
            index_formats=("oci",),
            multi_platform_build=True,
            attestations=("min", "max", "none"),
            reasons={
                "run": "buildx is a builder (BuildKit in a dockerd of its own); it runs nothing in the matrix",
                "index": "buildx writes a multi-platform image with attestations as an OCI image index only",
            },
        ),
        embedded_services=("dockerd-buildkit", "containerd"),
        binary="/usr/bin/docker",
        generations=("trixie", "sid"),
        root_packages=("docker-buildx",),
        provision_on=(),  # never installed on this host: Debian 12 has no docker-buildx
    ),
    Tool(
        "runc",
        "",
        ("runtime",),
        "runc",
        Capabilities(run=False, engine_runtime=True),
        binary="/usr/bin/runc",
        root_packages=("runc",),
        vendor_packages=_RUNC,
    ),
    Tool(
        "crun",
        "",
        ("runtime",),
        "crun",
        Capabilities(run=False, engine_runtime=True),
        binary="/usr/bin/crun",
        root_packages=("crun",),
    ),
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
        # Every root installs it (root_packages): the runtime suite drives trixie's and sid's 20240729 too.
        generations=GENERATIONS,
        root_packages=("runsc",),
        root_optional=True,  # installed after the engines, so a suite that dropped it doesn't sink the root
        optional_on=("ubuntu",),  # Ubuntu's runsc is only known on paper
    ),
    # distribution's registry: the embedded registry every image of a run passes through.
    Tool(
        "registry",
        "",
        ("registry",),
        "docker-registry",
        Capabilities(run=False),
        binary="/usr/bin/docker-registry",
        root_packages=("docker-registry",),
    ),
    # go-containerregistry's registry (``crane registry serve``): a second registry implementation,
    # from sid's crane only (no other reachable suite packages it). As a copier, ``crane copy``.
    Tool(
        "crane",
        "ocimatrix.engines.crane_copier:CraneCopier",
        ("registry", "copier"),
        "crane",
        Capabilities(run=False, shared_blobs=True),  # its blobs are one store for all repositories
        binary="/usr/bin/crane",
        modules=("ocimatrix.host.crane_registry", "ocimatrix.host.generation_services"),
        generations=("sid",),
        root_packages=("crane",),
        provision_on=(),  # never installed on this host: only sid's root has it
    ),
    # Signers and attachers (suites/signatures): each writes something that points at an image and reads
    # back what the others wrote. No Debian 12 package: they run from the trixie and sid roots only.
    Tool(
        "cosign",
        "ocimatrix.engines.cosign_signer:CosignSigner",
        ("signer",),
        "cosign",
        Capabilities(run=False),
        binary="/usr/bin/cosign",
        generations=("trixie", "sid"),
        root_packages=("cosign",),
        provision_on=(),
    ),
    Tool(
        "notation",
        "ocimatrix.engines.notation_signer:NotationSigner",
        ("signer",),
        "notation",
        Capabilities(run=False),
        binary="/usr/bin/notation",
        generations=("sid",),
        root_packages=("notation",),
        provision_on=(),
    ),
    Tool(
        "oras",
        "ocimatrix.engines.oras_attacher:OrasAttacher",
        ("attacher",),
        "oras",
        Capabilities(run=False),
        binary="/usr/bin/oras",
        generations=("trixie", "sid"),
        root_packages=("oras",),
        provision_on=(),
    ),
    # What the harness itself needs: the probe images' static busybox, layouts, foreign platforms,
    # and the generation roots.
    Tool("busybox", "", ("support",), "busybox-static", binary="busybox", root_packages=("busybox-static",)),
    Tool("umoci", "", ("support",), "umoci", binary="umoci"),
    Tool("qemu-user-static", "", ("support",), "qemu-user-static", binary="qemu-aarch64-static"),
    Tool("binfmt-support", "", ("support",), "binfmt-support", binary="update-binfmts"),
    Tool("debootstrap", "", ("support",), "debootstrap", binary="debootstrap"),
    # Ubuntu checks the Debian roots it builds against Debian's keyring (a data package: no binary).
    Tool(
        "debian-archive-keyring",
        "",
        ("support",),
        "debian-archive-keyring",
        binary="/usr/share/keyrings/debian-archive-keyring.gpg",
        provision_on=("ubuntu",),
    ),
)

_BY_NAME = {tool.name: tool for tool in TOOLS}


def root_packages(optional: bool = False, generation: str | None = None) -> tuple[str, ...]:
    """What a generation's root installs: the required packages, or (``optional``) the ones after them;
    of ``generation``'s root only when given (a tool of sid alone is no package of trixie's root),
    else of any root."""
    return tuple(
        p
        for t in TOOLS
        if t.root_packages and t.root_optional == optional
        if (any(t.in_root(g) for g in ROOT_GENERATIONS) if generation is None else t.in_root(generation))
        for p in t.root_packages
    )


def root_version_keys() -> dict[str, str]:
    """How a root's ``versions.json`` names each package: a tool's own package by the tool's name,
    its other packages by their own (``docker`` -> docker.io, ``docker-cli`` -> docker-cli)."""
    keys: dict[str, str] = {}
    for tool in TOOLS:
        for index, package in enumerate(tool.root_packages):
            keys[tool.name if index == 0 else package] = package
    return keys


def root_tool(value: str) -> str:
    """The name a root's versions.json gives the package ``value`` comes from (``containerd-cri`` is
    containerd's package: ``containerd``); "" when no root installs it."""
    tool = lookup(value)
    if tool.root_packages:
        return tool.name
    return next((t.name for t in TOOLS if t.root_packages[:1] == (tool.package,)), "")


def presence(tool: Tool) -> str:
    """The command (or file) whose presence shows ``tool``'s package usable: the binary its version
    is read from, else its own binary."""
    if tool.version_probe:
        return tool.version_probe[0]
    return tool.binary.removeprefix("/usr/bin/")


def version_probe(value: str) -> tuple[str, ...]:
    """The command that prints ``value``'s version on this host (() when it has none)."""
    return lookup(value).version_probe


def names(role: str) -> tuple[str, ...]:
    """The tools that can take ``role`` ("engine", "builder", "copier", "runtime"), in catalog order."""
    return tuple(tool.name for tool in TOOLS if role in tool.roles)


def endpoint_keys() -> tuple[str, ...]:
    """The names a matrix's ``endpoints:`` may hand a daemon of the user's to."""
    return tuple(tool.name for tool in TOOLS if tool.user_endpoint)


def engine_runtimes() -> dict[str, str]:
    """OCI runtime -> its binary, for the runtimes the engines here are set up to use."""
    return {t.name: t.binary for t in TOOLS if "runtime" in t.roles and t.capabilities.engine_runtime}


def added_runtimes() -> dict[str, Tool]:
    """The engine runtimes a daemon's config must name (dockerd's ``runtimes``, containerd's handlers):
    every one but the default that dockerd and containerd's runc shim know without being told."""
    return {
        t.name: t
        for t in TOOLS
        if "runtime" in t.roles and t.capabilities.engine_runtime and t.name != default_runtime()
    }


def registry_implementations() -> tuple[str, ...]:
    """The registry implementations besides distribution's that a matrix's ``embedded:`` may name, each
    run from a generation's root."""
    return tuple(name for name in names("registry") if name != DEFAULT_REGISTRY)


def embedded_cri_engine() -> str:
    """The engine that answers at the harness's own CRI endpoint."""
    return next(tool.name for tool in TOOLS if tool.embedded_endpoint == "cri")


def default_runtime() -> str:
    """The OCI runtime engines use when a cell names none."""
    return DEFAULT_RUNTIME


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


def generations_of(name: str) -> tuple[str, ...]:
    """The generations tool ``name`` exists in (() for a name the catalog doesn't know)."""
    tool = _BY_NAME.get(name)
    return tool.generations if tool is not None else ()


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
