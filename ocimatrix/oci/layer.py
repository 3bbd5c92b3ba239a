"""Check one layer blob in a single streaming pass, never extracting anything.

One read of the blob yields: its digest and size (descriptor check), the compression its bytes
really use (magic bytes), the digest of the uncompressed tar (the config's diff_id), and the
tar walk in stream mode ('r|'): path safety, symlink tricks, whiteouts, duplicate entries, and
the ELF identification of every regular file (the architecture check). For an uncompressed
layer the blob digest and the diff_id are one hash, computed once.

Public API: ``check_layer(raw, media_type=..., digest_algorithm=..., diff_id_algorithm=...,
inspect_tar=True) -> LayerResult``.
"""

from __future__ import annotations

import posixpath
import tarfile
from collections import Counter
from dataclasses import dataclass, field
from typing import BinaryIO

from ocimatrix.oci import elf
from ocimatrix.oci.digest import Digest, new_hasher
from ocimatrix.oci.mediatypes import layer_compression
from ocimatrix.oci.streams import (
    SNIFF_BYTES,
    CorruptStream,
    CountingReader,
    PrefixedReader,
    open_decompressed,
    sniff_compression,
)

# Enough to show a pattern without burying the report under one layer's thousand bad entries.
MAX_PER_RULE = 5
WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"


@dataclass
class LayerResult:
    digest: Digest | None = None
    size: int = 0
    compression: str = "none"
    diff_id: Digest | None = None
    uncompressed_size: int = 0
    entries: int = 0
    # (machine, bits, little_endian) -> (count, first path)
    elf: dict[tuple[int, int, bool], list] = field(default_factory=dict)
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (rule_id, entry path or "", message)
    longer_than_declared: bool = False  # set by callers that cut the read at the declared size


class _RecordingTarInfo(tarfile.TarInfo):
    """Remembers why tarfile stopped: its stream mode ends quietly on garbage or a cut archive."""

    @classmethod
    def fromtarfile(cls, tar):
        try:
            return super().fromtarfile(tar)
        except tarfile.HeaderError as exc:
            tar.ocimatrix_stop = exc
            raise


class _Problems:
    def __init__(self, result: LayerResult):
        self._result = result
        self._counts: Counter = Counter()

    def add(self, rule_id: str, path: str, message: str) -> None:
        self._counts[rule_id] += 1
        if self._counts[rule_id] <= MAX_PER_RULE:
            self._result.problems.append((rule_id, path, message))

    def finish(self) -> None:
        for rule_id, count in self._counts.items():
            if count > MAX_PER_RULE:
                self._result.problems.append((rule_id, "", f"... and {count - MAX_PER_RULE} more entries like this"))


def _normalize(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


def _climbs_out(directory: str, target: str) -> bool:
    """Whether ``target``, resolved from ``directory`` inside the root, would climb above it."""
    depth = len([p for p in directory.split("/") if p and p != "."])
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part and part != ".":
            depth += 1
    return False


class _TarWalk:
    def __init__(self, result: LayerResult, problems: _Problems, inspect_elf: bool):
        self.result = result
        self.problems = problems
        self.inspect_elf = inspect_elf
        self.paths: set[str] = set()
        self.symlinks: set[str] = set()
        self.whiteouts: list[tuple[str, str]] = []  # (whiteout entry, hidden path)
        self.directories: set[str] = set()

    def member(self, tar: tarfile.TarFile, info: tarfile.TarInfo) -> None:
        raw_name = info.name
        name = _normalize(raw_name)
        self.result.entries += 1
        if raw_name.startswith("/"):
            self.problems.add("layer.path-absolute", raw_name, f"entry {raw_name!r} has an absolute path")
            name = name.lstrip("/")
        if ".." in name.split("/"):
            self.problems.add(
                "layer.path-traversal", raw_name, f"entry {raw_name!r} contains '..' and would land outside the root"
            )
            return
        if not name:
            return  # the root directory itself ("./")
        self._through_symlink(name, raw_name)
        if name in self.paths and not info.isdir():
            self.problems.add(
                "layer.duplicate-entry", raw_name, f"entry {name!r} appears more than once; the last one wins"
            )
        self.paths.add(name)
        if info.issym():
            self.symlinks.add(name)
            target = info.linkname
            if not target.startswith("/") and _climbs_out(posixpath.dirname(name), target):
                self.problems.add(
                    "layer.symlink-escape", raw_name, f"symlink {name!r} -> {target!r} climbs above the root"
                )
        else:
            self.symlinks.discard(name)
        if info.islnk():
            self._hardlink(name, raw_name, info.linkname)
        if info.isdir():
            self.directories.add(name)
        base = posixpath.basename(name)
        if base.startswith(WHITEOUT_PREFIX) and base != OPAQUE_WHITEOUT:
            hidden_name = base[len(WHITEOUT_PREFIX) :]
            if hidden_name in ("", ".", "..") or hidden_name.startswith(WHITEOUT_PREFIX):
                # ".wh." / ".wh.." would name the directory itself or its parent (the root, from the
                # top); ".wh..wh.*" is the reserved metadata namespace, of which only the opaque marker is OCI.
                self.problems.add(
                    "layer.whiteout-invalid",
                    raw_name,
                    f"whiteout {name!r} names {hidden_name or '(nothing)'!r}, not an entry of its directory",
                )
                return
            hidden = posixpath.join(posixpath.dirname(name), hidden_name)
            self.whiteouts.append((name, hidden))
        if self.inspect_elf and info.isreg() and info.size >= elf.HEADER_BYTES:
            self._elf(tar, info, name)

    def _hardlink(self, name: str, raw_name: str, target: str) -> None:
        if target.startswith("/") or _climbs_out("", target):
            self.problems.add("layer.link-escape", raw_name, f"hardlink {name!r} -> {target!r} leaves the root")
            return
        target = _normalize(target)
        if target in self.directories:
            self.problems.add(
                "layer.hardlink-to-directory", raw_name, f"hardlink {name!r} -> {target!r} links to a directory"
            )
        elif target not in self.paths or target == name:
            # The spec is silent on a link to a lower layer's file; docker, podman and containerd refuse it.
            self.problems.add(
                "layer.hardlink-target-absent",
                raw_name,
                f"hardlink {name!r} -> {target!r} links to no earlier entry of this layer",
            )

    def _through_symlink(self, name: str, raw_name: str) -> None:
        if not self.symlinks:
            return
        parts = name.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent in self.symlinks:
                self.problems.add(
                    "layer.through-symlink",
                    raw_name,
                    f"entry {name!r} is written through {parent!r}, a symlink earlier in this layer",
                )
                return

    def _elf(self, tar: tarfile.TarFile, info: tarfile.TarInfo, name: str) -> None:
        fileobj = tar.extractfile(info)
        if fileobj is None:
            return
        ident = elf.read_ident(fileobj.read(elf.HEADER_BYTES))
        if ident is None or ident.elf_type not in (elf.ET_EXEC, elf.ET_DYN):
            return  # object files and core dumps say nothing about what the image runs
        seen = self.result.elf.setdefault(ident.key(), [0, name])
        seen[0] += 1

    def finish(self) -> None:
        for entry, hidden in self.whiteouts:
            if hidden in self.paths:
                self.problems.add(
                    "layer.whiteout-same-layer",
                    entry,
                    f"whiteout {entry!r} hides {hidden!r} of the same layer; it may only hide lower layers",
                )


def check_layer(
    raw: BinaryIO,
    *,
    media_type: str | None = None,
    digest_algorithm: str | None = "sha256",
    diff_id_algorithm: str = "sha256",
    inspect_tar: bool = True,
    inspect_elf: bool = True,
) -> LayerResult:
    """Read ``raw`` to its end once and report what the layer is and what is wrong with it.

    ``media_type`` None means "no claim" (docker save layers): any compression is accepted.
    ``digest_algorithm`` None skips hashing the blob (an unregistered algorithm).
    """
    result = LayerResult()
    problems = _Problems(result)
    blob_hasher = new_hasher(digest_algorithm) if digest_algorithm else None
    blob = CountingReader(raw, blob_hasher)
    head = blob.read(SNIFF_BYTES)
    while len(head) < SNIFF_BYTES:
        more = blob.read(SNIFF_BYTES - len(head))
        if not more:
            break
        head += more
    result.compression = sniff_compression(head)
    declared = layer_compression(media_type) if media_type else None
    if result.compression in ("bzip2", "xz", "lz4"):
        problems.add(
            "layer.compression-unsupported",
            "",
            f"layer is {result.compression}-compressed; OCI layers use gzip, zstd or none",
        )
    elif declared is not None and declared != result.compression:
        problems.add(
            "layer.compression-mismatch",
            "",
            f"media type {media_type} announces {declared} but the bytes are {result.compression}",
        )

    uncompressed: CountingReader | None = None
    shared_hash = result.compression == "none" and digest_algorithm == diff_id_algorithm
    try:
        if result.compression in ("bzip2", "xz", "lz4"):
            uncompressed = None
        elif shared_hash:
            # An uncompressed layer is its own diff: hash the bytes once for both digests.
            uncompressed = CountingReader(PrefixedReader(head, blob))
        else:
            stream = open_decompressed(PrefixedReader(head, blob), result.compression)
            uncompressed = CountingReader(stream, new_hasher(diff_id_algorithm))
        if uncompressed is not None:
            if inspect_tar:
                _walk_tar(uncompressed, result, problems, inspect_elf)
            uncompressed.drain()
    except CorruptStream as exc:
        problems.add("layer.compression-corrupt", "", str(exc))
        uncompressed = None
    blob.drain()
    result.size = blob.size
    if blob_hasher is not None:
        result.digest = Digest(digest_algorithm, blob_hasher.hexdigest())
    if uncompressed is not None:
        result.uncompressed_size = uncompressed.size
        if shared_hash and result.digest is not None:
            result.diff_id = result.digest
        elif uncompressed.hexdigest():
            result.diff_id = Digest(diff_id_algorithm, uncompressed.hexdigest())
    problems.finish()
    return result


def _walk_tar(stream: CountingReader, result: LayerResult, problems: _Problems, inspect_elf: bool) -> None:
    walk = _TarWalk(result, problems, inspect_elf)
    try:
        # Seekable mode over a forward-only stream (see CountingReader.seek): same single pass as 'r|',
        # fewer copies.
        tar = tarfile.open(fileobj=stream, mode="r:", tarinfo=_RecordingTarInfo)  # noqa: SIM115 - stream is ours
    except tarfile.ReadError as exc:
        problems.add("layer.tar-malformed", "", f"not a tar archive: {exc}")
        return
    try:
        while True:
            info = tar.next()
            if info is None:
                break
            walk.member(tar, info)
            tar.members.clear()  # stream mode keeps every TarInfo otherwise
    except tarfile.TarError as exc:
        problems.add("layer.tar-malformed", "", f"tar archive broken after {result.entries} entries: {exc}")
        return
    stop = getattr(tar, "ocimatrix_stop", None)
    if isinstance(stop, tarfile.EOFHeaderError) or stop is None:
        pass
    elif isinstance(stop, tarfile.InvalidHeaderError):
        problems.add("layer.tar-malformed", "", f"bytes after entry {result.entries} are not a tar header ({stop})")
    else:
        problems.add(
            "layer.tar-malformed",
            "",
            f"tar archive ends without its end-of-archive blocks after {result.entries} entries (truncated?)",
        )
    walk.finish()
