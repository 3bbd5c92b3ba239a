"""Which distribution this host runs (from /etc/os-release) and what provisioning needs on it.

Each supported release's package table is read off the tools catalog (``tools/catalog.py``: each
tool's package, the distributions it is provisioned on, where it is optional). A derivative is
matched through ``ID_LIKE`` (with Ubuntu's own ``UBUNTU_CODENAME`` when it has one); anything else
is refused with the values that were read.

Docker's own packages (docker-ce, containerd.io; moby-* on older images) ship dockerd, containerd
and runc and conflict with the distribution's: where one of them is installed, its binaries are
used and the distribution's package is not installed. The harness starts its own daemons either way.

Foreign busybox comes from the host's apt mirror. Debian's mirrors carry every architecture;
Ubuntu splits them between the primary archive (amd64, i386) and a ports archive (the others),
and a host's sources name only the one for its own architecture. For the rest, ``FOREIGN_MIRROR_ENV``
may name a mirror (the user supplies it; none is built in).

Public API: ``parse_os_release(text)``, ``read_os_release(path)``, ``detect(os_release)``,
``current()``, ``Distribution``, ``Requirement``, ``UnsupportedDistribution``, ``FOREIGN_MIRROR_ENV``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from ocimatrix.errors import OcimatrixError
from ocimatrix.tools.catalog import TOOLS, presence
from ocimatrix.tools.generations import DEBIAN_RELEASES

OS_RELEASE = Path("/etc/os-release")
FOREIGN_MIRROR_ENV = "OCIMATRIX_FOREIGN_APT_MIRROR"


class UnsupportedDistribution(OcimatrixError):
    """Provisioning doesn't know this distribution's package names."""


@dataclass(frozen=True)
class OsRelease:
    id: str = ""
    version_id: str = ""
    codename: str = ""
    id_like: tuple[str, ...] = ()
    ubuntu_codename: str = ""
    pretty_name: str = ""
    source: str = str(OS_RELEASE)

    def describe(self) -> str:
        """The values matching looked at, as the file spells them."""
        values = [f"ID={self.id or '(none)'}", f"VERSION_ID={self.version_id or '(none)'}"]
        values.append(f"VERSION_CODENAME={self.codename or '(none)'}")
        if self.id_like:
            values.append(f"ID_LIKE={' '.join(self.id_like)}")
        if self.ubuntu_codename:
            values.append(f"UBUNTU_CODENAME={self.ubuntu_codename}")
        return " ".join(values)


@dataclass(frozen=True)
class Requirement:
    package: str
    binary: str  # its presence on PATH shows the package usable
    # Docker's packages that ship the same binary and conflict with this one: if installed, they serve.
    vendor_packages: tuple[str, ...] = ()
    # Installed when the archive has it; its absence fails no provisioning (its cells say why).
    optional: bool = False


@dataclass(frozen=True)
class Distribution:
    id: str
    codename: str
    name: str
    # Debian architectures each archive serves, when the distribution splits them; empty: one serves all.
    archives: tuple[frozenset[str], ...] = field(default_factory=tuple)

    @property
    def requirements(self) -> tuple[Requirement, ...]:
        """What provisioning installs here: every tool the catalog provisions on this distribution."""
        return tuple(
            Requirement(tool.package, presence(tool), tool.vendor_packages, self.id in tool.optional_on)
            for tool in TOOLS
            if self.id in tool.provision_on
        )

    def archive_serves(self, host_arch: str, foreign_arch: str) -> bool:
        """Does the mirror the host uses for its own architecture carry ``foreign_arch`` too?"""
        for archive in self.archives:
            if host_arch in archive:
                return foreign_arch in archive
        return True


DEBIAN_12 = Distribution("debian", DEBIAN_RELEASES[12], "Debian 12 (bookworm)")
UBUNTU_24_04 = Distribution(
    "ubuntu",
    "noble",
    "Ubuntu 24.04 (noble)",
    archives=(frozenset({"amd64", "i386"}), frozenset({"arm64", "armhf", "ppc64el", "s390x", "riscv64"})),
)
SUPPORTED = {(d.id, d.codename): d for d in (DEBIAN_12, UBUNTU_24_04)}


def parse_os_release(text: str, source: str = str(OS_RELEASE)) -> OsRelease:
    """``KEY=value`` lines with shell quoting, as os-release(5) defines them."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            words = shlex.split(raw)
        except ValueError:
            words = [raw.strip("\"'")]
        values[key.strip()] = " ".join(words)
    return OsRelease(
        id=values.get("ID", "").lower(),
        version_id=values.get("VERSION_ID", ""),
        codename=values.get("VERSION_CODENAME", "").lower(),
        id_like=tuple(values.get("ID_LIKE", "").lower().split()),
        ubuntu_codename=values.get("UBUNTU_CODENAME", "").lower(),
        pretty_name=values.get("PRETTY_NAME", ""),
        source=source,
    )


def read_os_release(path: Path = OS_RELEASE) -> OsRelease:
    try:
        return parse_os_release(path.read_text(errors="replace"), source=str(path))
    except OSError as exc:
        raise UnsupportedDistribution(f"can't read {path} ({exc.strerror}): the distribution is unknown") from None


def detect(release: OsRelease) -> Distribution:
    """The package table for this release: by ID first, then by each ID_LIKE entry."""
    candidates = [(release.id, release.codename)]
    for like in release.id_like:
        candidates.append((like, release.ubuntu_codename if like == "ubuntu" and release.ubuntu_codename else ""))
        candidates.append((like, release.codename))
    for key in candidates:
        if key in SUPPORTED:
            return SUPPORTED[key]
    supported = ", ".join(d.name for d in SUPPORTED.values())
    raise UnsupportedDistribution(
        f"unsupported distribution: {release.source} says {release.describe()}"
        f"{f' ({release.pretty_name})' if release.pretty_name else ''}; ocimatrix provisions {supported} "
        "(elsewhere install the tools yourself and run with --no-provision)"
    )


def current(path: Path = OS_RELEASE) -> Distribution:
    return detect(read_os_release(path))
