"""skopeo: copies images between registries, OCI layouts and archives without a daemon."""

from __future__ import annotations

import shutil
from pathlib import Path

from ocimatrix.axes import DOCKER_FORMAT, OCI_FORMAT
from ocimatrix.engines.base import BoundTool, first_line_version, run_command
from ocimatrix.engines.signing import KEEPS_SIGNATURE_TAGS, CopyWay, Keyring, SignedCopier, words
from ocimatrix.system.offline import OFFLINE_ENV

FORMATS = {OCI_FORMAT: "oci", DOCKER_FORMAT: "v2s2"}


def copy_all_command(source: str, dest: str) -> list[str]:
    """The command that copies every manifest of ``source`` to ``dest`` byte for byte (a repro line)."""
    tls = ["--src-tls-verify=false", "--dest-tls-verify=false"]
    return ["skopeo", "copy", "--all", "--preserve-digests", *tls, source, dest]


def sigstore_attachments(hosts: list[str]) -> str:
    """A registries.d file that reads and writes sigstore attachments (signatures under ``.sig`` tags) on
    each of ``hosts`` (``host:port``)."""
    lines = ["docker:"]
    for host in dict.fromkeys(hosts):
        lines += [f"  {host}:", "    use-sigstore-attachments: true"]
    return "\n".join(lines) + "\n"


class SkopeoCopier(BoundTool, SignedCopier):
    name = "skopeo"
    # ``copy --all`` copies the image (and signatures it knows of: none, unless told where they live);
    # with ``use-sigstore-attachments: true`` for both registries (containers-registries.d) it reads and
    # writes the signatures kept under ``<alg>-<hex>.sig``.
    copy_ways = (
        CopyWay("all", "skopeo copy --all"),
        CopyWay(
            "sigstore-attachments",
            "skopeo copy --all, registries.d use-sigstore-attachments: true for both registries",
            KEEPS_SIGNATURE_TAGS,
        ),
    )

    def __init__(self, endpoints, **binding) -> None:
        super().__init__(endpoints, **binding)
        if self.site:
            self.binary = binding.get("binary") or self.tool.binary
            self.env = self.tool_env(self.site.podman_env)
        else:
            self.binary = binding.get("binary") or shutil.which("skopeo") or self.tool.binary
            self.env = dict(endpoints.podman_env)

    def unavailable(self) -> str | None:
        return None if self.has_binary() else f"skopeo is not installed ({self.binary} missing)"

    def version(self) -> str:
        return first_line_version(self.wrap([self.binary, "--version"]))

    def copy(
        self,
        src: str,
        dest: str,
        *,
        format: str | None = None,
        all_platforms: bool = False,
        digest_file: Path | None = None,
    ) -> str:
        """Copy between transports (docker://, oci:, oci-archive:, docker-archive:); registries are plain HTTP.

        Returns the digest of the manifest written when ``digest_file`` (a scratch path) is given.
        """
        args = [self.binary, "--insecure-policy", "copy", "--src-tls-verify=false", "--dest-tls-verify=false"]
        if format:
            args += ["--format", FORMATS[format]]
        if all_platforms:
            args.append("--all")
        if digest_file is not None:
            args += ["--digestfile", str(digest_file)]
        run_command(self.wrap([*args, src, dest]), env=self.env, what="skopeo copy")
        return digest_file.read_text().strip() if digest_file is not None else ""

    def copy_signed(self, way: CopyWay, source: str, dest: str, keys: Keyring) -> str:
        options = [self.binary, "--insecure-policy"]
        if way.keeps == KEEPS_SIGNATURE_TAGS:
            hosts = [source.partition("/")[0], dest.partition("/")[0]]
            directory = keys.path("registries.d", "-".join(h.replace(":", "_") for h in hosts))
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "sigstore-attachments.yaml").write_text(sigstore_attachments(hosts))
            options += ["--registries.d", str(directory)]
        tls = ["--src-tls-verify=false", "--dest-tls-verify=false"]
        argv = self.wrap([*options, "copy", "--all", *tls, f"docker://{source}", f"docker://{dest}"])
        return words(run_command(argv, env={**self.env, **OFFLINE_ENV}, what=way.command))
