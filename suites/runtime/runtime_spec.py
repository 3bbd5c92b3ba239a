"""What every module of the runtime suite shares (the sections it cites are ``ocimatrix.specs.spec`` markers)."""

from __future__ import annotations

RUNTIME_AXES = ("runtime",)
