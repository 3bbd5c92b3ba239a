"""ocimatrix: conformance and interoperability tests for OCI images, engines, runtimes and registries."""

__version__ = "0.1.0"
