"""Podman through its CLI, with its own storage root and config files (no daemon needed)."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

from ocimatrix.axes import DOCKER_FORMAT, OCI_FORMAT
from ocimatrix.engines.base import (
    Engine,
    EngineError,
    ResolvedImage,
    RunResult,
    RunSpec,
    TimedOut,
    Unsupported,
    docker_style_run_args,
    first_line_version,
    run_command,
)
from ocimatrix.engines.image_views import config_section_of_inspect, digests_for
from ocimatrix.tools import catalog

BUILD_ULIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")
PUSH_FORMATS = {OCI_FORMAT: "oci", DOCKER_FORMAT: "v2s2"}
SAVE_FORMATS = {OCI_FORMAT: "oci-archive", DOCKER_FORMAT: "docker-archive"}


class ContainersStorageTool(Engine):
    """What podman and buildah share: the same storage, config files and push/inspect flags."""

    def __init__(self, endpoints, **binding) -> None:
        super().__init__(endpoints, **binding)
        if self.site:
            # The root's own binary and storage: podman 5's store is not podman 4's.
            self.binary = binding.get("binary") or self.tool.binary
            self.storage = self.site.podman_root
            self.env = self.tool_env(self.site.podman_env)
        else:
            self.binary = binding.get("binary") or shutil.which(self.name) or self.tool.binary
            self.storage = endpoints.podman_root
            self.env = dict(endpoints.podman_env)

    def unavailable(self) -> str | None:
        if not self.has_binary():
            where = f" in the root of {self.generation}" if self.site else ""
            return f"{self.name} is not installed ({self.binary} missing{where})"
        if not self.storage:
            return f"{self.name} storage was not set up by the harness"
        return None

    def cmd(self, *args: str) -> list[str]:
        root = Path(self.storage)
        return self.wrap([self.binary, "--root", str(root / "root"), "--runroot", str(root / "runroot"), *args])

    def sh(self, *args: str, timeout: float = 300.0, check: bool = True, what: str = ""):
        return run_command(self.cmd(*args), env=self.env, timeout=timeout, check=check, what=what)

    def version(self) -> str:
        return self.sh("version", "--format", "{{.Client.Version}}", what=f"{self.name} version").stdout.strip()

    def build(self, context: Path, ref: str, *, format: str, platform: str) -> None:
        self.sh(
            "build",
            "--format",
            format,
            "--platform",
            platform,
            "--network",
            "none",
            "--pull-never",
            # Every build here is unique (a build id in its layer), so a layer cache buys nothing, and
            # podman's cache lookup races with a concurrent `rmi` on the shared store ("layer not known").
            "--layers=false",
            # A root's podman 5 sets rlimits it may not raise here (no CAP_SYS_RESOURCE) unless told.
            *(BUILD_ULIMITS if self.site else ()),
            "-t",
            ref,
            str(context),
            what=f"{self.name} build",
        )

    def push(self, ref: str, *, format: str, compression: str) -> str:
        self.require("push_format", format)
        self.require("push_compression", compression)
        with self.scratch("digest-") as tmp:
            digest_file = Path(tmp) / "digest"
            args = [
                "push",
                "--tls-verify=false",
                "--format",
                PUSH_FORMATS[format],
                "--digestfile",
                str(digest_file),
            ]
            if compression == "none":
                args.append("--disable-compression")
            else:
                args += ["--compression-format", compression]
            self.sh(*args, ref, f"docker://{ref}", what=f"{self.name} push")
            return digest_file.read_text().strip()

    def build_index(self, ref: str, per_platform: dict[str, str], *, format: str) -> str:
        self.require("index", format)
        # A local list of our own name: the target ref may already name an image in the shared store.
        local = f"localhost/ocimatrix-index-{uuid.uuid4().hex[:12]}"
        self.sh("manifest", "create", local, what=f"{self.name} manifest create")
        try:
            for image in per_platform.values():
                self.sh(
                    "manifest",
                    "add",
                    "--tls-verify=false",
                    local,
                    f"docker://{image}",
                    what=f"{self.name} manifest add",
                )
            with self.scratch("digest-") as tmp:
                digest_file = Path(tmp) / "digest"
                self.sh(
                    "manifest",
                    "push",
                    "--all",
                    "--tls-verify=false",
                    "--format",
                    PUSH_FORMATS[format],
                    "--digestfile",
                    str(digest_file),
                    local,
                    f"docker://{ref}",
                    what=f"{self.name} manifest push",
                )
                return digest_file.read_text().strip()
        finally:
            self.sh("manifest", "rm", local, check=False)

    def pull(self, ref: str, *, platform: str | None = None) -> None:
        args = ["pull", "--tls-verify=false", *(["--platform", platform] if platform else []), ref]
        self.sh(*args, what=f"{self.name} pull")

    def _inspect(self, ref: str) -> dict:
        out = self.sh("inspect", "--type", "image", ref, what=f"{self.name} inspect").stdout
        data = json.loads(out)
        return data[0] if isinstance(data, list) else data

    def remove_image(self, ref: str) -> None:
        self.sh("rmi", "-f", ref, check=False, what=f"{self.name} rmi")


class PodmanEngine(ContainersStorageTool):
    name = "podman"

    def image_digest(self, ref: str) -> str:
        # .Digest is whichever manifest the store saw first (a local build, when podman shares
        # storage with buildah); RepoDigests has the one pulled for this repository.
        attrs = self._inspect(ref)
        digests = digests_for(ref, attrs.get("RepoDigests") or [])
        return digests[0] if digests else attrs.get("Digest", "")

    def resolved_image(self, ref: str, *, platform: str | None = None) -> ResolvedImage:
        # RepoDigests lists both the index digest and the chosen platform manifest's; 4.3's
        # inspect has no Variant field.
        attrs = self._inspect(ref)
        digests = digests_for(ref, attrs.get("RepoDigests") or [])
        image_id = attrs.get("Id", "")
        return ResolvedImage(
            config_digest=image_id if image_id.startswith("sha256:") else f"sha256:{image_id}",
            architecture=attrs.get("Architecture", ""),
            os=attrs.get("Os", ""),
            variant=attrs.get("Variant", ""),
            digests=digests,
            how=f"{self.name} image inspect (Id, Architecture, RepoDigests)",
        )

    def image_config(self, ref: str) -> dict:
        attrs = self._inspect(ref)
        config = config_section_of_inspect(attrs)
        config.setdefault("Labels", attrs.get("Labels") or {})
        return config

    def run(self, spec: RunSpec) -> RunResult:
        self.check_runtime(spec.runtime)
        entrypoint = [] if spec.entrypoint is None else ["--entrypoint", json.dumps(spec.entrypoint)]
        name = f"ocimatrix-{uuid.uuid4().hex[:12]}"
        flags = [f"--runtime-flag={flag.removeprefix('--')}" for flag in catalog.engine_flags(spec.runtime)]
        args = [*flags, *docker_style_run_args(spec, self.runtime_binary(spec.runtime), entrypoint, name)]
        args += spec.args or []
        try:
            result = self.sh(*args, timeout=spec.timeout, check=False)
        except TimedOut:
            # Killing the CLI leaves conmon and the container running: remove them by name.
            self.sh("rm", "--force", "--time", "0", name, check=False, timeout=60)
            raise TimedOut(
                f"the container timed out after {spec.timeout:.0f} s; it was killed and removed",
                step="podman run",
                answer=f"still running after {spec.timeout:.0f} s",
            ) from None
        if result.returncode in (125, 126, 127) and "Error:" in result.stderr:
            # podman's own failures (not the container's) use these codes and say "Error:".
            said = result.stderr.strip()[-1500:]
            raise EngineError(
                f"podman run failed (exit {result.returncode}): {said}",
                step="podman run",
                answer=f"exit {result.returncode}: {said}",
            )
        return RunResult(result.returncode, result.stdout, result.stderr)

    def save(self, ref: str, dest: Path, *, format: str) -> Path:
        self.require("save", format)
        self.sh("save", "--format", SAVE_FORMATS[format], "-o", str(dest), ref, what="podman save")
        return dest

    def load(self, archive: Path) -> None:
        self.sh("load", "-i", str(archive), what="podman load")


class BuildahEngine(ContainersStorageTool):
    """buildah builds and pushes; it runs nothing in the matrix (its ``run`` is for build steps)."""

    name = "buildah"

    def version(self) -> str:
        return first_line_version(self.wrap([self.binary, "--version"]))

    def image_digest(self, ref: str) -> str:
        return self._inspect(ref).get("FromImageDigest", "")

    def image_config(self, ref: str) -> dict:
        attrs = self._inspect(ref)
        return dict((attrs.get("OCIv1") or {}).get("config") or {})

    def run(self, spec: RunSpec) -> RunResult:
        raise Unsupported(self.why_not("run"))
