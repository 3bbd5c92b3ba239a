"""Moved to ``ocimatrix.tools.versions``; kept until every importer reads it there."""

from ocimatrix.tools.versions import RangeError, VersionRange, parse_range, parse_version

__all__ = ["RangeError", "VersionRange", "parse_range", "parse_version"]
