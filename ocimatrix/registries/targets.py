"""Registry targets: a matrix's ``registries:`` entry, checked and resolved into something a client
can talk to.

A matrix names each registry by how to reach it (``url``, ``embedded: true|token|basic`` for the
harness's own, ``embedded: true`` with ``generation: trixie`` for the registry of a generation's root,
``embedded: crane`` with ``generation: sid`` for go-containerregistry's registry from that root's crane,
or ``image:`` for one started from a container image), the repository
``namespace`` the suites may write under, TLS settings and auth. Secrets never sit in the matrix:
``auth`` names environment variables (``username_env``, ``password_env``, ``token_env``) or a
``credentials_file`` (``user:password`` on the first line, a JSON ``{"username", "password"}``
file, or a Docker ``config.json``). Every secret a target loads is registered with
``ocimatrix.registries.redaction``, so nothing the harness writes shows it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ocimatrix.errors import OcimatrixError
from ocimatrix.oci.registry_client import Credentials, credentials_from_file
from ocimatrix.registries.redaction import register_credentials, register_secret
from ocimatrix.tools import catalog

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
# Registry implementations other than distribution's, each run from a generation's root: the tool's
# catalog name, which ``embedded:`` names and whose generations ``generation:`` must be among.
EMBEDDED_IMPLEMENTATIONS = catalog.registry_implementations()
IMAGE_KEYS = {"ref", "build", "env", "command"}
BUILTIN_BUILDS = ("docker-registry",)
DEFAULT_NAMESPACE = "ocimatrix"
DEFAULT_TIMEOUT = 30.0
_NAMESPACE_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")


class TargetUnavailable(OcimatrixError):
    """The registry can't be reached from here (not started, secret not set): its cells skip."""


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
    # One blob store for every repository: deleting a blob in one repository deletes it in the others.
    blobs_shared: bool = False

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
    if (embedded is True or embedded == "true") and settings.get("generation"):
        settings["url"] = f"http://{_generation_registry(name, str(settings['generation']), endpoints)}"
        site = endpoints.site(str(settings["generation"]))
        version = site.version_of("registry")
    elif embedded is True or embedded == "true":
        if endpoints is None or not getattr(endpoints, "registry", ""):
            why = (getattr(endpoints, "errors", {}) or {}).get("registry", "the embedded services are not running")
            raise TargetUnavailable(f"registry '{name}': the embedded registry is not available: {why}")
        settings.setdefault("url", f"http://{endpoints.registry}")
        version = getattr(endpoints, "registry_version", "") or ""
    elif embedded in EMBEDDED_IMPLEMENTATIONS:
        settings = _implementation_settings(
            name, str(embedded), str(settings.get("generation") or ""), settings, endpoints
        )
        version = str(settings.get("version") or "")
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
        # One blob store for every repository: a blob DELETE in one repository removes it from all.
        # Asked of the catalog line itself: a bare name is this host's generation, which crane's line lacks.
        blobs_shared=any(t.capabilities.shared_blobs for t in catalog.TOOLS if t.name == embedded),
    )
    _apply_auth(target, settings.get("auth") or {"type": "none"}, env)
    return target


def _implementation_settings(
    name: str, tool: str, generation: str, settings: Mapping[str, Any], endpoints: Any
) -> dict[str, Any]:
    """The settings of registry implementation ``tool`` the run started from ``generation``'s root
    (recorded in ``Endpoints.registries`` under ``tool@generation``), the matrix's own on top."""
    from ocimatrix.tools.catalog import spelled

    key = spelled(tool, generation)
    started = (getattr(endpoints, "registries", None) or {}).get(key) if endpoints is not None else None
    if not started:
        errors = getattr(endpoints, "errors", {}) or {}
        why = errors.get(key) or errors.get(f"generation {generation}") or f"this run did not start {key}"
        raise TargetUnavailable(
            f"registry '{name}': {tool}'s registry from generation {generation} is not available: {why}"
        )
    merged = dict(started)
    merged.update({k: v for k, v in settings.items() if k not in ("embedded", "generation", "url", "plain_http")})
    return merged


def _generation_registry(name: str, generation: str, endpoints: Any) -> str:
    """127.0.0.1:PORT of the registry the run started from ``generation``'s root."""
    from ocimatrix.errors import ServiceUnavailable

    try:
        address = endpoints.site(generation).registry if endpoints is not None else ""
    except ServiceUnavailable as exc:
        raise TargetUnavailable(f"registry '{name}': generation {generation} is not running: {exc}") from None
    if not address:
        raise TargetUnavailable(f"registry '{name}': generation {generation} started no registry")
    return address


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
        register_credentials(credentials)
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


def _implementation_problems(tool: str, settings: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """An ``embedded: crane`` entry: a generation whose root has the tool, nothing a started one can't honour."""
    from ocimatrix.tools.catalog import generations_of

    problems: list[tuple[tuple[str, ...], str]] = []
    known = generations_of(tool)
    generation = settings.get("generation")
    if generation is None:
        problems.append(
            (("generation",), f"{tool}'s registry runs from a generation's root; expected one of: {', '.join(known)}")
        )
    elif generation not in known:
        problems.append(
            (("generation",), f"{tool} has no generation {generation!r}; expected one of: {', '.join(known)}")
        )
    for key, why in (
        ("port", "takes a free port"),
        ("url", "is started by the harness: it has no url"),
        ("auth", "serves without auth"),
        ("tls_verify", "serves plain HTTP"),
        ("image", "is no container image"),
    ):
        if settings.get(key) is not None:
            problems.append(((key,), f"{tool}'s registry {why}"))
    return problems


def registry_settings_problems(settings: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """What is wrong with one ``registries:`` entry, as (field path below the entry, message)."""
    problems: list[tuple[tuple[str, ...], str]] = []
    embedded = settings.get("embedded")
    kinds = (*EMBEDDED_KINDS, *EMBEDDED_IMPLEMENTATIONS)
    if embedded is not None and embedded is not True and embedded is not False and embedded not in kinds:
        problems.append((("embedded",), f"expected true or one of: {', '.join(kinds)}"))
    generation = settings.get("generation")
    if embedded in EMBEDDED_IMPLEMENTATIONS:
        problems += _implementation_problems(str(embedded), settings)
    elif generation is not None:
        from ocimatrix.tools.generations import ROOT_GENERATIONS

        if embedded is not True:
            problems.append((("generation",), "only the plain embedded registry (embedded: true) has a generation"))
        elif generation not in ROOT_GENERATIONS:
            problems.append((("generation",), f"expected one of: {', '.join(ROOT_GENERATIONS)}"))
        if settings.get("port") is not None:
            problems.append((("port",), "a generation's registry takes a free port; only this host's is fixed"))
    port = settings.get("port")
    if port is not None and generation is None and embedded not in EMBEDDED_IMPLEMENTATIONS:
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
