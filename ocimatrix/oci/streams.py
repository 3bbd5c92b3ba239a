"""Streaming building blocks: sniff compression by magic bytes, decompress gzip/zstd chunk by chunk.

Nothing here holds more than a few MiB whatever the blob size. Decompressors raise
``CorruptStream`` when the compressed data is truncated or damaged (Python's zstd stream reader
alone would end quietly on a cut frame, so a small frame walker watches the zstd input).

Public API: ``sniff_compression(head)``, ``PrefixedReader``, ``GzipReader``, ``ZstdReader``,
``CountingReader``, ``CorruptStream``, ``open_decompressed(raw, compression)``.
"""

from __future__ import annotations

import zlib
from typing import BinaryIO

import zstandard

from ocimatrix.oci.digest import CHUNK

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
LZ4_MAGIC = b"\x04\x22\x4d\x18"
SNIFF_BYTES = 512


class CorruptStream(Exception):
    """Compressed data that ends early or cannot be decoded."""


def _is_zstd_skippable(head: bytes) -> bool:
    return len(head) >= 4 and head[1:4] == b"\x2a\x4d\x18" and 0x50 <= head[0] <= 0x5F


def sniff_compression(head: bytes) -> str:
    """gzip, zstd, bzip2, xz, lz4 or none (anything else is read as a plain tar)."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC) or _is_zstd_skippable(head):
        return "zstd"
    if head.startswith(BZIP2_MAGIC) and len(head) > 3 and head[3:4].isdigit():
        return "bzip2"
    if head.startswith(XZ_MAGIC):
        return "xz"
    if head.startswith(LZ4_MAGIC):
        return "lz4"
    return "none"


class PrefixedReader:
    """Gives back bytes already read from ``raw`` (for sniffing) before the rest of ``raw``."""

    def __init__(self, prefix: bytes, raw: BinaryIO):
        self._prefix = prefix
        self._raw = raw

    def read(self, n: int = -1) -> bytes:
        if self._prefix:
            if n is None or n < 0 or n >= len(self._prefix):
                data, self._prefix = self._prefix, b""
            else:
                data, self._prefix = self._prefix[:n], self._prefix[n:]
            return data
        return self._raw.read(n if n is not None and n >= 0 else CHUNK)

    def readinto(self, buffer) -> int:
        if self._prefix:
            data = self.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)
        readinto = getattr(self._raw, "readinto", None)
        if readinto is not None:
            return readinto(buffer) or 0
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True


def read_capped(f: BinaryIO, cap: int) -> bytes:
    """All of ``f``, or, when it is longer than ``cap``, its first bytes past ``cap``: the caller tells a
    too-large document by ``len(data) > cap`` without ever holding an unbounded one in memory."""
    chunks, total = [], 0
    while total <= cap and (chunk := f.read(CHUNK)):
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


class BoundedReader:
    """Stops after ``limit`` bytes: a blob longer than its descriptor says is read one byte past
    the declared size (enough to know it is longer), never to an end that may not come."""

    def __init__(self, raw: BinaryIO, limit: int):
        self._raw = raw
        self._left = limit

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if n is None or n < 0 else min(n, self._left)
        data = self._raw.read(min(want, CHUNK) if n is None or n < 0 else want)
        self._left -= len(data)
        return data

    def readinto(self, buffer) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer)[: min(len(buffer), self._left)]
        readinto = getattr(self._raw, "readinto", None)
        if readinto is not None:
            got = readinto(view) or 0
        else:
            data = self._raw.read(len(view))
            got = len(data)
            view[:got] = data
        self._left -= got
        return got

    def readable(self) -> bool:
        return True


class CountingReader:
    """Counts (and optionally hashes) bytes read; the uncompressed side of a layer.

    It also offers ``tell()`` and a forward-only ``seek()`` that reads through, hashing, into one
    reusable buffer: tarfile's seekable mode can then skip file contents without the copies its
    stream mode ('r|') makes, while the data is still read exactly once, front to back.
    """

    def __init__(self, raw: BinaryIO, hasher=None):
        self._raw = raw
        self._hasher = hasher
        self._scratch: bytearray | None = None
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        # File semantics: tarfile treats a short read as the end of the data, while decompressors
        # return whatever one step produced. Fill the request unless the stream has ended.
        want = n if n is not None and n >= 0 else CHUNK
        data = self._raw.read(want)
        if data and len(data) < want:
            parts = [data]
            got = len(data)
            while got < want and (more := self._raw.read(want - got)):
                parts.append(more)
                got += len(more)
            data = b"".join(parts)
        if data:
            self.size += len(data)
            if self._hasher is not None:
                self._hasher.update(data)
        return data

    def readinto(self, buffer) -> int:
        readinto = getattr(self._raw, "readinto", None)
        if readinto is None:
            data = self.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)
        got = readinto(buffer)
        if got:
            self.size += got
            if self._hasher is not None:
                self._hasher.update(memoryview(buffer)[:got])
        return got or 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.size

    def seek(self, offset: int, whence: int = 0) -> int:
        target = offset if whence == 0 else self.size + offset if whence == 1 else None
        if target is None or target < self.size:
            raise OSError("a layer stream only moves forward")
        readinto = getattr(self._raw, "readinto", None)
        if self._scratch is None:
            self._scratch = bytearray(CHUNK)
        view = memoryview(self._scratch)
        while self.size < target:
            want = min(CHUNK, target - self.size)
            if readinto is not None:
                got = readinto(view[:want])
                if not got:
                    break
                chunk = view[:got]
            else:
                chunk = self._raw.read(want)
                if not chunk:
                    break
                got = len(chunk)
            self.size += got
            if self._hasher is not None:
                self._hasher.update(chunk)
        return self.size

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    def hexdigest(self) -> str | None:
        return self._hasher.hexdigest() if self._hasher is not None else None


class GzipReader:
    """Decompresses a (possibly multi-member) gzip stream, verifying each member's CRC and length."""

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self._d = zlib.decompressobj(31)
        self._input = b""
        self._in_member = False

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = CHUNK
        if n == 0:
            return b""
        while True:
            if not self._input:
                self._input = self._raw.read(CHUNK)
                if not self._input:
                    if self._in_member:
                        raise CorruptStream("gzip stream ends before its end (truncated)")
                    return b""
            try:
                data = self._d.decompress(self._input, n)
            except zlib.error as exc:
                what = "data after the gzip end is not another gzip member" if not self._in_member else str(exc)
                raise CorruptStream(f"gzip: {what}") from None
            self._in_member = True
            self._input = self._d.unconsumed_tail
            if self._d.eof:
                self._input = self._d.unused_data + self._input
                self._d = zlib.decompressobj(31)
                self._in_member = False
            if data:
                return data


class _ZstdFrameWalker:
    """Follows zstd frame and block headers (RFC 8878) to know whether input stopped mid-frame."""

    def __init__(self):
        self._state = "magic"
        self._need = 4
        self._buf = bytearray()
        self._skip = 0
        self._checksum = False
        self._last_block = False
        self.error: str | None = None
        self.frames = 0

    @property
    def complete(self) -> bool:
        return self.error is None and self._state == "magic" and not self._buf and not self._skip and self.frames > 0

    def feed(self, data: bytes) -> None:
        pos, end = 0, len(data)
        while pos < end and self.error is None:
            if self._skip:
                take = min(self._skip, end - pos)
                self._skip -= take
                pos += take
                if not self._skip:
                    self._after_skip()
                continue
            take = min(self._need - len(self._buf), end - pos)
            self._buf += data[pos : pos + take]
            pos += take
            if len(self._buf) == self._need:
                field = bytes(self._buf)
                self._buf.clear()
                self._on_field(field)

    def _skip_then(self, count: int, after) -> None:
        self._after = after
        self._skip = count
        if not count:
            self._after_skip()

    def _after_skip(self) -> None:
        self._after()

    def _expect(self, state: str, need: int) -> None:
        self._state, self._need = state, need

    def _frame_done(self) -> None:
        self.frames += 1
        self._expect("magic", 4)

    def _on_field(self, field: bytes) -> None:
        state = self._state
        if state == "magic":
            if field == ZSTD_MAGIC:
                self._expect("descriptor", 1)
            elif _is_zstd_skippable(field):
                self._expect("skippable-size", 4)
            else:
                self.error = "bytes after a zstd frame are not another frame"
        elif state == "skippable-size":
            self._expect("skipping", 0)
            self._skip_then(int.from_bytes(field, "little"), self._frame_done)
        elif state == "descriptor":
            fhd = field[0]
            fcs_flag, single, self._checksum, did_flag = fhd >> 6, (fhd >> 5) & 1, bool(fhd & 4), fhd & 3
            if fhd & 8:
                self.error = "zstd frame header has its reserved bit set"
                return
            rest = (0 if single else 1) + (0, 1, 2, 4)[did_flag] + ((1 if single else 0), 2, 4, 8)[fcs_flag]
            if rest:
                self._expect("header-rest", rest)
            else:
                self._expect("block", 3)
        elif state == "header-rest":
            self._expect("block", 3)
        elif state == "block":
            header = int.from_bytes(field, "little")
            self._last_block = bool(header & 1)
            block_type, block_size = (header >> 1) & 3, header >> 3
            if block_type == 3:
                self.error = "zstd block of reserved type"
                return
            self._expect("block-content", 0)
            self._skip_then(1 if block_type == 1 else block_size, self._block_done)
        elif state == "checksum":
            self._frame_done()

    def _block_done(self) -> None:
        if not self._last_block:
            self._expect("block", 3)
        elif self._checksum:
            self._expect("checksum", 4)
        else:
            self._frame_done()


class _Tee:
    def __init__(self, raw: BinaryIO, walker: _ZstdFrameWalker):
        self._raw = raw
        self._walker = walker

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n if n is not None and n >= 0 else CHUNK)
        if data:
            self._walker.feed(data)
        return data

    def readable(self) -> bool:
        return True


class ZstdReader:
    """Decompresses zstd frames one after another with bounded memory, failing on a cut frame."""

    def __init__(self, raw: BinaryIO):
        self._walker = _ZstdFrameWalker()
        source = _Tee(raw, self._walker)
        self._reader = zstandard.ZstdDecompressor().stream_reader(
            source, read_size=CHUNK, read_across_frames=True, closefd=False
        )
        self._done = False

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._done:
            return b""
        try:
            data = self._reader.read(n if n is not None and n >= 0 else CHUNK)
        except zstandard.ZstdError as exc:
            raise CorruptStream(f"zstd: {exc}") from None
        if self._walker.error:
            raise CorruptStream(f"zstd: {self._walker.error}")
        if not data:
            self._done = True
            if not self._walker.complete:
                raise CorruptStream("zstd stream ends inside a frame (truncated)")
        return data


def open_decompressed(raw: BinaryIO, compression: str) -> BinaryIO:
    if compression == "gzip":
        return GzipReader(raw)
    if compression == "zstd":
        return ZstdReader(raw)
    if compression == "none":
        return raw
    raise CorruptStream(f"{compression} compression is not defined for OCI or Docker layers")
