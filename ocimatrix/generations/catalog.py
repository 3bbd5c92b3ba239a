"""The tool generations a matrix can name, and what each one installs.

``bookworm`` is this host itself: its tools are the system's own and need no root. ``trixie`` and
``sid`` live in roots of their own under the cache (see ``roots``), built from the same Debian
archive the host's apt sources name, so nothing of them ever reaches the host's own system.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocimatrix.errors import UsageError

HOST_GENERATION = "bookworm"

# What each root installs (apt-get install --no-install-recommends).
ENGINE_PACKAGES = (
    "docker.io",
    "docker-cli",
    "containerd",
    "runc",
    "crun",
    "podman",
    "buildah",
    "skopeo",
    "conmon",
    "docker-registry",
    "busybox-static",
)
# Installed one by one after the engines, so a package a suite dropped doesn't sink the generation.
OPTIONAL_PACKAGES = ("runsc",)

# Tool name (as the engines and results name it) -> the Debian package that ships it.
TOOL_PACKAGES = {
    "docker": "docker.io",
    "docker-cli": "docker-cli",
    "containerd": "containerd",
    "runc": "runc",
    "crun": "crun",
    "podman": "podman",
    "buildah": "buildah",
    "skopeo": "skopeo",
    "conmon": "conmon",
    "registry": "docker-registry",
    "runsc": "runsc",
    "busybox": "busybox-static",
}


@dataclass(frozen=True)
class Generation:
    """One generation of the tools: a Debian suite and the packages its root holds."""

    name: str
    suite: str
    packages: tuple[str, ...] = ENGINE_PACKAGES
    optional: tuple[str, ...] = OPTIONAL_PACKAGES

    @property
    def is_host(self) -> bool:
        return self.name == HOST_GENERATION

    @property
    def all_packages(self) -> tuple[str, ...]:
        return (*self.packages, *self.optional)


GENERATIONS: dict[str, Generation] = {
    "bookworm": Generation("bookworm", "bookworm", packages=(), optional=()),
    "trixie": Generation("trixie", "trixie"),
    "sid": Generation("sid", "sid"),
}


def generation(name: str) -> Generation:
    """The generation called ``name``; an unknown one is bad input, named with the known ones."""
    try:
        return GENERATIONS[name]
    except KeyError:
        known = ", ".join(GENERATIONS)
        raise UsageError(f"unknown generation {name!r}; known: {known}") from None
