"""Binding a catalog entry (``ocimatrix.tools.catalog``) to a driver instance.

Every fact about a tool lives in the tools floor; this module only imports the driver a cell binds,
so loading a matrix never imports docker-py or gRPC.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocimatrix.errors import UsageError
from ocimatrix.tools.catalog import generation_of, lookup
from ocimatrix.tools.generations import HOST_GENERATION

if TYPE_CHECKING:
    from ocimatrix.engines.base import Engine


def bind(value: str, endpoints: Any, *, role: str, endpoint: str | None = None, binary: str | None = None) -> Engine:
    """A driver instance for ``value`` in ``role``, bound to ``endpoint`` (a daemon the matrix names)
    or to the embedded one (of the value's generation), and to ``binary`` (default: the host's, or the
    generation root's); one tool can be bound many times (other binaries, sockets, roots)."""
    tool = lookup(value, role)
    generation = generation_of(value)
    if generation != HOST_GENERATION and endpoint:
        raise UsageError(f"{value}: a generation's tool is the harness's own; endpoints: names a daemon of the host")
    return tool.driver_class()(endpoints, tool=tool, endpoint=endpoint, binary=binary, generation=generation)
