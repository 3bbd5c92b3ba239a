"""Deterministic builders of small OCI layouts, docker save archives and layer tars for the corpus.

Everything is built in memory from fixed bytes (fixed mtimes, gzip mtime 0, sorted JSON keys), so
the same call always yields the same digests. Binaries are fake ELF headers: 64 bytes that carry
the identification fields a validator reads, for any architecture, without shipping real code.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from ocimatrix.oci import mediatypes as mt
from ocimatrix.oci.elf import GOARCH_ELF

MTIME = 1_700_000_000
CREATED = "2024-01-01T00:00:00Z"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def fake_elf(goarch: str, elf_type: int = 2) -> bytes:
    """A 64-byte ELF header for ``goarch`` (e_type 2 = executable)."""
    ident = GOARCH_ELF[goarch]
    order = "little" if ident.little_endian else "big"
    head = b"\x7fELF" + bytes([2 if ident.bits == 64 else 1, 1 if ident.little_endian else 2, 1, 0]) + bytes(8)
    head += elf_type.to_bytes(2, order) + ident.machine.to_bytes(2, order) + (1).to_bytes(4, order)
    return head + bytes(64 - len(head))


# An entry: (name, kind, payload) with kind f=file, d=dir, s=symlink (payload target), h=hardlink.
Entry = tuple[str, str, object]


def tar_bytes(entries: list[Entry], *, end_marker: bool = True) -> bytes:
    buf = io.BytesIO()
    tar = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)  # noqa: SIM115 - may stay unclosed
    for name, kind, payload in entries:
        info = tarfile.TarInfo(name)
        info.mtime = MTIME
        info.mode = 0o755 if kind in ("d", "f") else 0o777
        if kind == "f":
            data = payload if isinstance(payload, bytes) else str(payload).encode()
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        elif kind == "d":
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        elif kind == "s":
            info.type, info.linkname = tarfile.SYMTYPE, str(payload)
            tar.addfile(info)
        elif kind == "h":
            info.type, info.linkname = tarfile.LNKTYPE, str(payload)
            tar.addfile(info)
        else:
            raise ValueError(kind)
    if end_marker:
        tar.close()
        return buf.getvalue()
    tar.fileobj.flush()
    return buf.getvalue()  # headers and data only: no end-of-archive blocks


def rootfs_layer(goarch: str = "amd64") -> bytes:
    return tar_bytes(
        [("bin", "d", None), ("bin/app", "f", fake_elf(goarch)), ("bin/sh", "s", "app"), ("etc", "d", None)]
    )


def compress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor(level=3, write_checksum=True).compress(data)
    return data


OCI_LAYER_BY_COMPRESSION = {"none": mt.OCI_LAYER_TAR, "gzip": mt.OCI_LAYER_TAR_GZIP, "zstd": mt.OCI_LAYER_TAR_ZSTD}


class LayoutWriter:
    """Writes blobs into ``root/blobs/sha256`` and the layout's two top-level files."""

    def __init__(self, root: Path):
        self.root = Path(root)
        (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)

    def blob(self, data: bytes) -> tuple[str, int]:
        digest = sha256(data)
        (self.root / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(data)
        return digest, len(data)

    def descriptor(self, media_type: str, data: bytes, **extra) -> dict:
        digest, size = self.blob(data)
        return {"mediaType": media_type, "digest": digest, "size": size, **extra}

    def blob_path(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / digest.split(":")[1]

    def finish(self, index: dict | bytes, layout: dict | bytes | None = None) -> None:
        (self.root / "index.json").write_bytes(index if isinstance(index, bytes) else canonical(index))
        header = layout if layout is not None else {"imageLayoutVersion": "1.0.0"}
        (self.root / "oci-layout").write_bytes(header if isinstance(header, bytes) else canonical(header))


Edit = Callable[..., object]


@dataclass
class BuiltImage:
    root: Path
    writer: LayoutWriter
    config: dict = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)
    manifest_desc: dict = field(default_factory=dict)
    layer_descs: list[dict] = field(default_factory=list)
    index: dict = field(default_factory=dict)


def _apply(edit: Edit | None, obj, *args):
    if edit is None:
        return obj
    replaced = edit(obj, *args)
    return obj if replaced is None else replaced


def build_manifest(
    writer: LayoutWriter,
    *,
    arch: str = "amd64",
    os_name: str = "linux",
    variant: str | None = None,
    layers: list[bytes] | None = None,
    compression: str = "none",
    layer_media_type: str | None = None,
    docker: bool = False,
    config_edit: Edit | None = None,
    manifest_edit: Edit | None = None,
) -> tuple[dict, dict, dict, list[dict]]:
    """Write config, layers and manifest blobs; return (manifest descriptor, manifest, config, layers)."""
    tars = layers if layers is not None else [rootfs_layer(arch)]
    layer_descs, diff_ids = [], []
    for tar in tars:
        diff_ids.append(sha256(tar))
        media_type = layer_media_type or (mt.DOCKER_LAYER_GZIP if docker else OCI_LAYER_BY_COMPRESSION[compression])
        layer_descs.append(writer.descriptor(media_type, compress(tar, compression)))
    config = {
        "architecture": arch,
        "os": os_name,
        "created": CREATED,
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": CREATED, "created_by": f"corpus layer {i}"} for i in range(len(tars))],
    }
    if variant:
        config["variant"] = variant
    config = _apply(config_edit, config)
    config_bytes = config if isinstance(config, bytes) else canonical(config)
    config_desc = writer.descriptor(mt.DOCKER_CONFIG if docker else mt.OCI_CONFIG, config_bytes)
    manifest = {
        "schemaVersion": 2,
        "mediaType": mt.DOCKER_MANIFEST if docker else mt.OCI_MANIFEST,
        "config": config_desc,
        "layers": layer_descs,
    }
    manifest = _apply(manifest_edit, manifest, writer)
    manifest_bytes = manifest if isinstance(manifest, bytes) else canonical(manifest)
    manifest_desc = writer.descriptor(mt.DOCKER_MANIFEST if docker else mt.OCI_MANIFEST, manifest_bytes)
    platform = {"architecture": arch, "os": os_name}
    if variant:
        platform["variant"] = variant
    manifest_desc["platform"] = platform
    return manifest_desc, manifest, (config if isinstance(config, dict) else {}), layer_descs


def build_layout(
    root: Path, *, index_edit: Edit | None = None, layout: dict | bytes | None = None, **kwargs
) -> BuiltImage:
    writer = LayoutWriter(root)
    manifest_desc, manifest, config, layer_descs = build_manifest(writer, **kwargs)
    index = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [manifest_desc]}
    index = _apply(index_edit, index, writer)
    writer.finish(index, layout)
    return BuiltImage(
        root, writer, config, manifest, manifest_desc, layer_descs, index if isinstance(index, dict) else {}
    )


def tar_of_tree(root: Path, target: Path, *, extra: list[tarfile.TarInfo] | None = None) -> Path:
    """Archive a layout directory as an OCI archive, sorted, with fixed metadata."""
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root).as_posix()
            info = tar.gettarinfo(str(path), arcname=rel)
            info.mtime, info.uid, info.gid, info.uname, info.gname = MTIME, 0, 0, "", ""
            if path.is_file() and not path.is_symlink():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
        for info in extra or []:
            tar.addfile(info)
    return target


def docker_save_archive(
    target: Path,
    *,
    arch: str = "amd64",
    layers: list[bytes] | None = None,
    config_edit: Edit | None = None,
    manifest_edit: Edit | None = None,
    config_name: str | None = None,
) -> Path:
    """A ``docker save`` style archive: manifest.json, <id>.json config, <layer id>/layer.tar."""
    tars = layers if layers is not None else [rootfs_layer(arch)]
    config = {
        "architecture": arch,
        "os": "linux",
        "created": CREATED,
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(t) for t in tars]},
    }
    config = _apply(config_edit, config)
    config_bytes = config if isinstance(config, bytes) else canonical(config)
    name = config_name or sha256(config_bytes).split(":")[1] + ".json"
    members: dict[str, bytes] = {name: config_bytes}
    layer_names = []
    for tar in tars:
        layer_id = hashlib.sha256(b"id" + tar).hexdigest()
        members[f"{layer_id}/layer.tar"] = tar
        members[f"{layer_id}/VERSION"] = b"1.0"
        layer_names.append(f"{layer_id}/layer.tar")
    manifest = [{"Config": name, "RepoTags": ["127.0.0.1:5000/corpus:latest"], "Layers": layer_names}]
    manifest = _apply(manifest_edit, manifest)
    members["manifest.json"] = manifest if isinstance(manifest, bytes) else canonical(manifest)
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as archive:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size, info.mtime, info.mode = len(data), MTIME, 0o644
            archive.addfile(info, io.BytesIO(data))
    return target
