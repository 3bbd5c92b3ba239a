"""The trixie generation for real: start its namespace and daemons, drive them, stop, nothing left.

Skipped unless provisioning already prepared the trixie root (building one takes a minute or two).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ocimatrix.generations import GenerationHost, prepared_root
from ocimatrix.host.generation_daemons import start_generation_services
from ocimatrix.system.process import processes_mentioning

ROOT = prepared_root("trixie")
if os.geteuid() != 0:
    pytest.skip("a generation's mount namespace needs root", allow_module_level=True)
if ROOT is None:
    pytest.skip("the trixie root is not in the cache (ocimatrix provision prepares it)", allow_module_level=True)
if not all(shutil.which(tool) for tool in ("unshare", "nsenter")) or not Path("/bin/busybox").is_file():
    pytest.skip("unshare, nsenter and /bin/busybox (busybox-static) are needed", allow_module_level=True)

docker = pytest.importorskip("docker")


def _mounts_naming(*paths: Path) -> list[str]:
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return [line for line in lines if any(str(p) in line for p in paths)]


def test_trixie_generation_runs_and_leaves_nothing(tmp_path_factory):
    state = Path(tmp_path_factory.mktemp("generation")) / "trixie"
    assert not _mounts_naming(ROOT.rootfs, state)
    host = GenerationHost("trixie", ROOT.rootfs, state).start()
    try:
        endpoints = start_generation_services(host)
        client = docker.DockerClient(base_url=endpoints.docker_endpoint)
        try:
            assert client.version()["Version"].startswith(ROOT.manifest.packages["docker.io"].split("+")[0])
            context = state / "context"
            context.mkdir()
            shutil.copy("/bin/busybox", context / "busybox")
            (context / "Dockerfile").write_text("FROM scratch\nCOPY busybox /bin/busybox\n")
            ref = f"{endpoints.registry}/generations/busybox:1"
            client.images.build(path=str(context), tag=ref, network_mode="none", rm=True)
            output = client.containers.run(ref, ["/bin/busybox", "echo", "ran"], network_mode="none", remove=True)
            assert output == b"ran\n"
            client.containers.run(ref, ["/bin/busybox", "sleep", "300"], network_mode="none", detach=True)
        finally:
            client.close()
        podman = host.run(["podman", "version", "--format", "{{.Client.Version}}"], env=endpoints.podman_env)
        assert podman.stdout.strip() == ROOT.manifest.packages["podman"].split("+")[0], podman.stderr
        ctr = host.run(["ctr", "--address", str(endpoints.containerd_socket), "version"])
        assert ctr.returncode == 0 and "1.7" in ctr.stdout, ctr.stderr
    finally:
        report = host.stop()
    assert report.clean, report
    assert not _mounts_naming(ROOT.rootfs, state)
    assert not processes_mentioning(str(state))
    assert not (ROOT.rootfs / str(state).lstrip("/")).exists()
