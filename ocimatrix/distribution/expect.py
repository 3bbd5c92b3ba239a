"""Assertions on registry answers, each failing with a sentence a registry vendor can act on.

Every message names the step, the request (``PUT /v2/<name>/manifests/<ref>``), what the spec
requires and what came back, with the start of the body when it helps; 5xx answers are called out
as server errors, their body kept as evidence; every 4XX answer to a request with a body to read
MUST carry the spec's JSON error object (``schemas/distribution/error.schema.json``) with a code of
the spec's table; a 400 refusing an optional feature MUST say ``UNSUPPORTED``; an error body that
discloses server file paths fails the check on its own (``disclosure``).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from functools import cache
from typing import Any, NoReturn

import httpx
from jsonschema import Draft202012Validator

from ocimatrix import evidence
from ocimatrix.distribution.client import CheckFailed, path_of
from ocimatrix.distribution.disclosure import body_text, disclosed_paths
from ocimatrix.oci.digest import digest_bytes
from ocimatrix.oci.schemas import schema_dir
from ocimatrix.registries import redact

BODY_EXCERPT = 300


@cache
def _validator(name: str) -> Draft202012Validator:
    root = schema_dir() / "distribution"
    schema = json.loads((root / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_problems(name: str, document: Any) -> list[str]:
    """Every way ``document`` breaks ``schemas/distribution/<name>.schema.json``, one line each."""
    problems = []
    for error in sorted(_validator(name).iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        problems.append(f"{where}: {error.message[:200]}")
    return problems


def excerpt(response: httpx.Response) -> str:
    try:
        body = response.content
    except httpx.ResponseNotRead:
        return ""
    if not body:
        return "(empty body)"
    text = body[:BODY_EXCERPT].decode("utf-8", errors="replace")
    more = " ..." if len(body) > BODY_EXCERPT else ""
    return redact(repr(text) + more)


def request_line(response: httpx.Response) -> str:
    return f"{response.request.method} {path_of(str(response.request.url))}"


def registry_answer(response: httpx.Response, *headers: str) -> str:
    """The registry's own answer, as a listed known incompatibility's ``match:`` reads it:
    ``"<status> <reason>"``, then each header at issue (``Range: 0-19``, ``(absent)`` when missing),
    then ``body: <excerpt>``."""
    parts = [f"{response.status_code} {response.reason_phrase}".rstrip()]
    parts += [f"{name}: {response.headers.get(name, '(absent)')}" for name in headers]
    body = excerpt(response)
    parts.append(f"body: {body or '(not read)'}")
    return redact("; ".join(parts))


def fail(response: httpx.Response, what: str, message: str, *headers: str) -> NoReturn:
    """Fail the check at step ``what`` with ``message``, keeping the registry's answer to it beside it."""
    raise CheckFailed(message, step=what, answer=registry_answer(response, *headers))


def note(key: str, value: Any) -> None:
    """Evidence for the results record (what the registry did, beyond pass/fail)."""
    evidence.current().add(key, redact(value))


def status(response: httpx.Response, expected: int | Collection[int], what: str, rule: str = "") -> int:
    allowed = {expected} if isinstance(expected, int) else set(expected)
    code = response.status_code
    if code in allowed:
        return code
    if isinstance(expected, range):
        want = f"a status in {expected.start}-{expected.stop - 1}"
    else:
        want = " or ".join(str(c) for c in sorted(allowed))
    because = f" ({rule})" if rule else ""
    if code >= 500:
        note("server_error", {"request": request_line(response), "status": code, "body": excerpt(response)})
        fail(
            response,
            what,
            f"{what}: {request_line(response)} answered {code} {response.reason_phrase} (a server error); "
            f"expected {want}{because}. Body: {excerpt(response)}{_disclosure_sentence(response)}",
        )
    fail(
        response,
        what,
        f"{what}: {request_line(response)} answered {code} {response.reason_phrase}; "
        f"expected {want}{because}. "
        f"Body: {excerpt(response)}",
    )


def _disclosure_sentence(response: httpx.Response) -> str:
    paths = disclosed_paths(body_text(_content(response)))
    return f". The body also discloses server file paths: {', '.join(paths)}" if paths else ""


def _content(response: httpx.Response) -> bytes:
    try:
        return response.content
    except httpx.ResponseNotRead:
        return b""


def no_disclosure(response: httpx.Response, what: str) -> None:
    """An answer's body MUST NOT tell clients where the server keeps its files or its source."""
    paths = disclosed_paths(body_text(_content(response)))
    if paths:
        note("disclosed_paths", {"request": request_line(response), "paths": paths})
        fail(
            response,
            what,
            f"{what}: {request_line(response)} answered {response.status_code} with a body that discloses server "
            f"file paths ({', '.join(paths)}); error messages must not reveal the server's layout. "
            f"Body: {excerpt(response)}",
        )


def header(response: httpx.Response, name: str, what: str, rule: str = "") -> str:
    value = response.headers.get(name)
    if not value:
        because = f" ({rule})" if rule else ""
        fail(
            response,
            what,
            f"{what}: {request_line(response)} answered {response.status_code} without a {name} header{because}",
            name,
        )
    return value


def media_type(response: httpx.Response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip()


def json_body(response: httpx.Response, what: str) -> Any:
    """The body as JSON, of any shape: callers that index into it use ``json_object``."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        fail(
            response,
            what,
            f"{what}: {request_line(response)} answered {response.status_code} with a body that is not JSON: "
            f"{excerpt(response)}",
            "Content-Type",
        )


def json_object(response: httpx.Response, what: str, fields: dict[str, type] | None = None) -> dict[str, Any]:
    """The body as a JSON object whose ``fields`` (when present) have those types: where the spec
    requires a JSON document, any other body is the registry's wrong answer (failed), never a
    ``KeyError`` or ``AttributeError`` of the harness's (error)."""
    document = json_body(response, what)
    if not isinstance(document, dict):
        fail(
            response,
            what,
            f"{what}: {request_line(response)} answered {response.status_code} with JSON that is not an object "
            f"({type(document).__name__}): {excerpt(response)}",
        )
    for name, kind in (fields or {}).items():
        value = document.get(name)
        if value is not None and not isinstance(value, kind):
            fail(
                response,
                what,
                f"{what}: {request_line(response)} answered {response.status_code} with {name!r} of type "
                f"{type(value).__name__}, not {kind.__name__}: {excerpt(response)}",
            )
    return document


def descriptors(response: httpx.Response, what: str, document: dict[str, Any]) -> list[dict[str, Any]]:
    """An image index's ``manifests``, each a JSON object (a list of anything else fails the check)."""
    listed = document.get("manifests") or []
    if not isinstance(listed, list) or not all(
        isinstance(item, dict) and isinstance(item.get("digest", ""), str) for item in listed
    ):
        fail(
            response,
            what,
            f"{what}: 'manifests' of the image index is not a list of descriptors: {excerpt(response)}",
        )
    return listed


def body_digest(response: httpx.Response, expected: str, what: str, size: int | None = None) -> None:
    """The body hashes to ``expected`` (and has ``size`` bytes): the registry served the right bytes."""
    actual = str(digest_bytes(response.content, expected.split(":", 1)[0]))
    if actual != expected:
        raise CheckFailed(
            f"{what}: {request_line(response)} served {len(response.content)} bytes hashing to {actual}, "
            f"not the requested {expected}: the registry returned the wrong or corrupted content",
            step=what,
            answer=f"{registry_answer(response)}; {len(response.content)} bytes hashing to {actual}",
        )
    if size is not None and len(response.content) != size:
        raise CheckFailed(
            f"{what}: {request_line(response)} served {len(response.content)} bytes, expected {size}",
            step=what,
            answer=f"{registry_answer(response)}; {len(response.content)} bytes",
        )


def digest_header(response: httpx.Response, expected: str, what: str) -> None:
    """``Docker-Content-Digest``, when present, MUST name the content; its absence is only noted."""
    value = response.headers.get("Docker-Content-Digest")
    if value is None:
        note("docker_content_digest", f"absent on {request_line(response)} (the spec says SHOULD)")
        return
    if value.strip() != expected:
        fail(
            response,
            what,
            f"{what}: {request_line(response)} answered Docker-Content-Digest: {value!r}, but the content is "
            f"{expected}: the header MUST match the content",
            "Docker-Content-Digest",
        )


def content_length(response: httpx.Response, expected: int, what: str) -> None:
    value = response.headers.get("Content-Length")
    if value is None:
        note("content_length", f"absent on {request_line(response)}")
        return
    if value.strip() != str(expected):
        fail(
            response,
            what,
            f"{what}: {request_line(response)} answered Content-Length: {value}, but the content is {expected} bytes",
            "Content-Length",
        )


def error_body(response: httpx.Response, what: str, codes: Collection[str] = ()) -> list[str] | None:
    """Check a 4XX body: the spec's JSON error object, codes from its table, no server paths.

    Returns the error codes (None for a HEAD, whose answer has no body). When ``codes`` is given, at
    least one returned code must be among them.
    """
    if response.request.method == "HEAD":
        return None  # a HEAD answer has no body to check
    no_disclosure(response, what)
    body = response.content
    if not body.strip():
        fail(
            response,
            what,
            f"{what}: {request_line(response)} answered {response.status_code} with an empty body; a 4XX answer "
            "must carry a JSON error object with a code from the spec's table (distribution-spec §Error Codes)",
        )
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        fail(
            response,
            what,
            f"{what}: {request_line(response)} answered {response.status_code} with a body that is not JSON "
            f"({media_type(response) or 'no Content-Type'}): {excerpt(response)}; a 4XX answer must carry the "
            "spec's JSON error object (distribution-spec §Error Codes)",
            "Content-Type",
        )
    problems = schema_problems("error", document)
    if problems:
        fail(
            response,
            what,
            f"{what}: {request_line(response)} answered {response.status_code} "
            "with a JSON error body that breaks "
            f"the spec's error format (distribution-spec §Error Codes): {'; '.join(problems[:5])}. "
            f"Body: {excerpt(response)}",
        )
    found = [e["code"] for e in document["errors"]]
    if codes and not set(found) & set(codes):
        fail(
            response,
            what,
            f"{what}: {request_line(response)} answered {response.status_code} with error code(s) "
            f"{', '.join(found)}; expected {' or '.join(sorted(codes))}",
        )
    return found


def _codes_if_any(response: httpx.Response) -> list[str]:
    """The error codes of a body that happens to be the spec's error object; none for anything else."""
    try:
        document = json.loads(_content(response) or b"null")
    except (ValueError, UnicodeDecodeError):
        return []
    if schema_problems("error", document):
        return []
    return [e["code"] for e in document["errors"]]


def refusal_of_optional_feature(response: httpx.Response, what: str, feature: str) -> str:
    """A 405, or a 400 saying UNSUPPORTED, refusing ``feature``: returns the answer for the skip reason.

    The 405 is the registry's own declaration that the feature is disabled, lawful with any body or
    none (the spec asks nothing of it, and the official suite takes a bare 405 as well); only a body
    disclosing server paths fails it. A 400 is lawful only with the code UNSUPPORTED, since a client
    can't tell any other 400 from a refusal of its own request.
    """
    if response.status_code == 405:
        no_disclosure(response, what)
        codes = _codes_if_any(response)
        return f"405 {', '.join(codes) if codes else response.reason_phrase or 'Method Not Allowed'}"
    codes = error_body(response, what) or []
    if "UNSUPPORTED" not in codes:
        fail(
            response,
            what,
            f"{what}: {request_line(response)} refused {feature} with {response.status_code} and error code(s) "
            f"{', '.join(codes)}; a registry that does not support it MUST answer 405, or 400 with the code "
            "UNSUPPORTED (distribution-spec §Content Management). Body: " + excerpt(response),
        )
    return f"{response.status_code} {', '.join(codes)}"
