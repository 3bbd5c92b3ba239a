"""Docker, driven through docker-py against the harness's (or a named) dockerd.

docker-py has no shell form, so each call records the equivalent ``docker`` CLI command as the repro.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path

import docker
import docker.errors
import requests

from ocimatrix import evidence
from ocimatrix.endpoints import service_missing
from ocimatrix.engines.base import (
    Engine,
    EngineError,
    ResolvedImage,
    RunResult,
    RunSpec,
    TimedOut,
    Unsupported,
    docker_style_run_args,
    run_command,
)
from ocimatrix.engines.image_views import config_section_of_inspect, digests_for, split_tag
from ocimatrix.errors import ServiceUnavailable
from ocimatrix.tools import catalog

__all__ = ["DockerEngine", "docker_run_args", "split_tag"]


class DockerEngine(Engine):
    name = "docker"

    def __init__(self, endpoints, **binding) -> None:
        super().__init__(endpoints, **binding)
        own = self.site.docker if self.site else self.embedded_address()
        self.endpoint = self.named_endpoint or own
        self._client: docker.DockerClient | None = None

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = docker.DockerClient(base_url=self.endpoint, timeout=300)
        return self._client

    def cli(self, *args: str) -> list[str]:
        return self.wrap([self.binary, "--host", self.endpoint, *args])

    def unavailable(self) -> str | None:
        if not self.endpoint and self.site:
            raise ServiceUnavailable(f"dockerd of generation {self.generation}", "it did not start")
        if not self.endpoint:
            return service_missing(self.endpoints, "docker", "dockerd")
        try:
            self.client.ping()
        except Exception as exc:  # noqa: BLE001 - whatever the transport says, nobody answered
            raise ServiceUnavailable(f"dockerd at {self.endpoint}", str(exc)) from None
        return None

    def version(self) -> str:
        return self.client.version().get("Version", "")

    def build(self, context: Path, ref: str, *, format: str, platform: str) -> None:
        self.require("push_format", format)
        evidence.record_command(self.cli("build", "--network", "none", "--platform", platform, "-t", ref, str(context)))
        try:
            self.client.images.build(
                path=str(context), tag=ref, network_mode="none", platform=platform, rm=True, pull=False
            )
        except docker.errors.BuildError as exc:
            raise EngineError(f"docker build failed: {exc.msg}", step="docker build", answer=str(exc.msg)) from None
        except docker.errors.APIError as exc:
            said = _said(exc)
            raise EngineError(f"docker build failed: {said}", step="docker build", answer=said) from None

    def push(self, ref: str, *, format: str, compression: str) -> str:
        self.require("push_compression", compression)
        evidence.record_command(self.cli("push", ref))
        repo, tag = split_tag(ref)
        digest, last = "", {}
        try:
            # Errors met after the push started arrive inside the progress stream, not as an HTTP error.
            for line in self.client.api.push(repo, tag=tag, stream=True, decode=True):
                if "error" in line:
                    raise EngineError(f"docker push {ref}: {line['error']}", step="docker push", answer=line["error"])
                digest, last = (line.get("aux") or {}).get("Digest", digest), line
        except docker.errors.APIError as exc:
            said = _said(exc)
            raise EngineError(f"docker push {ref}: {said}", step="docker push", answer=said) from None
        if not digest:
            said = json.dumps(last)  # the stream's last line, as dockerd wrote it
            raise EngineError(
                f"docker push {ref}: the push stream ended without a digest; its last line: {said}",
                step="docker push",
                answer=said,
            )
        return digest

    def build_index(self, ref: str, per_platform: dict[str, str], *, format: str) -> str:
        # dockerd 20.10 can't build an index; its CLI's experimental `manifest` command assembles
        # one from pushed images, talking to the registry itself (no daemon involved).
        if not self.supports("index", format):
            raise Unsupported("docker manifest (20.10) writes Docker manifest lists only, not OCI image indexes")
        with self.scratch("docker-cli-") as config_dir:
            # A private config dir: the CLI keeps its draft lists there, not in ~/.docker.
            env = {"DOCKER_CLI_EXPERIMENTAL": "enabled", "DOCKER_CONFIG": config_dir}
            run_command(
                self.wrap([self.binary, "manifest", "create", "--insecure", ref, *per_platform.values()]),
                env=self.tool_env(env),
                what="docker manifest create",
            )
            out = run_command(
                self.wrap([self.binary, "manifest", "push", "--insecure", "--purge", ref]),
                env=self.tool_env(env),
                what="docker manifest push",
            ).stdout
        digest = next((w for w in reversed(out.split()) if w.startswith("sha256:")), "")
        if not digest:
            said = f"printed no digest: {out.strip()[-300:]}"
            raise EngineError(f"docker manifest push {ref} {said}", step="docker manifest push", answer=said)
        return digest

    def pull(self, ref: str, *, platform: str | None = None) -> None:
        args = ["pull", *(["--platform", platform] if platform else []), ref]
        evidence.record_command(self.cli(*args))
        repo, tag = split_tag(ref)
        try:
            # Errors met after the pull started arrive inside the progress stream, not as an HTTP error.
            for line in self.client.api.pull(repo, tag=tag, platform=platform, stream=True, decode=True):
                if "error" in line:
                    raise EngineError(f"docker pull {ref}: {line['error']}", step="docker pull", answer=line["error"])
        except docker.errors.APIError as exc:
            said = _said(exc)
            raise EngineError(f"docker pull {ref}: {said}", step="docker pull", answer=said) from None

    def _inspect(self, ref: str) -> dict:
        try:
            return self.client.api.inspect_image(ref)
        except docker.errors.ImageNotFound as exc:
            said = _said(exc)
            raise EngineError(f"docker has no image {ref}: {said}", step="docker image inspect", answer=said) from None

    def image_digest(self, ref: str) -> str:
        evidence.record_command(self.cli("image", "inspect", "--format", "{{json .RepoDigests}}", ref))
        digests = digests_for(ref, self._inspect(ref).get("RepoDigests") or [])
        return digests[0] if digests else ""

    def image_config(self, ref: str) -> dict:
        return config_section_of_inspect(self._inspect(ref))

    def resolved_image(self, ref: str, *, platform: str | None = None) -> ResolvedImage:
        # A tag holds one image in dockerd: the variant of the last pull. 20.10 keeps only the
        # index digest in RepoDigests, not the platform manifest's.
        evidence.record_command(self.cli("image", "inspect", ref))
        attrs = self._inspect(ref)
        digests = digests_for(ref, attrs.get("RepoDigests") or [])
        return ResolvedImage(
            config_digest=attrs.get("Id", ""),
            architecture=attrs.get("Architecture", ""),
            os=attrs.get("Os", ""),
            variant=attrs.get("Variant", ""),
            digests=digests,
            how="docker image inspect (Id, Architecture, Variant)",
        )

    def run(self, spec: RunSpec) -> RunResult:
        self.check_runtime(spec.runtime)
        # dockerd knows its runtimes by name (runc, crun in daemon.json), of its own generation.
        spec = dataclasses.replace(spec, runtime=catalog.split_generation(spec.runtime)[0])
        evidence.record_command(self.cli(*docker_run_args(spec)))
        kwargs = {
            "image": spec.image,
            "command": spec.args,
            "entrypoint": spec.entrypoint,
            "environment": spec.env or None,
            "user": spec.user or "",
            "working_dir": spec.workdir,
            "network_mode": "none",
            "runtime": spec.runtime,
            "platform": spec.platform,
            "detach": True,
        }
        try:
            # create(), not run(): run() would pull a missing image from the internet.
            container = self.client.containers.create(**{k: v for k, v in kwargs.items() if v is not None})
        except docker.errors.ImageNotFound as exc:
            said = _said(exc)
            raise EngineError(
                f"docker create: no such image {spec.image}: {said}", step="docker create", answer=said
            ) from None
        except docker.errors.APIError as exc:
            said = _said(exc)
            raise EngineError(f"docker create: {said}", step="docker create", answer=said) from None
        try:
            container.start()
            status = self._wait(container, spec.timeout)
            stdout = container.logs(stdout=True, stderr=False).decode(errors="replace")
            stderr = container.logs(stdout=False, stderr=True).decode(errors="replace")
            if status.get("Error"):
                stderr += f"\n{status['Error']}"
            return RunResult(int(status.get("StatusCode", -1)), stdout, stderr)
        except docker.errors.APIError as exc:
            said = _said(exc)
            raise EngineError(f"docker start: {said}", step="docker start", answer=said) from None
        finally:
            # Kills a container that outlived its timeout; a dead dockerd is reported by the wait instead.
            with contextlib.suppress(docker.errors.APIError, requests.exceptions.RequestException):
                container.remove(force=True)

    def _wait(self, container, timeout: float) -> dict:
        try:
            return container.wait(timeout=timeout)
        except requests.exceptions.ConnectionError as exc:
            if "timed out" not in str(exc).lower():
                raise ServiceUnavailable(f"dockerd at {self.endpoint}", str(exc)) from None
            error: Exception = exc
        except requests.exceptions.Timeout as exc:
            error = exc
        try:
            self.client.ping()
        except requests.exceptions.RequestException as exc:
            raise ServiceUnavailable(f"dockerd at {self.endpoint}", f"{exc} (after {error})") from None
        raise TimedOut(
            f"the container timed out after {timeout:.0f} s; it was killed and removed",
            step="docker wait",
            answer=f"still running after {timeout:.0f} s",
        ) from None

    def save(self, ref: str, dest: Path, *, format: str) -> Path:
        self.require("save", format)
        evidence.record_command(self.cli("save", "-o", str(dest), ref))
        with open(dest, "wb") as out:
            for chunk in self.client.api.get_image(ref):
                out.write(chunk)
        return dest

    def load(self, archive: Path) -> None:
        evidence.record_command(self.cli("load", "-i", str(archive)))
        try:
            with open(archive, "rb") as data:
                # dockerd reports a broken archive inside the answer's stream, not as an HTTP error.
                for line in self.client.api.load_image(data):
                    if isinstance(line, dict) and "error" in line:
                        raise EngineError(f"docker load: {line['error']}", step="docker load", answer=line["error"])
        except docker.errors.APIError as exc:
            said = _said(exc)
            raise EngineError(f"docker load: {said}", step="docker load", answer=said) from None

    def remove_image(self, ref: str) -> None:
        evidence.record_command(self.cli("rmi", ref))
        with contextlib.suppress(docker.errors.ImageNotFound):
            self.client.api.remove_image(ref, force=True)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _said(exc: docker.errors.APIError) -> str:
    """dockerd's own words in an API error: its explanation, else the HTTP status line docker-py saw."""
    return str(exc.explanation or exc)


def docker_run_args(spec: RunSpec) -> list[str]:
    """The ``docker run`` command line equivalent to ``spec`` (used for repro and tested on its own)."""
    # The CLI takes one entrypoint word; the rest of the list goes before the args.
    entrypoint = [] if spec.entrypoint is None else ["--entrypoint", spec.entrypoint[0] if spec.entrypoint else ""]
    args = docker_style_run_args(spec, spec.runtime, entrypoint)
    if spec.entrypoint:
        args += spec.entrypoint[1:]
    args += spec.args or []
    return args
