"""The CRI sandbox ("pause") image, and the small busybox images the CRI suite runs.

A CRI runtime starts every pod with a sandbox image that holds the pod's namespaces; nothing may
be pulled from a public registry, so the harness builds its own from the host's static busybox
and pushes it to the embedded registry before containerd (configured with that ``sandbox_image``)
needs it. The images are built in Python, byte for byte reproducibly: one gzip layer, an OCI
config and an OCI manifest, pushed over plain HTTP to a registry on the loopback address only.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ocimatrix.errors import OcimatrixError, UsageError
from ocimatrix.images.busybox import busybox_for, host_platform_name
from ocimatrix.oci import mediatypes
from ocimatrix.oci.registry_client import RegistryClient, RegistryError

PAUSE_REPOSITORY = "ocimatrix/pause"
PAUSE_TAG = "1"
# A shell as pid 1 that exits at once on SIGTERM/SIGINT (a bare `sleep` as pid 1 ignores them, so a
# runtime stopping the sandbox gently would wait out its whole grace period) and reaps orphans.
PAUSE_ENTRYPOINT = ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"]
PAUSE_APPLETS = ("sh", "sleep")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class ImageFile:
    """A regular file or directory (``data`` None) to put in the image's one layer."""

    path: str  # relative to the root, e.g. "etc/passwd"
    data: bytes | None = None
    mode: int = 0o644


@dataclass(frozen=True)
class BuiltImage:
    """The three blobs of a single-layer image, ready to push."""

    config: bytes
    layer: bytes  # gzip-compressed tar
    manifest: bytes
    diff_id: str

    @property
    def config_digest(self) -> str:
        return _sha256(self.config)

    @property
    def manifest_digest(self) -> str:
        return _sha256(self.manifest)


@dataclass(frozen=True)
class PushedImage:
    tag_ref: str  # host:port/repository:tag
    digest_ref: str  # host:port/repository@sha256:...
    manifest_digest: str
    config_digest: str  # what containerd reports as the image id
    config: dict[str, Any] = field(default_factory=dict)  # the config's "config" section


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tar_entry(name: str, kind: bytes, mode: int, size: int = 0, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.linkname = kind, mode, size, linkname
    info.mtime = 0  # reproducible: the same inputs give the same layer digest
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def busybox_layer(applets: Sequence[str], files: Sequence[ImageFile] = (), platform: str | None = None) -> bytes:
    """An uncompressed layer tar: bin/busybox, a symlink per applet, then ``files`` in order."""
    binary = busybox_for(platform or host_platform_name()).read_bytes()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_tar_entry("bin", tarfile.DIRTYPE, 0o755))
        tar.addfile(_tar_entry("bin/busybox", tarfile.REGTYPE, 0o755, len(binary)), io.BytesIO(binary))
        for applet in applets:
            tar.addfile(_tar_entry(f"bin/{applet}", tarfile.SYMTYPE, 0o777, linkname="busybox"))
        for item in files:
            name = item.path.strip("/")
            if item.data is None:
                tar.addfile(_tar_entry(name, tarfile.DIRTYPE, item.mode))
            else:
                entry = _tar_entry(name, tarfile.REGTYPE, item.mode, len(item.data))
                tar.addfile(entry, io.BytesIO(item.data))
    return buffer.getvalue()


def _platform_fields(platform: str) -> dict[str, str]:
    parts = platform.split("/")
    fields = {"architecture": parts[1], "os": parts[0]}
    if len(parts) > 2:
        fields["variant"] = parts[2]
    return fields


def build_busybox_image(
    config: Mapping[str, Any],
    *,
    applets: Sequence[str] = PAUSE_APPLETS,
    files: Sequence[ImageFile] = (),
    platform: str | None = None,
) -> BuiltImage:
    """An OCI image of one gzip layer; ``config`` is the image config's ``config`` section
    (Entrypoint, Cmd, Env, WorkingDir, User, Labels)."""
    platform = platform or host_platform_name()
    layer_tar = busybox_layer(applets, files, platform)
    layer = gzip.compress(layer_tar, compresslevel=6, mtime=0)
    diff_id = _sha256(layer_tar)
    config_blob = json.dumps(
        {
            **_platform_fields(platform),
            "config": dict(config),
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created_by": "ocimatrix: busybox image built in Python", "comment": "ocimatrix"}],
        },
        sort_keys=True,
    ).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": {
            "mediaType": mediatypes.OCI_CONFIG,
            "digest": _sha256(config_blob),
            "size": len(config_blob),
        },
        "layers": [{"mediaType": mediatypes.OCI_LAYER_TAR_GZIP, "digest": _sha256(layer), "size": len(layer)}],
    }
    return BuiltImage(config_blob, layer, json.dumps(manifest, sort_keys=True).encode(), diff_id)


def check_loopback(registry: str) -> None:
    """Images built here go only to a registry on this host, over plain HTTP."""
    host = registry.rsplit(":", 1)[0] if not registry.endswith("]") else registry
    if host not in LOOPBACK_HOSTS:
        raise UsageError(f"registry {registry!r}: the harness pushes its own images only to a registry on 127.0.0.1")


# Tries of a manifest PUT that distribution's in-place link rewrite can make fail (see push_image).
MANIFEST_ATTEMPTS = 5


def push_image(registry: str, repository: str, tag: str, image: BuiltImage) -> PushedImage:
    """Push config, layer and manifest to ``registry`` (host:port on the loopback address)."""
    check_loopback(registry)
    with RegistryClient(registry, plain_http=True) as client:
        for blob in (image.config, image.layer):
            if not client.blob_exists(repository, _sha256(blob)):
                client.push_blob(repository, blob)
        for attempt in range(MANIFEST_ATTEMPTS):
            try:
                client.put_manifest(repository, tag, image.manifest, mediatypes.OCI_MANIFEST)
                break
            except RegistryError as exc:
                # distribution 2.8 rewrites a repository's blob link in place: while another worker links the
                # same layer into the same repository, a manifest PUT can read the link empty and answer
                # DIGEST_INVALID. The harness's own image, so waiting for the link is right; nothing is judged.
                if "DIGEST_INVALID" not in str(exc) or attempt == MANIFEST_ATTEMPTS - 1:
                    raise
                time.sleep(0.5)
    return PushedImage(
        tag_ref=f"{registry}/{repository}:{tag}",
        digest_ref=f"{registry}/{repository}@{image.manifest_digest}",
        manifest_digest=image.manifest_digest,
        config_digest=image.config_digest,
        config=json.loads(image.config)["config"],
    )


def pause_ref(registry: str) -> str:
    return f"{registry}/{PAUSE_REPOSITORY}:{PAUSE_TAG}"


def build_pause_image(platform: str | None = None) -> BuiltImage:
    return build_busybox_image(
        {
            "Entrypoint": PAUSE_ENTRYPOINT,
            "Env": ["PATH=/bin"],
            "Labels": {"org.opencontainers.image.title": "ocimatrix CRI sandbox (pause) image"},
        },
        applets=PAUSE_APPLETS,
        platform=platform,
    )


def push_pause_image(registry: str) -> PushedImage:
    return push_image(registry, PAUSE_REPOSITORY, PAUSE_TAG, build_pause_image())


def publish_sandbox_image(endpoints: Any) -> None:
    """Name the sandbox image in ``endpoints`` and push it; a failure only disables the CRI cells.

    ``endpoints.sandbox_image`` is set even when the push fails: containerd needs a sandbox image in
    its config to start at all, and its ctr and dockerd users never run a pod.
    """
    if not endpoints.registry:
        endpoints.errors["cri"] = "no embedded registry to serve the CRI sandbox (pause) image"
        endpoints.sandbox_image = ""
        return
    endpoints.sandbox_image = pause_ref(endpoints.registry)
    try:
        push_pause_image(endpoints.registry)
    except (OcimatrixError, OSError) as exc:
        endpoints.errors["cri"] = f"could not push the CRI sandbox image {endpoints.sandbox_image}: {exc}"
