"""Registries named by a container image: the harness's FROM-scratch registry image, run by testcontainers."""

from __future__ import annotations

import io
import shutil
import tarfile

import pytest

from ocimatrix import evidence
from ocimatrix.distribution import pull, push
from ocimatrix.distribution.context import DistContext
from ocimatrix.errors import ServiceUnavailable
from ocimatrix.host.registry_container import BUILTIN_TAG, registry_build_context
from ocimatrix.registries import RegistryPool, TargetUnavailable

needs_registry = pytest.mark.skipif(shutil.which("docker-registry") is None, reason="docker-registry not installed")


@needs_registry
def test_build_context_holds_the_binary_and_its_libraries():
    context, tag = registry_build_context()
    with tarfile.open(fileobj=io.BytesIO(context)) as tar:
        names = tar.getnames()
        dockerfile = tar.extractfile("Dockerfile").read().decode()
    assert tag.startswith(BUILTIN_TAG + ":")
    assert registry_build_context()[1] == tag  # same binary, same tag: built once
    assert {"Dockerfile", "config.yml", "docker-registry"} <= set(names)
    assert dockerfile.startswith("FROM scratch\n")
    assert 'ENTRYPOINT ["/bin/registry", "serve"' in dockerfile
    libs = [n for n in names if n.startswith("lib")]
    for lib in libs:  # each library lands where the loader looks for it
        assert f"COPY {lib} /" in dockerfile


def test_an_image_registry_without_dockerd_is_skipped_with_the_reason():
    pool = RegistryPool(
        {"zot": {"image": "registry.example/zot:v2"}},
        lambda: type("E", (), {"docker": "", "errors": {}, "absent": {"docker": "dockerd is not installed"}})(),
    )
    with pytest.raises(TargetUnavailable, match="no dockerd here: dockerd is not installed"):
        pool.target("zot")


def test_an_image_registry_whose_dockerd_did_not_start_is_an_error_not_a_skip():
    pool = RegistryPool(
        {"zot": {"image": "registry.example/zot:v2"}},
        lambda: type("E", (), {"docker": "", "errors": {"docker": "dockerd failed to start"}, "absent": {}})(),
    )
    with pytest.raises(ServiceUnavailable, match="it did not start: dockerd failed to start") as caught:
        pool.target("zot")
    assert "no dockerd" not in str(caught.value)


@needs_registry
@pytest.mark.skipif(shutil.which("dockerd") is None or shutil.which("containerd") is None, reason="no dockerd here")
def test_checks_pass_against_the_builtin_image_started_by_testcontainers():
    from ocimatrix.host.services import EmbeddedServices

    services = EmbeddedServices(log=lambda _: None)
    endpoints = services.start()
    try:
        if not endpoints.docker:
            pytest.skip(f"the harness's dockerd did not start: {endpoints.errors.get('docker')}")
        pool = RegistryPool({"container": {"image": {"build": "docker-registry"}}}, lambda: endpoints)
        try:
            target = pool.target("container")
            assert target.base_url.startswith("http://127.0.0.1:")
            evidence.begin()
            ctx = DistContext(target, "imagetest")
            try:
                pull.api_version_check(ctx)
                push.push_manifest(ctx, by="tag")
                pull.pull_blob(ctx)
            finally:
                ctx.close()
            container = pool._containers[0].container.get_wrapped_container()
            assert container.attrs["HostConfig"]["NetworkMode"] == "host"
        finally:
            pool.close()
        import docker

        client = docker.DockerClient(base_url=endpoints.docker)
        try:
            assert client.containers.list(all=True) == []  # stopped and removed
        finally:
            client.close()
    finally:
        services.stop()
