"""The names every part agrees on: a cell's axes and the suites, in the order reports show them."""

from __future__ import annotations

AXES = ("engine", "builder", "runtime", "platform", "registry", "format", "compression")
# The manifest formats an image is pushed in: the OCI image manifest, and Docker's image manifest v2
# schema 2 (which shares its name with the tool: spelled here only, ``tests/test_architecture.py``).
OCI_FORMAT = "oci"
DOCKER_FORMAT = "docker"
FORMATS = (OCI_FORMAT, DOCKER_FORMAT)
SUITES = (
    "lifecycle",
    "image",
    "platforms",
    "distribution",
    "cri",
    "runtime",
    "layers",
    "store",
    "copies",
    "signatures",
    "attestations",
)
