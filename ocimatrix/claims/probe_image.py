"""The harness's own busybox probe as an OCI image layout, written here without any engine.

It stands in for a vendor's image in docs/claims.md's examples and in the self-tests: a static
busybox, a non-root user, labels, an entrypoint and an exposed port, one layer compressed as asked,
one manifest per platform (foreign busyboxes come from ``ocimatrix provision``'s cache).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import zstandard

from ocimatrix.errors import OcimatrixError, UsageError
from ocimatrix.images.busybox import busybox_for, host_platform_name
from ocimatrix.oci import mediatypes as mt

APPLETS = ("sh", "echo", "id", "cat", "ls", "uname", "true", "sleep")
PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:probe user:/home/app:/bin/sh\n"
GROUP = "root:x:0:\napp:x:1000:\n"
VERSION_TEXT = "ocimatrix claims probe 1.0\n"
LABELS = {
    "org.opencontainers.image.vendor": "ocimatrix example vendor",
    "org.opencontainers.image.version": "1.0",
    "org.opencontainers.image.title": "ocimatrix claims probe",
}
ENTRYPOINT = ["/bin/busybox"]
CMD = ["echo", "hello from the claims probe"]
LAYER_TYPES = {"gzip": mt.OCI_LAYER_TAR_GZIP, "zstd": mt.OCI_LAYER_TAR_ZSTD, "none": mt.OCI_LAYER_TAR}


def _add(tar: tarfile.TarFile, name: str, *, data: bytes | None = None, kind: bytes = tarfile.REGTYPE, **kw) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mtime = 0
    info.mode = kw.get("mode", 0o755 if kind == tarfile.DIRTYPE else 0o644)
    info.linkname = kw.get("linkname", "")
    if data is not None:
        info.size = len(data)
    tar.addfile(info, io.BytesIO(data) if data is not None else None)


def rootfs_tar(busybox: Path) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory in ("bin", "etc", "app", "home", "home/app", "tmp"):
            _add(tar, directory, kind=tarfile.DIRTYPE, mode=0o1777 if directory == "tmp" else 0o755)
        _add(tar, "bin/busybox", data=busybox.read_bytes(), mode=0o755)
        for applet in APPLETS:
            _add(tar, f"bin/{applet}", kind=tarfile.SYMTYPE, linkname="busybox", mode=0o777)
        _add(tar, "etc/passwd", data=PASSWD.encode())
        _add(tar, "etc/group", data=GROUP.encode())
        _add(tar, "app/VERSION", data=VERSION_TEXT.encode())
    return out.getvalue()


def compress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


class _Layout:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))

    def blob(self, data: bytes, media_type: str, **extra) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        (self.root / "blobs" / "sha256" / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data), **extra}

    def json_blob(self, document: dict, media_type: str, **extra) -> dict:
        return self.blob(json.dumps(document, separators=(",", ":")).encode(), media_type, **extra)


def write_probe_layout(
    dest: Path, *, compression: str = "gzip", user: str = "app", platforms: list[str] | None = None, tag: str = "latest"
) -> Path:
    """Write the probe as an OCI layout at ``dest`` (an index with one manifest per platform)."""
    if compression not in LAYER_TYPES:
        raise UsageError(f"probe compression {compression!r}: expected one of {', '.join(LAYER_TYPES)}")
    layout = _Layout(dest)
    manifests = []
    for platform in platforms or [host_platform_name()]:
        try:
            busybox = busybox_for(platform)
        except OcimatrixError as exc:
            raise OcimatrixError(f"the probe image for {platform}: {exc}") from None
        tar = rootfs_tar(busybox)
        layer = layout.blob(compress(tar, compression), LAYER_TYPES[compression])
        os_name, arch, *variant = platform.split("/")
        config = {
            "architecture": arch,
            "os": os_name,
            **({"variant": variant[0]} if variant else {}),
            "config": {
                "User": user,
                "Env": ["PATH=/bin"],
                "Entrypoint": ENTRYPOINT,
                "Cmd": CMD,
                "WorkingDir": "/app",
                "Labels": LABELS,
                "ExposedPorts": {"8080/tcp": {}},
            },
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(tar).hexdigest()}"]},
            "history": [{"created_by": "ocimatrix claims probe (written without an engine)"}],
        }
        manifest = {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": layout.json_blob(config, mt.OCI_CONFIG),
            "layers": [layer],
        }
        platform_field = {"os": os_name, "architecture": arch, **({"variant": variant[0]} if variant else {})}
        manifests.append(layout.json_blob(manifest, mt.OCI_MANIFEST, platform=platform_field))
    index = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": manifests}
    top = layout.json_blob(index, mt.OCI_INDEX, annotations={"org.opencontainers.image.ref.name": tag})
    (dest / "index.json").write_text(json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [top]}))
    return dest


if __name__ == "__main__":  # python -m ocimatrix.claims.probe_image DEST [gzip|zstd|none] [PLATFORM...]
    import sys

    args = sys.argv[1:]
    if not args:
        sys.exit("usage: python -m ocimatrix.claims.probe_image DEST [gzip|zstd|none] [PLATFORM...]")
    write_probe_layout(Path(args[0]), compression=args[1] if len(args) > 1 else "gzip", platforms=args[2:] or None)
    print(args[0])
