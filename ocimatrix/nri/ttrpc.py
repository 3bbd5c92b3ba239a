"""ttrpc, containerd's small RPC protocol, over one byte stream: calls out and calls served.

A message is a 10-byte header (payload length and stream id, big-endian uint32; message type; flags)
and a protobuf payload: a ``Request`` naming service and method, answered by a ``Response`` on the same
stream with a gRPC status. The caller picks odd stream ids, counting up by two. NRI uses unary calls
only, so data messages and stream flags are refused rather than guessed at.
"""

from __future__ import annotations

import contextlib
import struct
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ocimatrix.nri.gen import ttrpc_pb2

_HEADER = struct.Struct(">IIBB")
_REQUEST = 0x1
_RESPONSE = 0x2
MAX_MESSAGE = 4 << 20

# gRPC status codes ttrpc carries.
OK = 0
UNKNOWN = 2
DEADLINE_EXCEEDED = 4
UNIMPLEMENTED = 12
UNAVAILABLE = 14

# A served call: (service, method, request payload) -> response payload, or RpcStatus raised.
Handler = Callable[[str, str, bytes], bytes]


class RpcStatus(Exception):
    """A call's non-OK status: raised by a handler to answer with it, and by ``call`` on such an answer."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"code {code}: {message}")
        self.code = code
        self.message = message


class ChannelClosed(Exception):
    """The stream under the channel ended before the call was answered."""


def encode(stream_id: int, kind: int, payload: bytes) -> bytes:
    if len(payload) > MAX_MESSAGE:
        raise ValueError(f"ttrpc message of {len(payload)} bytes is over the protocol's {MAX_MESSAGE}")
    return _HEADER.pack(len(payload), stream_id, kind, 0) + payload


class _Pending:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.response: ttrpc_pb2.Response | None = None
        self.closed = ""


class Channel:
    """One ttrpc peer on a byte stream: ``send`` writes to the stream, ``feed`` gets what arrives.

    Calls to ``handler`` run on the channel's own threads, so a handler that waits (a hook the test holds)
    never stops answers to this side's calls from arriving."""

    def __init__(self, name: str, send: Callable[[bytes], None], handler: Handler | None = None) -> None:
        self.name = name
        self._send = send
        self._handler = handler
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._pending: dict[int, _Pending] = {}
        self._next_stream = 1
        self._closed = ""
        self._workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix=f"ttrpc-{name}") if handler else None

    def call(self, service: str, method: str, payload: bytes, timeout: float) -> bytes:
        """The answer's payload; RpcStatus when the peer answers an error, TimeoutError after ``timeout``
        seconds, ChannelClosed when the stream ends first."""
        request = ttrpc_pb2.Request(service=service, method=method, payload=payload, timeout_nano=int(timeout * 1e9))
        pending = _Pending()
        with self._lock:
            if self._closed:
                raise ChannelClosed(self._closed)
            stream_id = self._next_stream
            self._next_stream += 2
            self._pending[stream_id] = pending
        try:
            self._send(encode(stream_id, _REQUEST, request.SerializeToString()))
            if not pending.done.wait(timeout):
                raise TimeoutError(f"{service}/{method}: no answer in {timeout:g} s")
        finally:
            with self._lock:
                self._pending.pop(stream_id, None)
        if pending.response is None:
            raise ChannelClosed(pending.closed)
        status = pending.response.status
        if status.code != OK:
            raise RpcStatus(status.code, status.message)
        return pending.response.payload

    def feed(self, data: bytes) -> None:
        """Bytes of the stream, in order; complete messages are answered or dispatched."""
        self._buffer += data
        while len(self._buffer) >= _HEADER.size:
            length, stream_id, kind, _flags = _HEADER.unpack_from(self._buffer)
            if len(self._buffer) < _HEADER.size + length:
                return
            payload = bytes(self._buffer[_HEADER.size : _HEADER.size + length])
            del self._buffer[: _HEADER.size + length]
            if kind == _RESPONSE:
                self._answered(stream_id, payload)
            elif kind == _REQUEST:
                self._dispatch(stream_id, payload)
            # Anything else is a streaming call, which NRI never makes: nothing to answer it with.

    def close(self, reason: str) -> None:
        with self._lock:
            self._closed = self._closed or reason
            pending = list(self._pending.values())
        for waiting in pending:
            waiting.closed = reason
            waiting.done.set()
        if self._workers is not None:
            self._workers.shutdown(wait=False, cancel_futures=True)

    def _answered(self, stream_id: int, payload: bytes) -> None:
        with self._lock:
            pending = self._pending.get(stream_id)
        if pending is not None:
            pending.response = ttrpc_pb2.Response.FromString(payload)
            pending.done.set()

    def _dispatch(self, stream_id: int, payload: bytes) -> None:
        if self._workers is None:
            self._reply(
                stream_id, ttrpc_pb2.Response(status=ttrpc_pb2.Status(code=UNIMPLEMENTED, message="no service"))
            )
            return
        # Refused once shut down: the channel is closing, and nobody waits for the answer.
        with contextlib.suppress(RuntimeError):
            self._workers.submit(self._serve, stream_id, payload)

    def _serve(self, stream_id: int, payload: bytes) -> None:
        assert self._handler is not None
        request = ttrpc_pb2.Request.FromString(payload)
        try:
            answer = ttrpc_pb2.Response(
                status=ttrpc_pb2.Status(code=OK),
                payload=self._handler(request.service, request.method, request.payload),
            )
        except RpcStatus as status:
            answer = ttrpc_pb2.Response(status=ttrpc_pb2.Status(code=status.code, message=status.message))
        except Exception as exc:  # noqa: BLE001 - the peer must get an answer whatever the handler did
            answer = ttrpc_pb2.Response(status=ttrpc_pb2.Status(code=UNKNOWN, message=f"plugin error: {exc}"))
        self._reply(stream_id, answer)

    def _reply(self, stream_id: int, answer: ttrpc_pb2.Response) -> None:
        # A stream already gone: whoever closed it says why.
        with contextlib.suppress(Exception):
            self._send(encode(stream_id, _RESPONSE, answer.SerializeToString()))
