"""HTTP for the conformance checks: raw responses, a timeout on every request, a curl line for each.

The checks need to see exactly what the registry answered (status, headers, bytes), so this is
not a convenient client but a recording one: every request becomes an equivalent ``curl`` command
in the test's repro (credentials left as ``$OCIMATRIX_REGISTRY_USER``/``...PASSWORD``), and a
registry that hangs, resets the connection or can't be reached ends the check with a sentence
saying so instead of a traceback.

A registry that does not answer at all (connection refused or reset, no connection before the
deadline, or a request left unanswered while a fresh ``GET /v2/`` goes unanswered too) is not a spec
violation but a service that is gone: that raises ``ServiceUnavailable`` naming the registry, so the
cell is an ``error`` and never a ``failed``, a skip, or a known incompatibility "confirmed" by
silence. A registry that still answers ``GET /v2/`` but left this request unanswered past the
deadline, or answered it with a broken HTTP message, answered it wrongly: ``CheckFailed``.
Credentials it refuses, or a token endpoint that gives no token, are the setup's problem
(``RegistryAuthError``, a ``HarnessError``): ``error`` too.
"""

from __future__ import annotations

import base64
import shlex
import string
from collections.abc import Mapping
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import httpx

from ocimatrix import evidence
from ocimatrix.errors import ImplementationFailure, ServiceUnavailable
from ocimatrix.registries import RegistryTarget, http_client, redact

INLINE_TEXT_LIMIT = 4096  # bodies up to this size go into the curl line as text
INLINE_BINARY_LIMIT = 65536  # binary ones up to this size as base64 piped into curl
_PRINTABLE = set(string.printable) - set("\x0b\x0c")


class CheckFailed(ImplementationFailure):
    """The registry did something the spec forbids, or failed to do what it requires.

    ``step`` is the check's step (the ``what`` every request is made with) and ``answer`` the
    registry's own answer to it: ``"<status> <reason>"``, the header at issue when there is one, and
    the start of the body (``expect.registry_answer``). A listed known incompatibility is matched against
    these two only, so a 500 to a setup push can never stand for "500 on a malformed digest".
    """

    def __init__(self, message: str, *, step: str, answer: str) -> None:
        super().__init__(message, step=step, answer=answer)


class NotApplicable(Exception):  # noqa: N818 - reads as what it is: "this check is not applicable"
    """The registry lawfully lacks an optional feature the check needs (the cell is skipped)."""


def with_query(url: str, query: Mapping[str, str] | None) -> str:
    """``url`` with ``query`` appended, keeping what is there (upload URLs carry state in their query)."""
    if not query:
        return url
    parts = urlsplit(url)
    extra = urlencode(list(query.items()), safe=":/")
    merged = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, merged, parts.fragment))


def path_of(url: str, query_limit: int = 80) -> str:
    """The path and query of ``url``, for messages; long query values (upload state) are shortened."""
    parts = urlsplit(url)
    if not parts.query:
        return parts.path
    shown = []
    for pair in parts.query.split("&"):
        key, _, value = pair.partition("=")
        shown.append(f"{key}={value[:query_limit]}..." if len(value) > query_limit + 3 else pair)
    return f"{parts.path}?{'&'.join(shown)}"


class DistributionClient:
    def __init__(self, target: RegistryTarget, timeout: float | None = None, auth: bool = True) -> None:
        self.target = target
        self.timeout = target.timeout if timeout is None else timeout
        self.http = http_client(target, self.timeout, auth=auth, on_token=self._token_fetched)
        self.exchanges: list[str] = []  # "METHOD path -> status", for the evidence

    def close(self) -> None:
        self.http.close()

    def url(self, path_or_url: str) -> str:
        """Absolute URL for an API path or a Location header (which may be relative)."""
        return urljoin(self.target.base_url + "/", path_or_url)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        what: str,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        url = with_query(self.url(path_or_url), query)
        sent_headers = dict(headers or {})
        if content is not None:
            sent_headers.setdefault("Content-Length", str(len(content)))
        self._record(method, url, sent_headers, content)
        try:
            response = self.http.request(method, url, headers=sent_headers, content=content)
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            self.exchanges.append(f"{method} {path_of(url)} -> {type(exc).__name__}")
            raise self._unavailable(what, method, url, f"no connection within {self.timeout:g}s") from None
        except httpx.TimeoutException:
            self.exchanges.append(f"{method} {path_of(url)} -> timeout")
            late = f"no complete answer within {self.timeout:g}s (timeout)"
            if self.alive():
                # It answers a fresh GET /v2/ in time: this request's answer was the late one, the
                # registry's doing (as a CRI call past the kubelet's deadline is the runtime's).
                raise CheckFailed(
                    f"{what}: {method} {path_of(url)} got {late}, while the registry answers other requests",
                    step=what,
                    answer=late,
                ) from None
            raise self._unavailable(what, method, url, late) from None
        except httpx.TransportError as exc:
            self.exchanges.append(f"{method} {path_of(url)} -> {type(exc).__name__}")
            detail = f"{type(exc).__name__}: {redact(str(exc)) or type(exc).__name__}"
            if isinstance(exc, httpx.RemoteProtocolError) and self.alive():
                # It answers a fresh connection: the broken message was this request's answer, not an outage.
                raise CheckFailed(
                    f"{what}: {method} {path_of(url)} got a broken HTTP answer ({detail}), while the registry "
                    "answers other requests: the registry sent an invalid HTTP message for this request",
                    step=what,
                    answer=f"broken HTTP message: {detail}",
                ) from None
            raise self._unavailable(what, method, url, detail) from None
        self.exchanges.append(f"{method} {path_of(url)} -> {response.status_code}")
        return response

    def alive(self) -> bool:
        """Whether the registry answers GET /v2/ on a fresh connection within the client's deadline
        (any status counts): one that does not is gone, whatever the request before said."""
        try:
            with httpx.Client(verify=self.target.ssl_verify(), timeout=min(self.timeout, 5.0)) as probe:
                probe.get(self.target.base_url + "/v2/")
        except httpx.HTTPError:
            return False
        return True

    def _unavailable(self, what: str, method: str, url: str, detail: str) -> ServiceUnavailable:
        return ServiceUnavailable(f"registry {self.target.base_url}", f"{what}: {method} {path_of(url)}: {detail}")

    # --- repro ---------------------------------------------------------------------------------

    def _record(self, method: str, url: str, headers: Mapping[str, str], content: bytes | None) -> None:
        words = ["curl", "-sS", "-i"]
        if method == "HEAD":
            words.append("-I")
        elif method != "GET":
            words += ["-X", method]
        words += self.target.curl_auth_args()
        for name, value in headers.items():
            if name.lower() != "content-length":
                words += ["-H", shlex.quote(f"{name}: {value}")]
        prefix = ""
        if content:
            if len(content) <= INLINE_TEXT_LIMIT and _is_text(content):
                words += ["--data-binary", shlex.quote(content.decode())]
            elif len(content) <= INLINE_BINARY_LIMIT:
                prefix = f"printf %s {base64.b64encode(content).decode()} | base64 -d | "
                words += ["--data-binary", "@-"]
            else:
                words += ["--data-binary", f"@body-{len(content)}-bytes.bin"]
        words.append(shlex.quote(url))
        line = redact(prefix + " ".join(words))
        recorder = evidence.current()
        if line not in recorder.repro:
            recorder.repro.append(line)

    def _token_fetched(self, token_url: httpx.URL) -> None:
        auth = f"-u {self.target.curl_user_arg()} " if self.target.credentials else ""
        line = (
            f"OCIMATRIX_REGISTRY_TOKEN=$(curl -sS {auth}{shlex.quote(str(token_url))}"
            " | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"token\"])')"
        )
        # The fetch happens inside the request just recorded: show it before that request.
        repro = evidence.current().repro
        repro.insert(max(len(repro) - 1, 0), redact(line))


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return False
    return all(ch in _PRINTABLE for ch in text)
