"""Read a claims file: YAML, checked against schemas/claims.schema.json, then for what a schema can't
say (version ranges, regular expressions, files that must exist). Every problem is reported as
``file:line: field 'a.b.0': problem``, as matrix files are, and the CLI exits 2.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from ocimatrix.claims.catalog import REQUIREMENTS
from ocimatrix.claims.model import (
    ClaimsFile,
    CriClaims,
    EngineClaim,
    ImageClaims,
    ImageSource,
    RegistryClaims,
    RuntimeClaims,
)
from ocimatrix.errors import UsageError
from ocimatrix.matrix import KNOWN_PLATFORMS, YamlLocations
from ocimatrix.registries import registry_settings_problems
from ocimatrix.tools.catalog import DEFAULT_RUNTIME, TOOLS, embedded_cri_engine, lookup, names
from ocimatrix.tools.versions import RangeError, parse_range

SCHEMA_NAME = "claims.schema.json"
REGISTRY_SETTING_KEYS = ("embedded", "url", "plain_http", "tls_verify", "namespace", "auth", "version")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$")
_UNITS = {
    None: 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
}


def schema_path() -> Path:
    from ocimatrix.resources import schemas_dir

    return schemas_dir() / SCHEMA_NAME


@cache
def claims_schema() -> dict[str, Any]:
    return json.loads(schema_path().read_text())


def parse_size(value: int | str) -> int:
    """Bytes from ``20MiB``, ``5 MB``, ``1024`` (the schema has checked the shape)."""
    if isinstance(value, int):
        return value
    found = _SIZE.match(value)
    if not found:
        raise ValueError(f"{value!r} is not a size like 20MiB")
    return int(float(found.group(1)) * _UNITS[found.group(2)])


class _Where:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.located = YamlLocations(text)

    def error(self, where: tuple[Any, ...], message: str) -> UsageError:
        line = self.located.line(tuple(where))
        name = ".".join(str(p) for p in where) or "(top level)"
        at = f"{self.path}:{line}" if line else str(self.path)
        return UsageError(f"{at}: field '{name}': {message}")


def load_claims(path: str | Path) -> ClaimsFile:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read claims file: {exc.strerror}") from None
    text = raw.decode("utf-8", errors="replace")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise UsageError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    return parse_claims(data, path, text, "sha256:" + hashlib.sha256(raw).hexdigest())


def parse_claims(data: Any, path: Path, text: str = "", digest: str = "") -> ClaimsFile:
    where = _Where(path, text)
    if not isinstance(data, dict):
        raise where.error(
            (), "a claims file is a mapping with claims: 1, vendor, product and image/registry/cri/runtime"
        )
    _schema_check(data, where)
    image = _image(data["image"], path, where) if "image" in data else None
    registry = _registry(data["registry"], where) if "registry" in data else None
    cri = _cri(data["cri"], where) if "cri" in data else None
    runtime = _runtime(data["runtime"], where) if "runtime" in data else None
    return ClaimsFile(
        path=path,
        digest=digest,
        vendor=str(data["vendor"]),
        product=str(data["product"]),
        version=str(data.get("version") or ""),
        description=str(data.get("description") or ""),
        image=image,
        registry=registry,
        cri=cri,
        runtime=runtime,
    )


def _schema_check(data: dict, where: _Where) -> None:
    validator = Draft202012Validator(claims_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        first = errors[0]
        at = tuple(first.absolute_path)
        if first.validator == "additionalProperties":
            # Point at the unknown key itself, so the line is the typo's.
            extra = sorted(set(first.instance) - set(first.schema.get("properties", {})))
            at = (*at, extra[0]) if extra else at
        raise where.error(at, _message(first))


def _message(error) -> str:
    """jsonschema's words, made to say what to write instead."""
    validator, schema = error.validator, error.schema
    if validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(schema.get("properties", {})))
        known = ", ".join(sorted(schema.get("properties", {})))
        return f"unknown key {', '.join(map(repr, extra))}; expected one of: {known}"
    if validator == "required":
        return error.message.replace("is a required property", "is required here")
    if validator == "enum":
        return f"{error.instance!r} is not one of: {', '.join(map(str, schema['enum']))}"
    if validator == "anyOf" and not error.absolute_path:
        return "claims nothing: add 'image', 'registry', 'cri' or 'runtime'"
    if validator == "anyOf" and "description" in schema:
        return f"{error.instance!r} is not valid: {schema['description']}"
    if validator == "const":
        return f"expected {schema['const']!r} (the claims file format version)"
    if validator == "pattern" and "description" in schema:
        return f"{error.instance!r} is not valid: {schema['description']}"
    if validator == "pattern":
        return f"{error.instance!r} does not match {schema['pattern']}"
    if validator in ("minProperties", "maxProperties") and "description" in schema:
        return f"expected {schema['description']}"
    return error.message


def _range(value: Any, where: _Where, at: tuple[Any, ...]):
    try:
        return parse_range(value if value is not None else "*")
    except RangeError as exc:
        raise where.error(at, str(exc)) from None


def _regex(value: str, where: _Where, at: tuple[Any, ...]) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise where.error(at, f"not a valid regular expression: {exc}") from None


def _image(raw: dict, path: Path, where: _Where) -> ImageClaims:
    source = _source(raw["source"], path, where)
    platforms = tuple(raw["platforms"])
    for index, platform in enumerate(platforms):
        if platform not in KNOWN_PLATFORMS:
            raise where.error(("image", "platforms", index), f"unknown platform; known: {', '.join(KNOWN_PLATFORMS)}")
    default_generations = _generations(raw.get("generation"), where, ("image", "generation"))
    default_hosts = _listed(raw.get("host"))
    runs_on = []
    for index, entry in enumerate(raw.get("runs_on") or []):
        at = ("image", "runs_on", index)
        generations = _generations(entry.get("generation"), where, (*at, "generation")) or default_generations
        for generation in generations:
            if not _exists_in(entry["engine"], generation):
                raise where.error((*at, "generation"), f"{entry['engine']} has no {generation} generation here")
        runs_on.append(
            EngineClaim(
                entry["engine"],
                _range(entry.get("version"), where, (*at, "version")),
                generations=generations,
                hosts=_listed(entry.get("host")) or default_hosts,
            )
        )
    checks = dict(raw.get("checks") or {})
    if runs_on and "smoke" not in checks:
        raise where.error(
            ("image", "runs_on"), "a claim that the image runs needs checks.smoke (the command that shows it runs)"
        )
    smoke = checks.get("smoke") or {}
    if smoke and "command" in smoke and "args" in smoke:
        raise where.error(
            ("image", "checks", "smoke"), "give 'command' (replaces Entrypoint and Cmd) or 'args', not both"
        )
    if "output" in smoke:
        _regex(smoke["output"], where, ("image", "checks", "smoke", "output"))
    for name, pattern in ((checks.get("files") or {}).get("contents") or {}).items():
        _regex(pattern, where, ("image", "checks", "files", "contents", name))
    for name, pattern in ((checks.get("metadata") or {}).get("labels") or {}).items():
        if pattern is not None:
            _regex(pattern, where, ("image", "checks", "metadata", "labels", name))
    layers = checks.get("layers") or {}
    if "max_size" in layers:
        layers["max_size_bytes"] = parse_size(layers["max_size"])
    kernel = checks.get("kernel")
    kernel_hosts = None
    if isinstance(kernel, dict):
        kernel_hosts = _range(kernel["hosts"], where, ("image", "checks", "kernel", "hosts"))
        if kernel_hosts.lowest() is None:
            raise where.error(
                ("image", "checks", "kernel", "hosts"), "give a lower bound (e.g. '>=4.19'): the oldest kernel claimed"
            )
    signed = _signed(raw.get("signed") or {}, source, path, where)
    attestations = tuple(raw.get("attestations") or ())
    if attestations and source.kind == "archive":
        raise where.error(
            ("image", "attestations"),
            "a docker save archive holds no image index, so no attestation manifest: name a reference or a layout",
        )
    after_copy = _after_copy(raw.get("after_copy"), bool(signed or attestations), where)
    return ImageClaims(
        source=source,
        platforms=platforms,
        runs_on=tuple(runs_on),
        runtimes=tuple(raw.get("runtimes") or (DEFAULT_RUNTIME,)),
        checks=checks,
        kernel_hosts=kernel_hosts,
        signed=signed,
        attestations=attestations,
        after_copy=after_copy,
    )


def _public_key(data: bytes) -> str:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        return f"not a PEM public key (-----BEGIN PUBLIC KEY-----): {exc}"
    return ""


def _certificate(data: bytes) -> str:
    from cryptography import x509

    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            x509.load_pem_x509_certificate(data)
        else:
            x509.load_der_x509_certificate(data)
    except (ValueError, TypeError) as exc:
        return f"not an X.509 certificate (PEM or DER): {exc}"
    return ""


# What each kind of verification material must parse as (the fields of ``signed.<signer>``).
_MATERIAL = {"key": _public_key, "certificate": _certificate}
MAX_MATERIAL = 1 << 20


def _signed(raw: dict, source: ImageSource, path: Path, where: _Where) -> dict[str, str]:
    """Signer -> the absolute path of its key or certificate, which must exist and parse."""
    if not raw:
        return {}
    if source.kind != "reference":
        raise where.error(
            ("image", "signed"),
            "signatures are verified where they are stored, in a registry: name the image by source.reference",
        )
    found = {}
    for family, settings in raw.items():
        if family not in names("signer"):
            raise where.error(("image", "signed", family), f"unknown signer; known: {', '.join(names('signer'))}")
        for name, value in settings.items():
            at = ("image", "signed", family, name)
            material = (path.parent / str(value)).resolve()
            try:
                if material.stat().st_size > MAX_MATERIAL:
                    raise where.error(at, f"{material}: over {MAX_MATERIAL} bytes, not a {name}")
                data = material.read_bytes()
            except FileNotFoundError:
                raise where.error(at, f"{material}: no such file") from None
            except OSError as exc:
                raise where.error(at, f"{material}: cannot read it: {exc.strerror}") from None
            problem = _MATERIAL[name](data)
            if problem:
                raise where.error(at, f"{material}: {problem}")
            found[family] = str(material)
    return found


_LOOPBACK_REGISTRY = re.compile(r"^(127(\.\d{1,3}){3}|localhost|\[::1\]):\d{1,5}$")


def _after_copy(raw: dict | None, something_to_verify: bool, where: _Where) -> dict[str, str]:
    if not raw:
        return {}
    at = ("image", "after_copy")
    if not something_to_verify:
        raise where.error(at, "nothing to verify after the copy: claim 'signed' or 'attestations' too")
    try:
        lookup(raw["copier"], "copier")
    except UsageError as exc:
        raise where.error((*at, "copier"), str(exc)) from None
    to = raw["to"]
    if to != "embedded" and not _LOOPBACK_REGISTRY.match(to):
        raise where.error(
            (*at, "to"),
            "expected 'embedded' (the run's own registry) or a plain-HTTP registry on loopback, 127.0.0.1:PORT",
        )
    return {"copier": raw["copier"], "to": to}


def _listed(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in (value if isinstance(value, list) else [value]))


def _generations(value: Any, where: _Where, at: tuple[Any, ...]) -> tuple[str, ...]:
    from ocimatrix.tools.catalog import GENERATIONS

    named = _listed(value)
    for index, name in enumerate(named):
        if name not in GENERATIONS:
            spot = (*at, index) if isinstance(value, list) else at
            raise where.error(spot, f"unknown generation {name!r}; known: {', '.join(GENERATIONS)}")
    return named


def _exists_in(engine: str, generation: str) -> bool:
    from ocimatrix.tools.catalog import lookup

    return generation in lookup(engine).generations


def _source(raw: dict, path: Path, where: _Where) -> ImageSource:
    kinds = [k for k in ("reference", "layout", "archive", "probe") if k in raw]
    at = ("image", "source")
    if len(kinds) != 1:
        raise where.error(at, "give exactly one of: reference, layout, archive, probe")
    kind = kinds[0]
    tag = str(raw.get("tag") or "")
    if tag and kind != "layout":
        raise where.error((*at, "tag"), "'tag' picks an image inside an OCI layout; only with 'layout'")
    if kind == "probe":
        return ImageSource("probe", "", probe=dict(raw["probe"] or {}))
    value = str(raw[kind])
    if kind == "reference":
        host = value.split("/", 1)[0]
        if "://" in value or "/" not in value or not ("." in host or ":" in host or host == "localhost"):
            raise where.error(
                (*at, kind),
                "expected a fully qualified reference without a scheme: HOST[:PORT]/REPOSITORY[:TAG|@DIGEST]",
            )
        return ImageSource("reference", value)
    resolved = (path.parent / value).resolve()
    if kind == "layout" and not (resolved / "oci-layout").is_file():
        raise where.error((*at, kind), f"{resolved} is not an OCI image layout (no oci-layout file)")
    if kind == "archive" and not resolved.is_file():
        raise where.error((*at, kind), f"{resolved}: no such file")
    return ImageSource(kind, str(resolved), tag=tag)


def _registry(raw: dict, where: _Where) -> RegistryClaims:
    settings = {k: raw[k] for k in REGISTRY_SETTING_KEYS if k in raw}
    if not settings.get("embedded") and not settings.get("url"):
        raise where.error(("registry",), "name the registry: 'url' (an existing one) or 'embedded: true'")
    auth = settings.get("auth") or {}
    for secret in ("password", "token"):
        if secret in auth:
            raise where.error(
                ("registry", "auth", secret),
                f"secrets never go in a claims file: use '{secret}_env' or 'credentials_file'",
            )
    for subfield, message in registry_settings_problems(settings):
        raise where.error(("registry", *subfield), message)
    for index, name in enumerate(raw.get("requirements") or []):
        if name not in REQUIREMENTS:
            raise where.error(
                ("registry", "requirements", index), f"unknown requirement; known: {', '.join(REQUIREMENTS)}"
            )
    claims = RegistryClaims(
        settings=settings,
        workflows=tuple(raw.get("workflows") or ()),
        features=tuple(raw.get("features") or ()),
        requirements=tuple(raw.get("requirements") or ()),
    )
    if not (claims.workflows or claims.features or claims.requirements):
        raise where.error(("registry",), "claims nothing: add workflows, features or requirements")
    return claims


def _cri(raw: dict, where: _Where) -> CriClaims:
    endpoint = raw["endpoint"]
    if endpoint != "embedded" and not endpoint.startswith("unix://"):
        raise where.error(("cri", "endpoint"), "expected 'embedded' or unix:///path/to/the.sock")
    embedded = embedded_cri_engine()
    engine = raw.get("engine") or (embedded if endpoint == "embedded" else "")
    if not engine:
        known = " or ".join(t.name for t in TOOLS if t.capabilities.cri)
        raise where.error(("cri", "engine"), f"say which CRI runtime answers at the endpoint: {known}")
    if endpoint == "embedded" and engine != embedded:
        raise where.error(("cri", "engine"), f"the embedded CRI endpoint is the harness's own ({embedded})")
    return CriClaims(endpoint, engine, tuple(raw["areas"]), tuple(raw.get("runtimes") or (DEFAULT_RUNTIME,)))


def _runtime(raw: dict, where: _Where) -> RuntimeClaims:
    from ocimatrix.tools.catalog import known_values, lookup, spelled, split_generation

    if "name" not in raw and "binary" not in raw:
        raise where.error(
            ("runtime",), "name the runtime: 'name' (e.g. crun, runc@trixie) or 'binary' (e.g. /usr/bin/crun)"
        )
    binary = str(raw.get("binary") or "")
    name = str(raw.get("name") or "")
    if name:
        try:
            lookup(name, "runtime")
        except UsageError as exc:
            raise where.error(("runtime", "name"), str(exc)) from None
    if binary:
        named = runtime_of_binary(binary)
        if not named:
            known = ", ".join(f"{n} ({b})" for n, b in _runtime_binaries().items())
            raise where.error(("runtime", "binary"), f"not a runtime binary the catalog knows; known: {known}")
        if name and named != name:
            raise where.error(("runtime", "binary"), f"{binary} is {named}'s binary, not {name}'s")
        name = named
    name = spelled(*split_generation(name))  # runc@bookworm on a Debian 12 host is the cell "runc"
    if name not in known_values("runtime"):
        raise where.error(("runtime", "name"), f"unknown runtime; known: {', '.join(known_values('runtime'))}")
    return RuntimeClaims(
        name=name,
        versions=_range(raw.get("version"), where, ("runtime", "version")),
        areas=tuple(raw["areas"]),
        binary=binary,
    )


def _runtime_binaries() -> dict[str, str]:
    from ocimatrix.tools.catalog import TOOLS

    return {t.name: t.binary for t in TOOLS if "runtime" in t.roles and t.binary}


def runtime_of_binary(binary: str) -> str:
    """The catalog's runtime (this host's generation) whose binary ``binary`` is, symlinks followed; "" if none."""
    wanted = Path(binary).resolve()
    for name, known in _runtime_binaries().items():
        if Path(known).resolve() == wanted:
            return name
    return ""
