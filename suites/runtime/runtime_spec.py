"""The runtime-spec v1.2.0 sections the runtime suite cites, as ``spec`` markers."""

from __future__ import annotations

import pytest

BASE = "https://github.com/opencontainers/runtime-spec/blob/v1.2.0"


def spec(document: str, anchor: str, section: str) -> pytest.MarkDecorator:
    """``@spec("runtime.md", "lifecycle", "Lifecycle")`` -> the spec marker with its link."""
    return pytest.mark.spec(f"runtime-spec {document}: {section}", f"{BASE}/{document}#{anchor}")


RUNTIME_AXES = ("runtime",)
