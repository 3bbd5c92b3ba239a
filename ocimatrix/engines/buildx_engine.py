"""BuildKit through ``docker buildx build`` (the ``docker`` driver), in a generation's root.

BuildKit runs inside a dockerd of the generation that keeps its images in containerd
(``host/buildkit_dockerd.py``): that store is what lets it write a multi-platform index and attestation
manifests. Each build exports into that store (``--output type=image``) and dockerd then pushes the
stored index as it is (``docker push``): one writer to the registry. A single ``push=true`` export has
BuildKit push and then dockerd push the same tag again, and distribution 2.8 answers a HEAD of a tag
being rewritten with 500 now and then.

Every build runs with ``--network=none``, ``--sbom=false`` (SBOM attestations need a scanner image from
a public registry) and an explicit ``--provenance``; contexts are ``FROM scratch``, so BuildKit resolves
no image. The CLI's own state (buildx keeps build records) goes to a scratch ``DOCKER_CONFIG``, never
into the cached root.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ocimatrix import evidence
from ocimatrix.axes import DOCKER_FORMAT, OCI_FORMAT
from ocimatrix.engines.base import Engine, EngineError, RunResult, RunSpec, Unsupported, run_command
from ocimatrix.errors import HarnessError, ServiceUnavailable
from ocimatrix.tools import catalog

PLUGIN = "/usr/libexec/docker/cli-plugins/docker-buildx"
BUILDKIT_DOCKERD = "dockerd-buildkit"  # the service the catalog line names
# What ``provenance`` asks: BuildKit's own default when it pushes (min), everything it knows (max), none.
PROVENANCE = {"min": "mode=min", "max": "mode=max", "none": "false"}
DEFAULT_PROVENANCE = "min"
OCI_MEDIATYPES = {OCI_FORMAT: "true", DOCKER_FORMAT: "false"}
COMPRESSIONS = {"gzip": "gzip", "zstd": "zstd", "none": "uncompressed"}
PUSH_ATTEMPTS = 3
REGISTRY_500 = "500 Internal Server Error"


@dataclass
class _Pending:
    context: Path
    platform: str


class BuildxBuilder(Engine):
    name = "buildx"

    def __init__(self, endpoints, **binding) -> None:
        super().__init__(endpoints, **binding)
        self.endpoint = self.site.buildkit_docker if self.site else ""
        self._pending: dict[str, _Pending] = {}
        self._version = ""

    # -- where it runs ------------------------------------------------------------------------------

    def unavailable(self) -> str | None:
        if self.site is None:
            return f"{self.name} runs from a generation's root only (Debian 12 has no docker-buildx)"
        if not self.has_binary(PLUGIN):
            return f"{self.name} is not installed ({PLUGIN} missing in the root of {self.generation})"
        if not self.endpoint:
            said = self.endpoints.errors.get(catalog.spelled(BUILDKIT_DOCKERD, self.generation), "it did not start")
            raise ServiceUnavailable(f"BuildKit's dockerd of generation {self.generation}", said)
        return None

    def cli(self, *args: str) -> list[str]:
        return self.wrap([self.binary, *args])

    def env(self, config_dir: str) -> dict[str, str]:
        return self.tool_env({"DOCKER_HOST": self.endpoint, "DOCKER_CONFIG": config_dir})

    def sh(self, *args: str, what: str, timeout: float = 300.0):
        with self.scratch("buildx-") as config_dir:
            return run_command(self.cli(*args), env=self.env(config_dir), timeout=timeout, what=what)

    def version(self) -> str:
        if not self._version:
            # "github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3": the second word is its version.
            out = self.sh("buildx", "version", what="docker buildx version").stdout.split()
            self._version = out[1] if len(out) > 1 else ""
        return self._version

    def versions(self) -> dict[str, str]:
        return {self.label: self.version()}

    # -- building -------------------------------------------------------------------------------------

    def build(self, context: Path, ref: str, *, format: str, platform: str) -> None:
        """BuildKit builds and exports in one go, with the compression the push asks for: ``push`` builds."""
        self.require("push_format", format)
        self._pending[ref] = _Pending(context, platform)

    def push(self, ref: str, *, format: str, compression: str) -> str:
        pending = self._pending.pop(ref, None)
        if pending is None:
            raise HarnessError(f"{self.name}: push {ref} asked before any build of it")
        return self.build_and_push(
            pending.context, ref, platforms=[pending.platform], format=format, compression=compression
        )

    def build_and_push(
        self,
        context: Path,
        ref: str,
        *,
        platforms: list[str],
        format: str,
        compression: str,
        provenance: str = DEFAULT_PROVENANCE,
    ) -> str:
        """One build for every platform in ``platforms`` (an index when there is more than one, or when
        attestations go with the image), exported into dockerd's store, then pushed; returns the digest
        of what the registry got, as dockerd's push reports it."""
        self.require("push_format", format)
        self.require("push_compression", compression)
        if provenance not in PROVENANCE:
            raise Unsupported(f"{self.name}: unknown provenance mode {provenance!r}; known: {', '.join(PROVENANCE)}")
        output = ",".join(
            [
                "type=image",
                f"name={ref}",
                f"oci-mediatypes={OCI_MEDIATYPES[format]}",
                f"compression={COMPRESSIONS[compression]}",
                "force-compression=true",
            ]
        )
        with self.scratch("buildx-") as config_dir:
            metadata = Path(config_dir) / "metadata.json"
            env = self.env(config_dir)
            built = [
                "buildx",
                "build",
                "--network=none",
                f"--platform={','.join(platforms)}",
                f"--provenance={PROVENANCE[provenance]}",
                "--sbom=false",
                "--progress=plain",
                "--output",
                output,
                "--metadata-file",
                str(metadata),
                str(context),
            ]
            run_command(self.cli(*built), env=env, what="docker buildx build")
            stored = _metadata_digest(metadata)
            pushed = self._push(ref, env)
        digest = _pushed_digest(pushed)
        if not digest:
            said = f"printed no digest: {pushed.strip()[-300:]}"
            raise EngineError(f"docker push {ref} {said}", step="docker push", answer=said)
        if stored and stored != digest:
            said = f"built {stored}, pushed {digest}"
            raise EngineError(
                f"docker push {ref} pushed another image than buildx built: {said}", step="docker push", answer=said
            )
        return digest

    def _push(self, ref: str, env: dict[str, str]) -> str:
        """``docker push``, again when the registry answered 500: distribution 2.8 now and then answers a
        HEAD of the tag dockerd is pushing with 500 "invalid checksum digest format" (a link file read
        while it is written). That answer is the harness's registry's, never the builder's: a push it
        keeps breaking is an error of the run."""
        said = ""
        for attempt in range(1, PUSH_ATTEMPTS + 1):
            try:
                return run_command(self.cli("push", ref), env=env, what="docker push").stdout
            except EngineError as exc:
                if REGISTRY_500 not in str(exc.answer or ""):
                    raise
                said = str(exc.answer)
                evidence.current().evidence.setdefault("registry_500_on_push", []).append(
                    {"attempt": attempt, "answer": said[-500:]}
                )
        raise HarnessError(f"the registry answered docker push {ref} with 500 {PUSH_ATTEMPTS} times: {said[-500:]}")

    def remove_image(self, ref: str) -> None:
        with self.scratch("buildx-") as config_dir:
            run_command(self.cli("rmi", "--force", ref), env=self.env(config_dir), check=False, what="docker rmi")

    # -- not a runner ---------------------------------------------------------------------------------

    def pull(self, ref: str, *, platform: str | None = None) -> None:
        raise Unsupported(self.why_not("run"))

    def image_digest(self, ref: str) -> str:
        raise Unsupported(self.why_not("run"))

    def image_config(self, ref: str) -> dict:
        raise Unsupported(self.why_not("run"))

    def run(self, spec: RunSpec) -> RunResult:
        raise Unsupported(self.why_not("run"))


def _metadata_digest(path: Path) -> str:
    """The digest buildx's metadata file gives the exported image ("" when it wrote none)."""
    try:
        return str(json.loads(path.read_text()).get("containerimage.digest") or "")
    except (OSError, ValueError, AttributeError):
        return ""


def _pushed_digest(out: str) -> str:
    """``TAG: digest: sha256:... size: N``, docker push's last line."""
    return next((w for w in reversed(out.split()) if w.startswith("sha256:")), "")
