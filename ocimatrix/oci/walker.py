"""The graph walk: index -> manifests -> config -> layers, checking each node against the spec.

A ``Walker`` reads blobs from a ``BlobStore`` (or none, for a lone document) and records what it
finds in a ``Report``. Each layer is read exactly once, streamed (see ``layer.py``); shared
blobs are checked once. JSON documents are read whole but bounded (``MAX_JSON``).

Public API (used by ``validate.py`` and ``dockersave.py``): ``Walker(store, report, options)``
with ``check_index``, ``check_manifest``, ``check_config``, ``check_document``,
``walk_descriptor``, ``check_layer_blob``, ``compare_layer``, ``finish``; ``WalkOptions``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO

from ocimatrix.oci import attestations, elf
from ocimatrix.oci import mediatypes as mt
from ocimatrix.oci.annotations import annotation_problems
from ocimatrix.oci.archive import MemberMissing, MemberUnreadable
from ocimatrix.oci.digest import (
    CHUNK,
    REGISTERED,
    Digest,
    DigestError,
    digest_bytes,
    digest_problem,
    new_hasher,
    parse_digest,
)
from ocimatrix.oci.jsondoc import parse_json
from ocimatrix.oci.layer import LayerResult, check_layer
from ocimatrix.oci.platforms import format_platform, platform_matches, platform_problems
from ocimatrix.oci.report import Report
from ocimatrix.oci.schemas import schema_errors
from ocimatrix.oci.stores import BlobMissing, BlobStore, BlobUnreadable
from ocimatrix.oci.streams import BoundedReader, read_capped

MAX_JSON = 32 << 20
MAX_DEPTH = 8
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

_MISSING = object()


@dataclass
class WalkOptions:
    platform: dict | None = None  # only walk manifests for this platform (os/architecture[/variant])
    check_layers: bool = True  # stream and check layer contents (False: descriptors and JSON only)
    check_elf: bool = True  # compare ELF binaries with the config's architecture


def _text(value: object) -> str | None:
    """A JSON value used as a media type or name: only strings count (a list there must not crash)."""
    return value if isinstance(value, str) else None


def _where(base: str, pointer: str) -> str:
    return f"{base}:{pointer}"


class Walker:
    def __init__(self, store: BlobStore | None, report: Report, options: WalkOptions | None = None):
        self.store = store
        self.report = report
        self.options = options or WalkOptions()
        self.seen_blobs: set[str] = set()
        self.layer_cache: dict[str, LayerResult] = {}
        self.platform_matched = False
        self._path: list[str] = []  # digests of the indexes being walked (cycle guard)

    # -- small helpers ---------------------------------------------------------------------------

    def add(self, rule_id: str, where: str, message: str) -> None:
        self.report.add(rule_id, where, message)

    def schema(self, kind: str, document: object, where: str) -> None:
        for rule_id, pointer, message in schema_errors(kind, document):
            self.add(rule_id, _where(where, pointer), message)

    def annotations(self, annotations: object, where: str) -> None:
        for rule_id, key, message in annotation_problems(annotations):
            self.add(rule_id, _where(where, f"/annotations/{key}"), message)

    def absent(self, where: str, name: str) -> None:
        """A referenced blob that isn't there: an error where the image must hold it (a registry), a
        warning in an image layout, which MAY be missing referenced blobs (image-layout.md#blobs)."""
        if self.store is not None and self.store.may_lack_blobs:
            self.add(
                "layout.blob-absent",
                where,
                f"{name} is not in the layout; image-layout.md allows that, an external blob store SHOULD supply it",
            )
        else:
            self.add("blob.missing", where, f"{name} is not in the image")

    def blob_where(self, digest: Digest) -> str:
        return self.store.where(digest) if self.store else str(digest)

    @staticmethod
    def _digest_of(descriptor: dict) -> Digest | None:
        try:
            return parse_digest(descriptor.get("digest"))
        except DigestError:
            return None  # the schema check has already said why

    # -- descriptors -----------------------------------------------------------------------------

    def check_descriptor_fields(self, descriptor: dict, where: str) -> None:
        """Rules of a descriptor that need no blob: embedded data, the empty descriptor, urls, annotations."""
        self.annotations(descriptor.get("annotations"), where)
        media_type = _text(descriptor.get("mediaType"))
        if media_type == mt.OCI_EMPTY and (
            descriptor.get("digest") != mt.EMPTY_DIGEST or descriptor.get("size") != len(mt.EMPTY_JSON)
        ):
            self.add(
                "descriptor.empty-content",
                where,
                f"an {mt.OCI_EMPTY} descriptor must have digest {mt.EMPTY_DIGEST} and size 2 (the content {{}})",
            )
        if media_type in mt.NONDISTRIBUTABLE_TYPES - mt.DOCKER_LAYER_TYPES:
            self.add("descriptor.media-type-deprecated", where, f"{media_type} is deprecated in image-spec v1.1")
        urls = descriptor.get("urls")
        for i, url in enumerate(urls if isinstance(urls, list) else []):
            # A url with no scheme at all is not a URI: the schema reports it (descriptor.url-format).
            if isinstance(url, str) and _URI_SCHEME.match(url) and not url.lower().startswith(("http://", "https://")):
                self.add("descriptor.url-scheme", _where(where, f"/urls/{i}"), f"url {url!r} SHOULD use http or https")
        data = descriptor.get("data")
        if isinstance(data, str):
            self._check_embedded(descriptor, data, where)

    def _check_embedded(self, descriptor: dict, data: str, where: str) -> None:
        try:
            content = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            self.add(
                "descriptor.data-encoding", _where(where, "/data"), "data is not valid base64 (RFC 4648 section 4)"
            )
            return
        digest = self._digest_of(descriptor)
        if descriptor.get("size") != len(content):
            self.add(
                "descriptor.data-mismatch",
                _where(where, "/data"),
                f"data decodes to {len(content)} bytes but size is {descriptor.get('size')}",
            )
        elif digest and digest.registered and digest_bytes(content, digest.algorithm) != digest:
            self.add("descriptor.data-mismatch", _where(where, "/data"), f"data does not hash to {digest}")

    @staticmethod
    def _read_limit(descriptor: dict) -> int | None:
        """One byte past the declared size: enough to prove a blob longer, never more."""
        size = descriptor.get("size")
        return size + 1 if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None

    def _longer_than_declared(self, descriptor: dict, where: str, digest: Digest) -> None:
        self.add(
            "descriptor.size-mismatch",
            where,
            f"{self.blob_where(digest)} is longer than the {descriptor.get('size')} bytes the descriptor says;"
            " content not checked further",
        )

    def _verify(self, descriptor: dict, where: str, digest: Digest, actual: Digest | None, size: int) -> bool:
        ok = True
        want_size = descriptor.get("size")
        if isinstance(want_size, int) and size != want_size:
            self.add(
                "descriptor.size-mismatch",
                where,
                f"{self.blob_where(digest)} is {size} bytes, descriptor says {want_size}",
            )
            ok = False
        if actual is not None and actual != digest:
            self.add(
                "descriptor.digest-mismatch",
                where,
                f"{self.blob_where(digest)} hashes to {actual}, descriptor says {digest}",
            )
            ok = False
        return ok

    def read_json_blob(self, descriptor: dict, where: str) -> object:
        """Fetch, verify and parse the JSON a descriptor points to; ``_MISSING`` if that is impossible."""
        digest = self._digest_of(descriptor)
        if digest is None:
            return _MISSING
        content: bytes | None = None
        if isinstance(descriptor.get("data"), str):
            try:
                content = base64.b64decode(descriptor["data"], validate=True)
            except (binascii.Error, ValueError):
                content = None
        if content is None:
            if self.store is None:
                return _MISSING
            content = self._read_bounded(descriptor, digest, where)
            if content is None:
                return _MISSING
        self.seen_blobs.add(str(digest))
        actual = digest_bytes(content, digest.algorithm) if digest.registered else None
        if not digest.registered:
            self.add(
                "descriptor.digest-unsupported",
                where,
                f"algorithm {digest.algorithm!r} is not registered; not verified",
            )
        self._verify(descriptor, where, digest, actual, len(content))
        parsed = parse_json(content)
        blob = self.blob_where(digest)
        for rule_id, message in parsed.problems:
            self.add(rule_id, blob, message)
        return parsed.value if parsed.usable else _MISSING

    def read_document(
        self,
        opener: Callable[[], AbstractContextManager[BinaryIO]],
        where: str,
        name: str,
        *,
        missing: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> bytes | None:
        """The one bounded reader of a JSON document, whatever holds it (a blob store, a layout's own
        files, a saved archive): its bytes, or None with the reason reported. ``missing`` is the rule
        and message for a document that isn't there (by default ``absent``'s: ``blob.missing``, or
        ``layout.blob-absent`` in a layout); ``limit`` stops a read one byte past a descriptor's
        declared size."""
        try:
            with opener() as f:
                data = read_capped(f if limit is None else BoundedReader(f, limit), MAX_JSON)
        except (BlobMissing, MemberMissing):
            if missing is None:
                self.absent(where, name)
            else:
                rule_id, message = missing
                self.add(rule_id, where, message)
            return None
        except (BlobUnreadable, MemberUnreadable) as exc:
            self.add("blob.unreadable", where, str(exc))
            return None
        if len(data) > MAX_JSON:
            self.add("json.too-large", where, f"{name} is over {MAX_JSON >> 20} MiB; not read as JSON")
            return None
        return data

    def _read_bounded(self, descriptor: dict, digest: Digest, where: str) -> bytes | None:
        store = self.store
        data = self.read_document(
            lambda: store.open(digest, _text(descriptor.get("mediaType"))),
            where,
            self.blob_where(digest),
            limit=min(self._read_limit(descriptor) or MAX_JSON + 1, MAX_JSON + 1),
        )
        if data is None:
            return None
        if len(data) == self._read_limit(descriptor):
            self._longer_than_declared(descriptor, where, digest)
            return None
        return data

    def verify_blob(self, descriptor: dict, where: str) -> None:
        """Stream a blob only to check its digest and size (artifact layers, unknown types)."""
        digest = self._digest_of(descriptor)
        if digest is None or self.store is None or str(digest) in self.seen_blobs:
            return
        self.seen_blobs.add(str(digest))
        if not digest.registered:
            self.add(
                "descriptor.digest-unsupported",
                where,
                f"algorithm {digest.algorithm!r} is not registered; not verified",
            )
            return
        hasher, size, limit = new_hasher(digest.algorithm), 0, self._read_limit(descriptor)
        try:
            with self.store.open(digest, _text(descriptor.get("mediaType"))) as f:
                stream = BoundedReader(f, limit) if limit is not None else f
                while chunk := stream.read(CHUNK):
                    hasher.update(chunk)
                    size += len(chunk)
        except BlobMissing:
            if not descriptor.get("urls"):
                self.absent(where, self.blob_where(digest))
            return
        except BlobUnreadable as exc:
            self.add("blob.unreadable", where, str(exc))
            return
        self.report.checked["blobs"] += 1
        self.report.checked["bytes"] += size
        if size == limit:
            self._longer_than_declared(descriptor, where, digest)
            return
        self._verify(descriptor, where, digest, Digest(digest.algorithm, hasher.hexdigest()), size)

    # -- the walk --------------------------------------------------------------------------------

    def walk_descriptor(
        self, descriptor: dict, where: str, depth: int = 0, platform: dict | None = None, in_index: bool = False
    ) -> None:
        media_type = _text(descriptor.get("mediaType"))
        kind = mt.kind_of(media_type)
        if media_type in (mt.DOCKER_MANIFEST_V1, mt.DOCKER_MANIFEST_V1_SIGNED):
            self.add("manifest.schema1", where, f"{media_type} (Docker schema 1) is deprecated; use schema 2 or OCI")
            return
        if kind == "index":
            digest = self._digest_of(descriptor)
            if depth >= MAX_DEPTH or (digest and str(digest) in self._path):
                self.add("index.nesting-too-deep", where, f"index nesting deeper than {MAX_DEPTH} or a cycle")
                return
            doc = self.read_json_blob(descriptor, where)
            if doc is not _MISSING:
                self._path.append(str(digest))
                try:
                    self.check_index(doc, self.blob_where(digest), depth + 1, descriptor)
                finally:
                    self._path.pop()
        elif kind == "manifest":
            doc = self.read_json_blob(descriptor, where)
            if doc is not _MISSING:
                self.check_manifest(
                    doc, self.blob_where(self._digest_of(descriptor)), descriptor, platform, where, in_index=in_index
                )
        else:
            if kind is None:
                self.add(
                    "descriptor.media-type-unknown",
                    where,
                    f"media type {media_type!r} is unknown; only digest and size checked",
                )
            self.verify_blob(descriptor, where)

    def check_index(self, doc: object, where: str, depth: int = 0, descriptor: dict | None = None) -> None:
        self.report.checked["indexes"] += 1
        claimed = _text(descriptor.get("mediaType")) if descriptor else None
        own = _text(doc.get("mediaType")) if isinstance(doc, dict) else None
        docker = mt.DOCKER_MANIFEST_LIST in (own, claimed)
        self.schema("docker-manifest-list" if docker else "index", doc, where)
        if not isinstance(doc, dict):
            return
        self._check_own_media_type(doc, where, descriptor, mt.OCI_INDEX, required=docker)
        self.annotations(doc.get("annotations"), where)
        self._check_subject(doc, where)
        manifests = doc.get("manifests")
        if not isinstance(manifests, list):
            return
        for rule_id, i, message in attestations.index_problems(doc):
            self.add(rule_id, _where(where, f"/manifests/{i}"), message)
        for i, entry in enumerate(manifests):
            if not isinstance(entry, dict):
                continue
            entry_where = _where(where, f"/manifests/{i}")
            self.check_descriptor_fields(entry, entry_where)
            platform = entry.get("platform") if isinstance(entry.get("platform"), dict) else None
            if attestations.is_attestation(entry):
                # unknown/unknown is an attestation's own mark (attestation.platform), no platform of an image.
                self.check_attestation(entry, entry_where)
                continue
            if platform:
                for rule_id, field, message in platform_problems(platform):
                    self.add(rule_id, _where(where, f"/manifests/{i}/platform/{field}"), message)
            entry_type = _text(entry.get("mediaType"))
            if entry_type not in mt.MANIFEST_TYPES | mt.INDEX_TYPES:
                self.add(
                    "index.manifest-media-type",
                    entry_where,
                    f"index entries SHOULD be manifests or indexes, got {entry_type!r}",
                )
            if self.options.platform and entry_type in mt.MANIFEST_TYPES:
                if not platform_matches(self.options.platform, platform):
                    continue
                self.platform_matched = True
            self.walk_descriptor(entry, entry_where, depth, platform, in_index=True)

    def check_attestation(self, entry: dict, where: str) -> None:
        """An attestation manifest of an index: a manifest whose layers are in-toto statements about the
        image entry its annotations name (the index-level checks are ``attestations.index_problems``)."""
        if _text(entry.get("mediaType")) not in mt.MANIFEST_TYPES:
            self.walk_descriptor(entry, where)
            return
        doc = self.read_json_blob(entry, where)
        if doc is _MISSING:
            return
        self.report.checked["attestations"] += 1
        own = self.blob_where(self._digest_of(entry))
        self.schema("manifest", doc, own)
        if not isinstance(doc, dict):
            return
        self._check_own_media_type(doc, own, entry, mt.OCI_MANIFEST, required=False)
        self.annotations(doc.get("annotations"), own)
        config, layers = doc.get("config"), doc.get("layers")
        if isinstance(config, dict):
            self.check_descriptor_fields(config, _where(own, "/config"))
            self.verify_blob(config, _where(own, "/config"))
        subject = attestations.subject_of(entry)
        for i, layer in enumerate(layers if isinstance(layers, list) else []):
            if not isinstance(layer, dict):
                continue
            layer_where = _where(own, f"/layers/{i}")
            self.check_descriptor_fields(layer, layer_where)
            if _text(layer.get("mediaType")) != attestations.IN_TOTO:
                self.add(
                    "attestation.layer-media-type",
                    _where(layer_where, "/mediaType"),
                    f"an attestation layer is {layer.get('mediaType')!r}, not {attestations.IN_TOTO}",
                )
                self.verify_blob(layer, layer_where)
                continue
            statement = self.read_json_blob(layer, layer_where)
            if statement is _MISSING:
                continue
            for rule_id, message in attestations.statement_problems(statement, subject, layer):
                self.add(rule_id, layer_where, message)

    def _check_own_media_type(
        self, doc: dict, where: str, descriptor: dict | None, oci_type: str, required: bool
    ) -> None:
        own = _text(doc.get("mediaType"))
        claimed = _text(descriptor.get("mediaType")) if descriptor else None
        if own is None and not required:  # where it is required, the schema says so
            rule_id = "index.media-type-missing" if oci_type == mt.OCI_INDEX else "manifest.media-type-missing"
            self.add(rule_id, where, f"the document SHOULD carry mediaType {claimed or oci_type}")
        elif claimed and isinstance(own, str) and own != claimed:
            self.add(
                "descriptor.media-type-mismatch",
                where,
                f"descriptor says {claimed} but the document's mediaType is {own}",
            )

    def _check_subject(self, doc: dict, where: str) -> None:
        subject = doc.get("subject")
        if not isinstance(subject, dict):
            return
        self.check_descriptor_fields(subject, _where(where, "/subject"))
        if _text(subject.get("mediaType")) not in mt.MANIFEST_TYPES | mt.INDEX_TYPES:
            self.add(
                "manifest.subject-media-type",
                _where(where, "/subject"),
                f"subject SHOULD point to a manifest or index, got {subject.get('mediaType')!r}",
            )
        # subject is a weak reference: its target may live elsewhere, so absence is no violation.

    def check_manifest(
        self,
        doc: object,
        where: str,
        descriptor: dict | None = None,
        platform: dict | None = None,
        descriptor_where: str | None = None,
        in_index: bool = False,
    ) -> None:
        self.report.checked["manifests"] += 1
        claimed = _text(descriptor.get("mediaType")) if descriptor else None
        own = _text(doc.get("mediaType")) if isinstance(doc, dict) else None
        docker = mt.DOCKER_MANIFEST in (own, claimed)
        self.schema("docker-manifest" if docker else "manifest", doc, where)
        if not isinstance(doc, dict):
            return
        self._check_own_media_type(doc, where, descriptor, mt.OCI_MANIFEST, required=docker)
        self.annotations(doc.get("annotations"), where)
        self._check_subject(doc, where)
        config, layers = doc.get("config"), doc.get("layers")
        if not isinstance(config, dict) or not isinstance(layers, list):
            return
        config_where = _where(where, "/config")
        self.check_descriptor_fields(config, config_where)
        for i, layer in enumerate(layers):
            if isinstance(layer, dict):
                self.check_descriptor_fields(layer, _where(where, f"/layers/{i}"))
        config_type = _text(config.get("mediaType"))
        self._check_artifact_type(doc, where, descriptor, descriptor_where, config_type)
        if docker:
            self._check_docker_types(config_type, layers, where)
        if config_type in mt.MANIFEST_TYPES | mt.INDEX_TYPES | mt.LAYER_TYPES:
            self.add(
                "manifest.config-media-type", config_where, f"config descriptor points to {config_type}, not a config"
            )
        if config_type in mt.CONFIG_TYPES:
            self._check_image(doc, where, config, layers, platform, descriptor_where or where, in_index)
        else:
            # An artifact: its config and layers are opaque blobs; only their bytes can be checked.
            self.verify_blob(config, config_where)
            for i, layer in enumerate(layers):
                if isinstance(layer, dict):
                    self.verify_blob(layer, _where(where, f"/layers/{i}"))

    def _check_artifact_type(self, doc, where, descriptor, descriptor_where, config_type) -> None:
        artifact_type = doc.get("artifactType")
        if config_type == mt.OCI_EMPTY and not artifact_type:
            self.add(
                "manifest.artifact-type-required",
                _where(where, "/artifactType"),
                f"artifactType MUST be set when config.mediaType is {mt.OCI_EMPTY}",
            )
        if descriptor and descriptor.get("artifactType"):
            expected = artifact_type or config_type
            if descriptor["artifactType"] != expected:
                self.add(
                    "descriptor.artifact-type-mismatch",
                    _where(descriptor_where or where, "/artifactType"),
                    f"descriptor artifactType {descriptor['artifactType']!r} differs from the manifest's {expected!r}",
                )

    def _check_docker_types(self, config_type, layers, where) -> None:
        if config_type != mt.DOCKER_CONFIG:
            self.add(
                "docker.config-media-type",
                _where(where, "/config/mediaType"),
                f"a Docker schema 2 manifest's config must be {mt.DOCKER_CONFIG}, got {config_type!r}",
            )
        for i, layer in enumerate(layers):
            if isinstance(layer, dict) and _text(layer.get("mediaType")) not in mt.DOCKER_LAYER_TYPES:
                self.add(
                    "docker.layer-media-type",
                    _where(where, f"/layers/{i}/mediaType"),
                    f"a Docker schema 2 manifest's layers must be {mt.DOCKER_LAYER_GZIP}, "
                    f"got {layer.get('mediaType')!r}",
                )

    def _check_image(self, doc, where, config, layers, platform, descriptor_where, in_index=False) -> None:
        # An empty layers list is the schema's to report (manifest.layers-empty), for images and artifacts alike.
        for i, layer in enumerate(layers):
            if isinstance(layer, dict) and _text(layer.get("mediaType")) not in mt.LAYER_TYPES:
                self.add(
                    "manifest.layer-media-type",
                    _where(where, f"/layers/{i}/mediaType"),
                    f"layer media type {layer.get('mediaType')!r} is not an OCI or Docker layer type",
                )
        config_where = _where(where, "/config")
        config_doc = self.read_json_blob(config, config_where)
        if config_doc is _MISSING:
            config_doc = None
        else:
            digest = self._digest_of(config)
            self.check_config(config_doc, self.blob_where(digest) if digest else config_where)
        config_doc = config_doc if isinstance(config_doc, dict) else None
        if config_doc is not None:
            self._check_platform_against_config(platform, config_doc, descriptor_where)
            if in_index and platform is None:
                self.add(
                    "index.platform-missing",
                    descriptor_where,
                    f"index entry for a {format_platform(config_doc)} image SHOULD carry a platform",
                )
        diff_ids = self.diff_ids_of(config_doc)
        if diff_ids is not None and len(diff_ids) != len(layers):
            self.add(
                "config.diff-ids-count",
                self.blob_where(self._digest_of(config)) + ":/rootfs/diff_ids",
                f"config lists {len(diff_ids)} diff_ids for {len(layers)} layers in the manifest",
            )
        arch = config_doc.get("architecture") if config_doc else None
        goos = config_doc.get("os") if config_doc else None
        config_base = self.blob_where(self._digest_of(config)) if self._digest_of(config) else config_where
        for i, layer in enumerate(layers):
            if not isinstance(layer, dict):
                continue
            diff_id = diff_ids[i] if diff_ids is not None and i < len(diff_ids) else None
            result = self.check_layer_descriptor(layer, _where(where, f"/layers/{i}"))
            if result is not None:
                self.compare_layer(
                    result, diff_id, _where(config_base, f"/rootfs/diff_ids/{i}"), goos, arch, config_base
                )

    def _check_platform_against_config(self, platform: dict | None, config: dict, descriptor_where: str) -> None:
        config_platform = {k: config.get(k) for k in ("os", "architecture", "variant", "os.version") if config.get(k)}
        if platform:
            for key in ("os", "architecture", "variant", "os.version"):
                if key in platform and key in config_platform and platform[key] != config_platform[key]:
                    self.add(
                        "index.platform-mismatch",
                        _where(descriptor_where, f"/platform/{key}"),
                        f"index says {key} {platform[key]!r} but the image config says {config_platform[key]!r}",
                    )
        elif self.options.platform and platform_matches(self.options.platform, config_platform):
            self.platform_matched = True

    @staticmethod
    def diff_ids_of(config: dict | None) -> list | None:
        rootfs = config.get("rootfs") if config else None
        diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
        return diff_ids if isinstance(diff_ids, list) else None

    def check_config(self, doc: object, where: str) -> None:
        self.report.checked["configs"] += 1
        self.schema("config", doc, where)
        if not isinstance(doc, dict):
            return
        for rule_id, field, message in platform_problems(doc):
            if rule_id != "platform.features-reserved":
                self.add(rule_id, _where(where, f"/{field}"), message)
        history, diff_ids = doc.get("history"), self.diff_ids_of(doc)
        if isinstance(history, list) and history and diff_ids is not None:
            non_empty = sum(1 for h in history if isinstance(h, dict) and not h.get("empty_layer"))
            if non_empty != len(diff_ids):
                self.add(
                    "config.history-count",
                    _where(where, "/history"),
                    f"history has {non_empty} entries without empty_layer but rootfs has {len(diff_ids)} layers;"
                    " config.md describes empty_layer but sets no MUST on the count, and image-spec's own schema"
                    " tests accept such configs, so this is a warning",
                )

    # -- layers ----------------------------------------------------------------------------------

    def check_layer_descriptor(self, layer: dict, where: str) -> LayerResult | None:
        digest = self._digest_of(layer)
        if digest is None or self.store is None:
            return None
        key = str(digest)
        if key in self.layer_cache:
            result = self.layer_cache[key]
        else:
            if not self.options.check_layers:
                self.verify_blob(layer, where)
                return None
            try:
                with self.store.open(digest, _text(layer.get("mediaType"))) as raw:
                    result = self.check_layer_blob(
                        raw,
                        self.blob_where(digest),
                        _text(layer.get("mediaType")),
                        digest.algorithm,
                        self._read_limit(layer),
                    )
            except BlobMissing:
                if layer.get("urls"):
                    self.report.checked["layers_external"] += 1
                else:
                    self.absent(where, self.blob_where(digest))
                return None
            except BlobUnreadable as exc:
                self.add("blob.unreadable", where, str(exc))
                return None
            self.layer_cache[key] = result
            self.seen_blobs.add(key)
            if not digest.registered:
                self.add(
                    "descriptor.digest-unsupported",
                    where,
                    f"algorithm {digest.algorithm!r} is not registered; not verified",
                )
        if result.longer_than_declared:
            self._longer_than_declared(layer, where, digest)
            return None
        self._verify(layer, where, digest, result.digest, result.size)
        return result

    def check_layer_blob(
        self,
        raw: BinaryIO,
        blob_where: str,
        media_type: str | None,
        algorithm: str = "sha256",
        read_limit: int | None = None,
    ) -> LayerResult:
        """Check one layer stream; with ``read_limit`` (declared size + 1) a longer blob is cut there."""
        result = check_layer(
            BoundedReader(raw, read_limit) if read_limit is not None else raw,
            media_type=media_type,
            digest_algorithm=algorithm if algorithm in REGISTERED else None,
            inspect_elf=self.options.check_elf,
        )
        self.report.checked["layers"] += 1
        self.report.checked["bytes"] += result.size
        if read_limit is not None and result.size >= read_limit:
            # What was read is a prefix of the real blob: its tar and digest findings mean nothing.
            result.longer_than_declared = True
            result.problems.clear()
            result.diff_id = None
            return result
        for rule_id, path, message in result.problems:
            self.add(rule_id, _where(blob_where, path) if path else blob_where, message)
        return result

    def compare_layer(
        self, result: LayerResult, diff_id: object, diff_id_where: str, goos: object, arch: object, config_where: str
    ) -> None:
        if isinstance(diff_id, str) and not digest_problem(diff_id) and result.diff_id is not None:
            wanted = parse_digest(diff_id)
            actual = result.diff_id
            if wanted.algorithm != actual.algorithm and wanted.registered:
                # Rare: a sha512 diff_id. Not re-read here; say so rather than guess.
                self.add(
                    "descriptor.digest-unsupported",
                    diff_id_where,
                    f"diff_id uses {wanted.algorithm}; ocimatrix computed {actual.algorithm} only",
                )
            elif wanted != actual:
                self.add(
                    "config.diff-id-mismatch",
                    diff_id_where,
                    f"uncompressed layer hashes to {actual} but the config says {diff_id}",
                )
        if not self.options.check_elf or _text(goos) not in elf.ELF_OSES or not isinstance(arch, str):
            return
        for key, (count, example) in sorted(result.elf.items()):
            ident = elf.ElfIdent(*key)
            if elf.arch_compatible(arch, ident) is False:
                built_for = elf.goarch_for(ident)
                self.add(
                    "layer.elf-arch-mismatch",
                    config_where,
                    f"config says {goos}/{arch} but {count} ELF binaries are {elf.describe(ident)}"
                    f"{f' ({built_for})' if built_for else ''}, e.g. {example}",
                )

    # -- entry points ----------------------------------------------------------------------------

    def check_document(self, kind: str, doc: object, where: str) -> None:
        if kind == "index":
            self.check_index(doc, where)
        elif kind == "manifest":
            self.check_manifest(doc, where)
        elif kind == "config":
            self.check_config(doc, where)
        elif kind == "descriptor":
            self.schema("descriptor", doc, where)
            if isinstance(doc, dict):
                self.check_descriptor_fields(doc, where)
                platform = doc.get("platform")
                if isinstance(platform, dict):
                    for rule_id, field, message in platform_problems(platform):
                        self.add(rule_id, _where(where, f"/platform/{field}"), message)
                if self.store is not None:
                    self.walk_descriptor(doc, where, 0, platform if isinstance(platform, dict) else None)
        elif kind == "layout":
            self.schema("layout", doc, where)
        else:
            raise ValueError(f"unknown document kind {kind!r}")

    def finish(self) -> None:
        if self.options.platform and not self.platform_matched:
            self.add(
                "index.platform-not-found",
                self.report.source,
                f"no manifest for platform {format_platform(self.options.platform)}",
            )
