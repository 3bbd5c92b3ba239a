"""The environment that keeps a tool or daemon the harness starts off the network: its proxy is a closed
port on the loopback address, so any lookup it might try fails at once, and loopback is never proxied."""

from __future__ import annotations

# Nothing listens on the discard port here.
CLOSED_PROXY = "http://127.0.0.1:9"
OFFLINE_ENV = {
    "HTTP_PROXY": CLOSED_PROXY,
    "HTTPS_PROXY": CLOSED_PROXY,
    "http_proxy": CLOSED_PROXY,
    "https_proxy": CLOSED_PROXY,
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}
