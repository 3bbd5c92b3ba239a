"""Registry targets: a matrix's ``registries:`` entry resolved into something a client can talk to.

A matrix names each registry by how to reach it (``url``, ``embedded: true|token|basic`` for the
harness's own, or ``image:`` for one started from a container image), the repository
``namespace`` the suites may write under, TLS settings and auth. Secrets never sit in the matrix:
``auth`` names environment variables (``username_env``, ``password_env``, ``token_env``) or a
``credentials_file`` (``user:password`` on the first line, a JSON ``{"username", "password"}``
file, or a Docker ``config.json``).

Everything a secret could leak through (repro lines, evidence, reasons, logs) goes through
``redact()``: every secret a target loads is registered here, and the plugin runs records through
it too, so a password never reaches ``results.json`` even by accident.

Public API (stable):

- ``RegistryTarget`` and ``resolve_target(name, settings, endpoints=None, env=None, started_url=None)``
- ``TargetUnavailable`` (the cell can't run here: skip it with the message)
- ``registry_settings_problems(settings)`` -> ``[(field path, message)]`` for the matrix checker
- ``RegistryAuth``: an ``httpx.Auth`` answering Basic and Bearer (realm/service/scope) challenges
- ``register_secret(text)``, ``redact(value)``: deep redaction of str/list/dict values
- ``http_client(target, timeout=None, auth=True)``: an ``httpx.Client`` with the target's TLS and auth
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shlex
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from ocimatrix.errors import OcimatrixError
from ocimatrix.oci.registry import Credentials, credentials_from_file, parse_challenge

AUTH_TYPES = ("none", "basic", "bearer")
AUTH_KEYS = {
    "type",
    "username_env",
    "password_env",
    "token_env",
    "credentials_file",
    "realm",
    "service",
    "scope",
}
EMBEDDED_KINDS = ("token", "basic")  # besides ``embedded: true``, the plain-HTTP registry
IMAGE_KEYS = {"ref", "build", "env", "command"}
BUILTIN_BUILDS = ("docker-registry",)
DEFAULT_NAMESPACE = "ocimatrix"
DEFAULT_TIMEOUT = 30.0
REDACTED = "***"
_NAMESPACE_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")


class TargetUnavailable(OcimatrixError):
    """The registry can't be reached from here (not started, secret not set): its cells skip."""


class RegistryAuthError(OcimatrixError):
    """The registry's auth challenge could not be answered (token endpoint refused, no token)."""


# --- redaction ----------------------------------------------------------------------------------

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


MIN_SECRET = 4  # shorter strings would turn every such letter of every report into ***


def register_secret(secret: str | None) -> None:
    """Remember ``secret`` so ``redact`` removes it from everything written afterwards."""
    if not secret or len(secret) < MIN_SECRET:
        return
    with _secrets_lock:
        _secrets.add(secret)


def _register_credentials(credentials: Credentials) -> None:
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


# --- targets ------------------------------------------------------------------------------------


@dataclass
class RegistryTarget:
    """One registry as the suites see it; ``repr`` and ``describe()`` never show a secret."""

    name: str
    base_url: str  # scheme://host[:port], no trailing slash
    namespace: str = DEFAULT_NAMESPACE
    auth_type: str = "none"
    credentials: Credentials | None = field(default=None, repr=False)
    token: str = field(default="", repr=False)  # a static bearer token (token_env)
    credentials_source: str = ""  # where the credentials came from, for the reader (never the values)
    user_env: str = ""  # the environment variables a repro line should reference
    password_env: str = ""
    realm: str = ""  # overrides for a registry whose challenge is wrong or missing
    service: str = ""
    extra_scopes: tuple[str, ...] = ()
    tls_verify: bool | str = True  # False, True or a CA bundle path
    timeout: float = DEFAULT_TIMEOUT
    description: str = ""
    version: str = ""  # the registry software's version when the harness knows it

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    @property
    def scheme(self) -> str:
        return urlsplit(self.base_url).scheme

    def describe(self) -> dict[str, Any]:
        """What a results reader may see about this target."""
        info: dict[str, Any] = {
            "name": self.name,
            "url": self.base_url,
            "namespace": self.namespace,
            "auth": self.auth_type,
        }
        if self.credentials_source:
            info["credentials"] = self.credentials_source
        if self.scheme == "https":
            info["tls_verify"] = self.tls_verify if isinstance(self.tls_verify, bool) else f"CA {self.tls_verify}"
        if self.version:
            info["version"] = self.version
        return info

    def ssl_verify(self) -> bool | ssl.SSLContext:
        if isinstance(self.tls_verify, str):
            return ssl.create_default_context(cafile=self.tls_verify)
        return self.tls_verify

    def curl_user_arg(self) -> str:
        """``"$USER_VAR:$PASSWORD_VAR"``: the reader supplies the values, the repro never holds them."""
        user = self.user_env or "OCIMATRIX_REGISTRY_USER"
        password = self.password_env or "OCIMATRIX_REGISTRY_PASSWORD"
        return f'"${user}:${password}"'

    def curl_auth_args(self) -> list[str]:
        """Shell words for curl's auth/TLS options, with secrets left to the reader's environment."""
        words: list[str] = []
        if self.scheme == "https":
            if self.tls_verify is False:
                words.append("-k")
            elif isinstance(self.tls_verify, str):
                words += ["--cacert", _shell_quote(self.tls_verify)]
        if self.auth_type == "basic" and self.credentials:
            words += ["-u", self.curl_user_arg()]
        elif self.auth_type == "bearer" and (self.credentials or self.token):
            words += ["-H", '"Authorization: Bearer $OCIMATRIX_REGISTRY_TOKEN"']
        return words


def _shell_quote(text: str) -> str:
    return shlex.quote(text)


def resolve_target(
    name: str,
    settings: Mapping[str, Any],
    endpoints: Any = None,
    env: Mapping[str, str] | None = None,
    started_url: str | None = None,
) -> RegistryTarget:
    """Turn the matrix entry ``settings`` of registry ``name`` into a target.

    ``endpoints`` is the embedded services' ``Endpoints`` (needed for ``embedded:``);
    ``started_url`` is the base URL of the container an ``image:`` entry started.
    """
    env = os.environ if env is None else env
    settings = dict(settings)
    embedded = settings.get("embedded")
    version = ""
    if embedded is True or embedded == "true":
        if endpoints is None or not getattr(endpoints, "registry", ""):
            why = (getattr(endpoints, "errors", {}) or {}).get("registry", "the embedded services are not running")
            raise TargetUnavailable(f"registry '{name}': the embedded registry is not available: {why}")
        settings.setdefault("url", f"http://{endpoints.registry}")
        version = getattr(endpoints, "registry_version", "") or ""
    elif embedded in EMBEDDED_KINDS:
        started = (getattr(endpoints, "registries", None) or {}).get(embedded) if endpoints is not None else None
        if not started:
            errors = getattr(endpoints, "errors", {}) or {}
            why = errors.get(f"registry-{embedded}") or "the embedded services did not start it"
            raise TargetUnavailable(f"registry '{name}': the embedded {embedded}-auth registry is not available: {why}")
        merged = dict(started)
        merged.update({k: v for k, v in settings.items() if k not in ("embedded", "url", "auth", "tls_verify")})
        settings = merged
        version = str(started.get("version", ""))
    elif settings.get("image"):
        if not started_url:
            raise TargetUnavailable(f"registry '{name}': its container image has not been started")
        settings["url"] = started_url
        settings.setdefault("plain_http", True)
    url = str(settings.get("url") or "")
    if not url:
        raise TargetUnavailable(f"registry '{name}' has no url")
    base_url = _base_url(url, bool(settings.get("plain_http")))
    tls_verify = _tls_verify(settings.get("tls_verify", True))
    if isinstance(tls_verify, str) and not Path(tls_verify).is_file():
        raise TargetUnavailable(f"registry '{name}': tls_verify names {tls_verify}, which is not a readable file")
    target = RegistryTarget(
        name=name,
        base_url=base_url,
        namespace=str(settings.get("namespace") or DEFAULT_NAMESPACE).strip("/"),
        tls_verify=tls_verify,
        description=str(settings.get("description") or ""),
        version=str(settings.get("version") or version),
    )
    _apply_auth(target, settings.get("auth") or {"type": "none"}, env)
    return target


def _base_url(url: str, plain_http: bool) -> str:
    if "://" not in url:
        url = f"{'http' if plain_http else 'https'}://{url}"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _tls_verify(value: Any) -> bool | str:
    if isinstance(value, str) and value.lower() not in ("true", "false"):
        return str(Path(value).expanduser())
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def _apply_auth(target: RegistryTarget, auth: Mapping[str, Any], env: Mapping[str, str]) -> None:
    kind = str(auth.get("type") or "none")
    target.auth_type = kind
    target.realm = str(auth.get("realm") or "")
    target.service = str(auth.get("service") or "")
    scope = auth.get("scope") or ()
    target.extra_scopes = tuple(scope.split()) if isinstance(scope, str) else tuple(str(s) for s in scope)
    if kind == "none":
        return
    where = f"registry '{target.name}'"
    token_env = auth.get("token_env")
    if token_env:
        token = env.get(str(token_env), "")
        if not token:
            raise TargetUnavailable(f"{where}: auth.token_env names {token_env}, which is not set")
        register_secret(token)
        target.token = token
        target.credentials_source = f"token from ${token_env}"
        return
    credentials: Credentials | None = None
    user_env, password_env = auth.get("username_env"), auth.get("password_env")
    if user_env or password_env:
        missing = [v for v in (user_env, password_env) if v and not env.get(str(v))]
        if missing:
            raise TargetUnavailable(f"{where}: auth names {', '.join(map(str, missing))}, which is not set")
        credentials = Credentials(env.get(str(user_env), "") if user_env else "", env.get(str(password_env), ""))
        target.credentials_source = f"${user_env} / ${password_env}"
        target.user_env, target.password_env = str(user_env or ""), str(password_env or "")
    elif auth.get("credentials_file"):
        path = Path(str(auth["credentials_file"])).expanduser()
        credentials = load_credentials_file(path, target.host)
        if credentials is None:
            raise TargetUnavailable(f"{where}: {path} has no credentials for {target.host}")
        target.credentials_source = f"file {path}"
    if credentials is None and kind == "basic":
        raise TargetUnavailable(f"{where}: basic auth needs username_env/password_env or credentials_file")
    if credentials is not None:
        _register_credentials(credentials)
    target.credentials = credentials


def load_credentials_file(path: Path, host: str) -> Credentials | None:
    """``{"username": ..., "password": ...}``, or whatever ``credentials_from_file`` reads."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TargetUnavailable(f"cannot read credentials file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and "username" in data:
        return Credentials(str(data["username"]), str(data.get("password", "")))
    try:
        return credentials_from_file(path, host)
    except OcimatrixError as exc:
        raise TargetUnavailable(str(exc)) from None


# --- matrix validation --------------------------------------------------------------------------


def registry_settings_problems(settings: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """What is wrong with one ``registries:`` entry, as (field path below the entry, message)."""
    problems: list[tuple[tuple[str, ...], str]] = []
    embedded = settings.get("embedded")
    if embedded is not None and embedded is not True and embedded is not False and embedded not in EMBEDDED_KINDS:
        problems.append((("embedded",), f"expected true or one of: {', '.join(EMBEDDED_KINDS)}"))
    port = settings.get("port")
    if port is not None:
        if embedded is not True:
            problems.append((("port",), "only the plain embedded registry (embedded: true) takes a fixed port"))
        elif isinstance(port, bool) or not isinstance(port, int) or not 1024 <= port <= 65535:
            problems.append((("port",), "expected a port number from 1024 to 65535"))
    namespace = settings.get("namespace")
    if namespace is not None and (not isinstance(namespace, str) or not _NAMESPACE_RE.match(namespace)):
        problems.append((("namespace",), "expected repository path components like 'myorg/ci' (lowercase)"))
    tls = settings.get("tls_verify")
    if tls is not None and not isinstance(tls, bool | str):
        problems.append((("tls_verify",), "expected true, false or the path of a CA bundle"))
    auth = settings.get("auth")
    if isinstance(auth, Mapping):
        for key in auth:
            if key not in AUTH_KEYS:
                problems.append((("auth", str(key)), f"unknown key; expected one of: {', '.join(sorted(AUTH_KEYS))}"))
        for key in ("username_env", "password_env", "token_env"):
            value = auth.get(key)
            if value is not None and (not isinstance(value, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value)):
                problems.append((("auth", key), "expected the NAME of an environment variable"))
    image = settings.get("image")
    if image is not None and not isinstance(image, str):
        if not isinstance(image, Mapping):
            problems.append((("image",), "expected an image reference or {ref, build, env, command}"))
        else:
            for key in image:
                if key not in IMAGE_KEYS:
                    problems.append(
                        (
                            ("image", str(key)),
                            f"unknown key; expected one of: {', '.join(sorted(IMAGE_KEYS))}",
                        )
                    )
            if not image.get("ref") and not image.get("build"):
                problems.append((("image",), f"needs 'ref' or 'build' ({', '.join(BUILTIN_BUILDS)})"))
            if image.get("build") and image["build"] not in BUILTIN_BUILDS:
                problems.append((("image", "build"), f"unknown build; known: {', '.join(BUILTIN_BUILDS)}"))
    return problems


# --- HTTP auth ----------------------------------------------------------------------------------

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
        if response.status_code != 401 or self.target.auth_type == "none":
            return
        scheme, params = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if scheme == "basic" and self.target.credentials:
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
        yield request

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
                f"registry '{self.target.name}': {where} answered {response.status_code} (check the credentials)"
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


# --- a process's registries ---------------------------------------------------------------------


class RegistryPool:
    """The matrix's registries for one process (one xdist worker): each resolved once, image-based
    ones started on first use and stopped by ``close()``; a registry that can't be had is
    remembered with its reason, so every cell naming it skips with the same message."""

    def __init__(
        self,
        registries: Mapping[str, Mapping[str, Any]],
        endpoints: Callable[[], Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.registries = registries
        self._endpoints = endpoints
        self.env = env
        self._targets: dict[str, RegistryTarget] = {}
        self._unavailable: dict[str, str] = {}
        self._containers: list[Any] = []

    def endpoints(self) -> Any:
        return self._endpoints() if self._endpoints else None

    def target(self, name: str) -> RegistryTarget:
        if name in self._unavailable:
            raise TargetUnavailable(self._unavailable[name])
        if name not in self._targets:
            try:
                self._targets[name] = self._resolve(name)
            except OcimatrixError as exc:
                self._unavailable[name] = str(exc)
                raise TargetUnavailable(str(exc)) from None
        return self._targets[name]

    def _resolve(self, name: str) -> RegistryTarget:
        if name not in self.registries:
            raise TargetUnavailable(f"registry '{name}' is not defined under 'registries' in the matrix")
        settings = self.registries[name]
        endpoints = self.endpoints() if settings.get("embedded") or settings.get("image") else None
        started_url = None
        if settings.get("image"):
            started_url = self._start_container(name, settings["image"], endpoints)
        target = resolve_target(name, settings, endpoints, self.env, started_url)
        if settings.get("embedded") is True and not target.version:
            from ocimatrix.host.auth_registries import registry_version

            target.version = registry_version()
        return target

    def _start_container(self, name: str, image: Any, endpoints: Any) -> str:
        from ocimatrix.host.registry_image import ContainerRegistry

        docker = getattr(endpoints, "docker", "") if endpoints is not None else ""
        if not docker:
            why = (getattr(endpoints, "errors", {}) or {}).get("docker", "no dockerd endpoint")
            raise TargetUnavailable(f"registry '{name}' runs from an image, but there is no dockerd here: {why}")
        container = ContainerRegistry(image, docker)
        try:
            url = container.start()
        except Exception as exc:  # noqa: BLE001 - docker and testcontainers raise many kinds
            raise TargetUnavailable(f"registry '{name}': its container did not start: {exc}") from None
        self._containers.append(container)
        return url

    def close(self) -> None:
        for container in self._containers:
            with contextlib.suppress(Exception):  # the state sweep removes what is left
                container.stop()
        self._containers.clear()
