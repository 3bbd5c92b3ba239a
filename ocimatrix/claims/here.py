"""What this machine offers a claim before anything runs: each engine of each tool generation whose
version is known, and the host's name.

This host's engines answer ``--version``; a generation's root (``ocimatrix/generations``) says what it
holds in its ``versions.json``, so a root that provisioning prepared counts without starting a daemon,
and one that was never prepared is named with the command that prepares it. Versions are the tools'
own words (``26.1.5+dfsg1-9``), read as ranges read them (``26.1.5``).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field

from ocimatrix.tools import catalog
from ocimatrix.tools.generations import ROOT_GENERATIONS, order


@dataclass(frozen=True)
class Here:
    """``versions``: tool label (``docker``, ``docker@trixie``) -> its version, "" when not installed."""

    versions: dict[str, str] = field(default_factory=dict)
    missing_roots: dict[str, str] = field(default_factory=dict)  # generation -> why its tools are unknown
    host: str = ""  # os-release ID-VERSION_ID (debian-12)
    host_aliases: tuple[str, ...] = ()  # other spellings of this host (debian-bookworm)

    @classmethod
    def of(cls, installed: Mapping[str, str] | Here) -> Here:
        return installed if isinstance(installed, Here) else cls(dict(installed))

    def engines(self, engine: str, generations: tuple[str, ...] = ()) -> list[tuple[str, str, str]]:
        """(label, generation, version) of each installed ``engine`` of the given generations (all: ())."""
        found = []
        for label, version in self.versions.items():
            name, generation = catalog.split_generation(label)
            if name == engine and version and (not generations or generation in generations):
                found.append((label, generation, version))
        return sorted(found, key=lambda f: order(f[1]))

    def tools(self, name: str) -> list[tuple[str, str, str]]:
        """(label, generation, version) of each installed tool ``name`` (a signer too), oldest generation first."""
        return self.engines(name)

    def is_host(self, names: tuple[str, ...]) -> bool:
        return not names or bool({self.host, *self.host_aliases} & set(names))


def host_versions() -> dict[str, str]:
    from ocimatrix.engines.base import first_line_version

    found = {}
    for engine in catalog.names("engine"):
        argv = list(catalog.version_probe(engine))
        if argv:
            found[engine] = first_line_version(argv) if shutil.which(argv[0]) else ""
    return found


def root_versions() -> tuple[dict[str, str], dict[str, str]]:
    """The engines and signers of every prepared generation root, and why the others' are unknown."""
    from ocimatrix.generations.roots import prepared_root

    found: dict[str, str] = {}
    missing: dict[str, str] = {}
    for generation in ROOT_GENERATIONS:
        root = prepared_root(generation)
        if root is None:
            missing[generation] = f"its root is not prepared here (ocimatrix provision --generation {generation})"
            continue
        tools = root.manifest.tools()
        # The signers too: a signature claim is verified by every generation's verifier here.
        for engine in (*catalog.names("engine"), *catalog.names("signer")):
            if generation not in catalog.generations_of(engine):
                continue
            tool = catalog.root_tool(catalog.spelled(engine, generation))
            if tool in tools:
                found[catalog.spelled(engine, generation)] = tools[tool]["version"]
    return found, missing


def host_names() -> tuple[str, tuple[str, ...]]:
    from ocimatrix.system.distro import UnsupportedDistribution, read_os_release

    try:
        release = read_os_release()
    except UnsupportedDistribution:
        return "", ()
    name = f"{release.id}-{release.version_id}" if release.version_id else ""
    aliases = (f"{release.id}-{release.codename}",) if release.codename else ()
    return name or (aliases[0] if aliases else ""), aliases


def discover() -> Here:
    roots, missing = root_versions()
    host, aliases = host_names()
    return Here({**host_versions(), **roots}, missing, host, aliases)
