"""The claims a vendor makes, as read from a claims file (see ``load.py`` and docs/claims.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocimatrix.tools.catalog import DEFAULT_RUNTIME
from ocimatrix.tools.versions import VersionRange


@dataclass(frozen=True)
class ImageSource:
    kind: str  # reference | layout | archive | probe
    value: str  # the reference or the absolute path; "" for probe
    tag: str = ""
    probe: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        if self.kind == "probe":
            return f"the harness's probe image ({self.probe.get('compression', 'gzip')} layers)"
        return f"{self.kind} {self.value}" + (f" (tag {self.tag})" if self.tag else "")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "tag": self.tag, "probe": dict(self.probe)}


@dataclass(frozen=True)
class EngineClaim:
    engine: str
    versions: VersionRange
    generations: tuple[str, ...] = ()  # only these tool generations (bookworm, trixie, sid); () = every one here
    hosts: tuple[str, ...] = ()  # only on these hosts (debian-12, ubuntu-24.04); () = any host

    def describe(self) -> str:
        text = self.engine if not self.versions.clauses else f"{self.engine} {self.versions}"
        if self.generations:
            text += f" ({', '.join(self.generations)})"
        if self.hosts:
            text += f" on {', '.join(self.hosts)}"
        return text


@dataclass(frozen=True)
class ImageClaims:
    source: ImageSource
    platforms: tuple[str, ...]
    runs_on: tuple[EngineClaim, ...] = ()
    runtimes: tuple[str, ...] = (DEFAULT_RUNTIME,)
    checks: dict[str, Any] = field(default_factory=dict)
    kernel_hosts: VersionRange | None = None
    # Signer family (a catalog signer's name) -> the absolute path of the key or certificate it verifies with.
    signed: dict[str, str] = field(default_factory=dict)
    attestations: tuple[str, ...] = ()  # provenance, sbom: BuildKit's attestation manifests in the index
    after_copy: dict[str, str] = field(default_factory=dict)  # {copier: skopeo, to: embedded | 127.0.0.1:PORT}


@dataclass(frozen=True)
class RegistryClaims:
    settings: dict[str, Any]  # matrix-style registry settings (embedded / url, auth, namespace ...)
    workflows: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.settings.get("embedded"):
            return "the embedded registry" + (" (token auth)" if self.settings["embedded"] == "token" else "")
        return str(self.settings.get("url"))


@dataclass(frozen=True)
class CriClaims:
    endpoint: str  # "embedded" or unix://...
    engine: str
    areas: tuple[str, ...]
    runtimes: tuple[str, ...] = (DEFAULT_RUNTIME,)


@dataclass(frozen=True)
class RuntimeClaims:
    """An OCI runtime binary's runtime-spec areas, tested through its own command line (suites/runtime)."""

    name: str  # the catalog's cell spelling: crun, runc, runsc, crun@trixie ...
    versions: VersionRange  # judged on the version each cell recorded
    areas: tuple[str, ...]
    binary: str = ""  # as the claims file named it, when it did

    def describe(self) -> str:
        text = self.name if not self.versions.clauses else f"{self.name} {self.versions}"
        return text + (f" ({self.binary})" if self.binary else "")


@dataclass(frozen=True)
class ClaimsFile:
    path: Path
    digest: str  # sha256 of the file's bytes, for the fingerprint
    vendor: str
    product: str
    version: str = ""
    description: str = ""
    image: ImageClaims | None = None
    registry: RegistryClaims | None = None
    cri: CriClaims | None = None
    runtime: RuntimeClaims | None = None
