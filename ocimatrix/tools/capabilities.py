"""What a tool can do, declared on its catalog line and asked with ``supports()`` by the suites.

A missing capability comes with the driver's own words (``reasons``), the skip reason a reader sees;
``SinceVersion`` changes a tool's capabilities for the versions in a range (ctr 1.7 gained ``--user``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ocimatrix.errors import UsageError
from ocimatrix.tools.versions import parse_range

if TYPE_CHECKING:
    from ocimatrix.tools.catalog import Tool


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
    nri: bool = False  # (CRI runtimes) serves NRI plugins their pod and container lifecycle events
    platform_choice: bool = True  # pulls and runs a platform other than the host's on request
    user_override: bool = True  # runs a container as a user other than the image's
    engine_runtime: bool = False  # (runtimes) the engines here are set up to run containers with it
    no_network: bool = True  # runs a container with no network at all (an untrusted image's only way to run)
    # (builders) builds every platform of an index in one build and pushes the index itself
    multi_platform_build: bool = False
    attestations: tuple[str, ...] = ()  # (builders) provenance modes it attaches as attestation manifests
    # (registries) one blob store behind every repository: a blob DELETE in one removes it from all of them
    shared_blobs: bool = False
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
    "nri": lambda c, v: c.nri,
    "platform_choice": lambda c, v: c.platform_choice,
    "user_override": lambda c, v: c.user_override,
    "no_network": lambda c, v: c.no_network,
    "multi_platform_build": lambda c, v: c.multi_platform_build,
    "attestations": lambda c, v: v in c.attestations if v else bool(c.attestations),
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
    "nri": "{name} {version} has no NRI (Node Resource Interface) for plugins to connect to",
    "platform_choice": "{name} cannot choose the platform it pulls and runs",
    "user_override": "{name} cannot run a container as another user than the image's",
    "no_network": "{name} cannot run a container without a network",
    "multi_platform_build": "{name} builds one platform at a time; its index is assembled from pushed images",
    "attestations": "{name} attaches no attestation manifests to the images it builds",
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
