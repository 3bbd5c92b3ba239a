"""The names every part agrees on: a cell's axes and the suites, in the order reports show them."""

from __future__ import annotations

AXES = ("engine", "builder", "runtime", "platform", "registry", "format", "compression")
SUITES = ("lifecycle", "image", "platforms", "distribution", "cri", "runtime", "layers")
