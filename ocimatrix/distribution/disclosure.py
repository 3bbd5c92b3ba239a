"""Server file paths in a registry's answers: a finding of its own.

An error body that names where the registry keeps its data or its source (``/var/lib/registry/docker/
registry/v2/blobs/...``, ``/go/src/.../handler.go:123``, ``C:\\ProgramData\\...``) tells any client
how the server is laid out (distribution's own storage paths, ``/docker/registry/v2/repositories/...``,
included). The request paths of the API itself (``/v2/<name>/...``) and URLs are
not file paths and are never reported.
"""

from __future__ import annotations

import re

# Top-level directories of a server's file system, the start of a Windows drive path, or a
# source-file position as Go, Python and Java stack traces print it.
_UNIX_ROOTS = (
    "bin|boot|build|data|dev|docker|etc|go|home|lib|lib64|mnt|opt|proc|root|run|sbin|src|srv|storage|sys|tmp|usr|var|"
    "workspace|app|registry"
)
_UNIX_PATH = re.compile(rf"(?<![\w.:/-])/(?:{_UNIX_ROOTS})(?:/[\w.@+:-]+)+/?")
_WINDOWS_PATH = re.compile(r"(?<![\w])[A-Za-z]:\\(?:[\w .@+-]+\\)*[\w.@+-]+")
_SOURCE_POSITION = re.compile(r"[\w./-]+\.(?:go|py|java|rs|js|ts|rb|cs):\d+")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'<>]+", re.IGNORECASE)
MAX_REPORTED = 5


def disclosed_paths(text: str) -> list[str]:
    """The server file paths ``text`` discloses, first ones first, without repeats (at most 5)."""
    without_urls = _URL.sub(" ", text)
    found: list[str] = []
    for pattern in (_UNIX_PATH, _WINDOWS_PATH, _SOURCE_POSITION):
        for match in pattern.finditer(without_urls):
            value = match.group(0).rstrip(".,;:")
            if any(value in earlier for earlier in found):
                continue
            found = [earlier for earlier in found if earlier not in value] + [value]
    return found[:MAX_REPORTED]


def body_text(body: bytes) -> str:
    """The body as text for the search; JSON escapes (``\\/``, ``\\\\``) undone so escaped paths show."""
    text = body.decode("utf-8", errors="replace")
    return text.replace("\\/", "/").replace("\\\\", "\\")
