"""Where blobs come from: an OCI layout directory, an archive, or a registry repository.

Every store answers ``open(digest, media_type)`` with a context manager over a binary stream,
raising ``BlobMissing`` or ``BlobUnreadable``; ``where(digest)`` names the blob for reports;
``list_blobs()`` yields (where, name-derived digest text or None) for the layout's own blobs, so
unreferenced blobs can be checked too. The walker in ``walker.py`` needs nothing else.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ocimatrix.oci.archive import MemberMissing, MemberUnreadable, TarArchive
from ocimatrix.oci.digest import Digest
from ocimatrix.oci.mediatypes import INDEX_TYPES, MANIFEST_TYPES
from ocimatrix.oci.registry_client import RegistryClient, RegistryError


class BlobMissing(Exception):
    pass


class BlobUnreadable(Exception):
    pass


def _blob_rel(digest: Digest) -> str:
    return f"blobs/{digest.algorithm}/{digest.encoded}"


class BlobStore:
    kind = "store"
    # Whether a referenced blob may be absent without breaking the image: image-layout.md lets a layout
    # miss referenced blobs (an external blob store SHOULD supply them); a registry must serve what it lists.
    may_lack_blobs = False

    def open(self, digest: Digest, media_type: str | None = None):  # pragma: no cover - interface
        raise NotImplementedError

    def where(self, digest: Digest) -> str:
        return _blob_rel(digest)

    def list_blobs(self) -> Iterator[tuple[str, str | None]]:
        return iter(())


class LayoutDirStore(BlobStore):
    kind = "layout"
    may_lack_blobs = True

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._real_root = self.root.resolve()

    def path_of(self, digest: Digest) -> Path:
        return self.root / "blobs" / digest.algorithm / digest.encoded

    def _checked_path(self, rel: str) -> Path:
        """The path of ``rel`` if it is a regular file that really lives inside the layout.

        Symlinks (of the blob or of a directory above it) that lead out of the layout are refused,
        and so is anything but a regular file: a FIFO or device would block or never end.
        """
        path = self.root / rel
        if not os.path.lexists(path):
            raise BlobMissing(rel)
        real = path.resolve()
        if not real.is_relative_to(self._real_root):
            raise BlobUnreadable(f"{rel} leads to {real}, outside the layout, through a symlink; not followed")
        try:
            st = os.stat(real)
        except FileNotFoundError:
            raise BlobMissing(rel) from None
        except OSError as exc:
            raise BlobUnreadable(f"{rel}: {exc.strerror}") from None
        if not stat.S_ISREG(st.st_mode):
            raise BlobUnreadable(f"{rel} is not a regular file")
        return real

    def open(self, digest: Digest, media_type: str | None = None):
        return self.open_file(_blob_rel(digest))

    @contextmanager
    def open_file(self, rel: str) -> Iterator[BinaryIO]:
        path = self._checked_path(rel)
        try:
            f = open(path, "rb", buffering=0)  # noqa: SIM115 - opened here, closed by the with below
        except FileNotFoundError:
            raise BlobMissing(rel) from None
        except OSError as exc:
            raise BlobUnreadable(f"{rel}: {exc.strerror}") from None
        with f:
            yield f

    def exists(self, rel: str) -> bool:
        return os.path.lexists(self.root / rel)

    def list_blobs(self) -> Iterator[tuple[str, str | None]]:
        blobs = self.root / "blobs"
        if not blobs.is_dir():
            return
        for alg_entry in sorted(os.scandir(blobs), key=lambda e: e.name):
            if not alg_entry.is_dir(follow_symlinks=False):
                yield f"blobs/{alg_entry.name}", None
                continue
            for blob in sorted(os.scandir(alg_entry.path), key=lambda e: e.name):
                yield f"blobs/{alg_entry.name}/{blob.name}", f"{alg_entry.name}:{blob.name}"


class ArchiveStore(BlobStore):
    """An OCI layout inside a tar archive, read in place."""

    kind = "archive"
    may_lack_blobs = True

    def __init__(self, archive: TarArchive):
        self.archive = archive

    @contextmanager
    def open(self, digest: Digest, media_type: str | None = None) -> Iterator[BinaryIO]:
        with self.open_file(_blob_rel(digest)) as f:
            yield f

    @contextmanager
    def open_file(self, rel: str) -> Iterator[BinaryIO]:
        try:
            f = self.archive.open(rel)
        except MemberMissing:
            raise BlobMissing(rel) from None
        except MemberUnreadable as exc:
            raise BlobUnreadable(str(exc)) from None
        with f:
            yield f

    def exists(self, rel: str) -> bool:
        return self.archive.has(rel)

    def list_blobs(self) -> Iterator[tuple[str, str | None]]:
        for name in sorted(self.archive.names()):
            parts = name.split("/")
            if parts[0] != "blobs" or len(parts) < 2:
                continue
            try:
                info = self.archive.info(name)
            except MemberUnreadable:
                info = None
            if info is not None and info.isdir():
                continue
            yield name, (f"{parts[1]}:{parts[2]}" if len(parts) == 3 else None)


class RegistryStore(BlobStore):
    kind = "registry"

    def __init__(self, client: RegistryClient, repository: str):
        self.client = client
        self.repository = repository

    def where(self, digest: Digest) -> str:
        return f"{self.repository}@{digest}"

    @contextmanager
    def open(self, digest: Digest, media_type: str | None = None) -> Iterator[BinaryIO]:
        try:
            if media_type in MANIFEST_TYPES or media_type in INDEX_TYPES:
                body, _, _ = self.client.get_manifest(self.repository, str(digest))
                yield io.BytesIO(body)
                return
            with self.client.get_blob(self.repository, str(digest)) as stream:
                yield stream
        except RegistryError as exc:
            if exc.status == 404:
                raise BlobMissing(f"{self.repository}@{digest}: {exc}") from None
            raise BlobUnreadable(str(exc)) from None
