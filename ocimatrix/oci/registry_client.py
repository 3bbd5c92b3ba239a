"""A small OCI distribution-spec client on httpx: pull manifests and blobs, push for fixtures.

Auth follows the registry's ``WWW-Authenticate`` challenge: anonymous first, then Basic with the
configured credentials, or the Bearer token flow (GET the realm with service and scope, using
the credentials as Basic auth when there are any). Every request has a timeout; plain HTTP only
when ``plain_http=True``. Credentials are never printed (``Credentials`` masks its repr).

Public API (stable):

- ``Credentials(username, password)``, ``credentials_from_env()`` (OCIMATRIX_REGISTRY_USER /
  OCIMATRIX_REGISTRY_PASSWORD), ``credentials_from_file(path, host)`` (``user:password`` on the
  first line, or a Docker ``config.json`` with ``auths``).
- ``RegistryClient(host_or_base_url, plain_http=False, credentials=None, timeout=30.0,
  verify_tls=True)``: ``ping()``, ``get_manifest(repo, ref, accept=...) -> (bytes, media_type,
  digest)``, ``head_manifest(repo, ref, accept=...) -> (digest, media_type, size)``,
  ``get_blob(repo, digest)`` (context manager yielding a binary stream), ``blob_exists``,
  ``push_blob(repo, data) -> digest``, ``put_manifest(repo, ref, data, media_type) -> digest``,
  ``close()``.
- ``RegistryError`` (an ``OcimatrixError``) with ``.status`` when the registry answered.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx

from ocimatrix.errors import OcimatrixError, UsageError
from ocimatrix.oci.digest import CHUNK, digest_bytes
from ocimatrix.oci.mediatypes import MANIFEST_ACCEPT

DEFAULT_TIMEOUT = 30.0
# A manifest is a small JSON document; a registry streaming more is broken or hostile.
MAX_MANIFEST = 32 << 20
USER_ENV = "OCIMATRIX_REGISTRY_USER"
PASSWORD_ENV = "OCIMATRIX_REGISTRY_PASSWORD"


class RegistryError(OcimatrixError):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=***)"

    def basic_header(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return f"Basic {token}"


def credentials_from_env() -> Credentials | None:
    user = os.environ.get(USER_ENV)
    if not user:
        return None
    return Credentials(user, os.environ.get(PASSWORD_ENV, ""))


def credentials_from_file(path: str | Path, host: str) -> Credentials | None:
    """``user:password`` on the first line, or a Docker config.json ``auths`` entry for ``host``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read credentials file {path}: {exc.strerror}") from None
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            auths = json.loads(stripped).get("auths", {})
        except (ValueError, AttributeError):
            raise UsageError(f"credentials file {path} is neither user:password nor a config.json") from None
        entry = auths.get(host) or auths.get(f"http://{host}") or auths.get(f"https://{host}")
        if not entry:
            return None
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise UsageError(f"credentials file {path}: auth for {host} is not base64 user:password") from None
            return Credentials(user, password)
        if entry.get("username"):
            return Credentials(entry["username"], entry.get("password", ""))
        return None
    first = stripped.splitlines()[0] if stripped else ""
    user, sep, password = first.partition(":")
    if not sep or not user:
        raise UsageError(f"credentials file {path}: first line must be user:password")
    return Credentials(user, password)


_CHALLENGE_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="...",service="...",scope="..."`` -> ("bearer", {...})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {
        m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
        for m in _CHALLENGE_PARAM.finditer(rest)
    }
    return scheme.lower(), params


class _StreamReader:
    """A binary read() over an httpx streaming response."""

    def __init__(self, response: httpx.Response):
        self._iter = response.iter_bytes(CHUNK)
        self._buf = b""

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = CHUNK
        while not self._buf:
            try:
                self._buf = next(self._iter)
            except StopIteration:
                return b""
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def readable(self) -> bool:
        return True


class RegistryClient:
    def __init__(
        self,
        host: str,
        *,
        plain_http: bool = False,
        credentials: Credentials | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        verify_tls: bool = True,
    ):
        if host.startswith(("http://", "https://")):
            self.base_url = host.rstrip("/")
        else:
            self.base_url = f"{'http' if plain_http else 'https'}://{host.rstrip('/')}"
        self.host = httpx.URL(self.base_url).netloc.decode()
        self.credentials = credentials
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            verify=verify_tls,
            follow_redirects=True,
            headers={"User-Agent": "ocimatrix"},
        )
        self._auth_by_scope: dict[str, str] = {}

    # -- plumbing -------------------------------------------------------------------------------

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _send(self, method: str, url: str, scope: str, *, stream: bool = False, **kwargs) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        for attempt in range(2):
            if scope in self._auth_by_scope:
                headers["Authorization"] = self._auth_by_scope[scope]
            request = self._client.build_request(method, url, headers=headers, **kwargs)
            try:
                response = self._client.send(request, stream=stream)
            except httpx.TimeoutException:
                raise RegistryError(f"{method} {url}: timed out") from None
            except httpx.HTTPError as exc:
                raise RegistryError(f"{method} {url}: {exc}") from None
            if response.status_code != 401 or attempt == 1:
                return response
            challenge = response.headers.get("WWW-Authenticate", "")
            response.close()
            self._authenticate(challenge, scope)
        raise AssertionError("unreachable")

    def _authenticate(self, challenge: str, scope: str) -> None:
        scheme, params = parse_challenge(challenge)
        if scheme == "basic":
            if self.credentials is None:
                raise RegistryError(
                    f"{self.host} requires credentials (set {USER_ENV}/{PASSWORD_ENV} or a credentials file)", 401
                )
            self._auth_by_scope[scope] = self.credentials.basic_header()
        elif scheme == "bearer":
            self._auth_by_scope[scope] = f"Bearer {self._fetch_token(params, scope)}"
        else:
            raise RegistryError(f"{self.host} answered 401 with an unsupported challenge {scheme or '(none)'!r}", 401)

    def _fetch_token(self, params: dict[str, str], scope: str) -> str:
        realm = params.get("realm")
        if not realm:
            raise RegistryError(f"{self.host}: Bearer challenge without a realm", 401)
        query = {k: v for k, v in (("service", params.get("service")), ("scope", params.get("scope") or scope)) if v}
        headers = {"Authorization": self.credentials.basic_header()} if self.credentials else {}
        try:
            response = self._client.get(realm, params=query, headers=headers)
        except httpx.HTTPError as exc:
            raise RegistryError(f"token request to {realm} failed: {exc}") from None
        if response.status_code != 200:
            raise RegistryError(f"token request to {realm} answered {response.status_code}", 401)
        try:
            body = response.json()
        except ValueError:
            raise RegistryError(f"token endpoint {realm} did not answer JSON") from None
        token = body.get("token") or body.get("access_token")
        if not token:
            raise RegistryError(f"token endpoint {realm} answered without a token")
        return token

    @staticmethod
    def _scope(repo: str, actions: str = "pull") -> str:
        return f"repository:{repo}:{actions}"

    def _check(self, response: httpx.Response, what: str) -> None:
        if response.status_code >= 400:
            detail = ""
            try:
                # Streamed or not, read at most 64 KiB of an error body: it only feeds one message.
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > 65536:
                        break
                errors = json.loads(body).get("errors") or []
                if errors:
                    detail = f" ({errors[0].get('code')}: {errors[0].get('message')})"
            except (ValueError, AttributeError, httpx.HTTPError):
                pass
            finally:
                response.close()
            raise RegistryError(f"{what}: HTTP {response.status_code}{detail}", response.status_code)

    # -- API ------------------------------------------------------------------------------------

    def ping(self) -> None:
        response = self._send("GET", self._url("/v2/"), "registry:catalog:*")
        if response.status_code not in (200, 401):
            self._check(response, f"GET {self.base_url}/v2/")

    def get_manifest(self, repo: str, ref: str, accept: tuple[str, ...] = MANIFEST_ACCEPT) -> tuple[bytes, str, str]:
        """Body, Content-Type and digest (the Docker-Content-Digest header, else computed)."""
        url = self._url(f"/v2/{repo}/manifests/{ref}")
        response = self._send("GET", url, self._scope(repo), stream=True, headers={"Accept": ", ".join(accept)})
        try:
            self._check(response, f"GET manifest {repo}:{ref}")
            chunks, total = [], 0
            for chunk in response.iter_bytes(CHUNK):
                chunks.append(chunk)
                total += len(chunk)
                if total > MAX_MANIFEST:
                    raise RegistryError(f"GET manifest {repo}:{ref}: larger than {MAX_MANIFEST >> 20} MiB; refused")
        except httpx.HTTPError as exc:
            raise RegistryError(f"GET manifest {repo}:{ref}: {exc}") from None
        finally:
            response.close()
        body = b"".join(chunks)
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        digest = response.headers.get("Docker-Content-Digest") or str(digest_bytes(body))
        return body, media_type, digest

    def head_manifest(self, repo: str, ref: str, accept: tuple[str, ...] = MANIFEST_ACCEPT) -> tuple[str, str, int]:
        """Digest, Content-Type and size a tag (or digest) points to, without the body."""
        url = self._url(f"/v2/{repo}/manifests/{ref}")
        response = self._send("HEAD", url, self._scope(repo), headers={"Accept": ", ".join(accept)})
        self._check(response, f"HEAD manifest {repo}:{ref}")
        digest = response.headers.get("Docker-Content-Digest")
        if not digest:
            body, _, _ = self.get_manifest(repo, ref, accept)
            digest = str(digest_bytes(body))
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return digest, media_type, int(response.headers.get("Content-Length") or 0)

    @contextmanager
    def get_blob(self, repo: str, digest: str) -> Iterator[_StreamReader]:
        response = self._send("GET", self._url(f"/v2/{repo}/blobs/{digest}"), self._scope(repo), stream=True)
        try:
            self._check(response, f"GET blob {repo}@{digest}")
            yield _StreamReader(response)
        except httpx.HTTPError as exc:
            raise RegistryError(f"GET blob {repo}@{digest}: {exc}") from None
        finally:
            response.close()

    def blob_exists(self, repo: str, digest: str) -> bool:
        response = self._send("HEAD", self._url(f"/v2/{repo}/blobs/{digest}"), self._scope(repo))
        return response.status_code == 200

    def push_blob(self, repo: str, data: bytes) -> str:
        """Monolithic upload (POST then PUT with the digest); returns the digest."""
        digest = str(digest_bytes(data))
        scope = self._scope(repo, "pull,push")
        response = self._send("POST", self._url(f"/v2/{repo}/blobs/uploads/"), scope)
        self._check(response, f"start upload to {repo}")
        location = response.headers.get("Location", "")
        url = location if location.startswith("http") else self._url(location)
        # The upload URL carries the registry's own state in its query; httpx's params= would replace it.
        url += ("&" if "?" in url else "?") + urlencode({"digest": digest})
        response = self._send(
            "PUT",
            url,
            scope,
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        self._check(response, f"finish upload of {digest} to {repo}")
        return digest

    def put_manifest(self, repo: str, ref: str, data: bytes, media_type: str) -> str:
        scope = self._scope(repo, "pull,push")
        url = self._url(f"/v2/{repo}/manifests/{ref}")
        response = self._send("PUT", url, scope, content=data, headers={"Content-Type": media_type})
        self._check(response, f"PUT manifest {repo}:{ref}")
        return response.headers.get("Docker-Content-Digest") or str(digest_bytes(data))
