"""BuildKit as a builder: the buildx driver's command lines and answers, the dockerd it builds in, the
multi-platform context; the answers replayed are those buildx 0.13.1 and docker 26.1 gave in a run here."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from ocimatrix import evidence
from ocimatrix.endpoints import Endpoints
from ocimatrix.endpoints.site import GenerationSite
from ocimatrix.engines import buildx_engine
from ocimatrix.engines.base import CommandResult, EngineError, Unsupported
from ocimatrix.engines.binding import bind
from ocimatrix.errors import HarnessError, ServiceUnavailable
from ocimatrix.host import buildkit_dockerd
from ocimatrix.host.generation_daemons import DOCKERD_NETWORK_FLAGS
from ocimatrix.images.contexts import platform_dir, platforms_context
from ocimatrix.system.offline import OFFLINE_ENV
from ocimatrix.tools import catalog

INDEX = "sha256:5a5bf09ce0d37c7a14ed7c83a7f392e2208b37c9a8240e76ae73ebd1fe85bc52"
# The last lines of `docker push` of a BuildKit index (docker 26.1 on the containerd image store).
PUSHED = f"98a1d15b110f: Pushed\nbea745fca010: Pushed\nmin: digest: {INDEX} size: 855\n"
# What distribution 2.8 now and then answers a HEAD of the tag under push.
REGISTRY_500 = (
    "exit 1: unexpected status from HEAD request to http://127.0.0.1:41627/v2/ocimatrix/platforms/"
    "buildx-trixie-oci/manifests/68604f24: 500 Internal Server Error"
)


def _endpoints(tmp_path: Path, buildkit: str = "unix:///nowhere/docker.sock") -> Endpoints:
    rootfs = tmp_path / "rootfs"
    (rootfs / buildx_engine.PLUGIN.lstrip("/")).parent.mkdir(parents=True)
    (rootfs / buildx_engine.PLUGIN.lstrip("/")).write_text("")
    site = GenerationSite("trixie", str(rootfs), 1, buildkit_docker=buildkit)
    return Endpoints(state_dir=str(tmp_path), generations={"trixie": asdict(site)})


class Replay:
    """run_command replaced by the answers buildx and docker gave: argv recorded, metadata file written."""

    def __init__(self, pushes: list[str | Exception]) -> None:
        self.argvs: list[list[str]] = []
        self.envs: list[dict] = []
        self.pushes = pushes

    def __call__(self, argv, *, env=None, timeout=300.0, check=True, record=True, what=""):
        self.argvs.append([str(a) for a in argv])
        self.envs.append(dict(env or {}))
        if "buildx" in argv and "build" in argv:
            metadata = Path(argv[argv.index("--metadata-file") + 1])
            metadata.write_text(json.dumps({"containerimage.digest": INDEX}))
            return CommandResult(0, "", "")
        if "push" in argv:
            answer = self.pushes.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return CommandResult(0, answer, "")
        return CommandResult(0, "", "")


@pytest.fixture
def builder(tmp_path, monkeypatch):
    driver = bind("buildx@trixie", _endpoints(tmp_path), role="builder")
    assert driver.unavailable() is None
    return driver


def test_build_exports_into_dockerd_then_dockerd_pushes(builder, monkeypatch, tmp_path):
    replay = Replay([PUSHED])
    monkeypatch.setattr(buildx_engine, "run_command", replay)
    with evidence.scoped():
        digest = builder.build_and_push(
            tmp_path, "127.0.0.1:5000/a/b:t", platforms=["linux/amd64", "linux/arm64"], format="oci", compression="zstd"
        )
    assert digest == INDEX
    build, push = replay.argvs
    assert build[:4] == ["nsenter", "--mount=/proc/1/ns/mnt", "/usr/bin/docker", "buildx"]
    assert "--network=none" in build and "--sbom=false" in build and "--provenance=mode=min" in build
    assert "--platform=linux/amd64,linux/arm64" in build
    output = build[build.index("--output") + 1]
    assert output == (
        "type=image,name=127.0.0.1:5000/a/b:t,oci-mediatypes=true,compression=zstd,force-compression=true"
    )
    assert push[-2:] == ["push", "127.0.0.1:5000/a/b:t"]
    # BuildKit's dockerd, and a scratch config: nothing lands in the cached root.
    assert all(env["DOCKER_HOST"] == "unix:///nowhere/docker.sock" for env in replay.envs)
    assert all(env["DOCKER_CONFIG"].startswith(str(tmp_path)) for env in replay.envs)


@pytest.mark.parametrize(("mode", "flag"), [("max", "--provenance=mode=max"), ("none", "--provenance=false")])
def test_provenance_modes(builder, monkeypatch, tmp_path, mode, flag):
    replay = Replay([PUSHED])
    monkeypatch.setattr(buildx_engine, "run_command", replay)
    with evidence.scoped():
        builder.build_and_push(
            tmp_path, "r:t", platforms=["linux/amd64"], format="docker", compression="gzip", provenance=mode
        )
    assert flag in replay.argvs[0] and "oci-mediatypes=false" in replay.argvs[0][replay.argvs[0].index("--output") + 1]


def test_an_unknown_mode_or_a_run_is_unsupported(builder, tmp_path):
    with pytest.raises(Unsupported, match="sbom"):
        builder.build_and_push(
            tmp_path, "r:t", platforms=["linux/amd64"], format="oci", compression="gzip", provenance="sbom"
        )
    with pytest.raises(Unsupported, match="runs nothing"):
        builder.pull("r:t")
    assert builder.supports("multi_platform_build") and builder.supports("attestations", "max")
    assert not builder.supports("index", "docker")


def test_a_registry_500_is_pushed_again_and_kept_as_evidence(builder, monkeypatch, tmp_path):
    refused = EngineError("docker push failed", step="docker push", answer=REGISTRY_500)
    replay = Replay([refused, PUSHED])
    monkeypatch.setattr(buildx_engine, "run_command", replay)
    with evidence.scoped() as recorder:
        assert builder.build_and_push(tmp_path, "r:t", platforms=["linux/amd64"], format="oci", compression="gzip")
    assert [e["attempt"] for e in recorder.evidence["registry_500_on_push"]] == [1]


def test_a_push_the_registry_keeps_breaking_is_the_runs_error_and_other_refusals_are_the_builders(
    builder, monkeypatch, tmp_path
):
    refused = EngineError("docker push failed", step="docker push", answer=REGISTRY_500)
    monkeypatch.setattr(buildx_engine, "run_command", Replay([refused] * buildx_engine.PUSH_ATTEMPTS))
    with evidence.scoped(), pytest.raises(HarnessError, match="500"):
        builder.build_and_push(tmp_path, "r:t", platforms=["linux/amd64"], format="oci", compression="gzip")
    denied = EngineError("docker push failed", step="docker push", answer="exit 1: denied: requested access")
    monkeypatch.setattr(buildx_engine, "run_command", Replay([denied]))
    with evidence.scoped(), pytest.raises(EngineError) as raised:
        builder.build_and_push(tmp_path, "r:t", platforms=["linux/amd64"], format="oci", compression="gzip")
    assert raised.value.answer == "exit 1: denied: requested access"


def test_a_push_of_another_image_than_built_is_the_builders_answer(builder, monkeypatch, tmp_path):
    other = PUSHED.replace(INDEX, "sha256:" + "d" * 64)
    monkeypatch.setattr(buildx_engine, "run_command", Replay([other]))
    with evidence.scoped(), pytest.raises(EngineError) as raised:
        builder.build_and_push(tmp_path, "r:t", platforms=["linux/amd64"], format="oci", compression="gzip")
    assert raised.value.answer == f"built {INDEX}, pushed sha256:{'d' * 64}"


def test_version_is_buildx_own_answer(builder, monkeypatch):
    monkeypatch.setattr(
        buildx_engine,
        "run_command",
        lambda *a, **k: CommandResult(0, "github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3\n", ""),
    )
    assert builder.versions() == {"buildx@trixie": "0.13.1+ds1"}


def test_no_buildkit_dockerd_is_an_error_and_no_plugin_a_skip(tmp_path):
    endpoints = _endpoints(tmp_path, buildkit="")
    endpoints.errors[buildkit_dockerd.service_name("trixie")] = "HarnessError: dockerd exited with 1"
    with pytest.raises(ServiceUnavailable, match="exited with 1"):
        bind("buildx@trixie", endpoints, role="builder").unavailable()
    (tmp_path / "rootfs" / buildx_engine.PLUGIN.lstrip("/")).unlink()
    assert "not installed" in bind("buildx@trixie", _endpoints_without_plugin(tmp_path), role="builder").unavailable()


def _endpoints_without_plugin(tmp_path: Path) -> Endpoints:
    site = GenerationSite("trixie", str(tmp_path / "rootfs"), 1, buildkit_docker="unix:///nowhere.sock")
    return Endpoints(state_dir=str(tmp_path), generations={"trixie": asdict(site)})


def test_buildx_is_of_the_roots_only():
    with pytest.raises(Exception, match="no generation 'bookworm'"):
        catalog.lookup("buildx", "builder")
    assert catalog.embedded_services("buildx@sid") == ("dockerd-buildkit@sid", "containerd@sid")
    assert "docker-buildx" in catalog.root_packages(generation="trixie")


# --- the dockerd BuildKit builds in ------------------------------------------------------------------


def test_buildkit_dockerd_keeps_images_in_containerd_and_the_network_rule(tmp_path):
    config = buildkit_dockerd.buildkit_config(["127.0.0.1:5000"], lambda path: True)
    assert config["features"] == {"buildkit": True, "containerd-snapshotter": True}
    assert config["insecure-registries"] == ["127.0.0.1:5000"]
    argv = buildkit_dockerd.buildkit_argv(tmp_path, tmp_path / "daemon.json", tmp_path / "containerd.sock")
    assert argv[argv.index("--containerd-namespace") + 1] == buildkit_dockerd.CONTAINERD_NAMESPACE
    assert argv[argv.index("--containerd-plugins-namespace") + 1] == "ocimatrix-buildkit-plugins"
    assert set(DOCKERD_NETWORK_FLAGS) <= set(argv)
    assert argv[argv.index("--host") + 1] == f"unix://{tmp_path / 'docker.sock'}"


class _Host:
    def __init__(self, tmp_path: Path, with_plugin: bool = True) -> None:
        self.name = "trixie"
        self.rootfs = tmp_path / "rootfs"
        self.state_dir = tmp_path / "state"
        (self.rootfs / "usr/bin").mkdir(parents=True)
        if with_plugin:
            (self.rootfs / "usr/bin/docker").write_text("")
        self.started: list[tuple] = []

    def start_daemon(self, name, argv, ready, *, timeout=90.0, env=None):
        self.started.append((name, argv, env))


def test_buildkit_dockerd_starts_where_a_root_tool_needs_it_with_proxies_closed(tmp_path):
    host = _Host(tmp_path)
    assert buildkit_dockerd.wanted(host)  # type: ignore[arg-type]
    socket = buildkit_dockerd.start_buildkit_dockerd(host, tmp_path / "c.sock", ["127.0.0.1:5000"])  # type: ignore[arg-type]
    assert socket == host.state_dir / "dockerd-buildkit" / "docker.sock"
    name, argv, env = host.started[0]
    assert name == "dockerd-buildkit" and argv[0] == "dockerd"
    assert env == OFFLINE_ENV and env["NO_PROXY"] == "127.0.0.1,localhost"
    written = json.loads((host.state_dir / "dockerd-buildkit" / "daemon.json").read_text())
    assert written["features"]["containerd-snapshotter"] is True
    assert not buildkit_dockerd.wanted(_Host(tmp_path / "bare", with_plugin=False))  # type: ignore[arg-type]


def test_a_reach_beyond_loopback_is_found_in_the_log():
    quiet = (
        'level=info msg="API listen on /var/tmp/x/dockerd-buildkit/docker.sock"\n'
        'level=warning msg="reference for unknown type: application/vnd.in-toto+json"\n'
        "dial tcp 127.0.0.1:41627: connect: connection refused\n"
    )
    assert buildkit_dockerd.reaches_outside(quiet) == []
    loud = [
        "failed to resolve source metadata for registry.example.org/frontend:1: proxyconnect tcp: dial tcp 127.0.0.1:9",
        "Get https://registry.example.org/v2/: dial tcp: lookup registry.example.org: no such host",
        "dial tcp 192.0.2.7:443: i/o timeout",
    ]
    assert buildkit_dockerd.reaches_outside("\n".join(loud)) == loud
    assert buildkit_dockerd.log_path(Path("/run"), "sid") == Path("/run/generations/sid/dockerd-buildkit.log")


# --- the multi-platform context ----------------------------------------------------------------------


def test_platforms_context_names_each_rootfs_as_buildkit_target_args_spell_it(tmp_path, monkeypatch):
    from ocimatrix.images import contexts

    monkeypatch.setattr(contexts, "busybox_for", lambda platform: Path("/bin/sh"))
    platforms_context(tmp_path, ["linux/amd64", "linux/arm/v7"], build_id="ref")
    assert platform_dir("linux/arm/v7") == "rootfs-linux-armv7"
    assert (tmp_path / "rootfs-linux-amd64" / "bin" / "busybox").is_file()
    assert (tmp_path / "rootfs-linux-armv7" / "etc" / "ocimatrix-build").read_text() == "ref linux/arm/v7\n"
    dockerfile = (tmp_path / "Dockerfile").read_text()
    assert (
        "ARG TARGETOS TARGETARCH TARGETVARIANT\nCOPY rootfs-${TARGETOS}-${TARGETARCH}${TARGETVARIANT}/ /" in dockerfile
    )
    assert dockerfile.startswith("FROM scratch\n")  # BuildKit resolves no image
