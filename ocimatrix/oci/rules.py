"""The catalogue of validation rules: a stable id, a level, the spec section it enforces.

Rule ids are part of the public contract (tests, suites and vendors match on them); never rename
one, add a new id instead. ``error`` marks a MUST of the spec, or what image-spec's own JSON schema
(and the schema tests that pin it) rejects; ``warning`` marks a SHOULD, a portability concern the
spec names, or an inconsistency the spec does not forbid. Where the schema and the prose disagree,
the level follows the schema and the message names both (schemas/README.md lists each case).
``ocimatrix validate`` fails on errors, and on warnings only with ``--strict``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocimatrix.specs import link


@dataclass(frozen=True)
class Rule:
    id: str
    level: str  # "error" or "warning"
    url: str
    summary: str


def _is(page_anchor: str) -> str:
    return link(f"image-spec/{page_anchor}")


_RULES = [
    # Input that is not usable JSON at all.
    Rule("json.invalid", "error", _is("considerations.md#json"), "document is not valid UTF-8 JSON"),
    Rule("json.duplicate-key", "error", _is("considerations.md#json"), "a JSON object repeats a key"),
    Rule("json.too-large", "error", _is("manifest.md#image-manifest"), "a JSON document is too large to be one"),
    # Schema checks (schemas/*.schema.json); the finer ids come from x-ocimatrix-rule in the schemas.
    Rule("descriptor.schema", "error", _is("descriptor.md#properties"), "descriptor breaks its schema"),
    Rule(
        "manifest.schema",
        "error",
        _is("manifest.md#image-manifest-property-descriptions"),
        "manifest breaks its schema",
    ),
    Rule("index.schema", "error", _is("image-index.md#image-index-property-descriptions"), "index breaks its schema"),
    Rule("config.schema", "error", _is("config.md#properties"), "image config breaks its schema"),
    Rule("layout.schema", "error", _is("image-layout.md#oci-layout-file"), "oci-layout file breaks its schema"),
    Rule(
        "platform.schema",
        "error",
        _is("image-index.md#image-index-property-descriptions"),
        "platform breaks its schema",
    ),
    Rule(
        "docker-manifest.schema",
        "error",
        link("docker-manifest/manifest-v2-2.md#image-manifest-field-descriptions"),
        "Docker manifest breaks its schema",
    ),
    Rule(
        "docker-manifest-list.schema",
        "error",
        link("docker-manifest/manifest-v2-2.md#manifest-list-field-descriptions"),
        "Docker manifest list breaks its schema",
    ),
    Rule(
        "docker-archive.schema",
        "error",
        link("docker-image-spec/spec.md"),
        "docker save manifest.json breaks its schema",
    ),
    Rule(
        "manifest.schema-version",
        "error",
        _is("manifest.md#image-manifest-property-descriptions"),
        "schemaVersion is not 2",
    ),
    Rule(
        "index.schema-version",
        "error",
        _is("image-index.md#image-index-property-descriptions"),
        "schemaVersion is not 2",
    ),
    Rule(
        "manifest.media-type",
        "error",
        _is("manifest.md#image-manifest-property-descriptions"),
        "manifest mediaType field is wrong",
    ),
    Rule(
        "index.media-type",
        "error",
        _is("image-index.md#image-index-property-descriptions"),
        "index mediaType field is wrong",
    ),
    Rule(
        "digest.format", "error", _is("descriptor.md#digests"), "digest breaks the grammar or its algorithm's encoding"
    ),
    Rule("descriptor.media-type-format", "error", _is("descriptor.md#properties"), "media type is not RFC 6838"),
    Rule("descriptor.size", "error", _is("descriptor.md#properties"), "size is not a non-negative int64"),
    Rule("annotation.schema", "error", _is("annotations.md#rules"), "annotations are not a string-to-string map"),
    Rule("config.rootfs-type", "error", _is("config.md#properties"), 'rootfs.type is not "layers"'),
    Rule("datetime.format", "error", _is("config.md#properties"), "date-time is not RFC 3339 section 5.6"),
    Rule("layout.version", "error", _is("image-layout.md#oci-layout-file"), "imageLayoutVersion is not 1.0.0"),
    Rule(
        "manifest.media-type-missing",
        "warning",
        _is("manifest.md#image-manifest-property-descriptions"),
        "manifest has no mediaType field",
    ),
    Rule(
        "index.media-type-missing",
        "warning",
        _is("image-index.md#image-index-property-descriptions"),
        "index has no mediaType field",
    ),
    # Descriptors and the bytes they point to.
    # A registry that lists a blob in a manifest it serves and cannot serve that blob breaks the image.
    Rule("blob.missing", "error", _is("image-layout.md#blobs"), "a referenced blob is not in the image"),
    Rule("blob.unreadable", "error", _is("image-layout.md#blobs"), "a blob cannot be read as a regular file"),
    Rule(
        "descriptor.digest-mismatch",
        "error",
        _is("descriptor.md#verification"),
        "content does not hash to the descriptor's digest",
    ),
    Rule(
        "descriptor.size-mismatch",
        "error",
        _is("descriptor.md#properties"),
        "content length differs from the descriptor's size",
    ),
    Rule(
        "descriptor.digest-unsupported",
        "warning",
        _is("descriptor.md#registered-algorithms"),
        "digest algorithm is not registered, content not verified",
    ),
    Rule(
        "descriptor.data-mismatch",
        "error",
        _is("descriptor.md#embedded-content"),
        "embedded data does not match digest and size",
    ),
    Rule("descriptor.data-encoding", "error", _is("descriptor.md#embedded-content"), "embedded data is not base64"),
    Rule(
        "descriptor.media-type-mismatch",
        "error",
        _is("descriptor.md#properties"),
        "descriptor mediaType differs from the content's own",
    ),
    Rule(
        "descriptor.media-type-unknown",
        "warning",
        _is("media-types.md"),
        "media type unknown to the spec, content not checked",
    ),
    Rule(
        "descriptor.media-type-deprecated", "warning", _is("media-types.md"), "media type deprecated in image-spec v1.1"
    ),
    Rule(
        "descriptor.empty-content",
        "error",
        _is("manifest.md#guidance-for-an-empty-descriptor"),
        "empty descriptor is not the 2-byte {} blob",
    ),
    Rule(
        "descriptor.artifact-type-mismatch",
        "warning",
        _is("descriptor.md#properties"),
        "descriptor artifactType differs from the manifest's",
    ),
    Rule("descriptor.url-format", "error", _is("descriptor.md#properties"), "descriptor url is not an RFC 3986 URI"),
    Rule("descriptor.url-scheme", "warning", _is("descriptor.md#properties"), "descriptor url is not http or https"),
    # Manifests and indexes.
    Rule(
        "manifest.artifact-type-required",
        "error",
        _is("manifest.md#image-manifest-property-descriptions"),
        "artifactType missing while config is the empty descriptor",
    ),
    Rule(
        "manifest.layers-empty",
        "error",
        _is("manifest.md#image-manifest-property-descriptions"),
        "manifest has no layers (the schema requires one; the prose says SHOULD)",
    ),
    Rule(
        "manifest.layer-media-type",
        "warning",
        _is("manifest.md#image-manifest-property-descriptions"),
        "layer media type is not one an image layer SHOULD use",
    ),
    Rule(
        "manifest.config-media-type",
        "error",
        _is("manifest.md#image-manifest-property-descriptions"),
        "config descriptor does not point to a config",
    ),
    Rule(
        "manifest.subject-media-type",
        "warning",
        _is("manifest.md#image-manifest-property-descriptions"),
        "subject does not point to a manifest",
    ),
    Rule(
        "manifest.schema1",
        "error",
        link("docker-manifest/manifest-v2-2.md"),
        "Docker schema 1 manifests are deprecated and unsupported",
    ),
    Rule(
        "docker.layer-media-type",
        "error",
        link("docker-manifest/manifest-v2-2.md#image-manifest-field-descriptions"),
        "Docker manifest layer is not a Docker layer type",
    ),
    Rule(
        "docker.config-media-type",
        "error",
        link("docker-manifest/manifest-v2-2.md#image-manifest-field-descriptions"),
        "Docker manifest config is not a Docker config type",
    ),
    Rule(
        "index.manifest-media-type",
        "warning",
        _is("image-index.md#image-index-property-descriptions"),
        "index entry is not a manifest or index",
    ),
    Rule(
        "index.platform-missing",
        "warning",
        _is("image-index.md#image-index-property-descriptions"),
        "index entry for an image has no platform",
    ),
    Rule(
        "index.platform-mismatch",
        "error",
        _is("image-index.md#image-index-property-descriptions"),
        "index platform differs from the image config",
    ),
    Rule(
        "index.platform-not-found",
        "error",
        _is("image-index.md#image-index-property-descriptions"),
        "no manifest matches the requested platform",
    ),
    Rule(
        "index.nesting-too-deep",
        "error",
        _is("image-index.md#image-index-property-descriptions"),
        "indexes nest too deep or in a cycle",
    ),
    # Platform values.
    Rule(
        "platform.unknown-os",
        "warning",
        _is("image-index.md#image-index-property-descriptions"),
        "os is not a GOOS value",
    ),
    Rule(
        "platform.unknown-architecture",
        "warning",
        _is("image-index.md#image-index-property-descriptions"),
        "architecture is not a GOARCH value",
    ),
    Rule(
        "platform.unknown-variant",
        "warning",
        _is("image-index.md#platform-variants"),
        "variant is not one listed for the architecture",
    ),
    Rule(
        "platform.features-reserved",
        "warning",
        _is("image-index.md#image-index-property-descriptions"),
        "platform.features is reserved",
    ),
    # Image config against the layers.
    Rule(
        "config.diff-ids-count",
        "error",
        _is("config.md#layer-diffids"),
        "rootfs.diff_ids count differs from the layer count",
    ),
    Rule(
        "config.diff-id-mismatch",
        "error",
        _is("config.md#layer-diffids"),
        "diff_id is not the digest of the uncompressed layer",
    ),
    Rule(
        "config.history-count",
        "warning",
        _is("config.md#properties"),
        "history entries without empty_layer differ from the layer count",
    ),
    # Layers.
    Rule(
        "layer.compression-mismatch",
        "error",
        _is("layer.md#gzip-media-types"),
        "layer bytes are not compressed as the media type says",
    ),
    Rule(
        "layer.compression-unsupported", "error", _is("layer.md"), "layer uses a compression the spec does not define"
    ),
    Rule("layer.compression-corrupt", "error", _is("layer.md"), "compressed layer stream is truncated or corrupt"),
    Rule(
        "layer.tar-malformed", "error", _is("layer.md#distributable-format"), "layer is not a well-formed tar archive"
    ),
    Rule("layer.path-absolute", "error", _is("layer.md#file-types"), "layer entry has an absolute path"),
    Rule("layer.path-traversal", "error", _is("layer.md#file-types"), "layer entry path contains '..'"),
    Rule("layer.link-escape", "error", _is("layer.md#hardlinks"), "hardlink target is absolute or leaves the root"),
    Rule(
        "layer.symlink-escape", "warning", _is("layer.md#file-types"), "relative symlink target climbs above the root"
    ),
    Rule(
        "layer.through-symlink",
        "error",
        _is("layer.md#file-types"),
        "entry is written through a symlink of the same layer",
    ),
    Rule("layer.whiteout-same-layer", "error", _is("layer.md#whiteouts"), "whiteout hides an entry of its own layer"),
    Rule(
        "layer.whiteout-invalid",
        "error",
        _is("layer.md#whiteouts"),
        "whiteout names no entry of its directory ('.wh.', '.wh..', a reserved '.wh..wh.' name)",
    ),
    Rule("layer.hardlink-to-directory", "error", _is("layer.md#hardlinks"), "hardlink entry links to a directory"),
    Rule(
        "layer.hardlink-target-absent",
        "warning",
        _is("layer.md#hardlinks"),
        "hardlink target is no earlier entry of the same layer (a lower layer's file: the spec is silent)",
    ),
    Rule("layer.duplicate-entry", "warning", _is("layer.md#file-types"), "layer repeats an entry path"),
    Rule(
        "layer.elf-arch-mismatch",
        "error",
        _is("config.md#properties"),
        "ELF binaries are built for another architecture than the config says",
    ),
    # Attestation manifests (BuildKit's provenance and SBOM entries of an index).
    Rule(
        "attestation.subject-annotation",
        "error",
        link("buildkit/docs/attestations/attestation-storage.md#attestation-manifest-descriptor"),
        "attestation manifest names no subject digest (vnd.docker.reference.digest)",
    ),
    Rule(
        "attestation.subject-missing",
        "error",
        link("buildkit/docs/attestations/attestation-storage.md#attestation-manifest-descriptor"),
        "attestation manifest is about a manifest that is not an image entry of the same index",
    ),
    Rule(
        "attestation.platform",
        "warning",
        link("buildkit/docs/attestations/attestation-storage.md#attestation-manifest-descriptor"),
        "attestation manifest's platform is not unknown/unknown",
    ),
    Rule(
        "attestation.layer-media-type",
        "error",
        link("buildkit/docs/attestations/attestation-storage.md#attestation-blob"),
        "attestation manifest layer is not application/vnd.in-toto+json",
    ),
    Rule(
        "attestation.statement",
        "error",
        link("buildkit/docs/attestations/attestation-storage.md#attestation-blob"),
        "in-toto layer is no statement about the manifest it is attached to",
    ),
    Rule(
        "attestation.predicate-type",
        "warning",
        link("buildkit/docs/attestations/attestation-storage.md#attestation-blob"),
        "in-toto layer's predicate-type annotation differs from the statement's predicateType",
    ),
    # Image layout.
    Rule("layout.oci-layout-missing", "error", _is("image-layout.md#content"), "oci-layout file is missing"),
    Rule("layout.index-missing", "error", _is("image-layout.md#indexjson-file"), "index.json is missing"),
    Rule("layout.blobs-missing", "error", _is("image-layout.md#content"), "blobs directory is missing"),
    # image-layout.md#blobs: "The blobs directory MAY be missing referenced blobs, in which case the missing
    # blobs SHOULD be fulfilled by an external blob store." So in a layout (or an archive of one) an absent
    # blob is no error; the warning names the blob the reader has to find elsewhere.
    Rule(
        "layout.blob-absent",
        "warning",
        _is("image-layout.md#blobs"),
        "a referenced blob is not in the layout (it MAY be missing there; an external blob store SHOULD supply it)",
    ),
    Rule("layout.blob-name", "warning", _is("image-layout.md#blobs"), "file under blobs/ is not named <alg>/<encoded>"),
    Rule(
        "layout.blob-digest-mismatch",
        "error",
        _is("image-layout.md#blobs"),
        "blob content does not match its file name",
    ),
    Rule(
        "layout.blob-not-regular",
        "error",
        _is("image-layout.md#blobs"),
        "blob is a symlink out of the layout or not a regular file",
    ),
    # Annotations.
    Rule(
        "annotation.key-format",
        "warning",
        _is("annotations.md#rules"),
        "annotation key is not in reverse domain notation",
    ),
    Rule(
        "annotation.reserved-key",
        "error",
        _is("annotations.md#rules"),
        "undefined key in the reserved org.opencontainers.image namespace",
    ),
    Rule(
        "annotation.reserved-namespace",
        "warning",
        _is("annotations.md#rules"),
        "key in the org.opencontainers namespace that no OCI spec defines",
    ),
    Rule(
        "annotation.value-format",
        "error",
        _is("annotations.md#pre-defined-annotation-keys"),
        "pre-defined annotation has a malformed value",
    ),
    # Archives (docker save, OCI archives).
    Rule("archive.malformed", "error", _is("image-layout.md"), "archive is not a readable tar"),
    Rule("archive.unsafe-path", "error", _is("image-layout.md"), "archive member has an absolute or '..' path"),
    Rule("archive.link-escape", "error", _is("image-layout.md"), "archive link points outside the archive"),
    Rule("archive.duplicate-member", "warning", _is("image-layout.md"), "archive repeats a member name"),
    Rule(
        "archive.unknown-format",
        "error",
        _is("image-layout.md"),
        "archive holds neither an OCI layout nor a docker save manifest.json",
    ),
    Rule(
        "docker-archive.config-id",
        "warning",
        link("docker-image-spec/spec.md"),
        "config file name does not match its sha256",
    ),
    # Registry transport.
    Rule(
        "registry.digest-header-mismatch",
        "error",
        link("distribution-spec/spec.md#pulling-manifests"),
        "Docker-Content-Digest differs from the content",
    ),
    Rule(
        "registry.content-type-mismatch",
        "warning",
        link("distribution-spec/spec.md#pulling-manifests"),
        "Content-Type differs from the manifest mediaType",
    ),
]

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


def rule(rule_id: str) -> Rule:
    try:
        return RULES[rule_id]
    except KeyError:
        raise KeyError(f"unknown validation rule id {rule_id!r}: add it to ocimatrix/oci/rules.py") from None
