"""Validate an image against the OCI image-spec v1.1 (and Docker's schema 2): the entry points.

Public API (stable; the image suites and ``ocimatrix validate`` call these):

- ``validate_source(source, *, as_kind=None, plain_http=False, platform=None, credentials=None,
  check_layers=True, check_elf=True) -> Report`` - SOURCE is an OCI layout directory, a tar
  archive (``docker save``, ``podman save``, ``ctr export``, OCI archive; gzip/zstd allowed), a
  registry reference ``host[:port]/repo[:tag|@digest]``, or one JSON document. Prefixes
  ``oci:``, ``oci-archive:``, ``docker-archive:`` and ``docker://`` force the kind.
- ``validate_layout(path, ...)``, ``validate_archive(path, ...)``,
  ``validate_registry(reference, ...)``, ``validate_document(path, as_kind=None)``.
- ``guess_kind(document) -> str | None`` and ``DOCUMENT_KINDS``.

A ``Report`` lists ``Violation``s (rule_id, where, message, spec_url, level) and what was
``checked``. Input that cannot be validated at all (no such path, unreachable registry, a
document of unknown kind, a file that is neither JSON, an archive nor a layout) raises
``UsageError``; everything wrong *inside* the input is a violation, never an exception.
"""

from __future__ import annotations

import os
from pathlib import Path

from ocimatrix.errors import UsageError
from ocimatrix.oci import mediatypes as mt
from ocimatrix.oci.archive import TarArchive, is_archive
from ocimatrix.oci.digest import CHUNK, digest_bytes, digest_problem, new_hasher, parse_digest
from ocimatrix.oci.dockersave import check_docker_save
from ocimatrix.oci.jsondoc import parse_json
from ocimatrix.oci.platforms import parse_platform
from ocimatrix.oci.reference import looks_like_reference, parse_reference
from ocimatrix.oci.registry_client import Credentials, RegistryClient, RegistryError, credentials_from_env
from ocimatrix.oci.report import Report
from ocimatrix.oci.stores import ArchiveStore, BlobMissing, BlobUnreadable, LayoutDirStore, RegistryStore
from ocimatrix.oci.walker import MAX_JSON, Walker, WalkOptions

DOCUMENT_KINDS = ("manifest", "index", "config", "descriptor", "layout")


def _options(platform, check_layers: bool, check_elf: bool) -> WalkOptions:
    if isinstance(platform, str):
        try:
            platform = parse_platform(platform)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return WalkOptions(platform=platform or None, check_layers=check_layers, check_elf=check_elf)


def validate_source(
    source: str,
    *,
    as_kind: str | None = None,
    plain_http: bool = False,
    platform: str | dict | None = None,
    credentials: Credentials | None = None,
    check_layers: bool = True,
    check_elf: bool = True,
) -> Report:
    common = {"platform": platform, "check_layers": check_layers, "check_elf": check_elf}
    if as_kind:
        return validate_document(source, as_kind=as_kind)
    if source.startswith("docker://"):
        return validate_registry(source, plain_http=plain_http, credentials=credentials, **common)
    for prefix in ("oci-archive:", "docker-archive:"):
        if source.startswith(prefix):
            return validate_archive(source[len(prefix) :], **common)
    if source.startswith("oci:"):
        path = source[len("oci:") :]
        return validate_archive(path, **common) if os.path.isfile(path) else validate_layout(path, **common)
    path = Path(source)
    if path.is_dir():
        return validate_layout(source, **common)
    if path.is_file():
        if is_archive(source):
            return validate_archive(source, **common)
        return validate_document(source)
    if path.exists():
        raise UsageError(f"{source} is neither a directory nor a regular file")
    if looks_like_reference(source):
        return validate_registry(source, plain_http=plain_http, credentials=credentials, **common)
    raise UsageError(f"{source}: no such file or directory, and not a registry reference (host[:port]/repo[:tag])")


# -- OCI image layout (a directory, or the same inside an archive) -----------------------------------


def validate_layout(path: str | Path, *, platform=None, check_layers: bool = True, check_elf: bool = True) -> Report:
    root = Path(path)
    if not root.is_dir():
        raise UsageError(f"{path} is not a directory")
    report = Report(source=str(path))
    walker = Walker(LayoutDirStore(root), report, _options(platform, check_layers, check_elf))
    _walk_layout(walker)
    walker.finish()
    return report


_UNUSABLE = object()


def _read_json_file(walker: Walker, rel: str, missing_rule: str) -> object:
    """The parsed document (which may be any JSON value, null included), or _UNUSABLE."""
    store = walker.store
    missing = (missing_rule, f"{rel} is missing from the layout")
    content = walker.read_document(lambda: store.open_file(rel), rel, rel, missing=missing)
    if content is None:
        return _UNUSABLE
    parsed = parse_json(content)
    for rule_id, message in parsed.problems:
        walker.add(rule_id, rel, message)
    return parsed.value if parsed.usable else _UNUSABLE


def _walk_layout(walker: Walker) -> None:
    store = walker.store
    header = _read_json_file(walker, "oci-layout", "layout.oci-layout-missing")
    if header is not _UNUSABLE:
        walker.check_document("layout", header, "oci-layout")
    if not store.exists("blobs"):
        walker.add("layout.blobs-missing", "blobs", "the blobs directory MUST exist (it MAY be empty)")
    index = _read_json_file(walker, "index.json", "layout.index-missing")
    if index is not _UNUSABLE:
        walker.check_index(index, "index.json")
    _check_unreferenced_blobs(walker)


def _check_unreferenced_blobs(walker: Walker) -> None:
    """Every file under blobs/ must be named by its own digest, referenced or not."""
    store = walker.store
    for rel, name in store.list_blobs():
        if name is None or digest_problem(name):
            walker.add("layout.blob-name", rel, f"{rel} is not named blobs/<algorithm>/<encoded digest>")
            continue
        if name in walker.seen_blobs:
            continue
        digest = parse_digest(name)
        if not digest.registered:
            continue
        hasher = new_hasher(digest.algorithm)
        try:
            with store.open_file(rel) as f:
                while chunk := f.read(CHUNK):
                    hasher.update(chunk)
        except (BlobMissing, BlobUnreadable) as exc:
            walker.add("layout.blob-not-regular", rel, str(exc) or f"{rel} cannot be read")
            continue
        walker.report.checked["unreferenced_blobs"] += 1
        if hasher.hexdigest() != digest.encoded:
            walker.add("layout.blob-digest-mismatch", rel, f"{rel} hashes to {digest.algorithm}:{hasher.hexdigest()}")


# -- archives -------------------------------------------------------------------------------------


class _ArchiveLayoutStore(ArchiveStore):
    def exists(self, rel: str) -> bool:
        # Archives often carry no entry for the directories themselves.
        return self.archive.has(rel) or any(n.startswith(rel.rstrip("/") + "/") for n in self.archive.names())


def validate_archive(path: str | Path, *, platform=None, check_layers: bool = True, check_elf: bool = True) -> Report:
    path = str(path)
    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such archive file")
    try:
        archive = TarArchive(path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    report = Report(source=path)
    with archive:
        for rule_id, member, message in archive.problems:
            report.add(rule_id, member, message)
        walker = Walker(_ArchiveLayoutStore(archive), report, _options(platform, check_layers, check_elf))
        is_layout = archive.has("oci-layout") or archive.has("index.json")
        is_docker = archive.has("manifest.json")
        if is_layout:
            _walk_layout(walker)
        if is_docker:
            check_docker_save(archive, walker)
        if not (is_layout or is_docker) and not report.has("archive.malformed"):
            report.add(
                "archive.unknown-format",
                os.path.basename(path),
                "archive has neither oci-layout/index.json (OCI layout) nor manifest.json (docker save)",
            )
        walker.finish()
    return report


# -- registries -----------------------------------------------------------------------------------


def validate_registry(
    reference: str,
    *,
    plain_http: bool = False,
    credentials: Credentials | None = None,
    platform=None,
    check_layers: bool = True,
    check_elf: bool = True,
    timeout: float = 30.0,
) -> Report:
    try:
        ref = parse_reference(reference)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    report = Report(source=str(ref))
    options = _options(platform, check_layers, check_elf)
    creds = credentials or credentials_from_env()
    with RegistryClient(ref.registry, plain_http=plain_http, credentials=creds, timeout=timeout) as client:
        try:
            body, content_type, header_digest = client.get_manifest(ref.repository, ref.ref)
        except RegistryError as exc:
            raise UsageError(f"cannot fetch {ref}: {exc}") from None
        algorithm = "sha256"
        if ref.digest:
            algorithm = parse_digest(ref.digest).algorithm
        actual = digest_bytes(body, algorithm if algorithm in ("sha256", "sha512") else "sha256")
        where = f"{ref.repository}@{actual}"
        if (
            header_digest != str(actual)
            and not digest_problem(header_digest)
            and parse_digest(header_digest).algorithm == actual.algorithm
        ):
            report.add(
                "registry.digest-header-mismatch",
                where,
                f"Docker-Content-Digest is {header_digest} but the manifest hashes to {actual}",
            )
        if ref.digest and ref.digest != str(actual):
            report.add(
                "descriptor.digest-mismatch", str(ref), f"asked for {ref.digest}, got content hashing to {actual}"
            )
        parsed = parse_json(body)
        for rule_id, message in parsed.problems:
            report.add(rule_id, where, message)
        if not parsed.usable:
            return report
        doc = parsed.value
        own = doc.get("mediaType") if isinstance(doc, dict) and isinstance(doc.get("mediaType"), str) else None
        if own and content_type and own != content_type:
            report.add(
                "registry.content-type-mismatch",
                where,
                f"served as {content_type} but the manifest's mediaType is {own}",
            )
        media_type = own or content_type
        descriptor = {"mediaType": media_type, "digest": str(actual), "size": len(body)}
        walker = Walker(RegistryStore(client, ref.repository), report, options)
        kind = mt.kind_of(media_type) or guess_kind(doc)
        if kind == "index":
            walker.check_index(doc, where, 0, descriptor)
        elif kind == "manifest":
            walker.check_manifest(doc, where, descriptor, None, where)
        else:
            report.add(
                "descriptor.media-type-unknown", where, f"{ref} is served as {media_type!r}, not a manifest or index"
            )
        walker.finish()
    return report


# -- single documents -----------------------------------------------------------------------------


def guess_kind(doc: object) -> str | None:
    """Which kind of document this is, from its mediaType or, failing that, its shape."""
    if not isinstance(doc, dict):
        return None
    kind = mt.kind_of(doc.get("mediaType")) if "schemaVersion" in doc or "manifests" in doc or "layers" in doc else None
    if kind in ("index", "manifest"):
        return kind
    if "manifests" in doc:
        return "index"
    if "layers" in doc and "config" in doc:
        return "manifest"
    if "rootfs" in doc or ("architecture" in doc and "os" in doc and "digest" not in doc):
        return "config"
    if "imageLayoutVersion" in doc:
        return "layout"
    if "digest" in doc and "size" in doc:
        return "descriptor"
    return None


_NOT_A_SOURCE = (
    "{path}: neither a JSON document, a tar archive nor an OCI layout directory ({why});"
    " pass --as KIND to check it as a document anyway"
)


def validate_document(path: str | Path, *, as_kind: str | None = None, content: bytes | None = None) -> Report:
    """Check one JSON document (manifest, index, config, descriptor or oci-layout) on its own.

    Without ``as_kind``, bytes that are not JSON at all raise ``UsageError`` (unusable input); with it,
    the caller has said what the file is meant to be, so the same bytes are a ``json.invalid`` violation.
    """
    if as_kind is not None and as_kind not in DOCUMENT_KINDS:
        raise UsageError(f"--as must be one of {', '.join(DOCUMENT_KINDS)}, not {as_kind!r}")
    name = os.path.basename(str(path)) or str(path)
    if content is None:
        try:
            with open(path, "rb") as f:
                content = f.read(MAX_JSON + 1)
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    report = Report(source=str(path))
    if len(content) > MAX_JSON:
        if as_kind is None and content.lstrip()[:1] not in (b"{", b"["):
            raise UsageError(_NOT_A_SOURCE.format(path=path, why=f"over {MAX_JSON >> 20} MiB and not JSON"))
        report.add("json.too-large", name, f"{name} is over {MAX_JSON >> 20} MiB")
        return report
    parsed = parse_json(content)
    if not parsed.usable and as_kind is None:
        # Without --as nothing says this file was meant to be a document: it is no input we can read.
        raise UsageError(_NOT_A_SOURCE.format(path=path, why=parsed.problems[0][1] if parsed.problems else "not JSON"))
    for rule_id, message in parsed.problems:
        report.add(rule_id, name, message)
    if not parsed.usable:
        return report
    kind = as_kind or guess_kind(parsed.value)
    if kind is None:
        raise UsageError(f"{path}: cannot tell what kind of document this is; pass --as {'|'.join(DOCUMENT_KINDS)}")
    report.checked["documents"] += 1
    Walker(None, report).check_document(kind, parsed.value, name)
    return report
