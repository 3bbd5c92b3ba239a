"""Content digests as the image-spec defines them (descriptor.md, "Digests").

Public API (stable, other parts of ocimatrix import it):

- ``Digest`` - a parsed ``algorithm:encoded`` string; ``str(d)`` gives it back.
- ``parse_digest(text) -> Digest`` - checks the grammar and, for registered algorithms
  (sha256, sha512), the encoded length and lowercase hex; raises ``DigestError`` otherwise.
- ``digest_problem(text) -> str | None`` - the same checks, returning the reason instead of raising.
- ``new_hasher(algorithm)`` - a hashlib object for a registered algorithm.
- ``digest_bytes(data, algorithm="sha256") -> Digest``
- ``digest_stream(fileobj, algorithm="sha256") -> (Digest, size)`` - reads in 1 MiB chunks.
- ``digest_file(path, algorithm="sha256") -> (Digest, size)``
- ``verify_stream(fileobj, expected, expected_size=None) -> (ok, actual Digest, actual size)``
- ``HashingReader`` - wraps a binary stream, hashes and counts what passes through it, so one
  read of a blob can feed a decompressor or a tar reader and still yield the digest.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20

# The grammar of descriptor.md: algorithm ":" encoded.
DIGEST_GRAMMAR = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")

# Registered algorithms and the exact shape their encoded part MUST have (lowercase hex).
REGISTERED: dict[str, re.Pattern[str]] = {
    "sha256": re.compile(r"^[a-f0-9]{64}$"),
    "sha512": re.compile(r"^[a-f0-9]{128}$"),
}


class DigestError(ValueError):
    """A digest string that breaks the grammar or the rules of its registered algorithm."""


@dataclass(frozen=True)
class Digest:
    algorithm: str
    encoded: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.encoded}"

    @property
    def registered(self) -> bool:
        return self.algorithm in REGISTERED


def digest_problem(text: object) -> str | None:
    """Why ``text`` is not a valid digest, or None when it is one."""
    if not isinstance(text, str):
        return f"digest must be a string, got {type(text).__name__}"
    if not DIGEST_GRAMMAR.match(text):
        return f"{text!r} does not match the digest grammar algorithm:encoded"
    algorithm, encoded = text.split(":", 1)
    shape = REGISTERED.get(algorithm)
    if shape is not None and not shape.match(encoded):
        want = 64 if algorithm == "sha256" else 128
        if encoded.lower() != encoded and len(encoded) == want:
            return f"{algorithm} digest must use lowercase hex, got {text!r}"
        return f"{algorithm} digest must be {want} lowercase hex characters, got {len(encoded)} in {text!r}"
    return None


def parse_digest(text: object) -> Digest:
    problem = digest_problem(text)
    if problem:
        raise DigestError(problem)
    algorithm, encoded = str(text).split(":", 1)
    return Digest(algorithm, encoded)


def new_hasher(algorithm: str):
    if algorithm not in REGISTERED:
        raise DigestError(f"unsupported digest algorithm {algorithm!r} (supported: sha256, sha512)")
    return hashlib.new(algorithm)


def digest_bytes(data: bytes, algorithm: str = "sha256") -> Digest:
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return Digest(algorithm, hasher.hexdigest())


def digest_stream(fileobj: BinaryIO, algorithm: str = "sha256") -> tuple[Digest, int]:
    hasher = new_hasher(algorithm)
    size = 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    readinto = getattr(fileobj, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buf)
            if not n:
                break
            hasher.update(view[:n])
        else:
            chunk = fileobj.read(CHUNK)
            if not chunk:
                break
            n = len(chunk)
            hasher.update(chunk)
        size += n
    return Digest(algorithm, hasher.hexdigest()), size


def digest_file(path: str | Path, algorithm: str = "sha256") -> tuple[Digest, int]:
    with open(path, "rb") as f:
        return digest_stream(f, algorithm)


def verify_stream(
    fileobj: BinaryIO, expected: Digest | str, expected_size: int | None = None
) -> tuple[bool, Digest, int]:
    want = expected if isinstance(expected, Digest) else parse_digest(expected)
    actual, size = digest_stream(fileobj, want.algorithm)
    ok = actual == want and (expected_size is None or size == expected_size)
    return ok, actual, size


class HashingReader:
    """A read-only binary stream that hashes and counts every byte read through it.

    ``algorithms`` may name several algorithms so one pass can answer both a descriptor's
    digest and a diff_id in another algorithm.
    """

    def __init__(self, raw: BinaryIO, algorithms: tuple[str, ...] = ("sha256",)):
        self._raw = raw
        self._hashers = {alg: new_hasher(alg) for alg in dict.fromkeys(algorithms)}
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        # Unlike a file, read() without a size returns one chunk, never the whole (maybe huge) blob:
        # every consumer here loops until b"".
        data = self._raw.read(n if n is not None and n >= 0 else CHUNK)
        if data:
            self.size += len(data)
            for hasher in self._hashers.values():
                hasher.update(data)
        return data

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        """Read (and hash) whatever the consumer left unread."""
        while self.read(CHUNK):
            pass

    def digest(self, algorithm: str = "sha256") -> Digest:
        return Digest(algorithm, self._hashers[algorithm].hexdigest())
