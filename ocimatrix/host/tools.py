"""Finding the binaries the embedded services run; a missing one is true of the host, not a fault."""

from __future__ import annotations

import shutil

from ocimatrix.errors import OcimatrixError


class ToolMissing(OcimatrixError):
    """A tool is not installed: the cells that need it are skipped with this reason."""


def require(binary: str, package: str) -> str:
    path = shutil.which(binary)
    if not path:
        raise ToolMissing(f"{binary} not found: install {package} (ocimatrix provision)")
    return path
