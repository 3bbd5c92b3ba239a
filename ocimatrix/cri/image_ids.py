"""The identities a CRI runtime reports for an image, read the same way whatever the runtime.

The CRI leaves their spelling open, and runtimes differ: containerd's ``Image.id`` is the config
digest ``sha256:<hex>``, CRI-O's is the same digest as bare hex. ``repo_digests`` are
``<registry>/<repository>@<digest>``; CRI-O lists the manifest it chose from an index there
(the platform manifest), containerd the digest the reference resolved to (the index).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ocimatrix.oci.digest import DigestError, parse_digest

_BARE_SHA256 = re.compile(r"^[a-f0-9]{64}$")


def normalize_digest(value: str) -> str:
    """``algorithm:hex`` for a digest written either way (bare 64 hex digits is sha256).

    Raises DigestError for anything else, so a malformed answer is named, never compared blindly.
    """
    text = value.strip()
    if _BARE_SHA256.match(text):
        text = f"sha256:{text}"
    return str(parse_digest(text))


def digest_or_none(value: str) -> str | None:
    """normalize_digest, or None when ``value`` is not a digest (an id a runtime chose freely)."""
    try:
        return normalize_digest(value)
    except DigestError:
        return None


def repo_digests_of(repository: str, repo_digests: Iterable[str]) -> tuple[str, ...]:
    """The manifest digests ``repo_digests`` ties to ``repository`` (``registry/path``), normalized;
    entries that are not ``name@digest`` are left out."""
    found = []
    for entry in repo_digests:
        name, at, digest = entry.partition("@")
        normalized = digest_or_none(digest) if at else None
        if name == repository and normalized and normalized not in found:
            found.append(normalized)
    return tuple(found)
