"""The tool generations a matrix can name: one entry each, oldest first.

``bookworm`` is this host itself: its tools are the system's own and need no root. Every other
generation is a root of its own (``generations/roots.py``), debootstrapped from a Debian mirror with
its suite's packages of the tools (``catalog.root_packages``), so nothing of it reaches the host's
own system. Adding a generation is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocimatrix.errors import UsageError


@dataclass(frozen=True)
class Generation:
    name: str
    suite: str  # the Debian suite its packages come from
    root: bool = True  # False: this host's own system, no root to prepare

    @property
    def is_host(self) -> bool:
        return not self.root

    @property
    def source(self) -> str:
        """Where its tools come from, for a reader."""
        return "this host's own packages" if self.is_host else f"a root debootstrapped from Debian {self.suite}"


GENERATIONS: tuple[Generation, ...] = (
    Generation("bookworm", "bookworm", root=False),
    Generation("trixie", "trixie"),
    Generation("sid", "sid"),
)
NAMES = tuple(g.name for g in GENERATIONS)
HOST_GENERATION = next(g.name for g in GENERATIONS if g.is_host)
# Debian's releases by version, oldest first: the generations are some of them; provisioning and the
# foreign busybox reach further back and ahead.
DEBIAN_RELEASES = {10: "buster", 11: "bullseye", 12: "bookworm", 13: "trixie", 14: "forky"}
ROOT_GENERATIONS = tuple(g.name for g in GENERATIONS if g.root)


def generation(name: str) -> Generation:
    """The generation called ``name``; an unknown one is bad input, named with the known ones."""
    for found in GENERATIONS:
        if found.name == name:
            return found
    raise UsageError(f"unknown generation {name!r}; known: {', '.join(NAMES)}")


def order(name: str) -> int:
    """Where ``name`` stands, oldest first (an unknown name sorts last)."""
    return NAMES.index(name) if name in NAMES else len(NAMES)
