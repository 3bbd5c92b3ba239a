"""NRI's trunk: the plugin's one socket to the runtime, carrying several byte streams.

A runtime serves NRI on a single unix socket; each plugin's connection to it is split into logical
connections by a frame header of two big-endian uint32: the connection id, then the payload's length.
Connection 1 carries the plugin's service (the runtime calls the plugin), connection 2 the runtime's
(the plugin calls the runtime); 0 is reserved. A ttrpc message may span frames, so each connection is
a byte stream and its reader does its own framing.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable

PLUGIN_SERVICE_CONN = 1
RUNTIME_SERVICE_CONN = 2

_HEADER = struct.Struct(">II")
# The largest payload a runtime's multiplexer accepts in one frame: a whole ttrpc message.
_MAX_PAYLOAD = 10 + (4 << 20)


class TrunkClosed(Exception):
    """The trunk's socket is gone: the runtime closed it, or the plugin did."""


class Trunk:
    """Frames out and in over ``sock``; ``receivers`` get each connection's bytes, in order, on the
    trunk's reader thread. ``on_close`` hears once why the trunk ended."""

    def __init__(
        self,
        sock: socket.socket,
        receivers: dict[int, Callable[[bytes], None]],
        on_close: Callable[[str], None],
    ) -> None:
        self._sock = sock
        self._receivers = receivers
        self._on_close = on_close
        self._write_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read_frames, name="nri-trunk", daemon=True)
        self._closing = threading.Event()
        self.why_closed = ""

    def start(self) -> None:
        self._reader.start()

    def send(self, conn_id: int, data: bytes) -> None:
        with self._write_lock:
            if self.why_closed:
                raise TrunkClosed(self.why_closed)
            try:
                for start in range(0, max(len(data), 1), _MAX_PAYLOAD):
                    chunk = data[start : start + _MAX_PAYLOAD]
                    self._sock.sendall(_HEADER.pack(conn_id, len(chunk)) + chunk)
            except OSError as exc:
                raise TrunkClosed(f"writing to the runtime's NRI socket: {exc}") from exc

    def close(self) -> None:
        self._closing.set()
        # shutdown() wakes the reader blocked in recv(); close() alone would not.
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        if self._reader.is_alive() and self._reader is not threading.current_thread():
            self._reader.join(timeout=5)
        self._sock.close()

    def _read_frames(self) -> None:
        reason = "the runtime closed the NRI connection"
        try:
            while True:
                header = self._read_exactly(_HEADER.size)
                if header is None:
                    break
                conn_id, length = _HEADER.unpack(header)
                if length > _MAX_PAYLOAD:
                    reason = f"the runtime sent a frame of {length} bytes, over NRI's limit of {_MAX_PAYLOAD}"
                    break
                payload = self._read_exactly(length) if length else b""
                if payload is None:
                    reason = "the runtime closed the NRI connection in the middle of a frame"
                    break
                receiver = self._receivers.get(conn_id)
                if receiver is not None:
                    receiver(payload)
        except OSError as exc:
            reason = f"reading the runtime's NRI socket: {exc}"
        if self._closing.is_set():
            reason = "the plugin closed its NRI connection"
        with self._write_lock:
            self.why_closed = reason
        self._on_close(reason)

    def _read_exactly(self, size: int) -> bytes | None:
        chunks = bytearray()
        while len(chunks) < size:
            chunk = self._sock.recv(size - len(chunks))
            if not chunk:
                return None
            chunks += chunk
        return bytes(chunks)
