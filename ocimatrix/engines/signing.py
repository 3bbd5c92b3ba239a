"""What every signer and attacher driver shares (``cosign_signer``, ``notation_signer``, ``oras_attacher``).

A signer writes something that points at an image (a signature, an attached artifact) and reads back
what is there. The drivers run the tools of a generation's root; everything they keep (keys,
certificates, trust policies, the payload an attacher attaches) lives in ``Keyring.directory``, under
the run's state directory, which the roots see at the same path. The tools never reach past loopback:
their proxies point at a closed loopback port and their lookup caches at empty directories there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ocimatrix.engines.base import BoundTool, CommandResult, run_command
from ocimatrix.system.offline import OFFLINE_ENV
from ocimatrix.tools.versions import parse_version

TOOL_TIMEOUT_S = 60.0

# How a written thing is found: a manifest whose ``subject`` is the image (the referrers API lists it,
# or the referrers tag schema's index does), or a signature under a tag derived from the image's digest.
REFERRER = "referrer"
SIGNATURE_TAG = "signature tag"


# What a copy to another registry is asked to keep beside the image (``CopyWay.keeps``).
KEEPS_NOTHING = "nothing beside the image"
KEEPS_REFERRERS = "referrers"
KEEPS_SIGNATURES = "its own signatures"  # of the families ``CopyWay.families`` names
KEEPS_SIGNATURE_TAGS = "signature tags"  # sigstore attachments: signatures under ``<alg>-<hex>.sig``
KEEPS_TAGS = "every tag"


@dataclass(frozen=True)
class CopyWay:
    """One way a tool copies a signed image to another registry, and what the user asked it to keep."""

    name: str  # the case's name (``all``, ``recursive``, ...)
    command: str  # how a user asks for it, as the docs and the site show it
    keeps: str = KEEPS_NOTHING
    families: tuple[str, ...] = ()  # for KEEPS_SIGNATURES: whose signatures


@dataclass(frozen=True)
class Keyring:
    """Where one worker's keys, certificates and payloads live (created per run, never reported)."""

    directory: Path

    def path(self, *parts: str) -> Path:
        return self.directory.joinpath(*parts)


@dataclass
class Written:
    """What a writer said it wrote for an image: how a reader finds it, the artifact type, its words."""

    writer: str  # the tool's label (``name@generation``)
    family: str  # the kind of thing written: a verifier reads its own family's signatures
    how: str  # REFERRER or SIGNATURE_TAG
    artifact_type: str = ""  # the referrer's artifactType, when the tool says or the harness knows
    output: str = ""  # the tool's own words


@dataclass
class ReadBack:
    """What a reader answered: whether it found (or verified) something, and its own words."""

    reader: str
    found: bool
    answer: str
    listed: list[str] = field(default_factory=list)  # referrer digests a lister named
    step: str = ""


class Signer(BoundTool):
    """A tool that writes things pointing at an image and reads them back (a driver per tool)."""

    family: ClassVar[str]
    # True: a verifier, which accepts only its own family's signatures; False: a lister of every referrer.
    verifies: ClassVar[bool] = True

    def unavailable(self) -> str | None:
        if self.site is None:
            return f"{self.name} runs only from a generation's root ({', '.join(self.tool.generations)})"
        return None if self.has_binary() else f"{self.label} is not installed ({self.binary} missing in its root)"

    def version(self) -> str:
        # Debian builds may print "devel" as their own version: the root's package version says it.
        return self.site.version_of(self.name) if self.site else ""

    def major(self) -> int:
        """The major version (0 when unknown)."""
        parsed = parse_version(self.version())
        return parsed[0] if parsed else 0

    def run(self, argv: list[str], keys: Keyring, what: str, *, check: bool = True) -> CommandResult:
        env = {**OFFLINE_ENV, "HOME": str(keys.path("home")), **self.environment(keys)}
        argv = self.wrap([self.binary, *argv])
        return run_command(argv, env=self.tool_env(env), what=what, timeout=TOOL_TIMEOUT_S, check=check)

    def environment(self, keys: Keyring) -> dict[str, str]:
        """What the tool needs on top of the offline settings (config and cache directories)."""
        return {}

    def prepare(self, keys: Keyring) -> None:
        """Create this tool's keys or payloads in ``keys`` once (a second call changes nothing)."""
        keys.path("home").mkdir(parents=True, exist_ok=True)

    def write(self, ref: str, keys: Keyring) -> Written:
        raise NotImplementedError

    def read(self, ref: str, keys: Keyring, written: Written) -> ReadBack:
        raise NotImplementedError

    def verify_with(self, ref: str, material: Path, keys: Keyring) -> ReadBack:
        """Verify ``ref``'s signature with a key or certificate someone else made (a claims file's), which
        must lie under ``keys`` (the roots see nothing else of this host). Only a verifier does."""
        raise NotImplementedError(f"{self.name} verifies no signature")


class SignedCopier:
    """A tool that copies an image to another registry in the ways ``copy_ways`` declares (a mixin of
    drivers: skopeo, crane, and the signers and attachers that copy)."""

    copy_ways: ClassVar[tuple[CopyWay, ...]] = ()

    def copy_signed(self, way: CopyWay, source: str, dest: str, keys: Keyring) -> str:
        """Copy ``source`` (``host/repository:tag``) to ``dest`` in ``way``; returns the tool's words, and
        raises ``EngineError`` with them when it refuses. ``keys`` holds the tool's configuration."""
        raise NotImplementedError


def repository_of(ref: str) -> str:
    """``host/repository`` of ``host/repository:tag``."""
    host, _, path = ref.partition("/")
    return f"{host}/{path.rpartition(':')[0] or path}"


@dataclass
class Exported:
    """A manifest an attacher pushed, byte for byte as the tool wrote it down, and the tool's own words."""

    manifest: bytes
    output: str


class Attacher(Signer):
    """A tool that also pushes artifacts of its own making: one with ``artifactType`` (and the empty
    config, or none of its files), and one attached to an existing image (a ``subject``)."""

    @property
    def artifact_type(self) -> str:
        """The ``artifactType`` this tool's attachments carry."""
        raise NotImplementedError

    def push_artifact(self, ref: str, keys: Keyring, artifact_type: str, *, with_file: bool = True) -> Exported:
        raise NotImplementedError

    def attach_artifact(self, ref: str, keys: Keyring, artifact_type: str) -> Exported:
        raise NotImplementedError


def words(result: CommandResult) -> str:
    """A command's own words: what it printed, errors first."""
    return "\n".join(text.strip() for text in (result.stderr, result.stdout) if text.strip())
