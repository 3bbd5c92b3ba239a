"""Read-only access to an image tar archive (``docker save``, ``podman save``, OCI archives).

Nothing is extracted: the archive's member headers are indexed once and members are read in
place, streaming. A gzip or zstd compressed archive is first decompressed into a temporary file
(the only thing ever written, and only under the system temp dir). Unsafe member names and links
that point outside the archive are reported, never followed.

Public API: ``TarArchive(path)`` with ``.problems`` (rule_id, member, message), ``.names()``,
``.has(name)``, ``.open(name)`` (a binary stream; raises ``MemberMissing``/``MemberUnreadable``),
``.close()``; ``is_archive(path)``.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tarfile
import tempfile
from typing import BinaryIO

from ocimatrix.oci.digest import CHUNK
from ocimatrix.oci.streams import CorruptStream, open_decompressed, sniff_compression

MAX_LINK_HOPS = 8


class MemberMissing(Exception):
    pass


class MemberUnreadable(Exception):
    pass


def is_archive(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return False
    if sniff_compression(head) in ("gzip", "zstd"):
        return True
    return len(head) >= 262 and head[257:262] == b"ustar" or _looks_like_v7_tar(head)


def _looks_like_v7_tar(head: bytes) -> bool:
    # Pre-POSIX tars have no magic; a valid header checksum is the tell.
    if len(head) < 512:
        return False
    try:
        tarfile.TarInfo.frombuf(head, "utf-8", "surrogateescape")
        return True
    except tarfile.HeaderError:
        return False


def _normalize(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


class _MemberReader:
    """A member's bytes; a cut archive surfaces as MemberUnreadable, not as a tar error of the layer."""

    def __init__(self, fileobj, name: str):
        self._f = fileobj
        self._name = name

    def read(self, n: int = -1) -> bytes:
        try:
            return self._f.read(n if n is not None and n >= 0 else CHUNK)
        except tarfile.ReadError:
            raise MemberUnreadable(f"the archive ends inside member {self._name!r} (truncated)") from None

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class TarArchive:
    def __init__(self, path: str):
        self.path = path
        self.problems: list[tuple[str, str, str]] = []
        self._tmpdir: str | None = None
        self._members: dict[str, tarfile.TarInfo] = {}
        tar_path = self._uncompressed_path(path)
        try:
            self._tar = tarfile.open(tar_path, mode="r:")  # noqa: SIM115 - lives as long as this object
        except tarfile.TarError as exc:
            self._tar = None
            self.problems.append(("archive.malformed", os.path.basename(path), f"not a readable tar archive: {exc}"))
            return
        self._index()

    def _uncompressed_path(self, path: str) -> str:
        with open(path, "rb") as f:
            compression = sniff_compression(f.read(512))
        if compression not in ("gzip", "zstd"):
            return path
        self._tmpdir = tempfile.mkdtemp(prefix="ocimatrix-archive-")
        target = os.path.join(self._tmpdir, "archive.tar")
        try:
            with open(path, "rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(open_decompressed(src, compression), dst, CHUNK)
        except CorruptStream as exc:
            self.problems.append(("archive.malformed", os.path.basename(path), f"{compression} archive: {exc}"))
        return target

    def _index(self) -> None:
        assert self._tar is not None
        while True:
            try:
                info = self._tar.next()
            except tarfile.TarError as exc:
                self.problems.append(
                    (
                        "archive.malformed",
                        os.path.basename(self.path),
                        f"tar archive broken after {len(self._members)} members: {exc}",
                    )
                )
                break
            if info is None:
                break
            raw = info.name
            name = _normalize(raw)
            if raw.startswith("/") or ".." in name.split("/"):
                self.problems.append(
                    ("archive.unsafe-path", raw, f"member {raw!r} has an absolute or '..' path; ignored")
                )
                continue
            if name in self._members and not info.isdir():
                self.problems.append(("archive.duplicate-member", raw, f"member {name!r} appears more than once"))
            if info.issym() and (info.linkname.startswith("/") or self._climbs_out(name, info.linkname)):
                self.problems.append(
                    ("archive.link-escape", raw, f"symlink {name!r} -> {info.linkname!r} points outside the archive")
                )
            if info.islnk() and (info.linkname.startswith("/") or ".." in info.linkname.split("/")):
                self.problems.append(
                    ("archive.link-escape", raw, f"hardlink {name!r} -> {info.linkname!r} points outside the archive")
                )
            self._members[name] = info
        self._tar.members = []  # the index above is all we need

    @staticmethod
    def _climbs_out(name: str, target: str) -> bool:
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
        return joined == ".." or joined.startswith("../")

    def names(self) -> list[str]:
        return list(self._members)

    def has(self, name: str) -> bool:
        return _normalize(name) in self._members

    def info(self, name: str) -> tarfile.TarInfo | None:
        return self._resolve(_normalize(name))

    def _resolve(self, name: str) -> tarfile.TarInfo | None:
        info = self._members.get(name)
        for _ in range(MAX_LINK_HOPS):
            if info is None or not (info.issym() or info.islnk()):
                return info
            target = info.linkname
            if info.issym():
                if target.startswith("/") or self._climbs_out(info.name, target):
                    raise MemberUnreadable(f"{name!r} links outside the archive")
                target = posixpath.normpath(posixpath.join(posixpath.dirname(_normalize(info.name)), target))
            elif target.startswith("/") or ".." in target.split("/"):
                raise MemberUnreadable(f"{name!r} links outside the archive")
            info = self._members.get(_normalize(target))
        if info is not None and (info.issym() or info.islnk()):
            raise MemberUnreadable(f"{name!r}: too many link hops (a link loop?)")
        return info

    def open(self, name: str) -> BinaryIO:
        if self._tar is None:
            raise MemberMissing(name)
        info = self._resolve(_normalize(name))
        if info is None:
            raise MemberMissing(name)
        if not info.isreg():
            raise MemberUnreadable(f"{name!r} is not a regular file in the archive")
        fileobj = self._tar.extractfile(info)
        if fileobj is None:
            raise MemberUnreadable(name)
        return _MemberReader(fileobj, name)

    def read(self, name: str, limit: int) -> bytes:
        with self.open(name) as f:
            return f.read(limit)

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> TarArchive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
