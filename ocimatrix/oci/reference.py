"""Fully qualified image references: ``host[:port]/repository[:tag][@digest]``.

ocimatrix never reaches public registries, so a reference must name its registry host; there is
no implicit docker.io.

Public API: ``Reference`` (registry, repository, tag, digest; ``.ref`` is the digest or tag to
fetch) and ``parse_reference(text)`` raising ``ValueError``; ``looks_like_reference(text)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ocimatrix.oci.digest import digest_problem

# distribution-spec: <name> is [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
HOST = re.compile(r"^(?:localhost|\[[0-9a-fA-F:.]+\]|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)(?::[0-9]{1,5})?$")


@dataclass(frozen=True)
class Reference:
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def ref(self) -> str:
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _is_registry_host(part: str) -> bool:
    return ("." in part or ":" in part or part == "localhost" or part.startswith("[")) and bool(HOST.match(part))


def parse_reference(text: str) -> Reference:
    if text.startswith("docker://"):
        text = text[len("docker://") :]
    rest, at, digest_text = text.partition("@")
    digest = digest_text if at else None
    if digest is not None and digest_problem(digest):
        raise ValueError(f"reference {text!r}: {digest_problem(digest)}")
    host, slash, path = rest.partition("/")
    if not slash or not _is_registry_host(host):
        raise ValueError(
            f"reference {text!r} must name its registry, e.g. 127.0.0.1:5000/repo:tag (no implicit docker.io)"
        )
    tag = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = path.rsplit(":", 1)
        if not TAG.match(tag):
            raise ValueError(f"reference {text!r}: tag {tag!r} is not a valid tag")
    if not REPOSITORY.match(path):
        raise ValueError(f"reference {text!r}: repository {path!r} is not a valid repository name")
    return Reference(host, path, tag, digest)


def looks_like_reference(text: str) -> bool:
    try:
        parse_reference(text)
    except ValueError:
        return False
    return True
