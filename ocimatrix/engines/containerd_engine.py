"""containerd through ``ctr``, in a namespace of the harness's own.

``ctr`` is containerd's own client, not a Docker look-alike: its trailing arguments replace the whole
process command line, and 1.6 has no ``--user`` (1.7 has: the catalog declares it per version); the
driver says so instead of papering over it.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path

from ocimatrix.endpoints import service_missing
from ocimatrix.engines.base import (
    Engine,
    ResolvedImage,
    RunResult,
    RunSpec,
    TimedOut,
    Unsupported,
    run_command,
)
from ocimatrix.engines.image_views import config_section_of, host_manifest
from ocimatrix.errors import ServiceUnavailable
from ocimatrix.tools import catalog

NAMESPACE = "ocimatrix"
FETCHED_BLOB = re.compile(r"\b(index|manifest|config)-(sha256:[0-9a-f]{64})")


class ContainerdEngine(Engine):
    name = "containerd"

    def __init__(self, endpoints, **binding) -> None:
        super().__init__(endpoints, **binding)
        own = self.site.containerd if self.site else self.embedded_address()
        self.address = (self.named_endpoint or own).removeprefix("unix://")
        self.endpoint = f"unix://{self.address}" if self.address else ""
        default = self.tool.binary if self.site else (shutil.which("ctr") or self.tool.binary)
        self.binary = binding.get("binary") or default
        self._fetched: dict[tuple[str, str | None], dict[str, str]] = {}  # what each pull fetched

    def unavailable(self) -> str | None:
        if not self.has_binary():
            return f"ctr is not installed ({self.binary} missing)"
        if not self.address and self.site:
            raise ServiceUnavailable(f"containerd of generation {self.generation}", "it did not start")
        if not self.address:
            return service_missing(self.endpoints, "containerd", "containerd")
        return None

    def cmd(self, *args: str) -> list[str]:
        return self.wrap([self.binary, "--address", self.address, "--namespace", NAMESPACE, *args])

    def sh(self, *args: str, timeout: float = 300.0, check: bool = True, what: str = ""):
        return run_command(
            self.cmd(*args), env=self.tool_env(), timeout=timeout, check=check, what=what or f"ctr {args[0]}"
        )

    def version(self) -> str:
        out = self.sh("version", what="ctr version").stdout
        # The server section comes second; that's the daemon under test.
        versions = [line.split()[-1] for line in out.splitlines() if line.strip().startswith("Version:")]
        return (versions[-1] if versions else "").removeprefix("v")

    def pull(self, ref: str, *, platform: str | None = None) -> None:
        args = ["images", "pull", "--plain-http", *(["--platform", platform] if platform else []), ref]
        out = self.sh(*args, what="ctr images pull").stdout
        # ctr names each blob it fetched ("manifest-sha256:...", "config-sha256:..."): for an
        # index, that is the platform manifest it chose. Nothing else in ctr tells afterwards.
        self._fetched[(ref, platform)] = dict(FETCHED_BLOB.findall(out))

    def resolved_image(self, ref: str, *, platform: str | None = None) -> ResolvedImage:
        fetched = self._fetched.get((ref, platform))
        if not fetched or "config" not in fetched:
            raise Unsupported(f"ctr tells which manifest it chose only while pulling; {ref} was not pulled here")
        config = self._blob(fetched["config"])
        return ResolvedImage(
            config_digest=fetched["config"],
            architecture=config.get("architecture", ""),
            os=config.get("os", ""),
            variant=config.get("variant", ""),
            manifest_digest=fetched.get("manifest", ""),
            digests=tuple(d for d in (fetched.get("index"), fetched.get("manifest")) if d),
            how="ctr images pull progress (manifest-/config- blobs fetched), ctr content get <config>",
        )

    def image_digest(self, ref: str) -> str:
        out = self.sh("images", "ls", f"name=={ref}", what="ctr images ls").stdout.splitlines()
        for line in out[1:]:
            fields = line.split()
            if fields and fields[0] == ref:
                return next((f for f in fields if f.startswith("sha256:")), "")
        return ""

    def _blob(self, digest: str) -> dict:
        return json.loads(self.sh("content", "get", digest, what="ctr content get").stdout)

    def image_config(self, ref: str) -> dict:
        """Read the config blob the way containerd resolves it for this host's platform."""
        target = self.image_digest(ref)
        doc = self._blob(target)
        if "manifests" in doc:
            doc = self._blob(host_manifest(doc["manifests"])["digest"])
        return config_section_of(self._blob(doc["config"]["digest"]))

    def run(self, spec: RunSpec) -> RunResult:
        self.check_runtime(spec.runtime)
        if spec.user is not None:
            self.require("user_override")
        if spec.args is not None and spec.entrypoint is None:
            raise Unsupported("ctr run has no way to replace Cmd alone: its arguments replace Entrypoint and Cmd")
        runtime_type, shim = catalog.containerd_shim(spec.runtime) or ("", "")
        if shim and not shutil.which(shim):
            raise Unsupported(f"containerd runs {spec.runtime} only through {shim} ({runtime_type}): not installed")
        runtime = ["--runtime", runtime_type] if shim else ["--runc-binary", self.runtime_binary(spec.runtime)]
        # The container's output goes to a file the shim writes itself: ctr's own copy through fifos
        # loses a short-lived process's output now and then under load (seen with ctr 1.6 and 1.7),
        # which would blame the cell on an engine that ran it fine. stdout and stderr share the file.
        with self.scratch("ctr-run-") as scratch:
            log = Path(scratch) / "output.log"
        args = ["run", "--rm", *runtime, "--log-uri", f"file://{log}"]
        if spec.platform:
            args += ["--platform", spec.platform]
        for key, value in spec.env.items():
            args += ["--env", f"{key}={value}"]
        if spec.workdir is not None:
            args += ["--cwd", spec.workdir]
        if spec.user is not None:
            args += ["--user", spec.user]
        container = f"ocimatrix-{uuid.uuid4().hex[:12]}"
        args += [spec.image, container]
        if spec.entrypoint is not None:
            args += [*spec.entrypoint, *(spec.args or [])]
        try:
            result = self.sh(*args, timeout=spec.timeout, check=False, what="ctr run")
        except TimedOut:
            # Killing ctr leaves the task running: kill it, then remove the task and the container.
            self.sh("tasks", "kill", "--signal", "SIGKILL", container, check=False, timeout=30)
            self.sh("tasks", "delete", "--force", container, check=False, timeout=30)
            self.sh("containers", "delete", container, check=False, timeout=30)
            raise TimedOut(
                f"the container timed out after {spec.timeout:.0f} s; it was killed and removed",
                step="ctr run",
                answer=f"still running after {spec.timeout:.0f} s",
            ) from None
        output = log.read_text(errors="replace") if log.exists() else ""
        return RunResult(result.returncode, output + result.stdout, result.stderr)

    def save(self, ref: str, dest: Path, *, format: str) -> Path:
        self.require("save", format)
        self.sh("images", "export", str(dest), ref, what="ctr images export")
        return dest

    def load(self, archive: Path) -> None:
        self.sh("images", "import", str(archive), what="ctr images import")

    def remove_image(self, ref: str) -> None:
        self.sh("images", "rm", "--sync", ref, check=False)
