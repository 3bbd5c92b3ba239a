"""Secrets out of everything the harness writes: every secret a registry target loads is registered
here, and ``redact`` replaces them with ``***`` in repro lines, evidence, reasons and logs; the
plugin runs each record through it, so a password never reaches ``results.json`` even by accident."""

from __future__ import annotations

import base64
import threading
from typing import Any

from ocimatrix.oci.registry_client import Credentials

REDACTED = "***"

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


MIN_SECRET = 4  # shorter strings would turn every such letter of every report into ***


def register_secret(secret: str | None) -> None:
    """Remember ``secret`` so ``redact`` removes it from everything written afterwards."""
    if not secret or len(secret) < MIN_SECRET:
        return
    with _secrets_lock:
        _secrets.add(secret)


def register_credentials(credentials: Credentials) -> None:
    register_secret(credentials.password)
    pair = f"{credentials.username}:{credentials.password}".encode()
    register_secret(base64.b64encode(pair).decode())
    register_secret(base64.urlsafe_b64encode(pair).decode())


def redact(value: Any) -> Any:
    """``value`` with every registered secret replaced by ``***``; walks lists, tuples and dicts."""
    if isinstance(value, str):
        with _secrets_lock:
            secrets = sorted(_secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    if isinstance(value, dict):
        return {redact(k) if isinstance(k, str) else k: redact(v) for k, v in value.items()}
    return value
