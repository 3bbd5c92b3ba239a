"""crane (go-containerregistry's client): copies images between registries, from the root of a
generation whose Debian has it (sid's crane 0.20.7)."""

from __future__ import annotations

from ocimatrix.engines.base import BoundTool, first_line_version, run_command
from ocimatrix.engines.signing import KEEPS_TAGS, CopyWay, Keyring, SignedCopier, repository_of, words
from ocimatrix.errors import Unsupported
from ocimatrix.system.offline import OFFLINE_ENV

TRANSPORT = "docker://"


class CraneCopier(BoundTool, SignedCopier):
    name = "crane"
    # ``crane copy`` copies the image ("retaining the digest value", its help); ``--all-tags`` "copy all
    # tags from SRC to DST": the signature and referrers tags are tags too.
    copy_ways = (
        CopyWay("copy", "crane copy"),
        CopyWay("all-tags", "crane copy --all-tags", KEEPS_TAGS),
    )

    def unavailable(self) -> str | None:
        if self.site is None:
            return "crane runs from a generation's root only (no Debian 12 package)"
        return None if self.has_binary() else f"crane is not installed in the root ({self.binary} missing)"

    def version(self) -> str:
        return first_line_version(self.wrap([self.binary, "version"]))

    def copy(self, src: str, dest: str, *, all_platforms: bool = True) -> str:
        """``crane copy`` between two ``docker://`` references of plain-HTTP registries on the loopback
        address (the transport prefix as skopeo spells it: crane copies between registries only). It
        copies every manifest of an index whatever it is told (``all_platforms`` is skopeo's call)."""
        refs = []
        for ref in (src, dest):
            if not ref.startswith(TRANSPORT):
                raise Unsupported(f"crane copies between registries only, not to {ref.partition(':')[0]}:")
            refs.append(ref.removeprefix(TRANSPORT))
        run_command(self.wrap([self.binary, "copy", "--insecure", *refs]), env=self.tool_env(), what="crane copy")
        return ""

    def digest(self, ref: str) -> str:
        """The manifest digest the registry serves for ``ref``, as crane reads it."""
        argv = self.wrap([self.binary, "digest", "--insecure", ref])
        return run_command(argv, env=self.tool_env(), what="crane digest").stdout.strip()

    def copy_signed(self, way: CopyWay, source: str, dest: str, keys: Keyring) -> str:
        refs = [repository_of(source), repository_of(dest)] if way.keeps == KEEPS_TAGS else [source, dest]
        flags = ["--all-tags"] if way.keeps == KEEPS_TAGS else []
        argv = self.wrap([self.binary, "copy", "--insecure", *flags, *refs])
        return words(run_command(argv, env=self.tool_env(OFFLINE_ENV), what=way.command))
