"""A private Debian docker-registry (distribution 2.8) on 127.0.0.1 for the registry-source tests.

``LocalRegistry(state_dir, auth=None|"htpasswd"|"token")`` starts ``docker-registry serve`` with
its own config and filesystem root on a free port and stops it on ``close()``. ``auth="token"``
also runs a small token service (the realm of the Bearer challenge) that signs RS256 JWTs with a
throwaway certificate the registry trusts, so the client's token flow meets a real verifier.
"""

from __future__ import annotations

import base64
import datetime
import json
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx

REGISTRY_BIN = shutil.which("docker-registry") or "/usr/bin/docker-registry"
USER, PASSWORD = "ocimatrix", "s3cret-pass"
SERVICE, ISSUER = "ocimatrix-test-registry", "ocimatrix-test-issuer"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class _TokenIssuer:
    def __init__(self, state: Path):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ocimatrix test token issuer")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.cert_path = state / "token-root.pem"
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self._x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        self.issued = 0

    def token(self, scopes: list[str]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self._x5c]}
        claims = {
            "iss": ISSUER,
            "sub": USER,
            "aud": SERVICE,
            "exp": now + 600,
            "nbf": now - 30,
            "iat": now,
            "jti": str(now),
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        self.issued += 1
        return f"{signing_input}.{_b64url(signature)}"


def _token_handler(issuer: _TokenIssuer):
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            query = parse_qs(urlparse(self.path).query)
            if self.headers.get("Authorization") != expected or query.get("service") != [SERVICE]:
                self.send_response(401)
                self.end_headers()
                return
            body = json.dumps({"token": issuer.token(query.get("scope", []))}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


class LocalRegistry:
    def __init__(self, state: Path, auth: str | None = None):
        self.state = Path(state)
        self.state.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.issuer: _TokenIssuer | None = None
        self._token_server: ThreadingHTTPServer | None = None
        config = [
            "version: 0.1",
            "log:",
            "  level: error",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.state / 'data'}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: {self.host}",
        ]
        if auth == "htpasswd":
            import bcrypt

            # Cost 4, the minimum: the registry checks the hash on every request and tests must be quick.
            hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
            htpasswd = self.state / "htpasswd"
            htpasswd.write_text(f"{USER}:{hashed}\n")
            config += ["auth:", "  htpasswd:", "    realm: ocimatrix-test", f"    path: {htpasswd}"]
        elif auth == "token":
            self.issuer = _TokenIssuer(self.state)
            self._token_server = ThreadingHTTPServer(("127.0.0.1", 0), _token_handler(self.issuer))
            threading.Thread(target=self._token_server.serve_forever, daemon=True).start()
            realm = f"http://127.0.0.1:{self._token_server.server_address[1]}/token"
            config += [
                "auth:",
                "  token:",
                f"    realm: {realm}",
                f"    service: {SERVICE}",
                f"    issuer: {ISSUER}",
                f"    rootcertbundle: {self.issuer.cert_path}",
            ]
        (self.state / "config.yml").write_text("\n".join(config) + "\n")
        self._log = open(self.state / "registry.log", "wb")  # noqa: SIM115 - closed in close()
        self._proc = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(self.state / "config.yml")], stdout=self._log, stderr=subprocess.STDOUT
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {(self.state / 'registry.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"http://{self.host}/v2/", timeout=1.0).status_code in (200, 401):
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.close()
        raise RuntimeError(f"docker-registry on {self.host} not ready after {timeout}s")

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()
        if self._token_server is not None:
            self._token_server.shutdown()
            self._token_server.server_close()
