"""Registry auth over HTTP: an ``httpx.Auth`` that answers a registry's Basic and Bearer
(realm/service/scope) challenges for a target, and the client the distribution checks use."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping

import httpx

from ocimatrix.errors import HarnessError, ServiceUnavailable
from ocimatrix.oci.registry_client import parse_challenge
from ocimatrix.registries.redaction import redact, register_secret
from ocimatrix.registries.targets import RegistryTarget


class RegistryAuthError(HarnessError):
    """The registry's auth challenge could not be answered: the token endpoint refused or gave no
    token, or the registry refused the configured credentials.

    Auth is not part of the distribution-spec: credentials and a token service are the setup a
    user (or the harness) brings, so a cell that can't get in is an ``error`` naming the setup, never
    a ``failed`` blamed on the registry's conformance.
    """


_REPO_PATH = re.compile(r"^/v2/(?P<name>.+?)/(?:manifests|blobs|tags|referrers)/")


class RegistryAuth(httpx.Auth):
    """Answer a registry's 401 challenge once, then reuse the answer for that repository.

    Basic sends the credentials; Bearer fetches a token from the challenge's realm with its service
    and every scope it names (distribution lists several, space-separated, e.g. for a mount), using
    the credentials as Basic auth on the token request when there are any.
    """

    def __init__(self, target: RegistryTarget, on_token: Callable[[httpx.URL], None] | None = None) -> None:
        self.target = target
        self.on_token = on_token  # told the token URL (no secret in it) so a repro can show the fetch
        self._by_key: dict[str, str] = {}
        self._lock = threading.Lock()
        self.tokens_fetched = 0

    @staticmethod
    def _key(request: httpx.Request) -> str:
        match = _REPO_PATH.match(request.url.path)
        if not match:
            return request.url.path
        source = request.url.params.get("from")
        return f"{match['name']}|{source}" if source else match["name"]

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        if self.target.token:
            request.headers["Authorization"] = f"Bearer {self.target.token}"
            yield request
            return
        key = self._key(request)
        with self._lock:
            cached = self._by_key.get(key)
        if cached:
            request.headers["Authorization"] = cached
        response = yield request
        if response.status_code != 401:
            return
        scheme, params = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if self.target.auth_type == "none" or (scheme == "basic" and not self.target.credentials):
            raise RegistryAuthError(
                f"registry '{self.target.name}' answered 401 to {request.method} {request.url.path} and asks for "
                f"credentials ({response.headers.get('WWW-Authenticate', 'no challenge')!r}), but its settings give "
                "none: name them in the matrix's auth"
            )
        if scheme == "basic":
            header = self.target.credentials.basic_header()
        elif scheme == "bearer":
            token_request = self._token_request(params)
            token_response = yield token_request
            token_response.read()
            header = f"Bearer {self._token_from(token_response, token_request)}"
        else:
            return  # nothing we can answer: the 401 stands and the check reports it
        with self._lock:
            self._by_key[key] = header
        request.headers["Authorization"] = header
        response = yield request
        if response.status_code == 401:
            response.read()
            with self._lock:
                self._by_key.pop(key, None)
            body = response.content[:200].decode("utf-8", errors="replace")
            raise RegistryAuthError(
                f"registry '{self.target.name}' answered 401 to {request.method} {request.url.path} with the "
                f"configured credentials ({scheme} auth): check the credentials and their access to the namespace. "
                f"Its answer: {body!r}"
            )

    def _token_request(self, params: Mapping[str, str]) -> httpx.Request:
        realm = self.target.realm or params.get("realm", "")
        if not realm:
            raise RegistryAuthError(f"registry '{self.target.name}': Bearer challenge without a realm")
        query: list[tuple[str, str]] = []
        service = self.target.service or params.get("service", "")
        if service:
            query.append(("service", service))
        for scope in (*params.get("scope", "").split(), *self.target.extra_scopes):
            query.append(("scope", scope))
        if self.target.credentials:
            query.append(("account", self.target.credentials.username))
        headers = {"Authorization": self.target.credentials.basic_header()} if self.target.credentials else {}
        return httpx.Request("GET", realm, params=query, headers=headers)

    def _token_from(self, response: httpx.Response, request: httpx.Request) -> str:
        where = f"token endpoint {request.url.copy_with(query=None)}"
        if response.status_code != 200:
            raise RegistryAuthError(
                f"registry '{self.target.name}': {where} answered {response.status_code} {response.reason_phrase} "
                f"(check the credentials): {response.content[:200].decode('utf-8', errors='replace')!r}"
            )
        try:
            body = response.json()
        except ValueError:
            raise RegistryAuthError(f"registry '{self.target.name}': {where} did not answer JSON") from None
        token = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
        if not token:
            raise RegistryAuthError(f"registry '{self.target.name}': {where} answered without a token")
        register_secret(str(token))
        self.tokens_fetched += 1
        if self.on_token is not None:
            self.on_token(request.url)
        return str(token)


def http_client(
    target: RegistryTarget,
    timeout: float | None = None,
    auth: bool = True,
    on_token: Callable[[httpx.URL], None] | None = None,
) -> httpx.Client:
    """A client for ``target``: its TLS settings, its auth, and a timeout on every request."""
    seconds = target.timeout if timeout is None else timeout
    return httpx.Client(
        base_url=target.base_url,
        verify=target.ssl_verify(),
        timeout=httpx.Timeout(seconds, connect=min(seconds, 10.0)),
        auth=RegistryAuth(target, on_token) if auth else None,
        headers={"User-Agent": "ocimatrix-distribution"},
        follow_redirects=False,
    )


def require_answering(target: RegistryTarget, before: str) -> None:
    """One GET /v2/ (any status counts) before ``before`` starts: a registry down from the start is
    ServiceUnavailable (the cell is an error), named as such."""
    client = http_client(target, target.timeout, auth=False)
    try:
        client.get(target.base_url + "/v2/")
    except httpx.TransportError as exc:
        raise ServiceUnavailable(
            f"registry {target.base_url}", f"down before {before} started ({type(exc).__name__}: {redact(str(exc))})"
        ) from None
    finally:
        client.close()
