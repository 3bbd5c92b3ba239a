"""A small Docker-style token server for the harness's bearer-auth registry (127.0.0.1 only).

``GET /token?service=S&scope=repository:NAME:pull,push&scope=...`` with HTTP Basic credentials
checked against an htpasswd file (bcrypt) answers ``{"token", "access_token", "expires_in",
"issued_at"}``: an ES256 JWT whose header carries the signing certificate (``x5c``), which
distribution verifies against its ``rootcertbundle``. A known user gets every action it asks for;
anyone else gets 401. Run as ``python -m ocimatrix.host.token_server CONFIG.json``.

The log never shows a credential or a token: one line per request with the account and scopes.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import sys
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import bcrypt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

TOKEN_PATH = "/token"
HEALTH_PATH = "/healthz"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_jwt(claims: dict[str, Any], key: ec.EllipticCurvePrivateKey, cert_der: bytes) -> str:
    header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(cert_der).decode()]}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    # JWS wants the raw 64-byte r||s, not the DER sequence the library returns.
    return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def parse_scope(scope: str) -> dict[str, Any] | None:
    """``repository:name:pull,push`` -> an access entry; names may hold ':' (a port), actions may not."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name or not actions:
        return None
    return {"type": kind, "name": name, "actions": sorted(set(actions.split(",")))}


def load_htpasswd(path: Path) -> dict[str, bytes]:
    users = {}
    for line in path.read_text().splitlines():
        user, sep, hashed = line.strip().partition(":")
        if sep:
            users[user] = hashed.encode()
    return users


class TokenIssuer:
    def __init__(self, config: dict[str, Any]) -> None:
        self.issuer = config["issuer"]
        self.service = config["service"]
        self.ttl = int(config.get("ttl", 300))
        self.users = load_htpasswd(Path(config["htpasswd"]))
        self.key = serialization.load_pem_private_key(Path(config["key"]).read_bytes(), password=None)
        cert = x509.load_pem_x509_certificate(Path(config["cert"]).read_bytes())
        self.cert_der = cert.public_bytes(serialization.Encoding.DER)

    def authenticate(self, header: str | None) -> str | None:
        if not header or not header.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        hashed = self.users.get(user)
        if hashed is None or not bcrypt.checkpw(password.encode(), hashed):
            return None
        return user

    def issue(self, account: str, scopes: list[str], service: str) -> dict[str, Any]:
        now = int(time.time())
        access = [entry for entry in (parse_scope(s) for s in scopes) if entry]
        claims = {
            "iss": self.issuer,
            "sub": account,
            "aud": service or self.service,
            "exp": now + self.ttl,
            "nbf": now - 30,
            "iat": now,
            "jti": secrets.token_hex(12),
            "access": access,
        }
        token = sign_jwt(claims, self.key, self.cert_der)
        issued = datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z")
        return {"token": token, "access_token": token, "expires_in": self.ttl, "issued_at": issued}


def make_handler(issuer: TokenIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "ocimatrix-token-server"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass  # our own line below says what matters without the query's account noise

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            url = urlsplit(self.path)
            if url.path == HEALTH_PATH:
                self._send(200, {"ok": True})
                return
            if url.path != TOKEN_PATH:
                self._send(404, {"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]})
                return
            query = parse_qs(url.query)
            scopes = [s for value in query.get("scope", []) for s in value.split()]
            service = (query.get("service") or [""])[0]
            account = issuer.authenticate(self.headers.get("Authorization"))
            if account is None:
                print(f"token: refused (no or wrong credentials) scopes={scopes}", file=sys.stderr, flush=True)
                self._send(
                    401,
                    {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                    {"WWW-Authenticate": 'Basic realm="ocimatrix-token"'},
                )
                return
            if service and service != issuer.service:
                self._send(400, {"errors": [{"code": "DENIED", "message": f"unknown service {service!r}"}]})
                return
            print(f"token: issued to {account} scopes={scopes}", file=sys.stderr, flush=True)
            self._send(200, issuer.issue(account, scopes, service))

    return Handler


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m ocimatrix.host.token_server CONFIG.json", file=sys.stderr)
        return 2
    config = json.loads(Path(argv[0]).read_text())
    server = ThreadingHTTPServer(("127.0.0.1", int(config["port"])), make_handler(TokenIssuer(config)))
    server.daemon_threads = True
    print(f"token server on http://127.0.0.1:{config['port']}{TOKEN_PATH}", file=sys.stderr, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
