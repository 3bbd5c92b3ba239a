"""``versions.json``: what a generation's root holds, package by package.

The engines read it to record each tool's version and where it came from; provisioning reads it to
decide whether the root is still current (``refresh_plan``).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ocimatrix.tools.catalog import root_version_keys

SCHEMA = 1


@dataclass
class Manifest:
    generation: str
    suite: str
    mirror: str
    packages: dict[str, str] = field(default_factory=dict)  # Debian package -> installed version
    prepared: float = 0.0  # when the root was built or last upgraded (epoch seconds)
    checked: float = 0.0  # when the suite's candidate versions were last compared with it

    def tools(self) -> dict[str, dict[str, str]]:
        """Tool -> its version and origin, as the engines record them (only tools the root has)."""
        return {
            tool: {"version": self.packages[package], "package": package, "origin": self.origin}
            for tool, package in root_version_keys().items()
            if package in self.packages
        }

    @property
    def origin(self) -> str:
        return f"debian {self.suite} (root of generation {self.generation})"

    def to_json(self) -> dict:
        return {
            "schema": SCHEMA,
            "generation": self.generation,
            "suite": self.suite,
            "mirror": self.mirror,
            "prepared": self.prepared,
            "checked": self.checked,
            "packages": dict(sorted(self.packages.items())),
            "tools": self.tools(),
        }

    @classmethod
    def from_json(cls, data: object, source: str) -> Manifest:
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise ValueError(f"{source}: not a versions.json of schema {SCHEMA}")
        packages = data.get("packages")
        if not isinstance(packages, dict) or not all(isinstance(v, str) for v in packages.values()):
            raise ValueError(f"{source}: field 'packages' must map package names to version strings")
        try:
            return cls(
                generation=str(data["generation"]),
                suite=str(data["suite"]),
                mirror=str(data.get("mirror", "")),
                packages=dict(packages),
                prepared=float(data.get("prepared", 0.0)),
                checked=float(data.get("checked", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{source}: malformed field ({exc})") from None


def read_manifest(path: Path) -> Manifest | None:
    """The recorded manifest, or None when there is none or it can't be trusted (the root is rebuilt)."""
    try:
        return Manifest.from_json(json.loads(path.read_text()), str(path))
    except (OSError, ValueError):
        return None


def write_manifest(path: Path, manifest: Manifest) -> None:
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    staging.write_text(json.dumps(manifest.to_json(), indent=1) + "\n")
    os.replace(staging, path)  # a reader never sees half a manifest


def parse_dpkg_query(text: str) -> dict[str, str]:
    """``Package<TAB>Version<TAB>Status-Abbrev`` lines -> the installed ones' versions."""
    installed = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[2].strip().startswith("ii") and parts[1]:
            installed[parts[0]] = parts[1]
    return installed


def parse_apt_policy(text: str) -> dict[str, str]:
    """``apt-cache policy PKG...`` -> each package's candidate version (packages without one are left out)."""
    candidates: dict[str, str] = {}
    package = ""
    for line in text.splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            package = line.rstrip()[:-1]
        elif package and line.strip().startswith("Candidate:"):
            version = line.split(":", 1)[1].strip()
            if version and version != "(none)":
                candidates[package] = version
    return candidates


@dataclass(frozen=True)
class RefreshPlan:
    """What provisioning does to a root: ``keep`` it, ``build`` it anew, ``upgrade`` or ``install`` into it."""

    action: str
    reason: str
    packages: tuple[str, ...] = ()


def recheck_due(manifest: Manifest, recheck_after: float, now: float | None = None) -> bool:
    """Whether the suite's versions are to be compared again (a run soon after the last check skips it)."""
    now = time.time() if now is None else now
    return not (0 <= now - manifest.checked < recheck_after)


def refresh_plan(
    manifest: Manifest | None,
    suite: str,
    required: tuple[str, ...],
    candidates: dict[str, str] | None,
) -> RefreshPlan:
    """Decide from the recorded versions and, when known, the suite's candidate versions.

    ``candidates`` None means the suite was not asked (checked recently): the root is kept as it is
    unless a required package is missing from it.
    """
    if manifest is None:
        return RefreshPlan("build", "no usable versions.json: the root is built")
    if manifest.suite != suite:
        return RefreshPlan("build", f"the root holds {manifest.suite}, not {suite}: rebuilt")
    missing = tuple(p for p in required if p not in manifest.packages)
    if missing:
        return RefreshPlan("install", f"not installed yet: {' '.join(missing)}", missing)
    if candidates is None:
        return RefreshPlan("keep", "checked recently, versions recorded")
    changed = tuple(p for p, version in sorted(manifest.packages.items()) if candidates.get(p, version) != version)
    if changed:
        detail = ", ".join(f"{p} {manifest.packages[p]} -> {candidates[p]}" for p in changed)
        return RefreshPlan("upgrade", f"{suite} has new versions: {detail}", changed)
    return RefreshPlan("keep", f"up to date with {suite}")
