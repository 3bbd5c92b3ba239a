"""The CRI client against a real containerd 1.6: its own instance, registry and busybox image.

Everything runs under one temporary directory with its own sockets, on 127.0.0.1 only; the image
is built FROM scratch out of the host's static busybox and pushed to a private docker-registry.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest

from ocimatrix.cri.client import CriClient, CriError
from ocimatrix.cri.containerd_config import ContainerdLayout, write_containerd_config
from ocimatrix.cri.gen import api_pb2 as api

BUSYBOX = Path("/bin/busybox")
APPLETS = ("sh", "sleep", "echo", "cat", "true", "false", "id", "env", "ls", "pwd")


def _missing_tools() -> list[str]:
    missing = [tool for tool in ("containerd", "docker-registry", "runc") if shutil.which(tool) is None]
    if not BUSYBOX.is_file():
        missing.append(f"{BUSYBOX} (package busybox-static)")
    return missing


if os.geteuid() != 0:
    pytest.skip("a private containerd with the CRI plugin needs root", allow_module_level=True)
if _missing_tools():
    pytest.skip(f"missing for the live CRI test: {', '.join(_missing_tools())}", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(what: str, ready: Callable[[], bool], timeout: float, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {timeout}s:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def _stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    # Short, under /tmp: unix socket paths must fit in 108 bytes, pytest's tmp_path may not.
    path = Path(tempfile.mkdtemp(prefix="ocm-cri-", dir="/tmp"))
    yield path
    _unmount_under(path)
    shutil.rmtree(path, ignore_errors=True)


def _unmount_under(path: Path) -> None:
    """containerd leaves sandbox shm and container rootfs mounts behind when a test dies midway."""
    prefix = str(path) + "/"
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        target = line.split()[4].replace("\\040", " ")
        if target.startswith(prefix):
            mounts.append(target)
    for target in sorted(set(mounts), key=len, reverse=True):
        subprocess.run(["umount", "-R", "-l", target], check=False, capture_output=True)


# ---------------------------------------------------------------------- registry and image


@pytest.fixture(scope="module")
def registry(workdir: Path) -> Iterator[str]:
    port = _free_port()
    config = workdir / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'registry'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = workdir / "registry.log"
    with log.open("wb") as out:
        process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=out, stderr=out)

    def ready() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        _wait_for("docker-registry", ready, 20, process, log)
        yield f"127.0.0.1:{port}"
    finally:
        _stop(process)


def _oci_arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(machine, machine)


def _busybox_layer() -> bytes:
    """An uncompressed tar: bin/busybox and one symlink per applet the tests call."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directory = tarfile.TarInfo("bin")
        directory.type, directory.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(directory)
        data = BUSYBOX.read_bytes()
        binary = tarfile.TarInfo("bin/busybox")
        binary.size, binary.mode = len(data), 0o755
        tar.addfile(binary, io.BytesIO(data))
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname, link.mode = tarfile.SYMTYPE, "busybox", 0o777
            tar.addfile(link)
    return buffer.getvalue()


@dataclass(frozen=True)
class PushedImage:
    tag_ref: str  # 127.0.0.1:PORT/repo:tag
    digest_ref: str  # 127.0.0.1:PORT/repo@sha256:...
    manifest_digest: str
    config_digest: str


def _push_blob(client: httpx.Client, base: str, repo: str, blob: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    start = client.post(f"{base}/v2/{repo}/blobs/uploads/")
    assert start.status_code == 202, f"registry refused an upload to {repo}: {start.status_code} {start.text}"
    location = httpx.URL(base).join(start.headers["Location"])
    done = client.put(
        location.copy_merge_params({"digest": digest}),
        content=blob,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert done.status_code == 201, f"registry refused blob {digest}: {done.status_code} {done.text}"
    return digest


def _push_image(host: str, repo: str, tag: str, label: str) -> PushedImage:
    """Build a busybox image that sleeps forever by default (fit as a pause image) and push it."""
    layer_tar = _busybox_layer()
    layer = gzip.compress(layer_tar, mtime=0)
    config = {
        "architecture": _oci_arch(),
        "os": "linux",
        "config": {
            "Env": ["PATH=/bin"],
            "Entrypoint": ["/bin/sleep", "inf"],
            "Labels": {"org.ocimatrix.test": label},
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
    }
    config_blob = json.dumps(config, sort_keys=True).encode()
    base = f"http://{host}"
    with httpx.Client(timeout=30) as client:
        config_digest = _push_blob(client, base, repo, config_blob)
        layer_digest = _push_blob(client, base, repo, layer)
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": len(config_blob),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest,
                    "size": len(layer),
                }
            ],
        }
        manifest_blob = json.dumps(manifest).encode()
        put = client.put(
            f"{base}/v2/{repo}/manifests/{tag}",
            content=manifest_blob,
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        )
        assert put.status_code == 201, f"registry refused the manifest of {repo}:{tag}: {put.status_code} {put.text}"
    manifest_digest = "sha256:" + hashlib.sha256(manifest_blob).hexdigest()
    return PushedImage(f"{host}/{repo}:{tag}", f"{host}/{repo}@{manifest_digest}", manifest_digest, config_digest)


@pytest.fixture(scope="module")
def busybox(registry: str) -> PushedImage:
    return _push_image(registry, "ocimatrix/busybox", "1", "busybox")


# ---------------------------------------------------------------------- containerd


@dataclass
class Containerd:
    client: CriClient
    layout: ContainerdLayout
    log: Path


def _shims_of(socket_path: Path) -> list[int]:
    """Shims outlive containerd by design; find ours by the address they were started with."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"containerd-shim-runc-v2") and str(socket_path).encode() in argv:
            pids.append(int(proc.name))
    return pids


@pytest.fixture(scope="module")
def containerd(workdir: Path, registry: str, busybox: PushedImage) -> Iterator[Containerd]:
    layout = write_containerd_config(workdir / "containerd", workdir / "containerd.sock", busybox.tag_ref, [registry])
    log = workdir / "containerd.log"
    with log.open("wb") as out:
        process = subprocess.Popen(["containerd", "--config", str(layout.config)], stdout=out, stderr=out)
    client = CriClient(f"unix://{layout.socket}", timeout=30)
    try:
        try:
            client.wait_ready(20)
        except CriError as exc:
            raise RuntimeError(f"{exc}\n{log.read_text()[-3000:]}") from None
        yield Containerd(client, layout, log)
    finally:
        # Pods first: their shims and mounts would outlive containerd.
        try:
            for pod in client.list_pods():
                client.stop_pod(pod.id, missing_ok=True)
                client.remove_pod(pod.id)
        except CriError as exc:
            print(f"cleanup of CRI pods failed, killing shims instead: {exc}")
        client.close()
        _stop(process)
        for pid in _shims_of(layout.socket):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def cri(containerd: Containerd) -> CriClient:
    return containerd.client


# ---------------------------------------------------------------------- runtime and images


def test_version_reports_containerd_speaking_v1(cri: CriClient):
    version = cri.version()
    assert version.runtime_name == "containerd", version
    assert version.runtime_api_version == "v1", f"containerd answered CRI {version.runtime_api_version}"
    assert version.runtime_version, "containerd reported no version of itself"


def test_status_runtime_ready(cri: CriClient):
    conditions = cri.conditions()
    assert conditions["RuntimeReady"].status, conditions["RuntimeReady"]
    # No CNI network is configured on purpose; pods use the node's network.
    assert "NetworkReady" in conditions, sorted(conditions)


def test_pull_by_tag_and_by_digest(cri: CriClient, busybox: PushedImage):
    by_tag = cri.pull_image(busybox.tag_ref)
    # containerd's image_ref is the image id, which is the config digest.
    assert by_tag == busybox.config_digest
    assert cri.pull_image(busybox.digest_ref) == by_tag

    image = cri.image_status(busybox.tag_ref)
    assert image is not None, f"ImageStatus found no {busybox.tag_ref} right after pulling it"
    assert image.id == busybox.config_digest
    assert busybox.tag_ref in image.repo_tags
    assert busybox.digest_ref in image.repo_digests
    assert image.size > 0
    assert cri.image_status(busybox.digest_ref).id == image.id

    listed = {img.id: img for img in cri.list_images()}
    assert image.id in listed, f"ListImages lacks {image.id}: {sorted(listed)}"
    filtered = cri.list_images(busybox.tag_ref)
    assert [img.id for img in filtered] == [image.id]


def test_image_fs_info_names_the_private_root(cri: CriClient, containerd: Containerd):
    usage = cri.image_fs_info().image_filesystems
    assert usage, "ImageFsInfo reported no image filesystem"
    # used_bytes stays 0 until containerd's periodic snapshot sync (every 10 s in 1.6) has run.
    assert usage[0].fs_id.mountpoint.startswith(str(containerd.layout.root) + "/"), usage[0]
    assert usage[0].timestamp > 0


def test_pull_of_missing_tag_names_the_reference(cri: CriClient, registry: str):
    ref = f"{registry}/ocimatrix/busybox:no-such-tag"
    with pytest.raises(CriError) as caught:
        cri.pull_image(ref)
    assert str(caught.value).startswith(f"PullImage {ref}: "), str(caught.value)
    assert "not found" in caught.value.details, caught.value.details


def test_image_status_of_absent_image_is_none(cri: CriClient, registry: str):
    assert cri.image_status(f"{registry}/ocimatrix/never-pushed:1") is None


def test_remove_image(cri: CriClient, registry: str):
    # An image of its own: removing by reference drops every name of that image id.
    extra = _push_image(registry, "ocimatrix/removable", "1", "removable")
    cri.pull_image(extra.tag_ref)
    assert cri.image_status(extra.tag_ref) is not None
    cri.remove_image(extra.tag_ref)
    assert cri.image_status(extra.tag_ref) is None
    assert cri.image_status(extra.digest_ref) is None
    cri.remove_image(extra.tag_ref)  # idempotent by the CRI contract


# ---------------------------------------------------------------------- pods and containers


def _handler_or_skip(handler: str) -> None:
    if handler == "crun":
        if shutil.which("crun") is None:
            pytest.skip("crun is not installed")
        if not os.path.ismount("/sys/fs/cgroup/hugetlb") and os.path.isdir("/sys/fs/cgroup/unified"):
            pytest.skip(
                "crun 1.8 refuses cgroup v1 hybrid hosts without a hugetlb hierarchy "
                "('cgroups in hybrid mode not supported'); the host provisioning mounts it: "
                "mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb"
            )


@pytest.mark.parametrize("handler", ["runc", "crun"])
def test_pod_lifecycle(cri: CriClient, containerd: Containerd, busybox: PushedImage, handler: str):
    _handler_or_skip(handler)
    image_ref = cri.pull_image(busybox.tag_ref)
    uid = str(uuid.uuid4())
    logs_dir = containerd.layout.state_dir / "pods" / f"ocimatrix_{handler}_{uid}"
    pod_id = cri.run_pod(
        f"lifecycle-{handler}", "ocimatrix", uid, handler, log_directory=logs_dir, labels={"cell": handler}
    )
    try:
        status = cri.pod_status(pod_id)
        assert status.state == api.SANDBOX_READY, api.PodSandboxState.Name(status.state)
        assert status.metadata.uid == uid
        assert status.linux.namespaces.options.network == api.NODE
        assert [p.id for p in cri.list_pods(pod_id=pod_id)] == [pod_id]
        assert [p.id for p in cri.list_pods(labels={"cell": handler})] == [pod_id]
        assert pod_id in [p.id for p in cri.list_pods(state=api.SANDBOX_READY)]

        # A container that writes to both streams and exits 42.
        batch = cri.create_container(
            pod_id,
            None,
            busybox.tag_ref,
            "batch",
            image_ref=image_ref,
            command=["/bin/sh", "-c"],
            args=["echo hello from $GREETING; echo to stderr >&2; exit 42"],
            env={"GREETING": handler},
        )
        assert cri.container_status(batch).state == api.CONTAINER_CREATED
        cri.start_container(batch)
        exited = cri.wait_for_exit(batch, timeout=15)
        assert exited.exit_code == 42, f"{handler}: exit code {exited.exit_code}, reason {exited.reason}"
        # Not finished_at >= started_at: containerd 1.6 stamps started_at after the start call
        # returns, and a process that quick can exit (and be stamped) first, measured with crun.
        assert exited.started_at > 0 and exited.finished_at >= exited.created_at > 0, exited
        assert exited.log_path == str(logs_dir / "batch" / "0.log")
        log = cri.container_log(batch)
        assert log.stdout == f"hello from {handler}\n"
        assert log.stderr == "to stderr\n"

        # A long-running container to exec into, as a user other than root.
        server = cri.create_container(
            pod_id, None, busybox.tag_ref, "server", image_ref=image_ref, user="1000:1000", working_dir="/bin"
        )
        cri.start_container(server)
        running_status = cri.container_status(server)
        assert running_status.state == api.CONTAINER_RUNNING
        # The CRI asks for a digested reference here; containerd gives the repo digest it pulled.
        assert running_status.image_ref == busybox.digest_ref, running_status.image_ref
        result = cri.exec_sync(server, ["/bin/sh", "-c", "id -u; id -g; pwd; echo err >&2; exit 3"], timeout=10)
        assert (result.exit_code, result.stdout, result.stderr) == (3, b"1000\n1000\n/bin\n", b"err\n")
        with pytest.raises(CriError) as caught:
            cri.exec_sync(server, ["/bin/sleep", "5"], timeout=1)
        assert caught.value.code == grpc.StatusCode.DEADLINE_EXCEEDED, str(caught.value)

        running = {c.id for c in cri.list_containers(pod_id=pod_id, state=api.CONTAINER_RUNNING)}
        assert running == {server}
        assert {c.id for c in cri.list_containers(pod_id=pod_id)} == {batch, server}

        cri.stop_container(server, timeout=1)
        assert cri.container_status(server).state == api.CONTAINER_EXITED
        for container in (batch, server):
            cri.remove_container(container)
        assert cri.list_containers(pod_id=pod_id) == []
    finally:
        cri.stop_pod(pod_id)
    assert cri.pod_status(pod_id).state == api.SANDBOX_NOTREADY
    cri.remove_pod(pod_id)
    with pytest.raises(CriError) as caught:
        cri.pod_status(pod_id)
    assert caught.value.call == "PodSandboxStatus" and pod_id in str(caught.value)
