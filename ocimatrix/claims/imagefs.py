"""One platform's image, read from an OCI layout without running it: config, layers, the final
filesystem (whiteouts applied), chosen file contents, and every ELF binary's machine and ABI note.

The static claims (files, metadata, layers, binaries, kernel) are judged on this, the way
container-structure-test's file and metadata tests and preflight's checks look at an image.
"""

from __future__ import annotations

import json
import posixpath
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocimatrix.claims.elf_abi import HEAD_BYTES, abi_tag
from ocimatrix.host.platforms import platform_matches_request
from ocimatrix.oci import elf
from ocimatrix.oci import mediatypes as mt
from ocimatrix.oci.streams import open_decompressed, sniff_compression

MAX_JSON = 8 << 20
MAX_CONTENT = 1 << 20  # a file whose text a claim checks is read up to this much
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


class ImageUnreadable(Exception):
    """The layout, or one of its documents, can't be read: the vendor image is broken or absent."""


class PlatformMissing(Exception):
    """The image has no manifest for the claimed platform."""


@dataclass
class FileEntry:
    kind: str  # file | dir | symlink | hardlink | other
    size: int = 0
    linkname: str = ""
    layer: int = 0
    uid: int = 0
    gid: int = 0
    mode: int = 0  # the permission bits, setuid, setgid and sticky included (tar's mode & 0o7777)


@dataclass
class Binary:
    path: str
    ident: elf.ElfIdent
    abi: tuple[int, int, int] | None


@dataclass
class PlatformImage:
    platform: str  # as the manifest's platform (or config) says: os/arch[/variant]
    manifest_digest: str
    manifest: dict[str, Any]
    config: dict[str, Any]
    layers: list[dict[str, Any]]  # descriptors, with the compression their bytes really use
    files: dict[str, FileEntry] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)
    binaries: list[Binary] = field(default_factory=list)

    @property
    def image_config(self) -> dict[str, Any]:
        return self.config.get("config") or {}

    def resolve(self, path: str, depth: int = 0) -> str:
        """``path`` with symlinks in the final filesystem followed (at most 20 hops)."""
        path = posixpath.normpath("/" + path.lstrip("/"))
        entry = self.files.get(path)
        if entry is None or entry.kind != "symlink" or depth > 20:
            return path
        target = (
            entry.linkname
            if entry.linkname.startswith("/")
            else posixpath.join(posixpath.dirname(path), entry.linkname)
        )
        return self.resolve(target, depth + 1)

    def inode(self, path: str) -> FileEntry | None:
        """The entry whose owner and mode a process sees at ``path``: symlinks followed, and a hardlink
        read as the file it links to (the inode they share; its own header is the link's)."""
        entry = self.files.get(self.resolve(path))
        for _ in range(20):
            if entry is None or entry.kind != "hardlink":
                return entry
            entry = self.files.get(entry.linkname)
        return entry


def _read_json(root: Path, digest: str) -> dict[str, Any]:
    algorithm, _, encoded = digest.partition(":")
    path = root / "blobs" / algorithm / encoded
    try:
        if path.stat().st_size > MAX_JSON:
            raise ImageUnreadable(f"{digest}: a JSON document over {MAX_JSON} bytes")
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise ImageUnreadable(f"blob {digest} missing from the layout ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ImageUnreadable(f"blob {digest} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ImageUnreadable(f"blob {digest} is not a JSON object")
    return data


def image_platforms(root: Path) -> tuple[str, list[tuple[str, dict]]]:
    """The layout's top digest and its (platform, manifest descriptor) pairs ("" platform: not stated)."""
    try:
        top_index = json.loads((root / "index.json").read_text())
        top = top_index["manifests"][0]
    except (OSError, json.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
        raise ImageUnreadable(f"{root}/index.json names no image ({exc})") from None
    if top.get("mediaType") in mt.INDEX_TYPES:
        index = _read_json(root, top["digest"])
        entries = []
        for descriptor in index.get("manifests") or []:
            platform = descriptor.get("platform") or {}
            text = "/".join(p for p in (platform.get("os"), platform.get("architecture"), platform.get("variant")) if p)
            entries.append((text, descriptor))
        return top["digest"], entries
    manifest = _read_json(root, top["digest"])
    config = _read_json(root, manifest["config"]["digest"])
    text = "/".join(p for p in (config.get("os"), config.get("architecture"), config.get("variant")) if p)
    return top["digest"], [(text, top)]


def load_platform(root: Path, platform: str, wanted_contents: Iterable[str] = ()) -> PlatformImage:
    """Read ``platform``'s image from the layout at ``root``; raises PlatformMissing or ImageUnreadable."""
    _, entries = image_platforms(root)
    chosen = None
    for text, descriptor in entries:
        os_name, arch, *variant = (text.split("/") + ["", ""])[:3]
        fields = {"os": os_name, "architecture": arch, "variant": variant[0] if variant else ""}
        if platform_matches_request(platform, fields):
            chosen = (text, descriptor)
            break
    if chosen is None:
        offered = ", ".join(t or "(unstated)" for t, _ in entries) or "none"
        raise PlatformMissing(f"the image has no manifest for {platform} (it offers: {offered})")
    text, descriptor = chosen
    manifest = _read_json(root, descriptor["digest"])
    config = _read_json(root, (manifest.get("config") or {}).get("digest", ""))
    image = PlatformImage(text, descriptor["digest"], manifest, config, [dict(d) for d in manifest.get("layers") or []])
    wanted = {posixpath.normpath("/" + p.lstrip("/")) for p in wanted_contents} | {"/etc/passwd", "/etc/group"}
    for number, layer in enumerate(image.layers):
        _apply_layer(root, layer, number, image, wanted)
    image.binaries = [b for b in image.binaries if image.files.get(b.path, FileEntry("")).kind == "file"]
    return image


def _apply_layer(root: Path, layer: dict, number: int, image: PlatformImage, wanted: set[str]) -> None:
    algorithm, _, encoded = str(layer.get("digest", "")).partition(":")
    path = root / "blobs" / algorithm / encoded
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise ImageUnreadable(f"layer {layer.get('digest')} missing from the layout ({exc.strerror})") from None
    with raw:
        layer["compression"] = sniff_compression(raw.read(16))
        raw.seek(0)
        stream = open_decompressed(raw, layer["compression"])
        seen_here: set[str] = set()
        try:
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for info in tar:
                    _apply_member(tar, info, number, image, wanted, seen_here)
        except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
            raise ImageUnreadable(f"layer {number} ({layer.get('digest')}) can't be read as a tar: {exc}") from None


def _apply_member(tar, info: tarfile.TarInfo, number: int, image: PlatformImage, wanted: set[str], seen_here: set[str]):
    path = posixpath.normpath("/" + info.name.removeprefix("./").lstrip("/")) if info.name not in (".", "./") else "/"
    directory, base = posixpath.split(path)
    if base == OPAQUE:
        for existing in [p for p in image.files if p.startswith(directory.rstrip("/") + "/") and p not in seen_here]:
            del image.files[existing]
        return
    if base.startswith(WHITEOUT):
        hidden = posixpath.join(directory, base[len(WHITEOUT) :])
        for existing in [p for p in image.files if p == hidden or p.startswith(hidden + "/")]:
            del image.files[existing]
        return
    seen_here.add(path)
    owned = {"layer": number, "uid": info.uid, "gid": info.gid, "mode": info.mode & 0o7777}
    if info.isdir():
        image.files[path] = FileEntry("dir", **owned)
        return
    if info.issym():
        image.files[path] = FileEntry("symlink", linkname=info.linkname, **owned)
        return
    if info.islnk():
        image.files[path] = FileEntry("hardlink", linkname="/" + info.linkname.removeprefix("./").lstrip("/"), **owned)
        return
    if not info.isfile():
        image.files[path] = FileEntry("other", **owned)
        return
    image.files[path] = FileEntry("file", size=info.size, **owned)
    image.contents.pop(path, None)
    image.binaries = [b for b in image.binaries if b.path != path]
    member = tar.extractfile(info)
    if member is None:
        return
    head = member.read(min(info.size, max(HEAD_BYTES, MAX_CONTENT if path in wanted else 0)))
    if path in wanted:
        image.contents[path] = head[:MAX_CONTENT]
    ident = elf.read_ident(head[: elf.HEADER_BYTES])
    if ident is not None and ident.elf_type in (elf.ET_EXEC, elf.ET_DYN):
        image.binaries.append(Binary(path, ident, abi_tag(head[:HEAD_BYTES])))


def ownership_problems(image: PlatformImage, path: str, claimed: dict, seen: dict) -> list[str]:
    """The claimed owner (UID[:GID]) and mode (octal) against what the layers say of ``path``'s inode."""
    entry = image.inode(path)
    if entry is None:
        return [f"{path} is a hardlink to a file the layers don't hold"]
    seen[path] = {"owner": f"{entry.uid}:{entry.gid}", "mode": f"{entry.mode:04o}", "layer": entry.layer}
    problems = []
    if "owner" in claimed:
        uid, _, gid = claimed["owner"].partition(":")
        if int(uid) != entry.uid or (gid and int(gid) != entry.gid):
            problems.append(f"{path} is owned by {entry.uid}:{entry.gid}, claimed {claimed['owner']}")
    if "mode" in claimed and int(claimed["mode"], 8) != entry.mode:
        problems.append(f"{path} has mode {entry.mode:04o}, claimed {int(claimed['mode'], 8):04o}")
    return problems
