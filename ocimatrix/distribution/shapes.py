"""The data shapes of the official conformance suite's redesign, pushed and read back.

The redesign runs every API over a grid of content: a plain image, an uncompressed one, a large
manifest, a multi-platform index, an index of indexes, an empty index, artifacts (``artifactType``,
the empty config, no real layers), artifacts and indexes with a ``subject`` (present or missing),
descriptors carrying ``data``, unknown (custom) fields, an image without layers, non-distributable
layers whose blobs are never pushed, and sha512 digests. Each shape here is built fresh (unique
bytes) and ``round_trip`` pushes it, then reads every manifest back by digest and tag (GET and
HEAD), every blob (GET and HEAD), the tag list and, where the registry has the API, the referrers.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import secrets
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ocimatrix.distribution import expect
from ocimatrix.distribution.client import NotApplicable
from ocimatrix.distribution.content import Blob, Manifest, referrer_descriptor, referrers_tag
from ocimatrix.distribution.context import DistContext
from ocimatrix.oci.digest import digest_bytes
from ocimatrix.oci.mediatypes import (
    EMPTY_JSON,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER_NONDIST_TAR,
    OCI_LAYER_NONDIST_TAR_GZIP,
    OCI_LAYER_TAR,
    OCI_LAYER_TAR_GZIP,
    OCI_MANIFEST,
)

EXAMPLE_TYPE_1 = "application/vnd.ocimatrix.conformance.v1"
EXAMPLE_TYPE_2 = "application/vnd.ocimatrix.conformance.v2"
CUSTOM_FIELD = "org.ocimatrix.customField"
AMD64 = {"os": "linux", "architecture": "amd64"}
ARM64 = {"os": "linux", "architecture": "arm64"}
LARGE_ANNOTATIONS = 390  # x 10,000 bytes: a manifest just under the 4 MiB registries SHOULD accept


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


@dataclass
class ShapeData:
    """What to push, in order, and what reading it back must show."""

    algorithm: str = "sha256"
    blobs: dict[str, Blob] = field(default_factory=dict)
    manifests: list[tuple[Manifest, str]] = field(default_factory=list)  # (manifest, tag or "")
    referrers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # subject digest -> descriptors

    # --- building blocks ---------------------------------------------------------------------------

    def _descriptor(self, blob: Blob, with_data: bool) -> dict[str, Any]:
        extra = {"data": base64.b64encode(blob.data).decode()} if with_data else {}
        return blob.descriptor(**extra)

    def blob(self, data: bytes, media_type: str, with_data: bool = False) -> dict[str, Any]:
        blob = Blob(data, media_type, self.algorithm)
        self.blobs[blob.digest] = blob
        return self._descriptor(blob, with_data)

    def layer(self, number: int, compressed: bool = True, with_data: bool = False) -> tuple[dict[str, Any], str]:
        """A tar layer holding one unique file; returns its descriptor and diff_id."""
        payload = f"ocimatrix layer {number} {secrets.token_hex(8)}\n".encode()
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo(f"ocimatrix-{number}.txt")
            info.size, info.mode, info.mtime = len(payload), 0o644, 0
            tar.addfile(info, io.BytesIO(payload))
        tar_bytes = raw.getvalue()
        diff_id = str(digest_bytes(tar_bytes, self.algorithm))
        if compressed:
            return self.blob(gzip.compress(tar_bytes, mtime=0), OCI_LAYER_TAR_GZIP, with_data), diff_id
        return self.blob(tar_bytes, OCI_LAYER_TAR, with_data), diff_id

    def config(
        self, diff_ids: list[str], platform: dict[str, str], custom: bool = False, with_data: bool = False
    ) -> dict[str, Any]:
        document: dict[str, Any] = {
            **platform,
            "author": f"ocimatrix {secrets.token_hex(6)}",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
        if custom:
            document[CUSTOM_FIELD] = secrets.token_hex(8)
        return self.blob(_json(document), OCI_CONFIG, with_data)

    def manifest(
        self,
        config: dict[str, Any],
        layers: list[dict[str, Any]],
        tag: str = "",
        *,
        artifact_type: str = "",
        subject: dict[str, Any] | None = None,
        annotations: dict[str, str] | None = None,
        custom: bool = False,
        media_type: str = OCI_MANIFEST,
    ) -> Manifest:
        document: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type, "config": config, "layers": layers}
        return self._add(document, tag, artifact_type, subject, annotations, custom, config.get("mediaType", ""))

    def index(
        self,
        children: list[tuple[Manifest, dict[str, str] | None]],
        tag: str = "",
        *,
        artifact_type: str = "",
        subject: dict[str, Any] | None = None,
        annotations: dict[str, str] | None = None,
        custom: bool = False,
    ) -> Manifest:
        manifests = [child.descriptor(**({"platform": p} if p else {})) for child, p in children]
        document: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        return self._add(document, tag, artifact_type, subject, annotations, custom, "")

    def _add(
        self,
        document: dict[str, Any],
        tag: str,
        artifact_type: str,
        subject: dict[str, Any] | None,
        annotations: dict[str, str] | None,
        custom: bool,
        config_type: str,
    ) -> Manifest:
        if artifact_type:
            document["artifactType"] = artifact_type
        if subject is not None:
            document["subject"] = subject
        if annotations:
            document["annotations"] = dict(annotations)
        if custom:
            document[CUSTOM_FIELD] = secrets.token_hex(8)
        manifest = Manifest(_json(document), document["mediaType"], (), document, self.algorithm)
        self.manifests.append((manifest, tag))
        if subject is not None:
            listed = referrer_descriptor(manifest)
            if not artifact_type and config_type:
                listed["artifactType"] = config_type  # the spec: the config's media type stands in
            self.referrers.setdefault(subject["digest"], []).append(listed)
        return manifest

    def image(
        self,
        tag: str = "",
        *,
        layers: int = 2,
        platform: dict[str, str] | None = None,
        compressed: bool = True,
        with_data: bool = False,
        custom: bool = False,
        **manifest_options: Any,
    ) -> Manifest:
        descriptors, diff_ids = [], []
        for number in range(layers):
            descriptor, diff_id = self.layer(number, compressed, with_data)
            descriptors.append(descriptor)
            diff_ids.append(diff_id)
        config = self.config(diff_ids, platform or AMD64, custom, with_data)
        return self.manifest(config, descriptors, tag, custom=custom, **manifest_options)

    def artifact(self, tag: str = "", *, layer_type: str = EXAMPLE_TYPE_1, **manifest_options: Any) -> Manifest:
        """An image-spec v1.1 artifact: ``artifactType``, the empty config, one blob of its own type."""
        config = self.blob(EMPTY_JSON, OCI_EMPTY)
        layer = self.blob(f"ocimatrix artifact {secrets.token_hex(8)}\n".encode(), layer_type)
        manifest_options.setdefault("artifact_type", EXAMPLE_TYPE_1)
        return self.manifest(config, [layer], tag, **manifest_options)

    def multi_platform(self, tag: str = "", **options: Any) -> Manifest:
        children = [(self.image(platform=p, custom=options.get("custom", False)), p) for p in (AMD64, ARM64)]
        return self.index(children, tag, **options)


# --- the shapes ------------------------------------------------------------------------------------


def _image(data: ShapeData) -> None:
    data.image("image")


def _image_uncompressed(data: ShapeData) -> None:
    data.image("image-uncompressed", compressed=False)


def _large_manifest(data: ShapeData) -> None:
    annotations = {f"org.ocimatrix.large-{n}": "A" * 10000 for n in range(LARGE_ANNOTATIONS)}
    data.image("large-manifest", annotations=annotations)


def _index(data: ShapeData) -> None:
    data.multi_platform("index")


def _index_of_indexes(data: ShapeData) -> None:
    first, second = data.multi_platform(), data.multi_platform()
    data.index([(first, None), (second, None)], "index-of-index")


def _empty_index(data: ShapeData) -> None:
    data.index([], "empty-index")


def _artifact(data: ShapeData) -> None:
    data.artifact("artifact")


def _artifact_index(data: ShapeData) -> None:
    children = [(data.artifact(), p) for p in (AMD64, ARM64)]
    data.index(children, "artifact-index", artifact_type=EXAMPLE_TYPE_1)


def _artifact_without_layers(data: ShapeData) -> None:
    """The image-spec's guidance for an artifact with no content: one empty-JSON layer."""
    config = data.blob(EMPTY_JSON, OCI_EMPTY)
    data.manifest(config, [dict(config)], "artifact-without-layers", artifact_type=EXAMPLE_TYPE_1)


def _artifacts_with_subject(data: ShapeData) -> None:
    subject = data.image("image").descriptor()
    data.image(subject=subject)  # no artifactType: the config's media type stands in
    note = {"org.opencontainers.conformance": "hello conformance test", "org.ocimatrix.unique": secrets.token_hex(6)}
    data.artifact("tagged-artifact1", subject=subject, annotations=note)
    data.artifact(
        "tagged-artifact2",
        subject=subject,
        artifact_type=EXAMPLE_TYPE_2,
        layer_type="application/octet-stream",
        annotations={**note, "org.ocimatrix.unique": secrets.token_hex(6)},
    )


def _index_with_subject(data: ShapeData) -> None:
    subject = data.multi_platform("index").descriptor()
    children = [(data.artifact(), p) for p in (AMD64, ARM64)]
    annotations = {"org.opencontainers.conformance": "hello conformance test"}
    data.index(children, "tagged-artifact", artifact_type=EXAMPLE_TYPE_1, subject=subject, annotations=annotations)


def _missing_subject(data: ShapeData) -> None:
    absent = {"mediaType": OCI_MANIFEST, "size": 123, "digest": str(digest_bytes(secrets.token_bytes(16)))}
    data.artifact("tagged-artifact", subject=absent, annotations={"org.opencontainers.conformance": "hello"})


def _data_field(data: ShapeData) -> None:
    data.image("data-field", with_data=True)


def _custom_fields(data: ShapeData) -> None:
    data.multi_platform("custom-fields", custom=True)


def _no_layers(data: ShapeData) -> None:
    data.image("no-layers", layers=0)


def _non_distributable_layers(data: ShapeData) -> None:
    """Two non-distributable layers (never pushed, ``urls`` elsewhere) and one normal layer."""
    foreign = []
    for media_type, size in ((OCI_LAYER_NONDIST_TAR_GZIP, 123456), (OCI_LAYER_NONDIST_TAR, 12345)):
        digest = str(digest_bytes(secrets.token_bytes(64)))
        url = f"https://store.example.com/blobs/sha256/{digest.split(':', 1)[1]}"
        foreign.append({"mediaType": media_type, "digest": digest, "size": size, "urls": [url]})
    normal, diff_id = data.layer(1)
    diff_ids = [foreign[0]["digest"], foreign[1]["digest"], diff_id]
    config = data.config(diff_ids, AMD64)
    data.manifest(config, [*foreign, normal], "non-distributable-image")


def _sha512(data: ShapeData) -> None:
    data.algorithm = "sha512"
    data.multi_platform()  # by digest only: a tag would need the tag parameter for a non-canonical digest


SHAPES: dict[str, Callable[[ShapeData], None]] = {
    "image": _image,
    "image-uncompressed": _image_uncompressed,
    "large-manifest": _large_manifest,
    "index": _index,
    "index-of-index": _index_of_indexes,
    "empty-index": _empty_index,
    "artifact": _artifact,
    "artifact-index": _artifact_index,
    "artifact-without-layers": _artifact_without_layers,
    "artifacts-with-subject": _artifacts_with_subject,
    "index-with-subject": _index_with_subject,
    "missing-subject": _missing_subject,
    "data-field": _data_field,
    "custom-fields": _custom_fields,
    "no-layers": _no_layers,
    "non-distributable-layers": _non_distributable_layers,
    "sha512": _sha512,
}


def build(shape: str) -> ShapeData:
    data = ShapeData()
    SHAPES[shape](data)
    return data


# --- the round trip --------------------------------------------------------------------------------


def _push(ctx: DistContext, repo: str, data: ShapeData, shape: str) -> bool:
    """Push the shape; whether the registry answered OCI-Subject (it has the referrers API)."""
    subject_header = False
    answers: list[dict[str, Any]] = []
    for blob in data.blobs.values():
        ctx.push_blob(repo, blob, f"{shape}: pushing blob {blob.digest[:19]}... ({blob.media_type})")
    for manifest, tag in data.manifests:
        what = f"{shape}: pushing {manifest.media_type.rsplit('.', 2)[-2]} {manifest.digest[:19]}... by digest"
        response = ctx.request(
            "PUT",
            f"/v2/{repo}/manifests/{manifest.digest}",
            what=what,
            headers={"Content-Type": manifest.media_type},
            content=manifest.body,
        )
        if response.status_code in (400, 405) and data.algorithm != "sha256":
            answer = expect.refusal_of_optional_feature(response, what, f"{data.algorithm} digests")
            raise NotApplicable(f"the registry does not support {data.algorithm} digests ({answer})")
        subject = manifest.document.get("subject", {}).get("digest")
        if subject:
            # How the registry answered a manifest whose subject it holds, or doesn't (yet): kept per run.
            pushed = {m.digest for m, _ in data.manifests[: data.manifests.index((manifest, tag))]}
            answers.append(
                {
                    "subject": "present" if subject in pushed else "missing",
                    "status": response.status_code,
                    "OCI-Subject": response.headers.get("OCI-Subject", "(absent)"),
                }
            )
            expect.note("subject_answers", answers)
        expect.status(response, 201, what, "a registry MUST accept this manifest (§Pushing Manifests)")
        ctx.cleanup.manifests.append((repo, manifest.digest))
        told = response.headers.get("OCI-Subject")
        if subject and told and told != subject:
            expect.fail(response, what, f"{what}: OCI-Subject is {told!r}, but the subject is {subject}", "OCI-Subject")
        subject_header = subject_header or bool(subject and told)
        if tag:
            ctx.push_manifest(repo, tag, manifest, f"{shape}: tagging it {tag!r}", "a tagged push MUST answer 201")
    return subject_header


def read_manifest(ctx: DistContext, repo: str, manifest: Manifest, reference: str, shape: str) -> None:
    """``manifest`` read back by ``reference`` (GET and HEAD): 200, byte for byte, its media type as
    Content-Type, its digest as Docker-Content-Digest, its size as HEAD's Content-Length."""
    by = "tag" if reference != manifest.digest else "digest"
    what = f"{shape}: GET manifest by {by} {reference[:26]}"
    response = ctx.get_manifest(repo, reference, what)
    expect.status(response, 200, what, "a pushed manifest MUST be pullable")
    expect.body_digest(response, manifest.digest, f"{what}: the registry MUST serve it byte for byte", manifest.size)
    if expect.media_type(response) != manifest.media_type:
        expect.fail(
            response,
            what,
            f"{what}: Content-Type is {expect.media_type(response)!r}, not {manifest.media_type!r}",
            "Content-Type",
        )
    expect.digest_header(response, manifest.digest, what)
    what = f"{shape}: HEAD manifest by {by} {reference[:26]}"
    response = ctx.get_manifest(repo, reference, what, method="HEAD")
    expect.status(response, 200, what, "a pushed manifest MUST answer HEAD with 200")
    expect.digest_header(response, manifest.digest, what)
    expect.content_length(response, manifest.size, what)


def _read_blob(ctx: DistContext, repo: str, blob: Blob, shape: str) -> None:
    what = f"{shape}: GET blob {blob.digest[:19]}..."
    response = ctx.request("GET", f"/v2/{repo}/blobs/{blob.digest}", what=what)
    expect.status(response, 200, what, "a pushed blob MUST be pullable")
    expect.body_digest(response, blob.digest, what, blob.size)
    what = f"{shape}: HEAD blob {blob.digest[:19]}..."
    response = ctx.request("HEAD", f"/v2/{repo}/blobs/{blob.digest}", what=what)
    expect.status(response, 200, what, "a pushed blob MUST answer HEAD with 200")
    expect.content_length(response, blob.size, what)


def read_blob_of(ctx: DistContext, repo: str, descriptor: dict[str, Any], shape: str) -> None:
    """The blob a descriptor names, read back (GET and HEAD) without knowing its bytes beforehand."""
    digest, size = str(descriptor.get("digest", "")), descriptor.get("size")
    what = f"{shape}: GET blob {digest[:19]}..."
    response = ctx.request("GET", f"/v2/{repo}/blobs/{digest}", what=what)
    expect.status(response, 200, what, "a blob a pushed manifest names MUST be pullable")
    expect.body_digest(response, digest, what, size if isinstance(size, int) else None)
    what = f"{shape}: HEAD blob {digest[:19]}..."
    response = ctx.request("HEAD", f"/v2/{repo}/blobs/{digest}", what=what)
    expect.status(response, 200, what, "a pushed blob MUST answer HEAD with 200")
    if isinstance(size, int):
        expect.content_length(response, size, what)


def _check_tags(ctx: DistContext, repo: str, data: ShapeData, shape: str) -> None:
    check_tags_listed(ctx, repo, sorted({tag for _, tag in data.manifests if tag}), shape)


def check_tags_listed(ctx: DistContext, repo: str, tags: list[str], shape: str) -> None:
    """Every tag of ``tags`` MUST be in the repository's tag list."""
    if not tags:
        return
    what = f"{shape}: tag list"
    response = ctx.request("GET", f"/v2/{repo}/tags/list", what=what)
    expect.status(response, 200, what, "listing the tags of an existing repository MUST answer 200 OK")
    listed = expect.json_object(response, what, {"tags": list}).get("tags") or []
    missing = [tag for tag in tags if tag not in listed]
    if missing:
        expect.fail(response, what, f"{what}: pushed tags {missing} are not listed (listed: {listed})")


def _check_referrers(ctx: DistContext, repo: str, data: ShapeData, shape: str, subject_header: bool) -> None:
    for subject, expected in data.referrers.items():
        what = f"{shape}: referrers of {subject[:19]}..."
        response = ctx.request("GET", f"/v2/{repo}/referrers/{subject}", what=what, headers={"Accept": OCI_INDEX})
        if response.status_code == 404 and not subject_header:
            # No OCI-Subject to any push and 404 for a subject with referrers: no referrers API (lawful).
            # The pusher then keeps the referrers tag schema's index itself, and the registry must keep it.
            expect.note("referrers_api", "absent (404): the pusher keeps the referrers tag schema's index")
            _check_fallback_indexes(ctx, repo, data, shape)
            return
        expect.status(
            response, 200, what, "a registry that answered OCI-Subject has the referrers API: 200 and an image index"
        )
        document = expect.json_object(response, what)
        listed = {d.get("digest"): d for d in expect.descriptors(response, what, document)}
        for descriptor in expected:
            got = listed.get(descriptor["digest"])
            if got is None:
                expect.fail(
                    response,
                    what,
                    f"{what}: referrer {descriptor['digest']} is not listed; listed: {sorted(map(str, listed))}",
                )
            for key in ("mediaType", "size", "artifactType"):
                if got.get(key) != descriptor.get(key):
                    expect.fail(
                        response,
                        what,
                        f"{what}: the descriptor of {descriptor['digest']} has {key}={got.get(key)!r}, "
                        f"expected {descriptor.get(key)!r}",
                    )
            have = got.get("annotations") or {}
            missing = {k: v for k, v in (descriptor.get("annotations") or {}).items() if have.get(k) != v}
            if missing:
                expect.fail(
                    response, what, f"{what}: the descriptor of {descriptor['digest']} lacks the annotations {missing}"
                )


def _check_fallback_indexes(ctx: DistContext, repo: str, data: ShapeData, shape: str) -> None:
    """The client's side of a registry without the referrers API (§Unavailable Referrers API): an image
    index of the referrers under the tag ``<alg>-<hex>`` of each subject, whose target may be absent.
    The registry MUST accept it like any index, serve it back byte for byte, and list its tag."""
    tags = []
    for subject, expected in data.referrers.items():
        tag = referrers_tag(subject)
        document = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": expected}
        index = Manifest(_json(document), OCI_INDEX, (), document)
        ctx.push_manifest(
            repo, tag, index, f"{shape}: pushing the referrers tag {tag}", "a registry MUST accept an image index (201)"
        )
        read_manifest(ctx, repo, index, tag, f"{shape} fallback")
        tags.append(tag)
    check_tags_listed(ctx, repo, tags, f"{shape} fallback")
    expect.note("referrers_tags", tags)


def round_trip(ctx: DistContext, shape: str) -> None:
    """Push ``shape``; every manifest, blob, tag and referrer MUST then read back exactly."""
    data = build(shape)
    repo = ctx.new_repo(f"shape-{shape}")
    subject_header = _push(ctx, repo, data, shape)
    for manifest, tag in data.manifests:
        read_manifest(ctx, repo, manifest, manifest.digest, shape)
        if tag:
            read_manifest(ctx, repo, manifest, tag, shape)
    for blob in data.blobs.values():
        _read_blob(ctx, repo, blob, shape)
    _check_tags(ctx, repo, data, shape)
    _check_referrers(ctx, repo, data, shape, subject_header)
    expect.note("shape", {"manifests": len(data.manifests), "blobs": len(data.blobs), "algorithm": data.algorithm})
