"""Artifacts as the official distribution conformance suite's redesign describes them, made by a tool:
each attacher pushes them to each registry, and the harness's own client reads them back.

- ``artifact``: ``oras push --artifact-type`` with one file: ``artifactType``, the empty config
  (``application/vnd.oci.empty.v1+json``, ``{}``), the file as its layer; tagged.
- ``artifact-without-files``: the same with no file at all; the image-spec's guidance for an artifact
  without content is one empty-JSON layer (a SHOULD: what the tool made is recorded).
- ``attached``: ``oras attach`` to an image the harness pushed: a ``subject`` whose target exists.

Then the registry must serve every manifest byte for byte by digest and tag (GET and HEAD, its media
type as ``Content-Type``, its digest as ``Docker-Content-Digest``), every blob it names, the tag in
its tag list, and the attached artifact through the referrers API or, without it, the referrers tag
schema's index that the pusher (here the tool) keeps, whose tag the tag list must hold too.

A ``subject`` whose target is missing and descriptors carrying ``data`` are shapes no attacher here can
make (``oras attach`` resolves its subject first); the harness's own client pushes them in the
distribution suite (``test_content_shape_round_trip[missing-subject]``, ``[data-field]``).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from ocimatrix import evidence
from ocimatrix.distribution import referrers, shapes
from ocimatrix.distribution.content import Manifest, referrers_tag
from ocimatrix.engines.signing import Attacher, Exported
from ocimatrix.errors import EngineError, fail_with
from ocimatrix.oci.digest import digest_bytes
from ocimatrix.oci.mediatypes import EMPTY_JSON, OCI_EMPTY, OCI_MANIFEST
from ocimatrix.specs import spec

pytestmark = pytest.mark.axes("registry")

SHAPES = ("artifact", "artifact-without-files", "attached")
ARTIFACT_TYPE = "application/vnd.ocimatrix.tool-artifact.v1+json"
EMPTY_DESCRIPTOR = {"mediaType": OCI_EMPTY, "digest": str(digest_bytes(EMPTY_JSON)), "size": len(EMPTY_JSON)}
WRITER, REGISTRY = "writer", "registry"


def _made(attacher: Attacher, bench, keyring, shape: str) -> tuple[str, str, Exported, dict[str, Any] | None]:
    """The tool's push: (repository, tag or "", what it exported, the subject's descriptor or None)."""
    ctx = bench.ctx
    evidence.judging(WRITER, REGISTRY)  # the tool's refusal relays the registry's answer to its PUT
    try:
        if shape == "attached":
            repo = ctx.new_repo(f"attached-by-{attacher.label}")
            image = ctx.push_image(repo)
            ref = f"{ctx.target.host}/{repo}@{image.digest}"
            subject = {"mediaType": image.media_type, "digest": image.digest, "size": image.size}
            return repo, "", attacher.attach_artifact(ref, keyring, attacher.artifact_type), subject
        repo, tag = ctx.new_repo(f"{shape}-by-{attacher.label}"), shape
        exported = attacher.push_artifact(
            f"{ctx.target.host}/{repo}:{tag}", keyring, ARTIFACT_TYPE, with_file=shape == "artifact"
        )
        return repo, tag, exported, None
    except EngineError as exc:
        fail_with(
            f"{attacher.label} could not push the {shape}: {exc}",
            step=exc.step or shape,
            answer=exc.answer or str(exc),
        )


def _check_shape(attacher: Attacher, shape: str, exported: Exported, subject: dict[str, Any] | None) -> dict:
    """What the tool made must be the shape it was asked for: ``artifactType``, the empty config, the subject."""
    evidence.judging(WRITER)
    step = f"{attacher.label}: the manifest it exported"
    text = exported.manifest.decode(errors="replace")[:1500]
    try:
        document = json.loads(exported.manifest)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        fail_with(f"{attacher.label} exported no JSON manifest", step=step, answer=text)
    wanted_type = attacher.artifact_type if shape == "attached" else ARTIFACT_TYPE
    config = document.get("config") if isinstance(document.get("config"), dict) else {}
    layers = document.get("layers") if isinstance(document.get("layers"), list) else []
    made = {
        "mediaType": document.get("mediaType"),
        "artifactType": document.get("artifactType"),
        "config": _plain(config),
        "layers": [layer.get("mediaType") for layer in layers if isinstance(layer, dict)],
        "subject": (document.get("subject") or {}).get("digest") if isinstance(document.get("subject"), dict) else None,
    }
    evidence.current().add("made", made)
    evidence.current().add("manifest", text)
    problems = []
    if made["mediaType"] != OCI_MANIFEST:
        problems.append(f"mediaType {made['mediaType']!r}, not {OCI_MANIFEST}")
    if made["artifactType"] != wanted_type:
        problems.append(f"artifactType {made['artifactType']!r}, asked for {wanted_type}")
    if _plain(config) != EMPTY_DESCRIPTOR:
        problems.append(f"config {made['config']}, not the empty descriptor")
    if subject is not None and document.get("subject") != subject:
        problems.append(f"subject {document.get('subject')}, not the image {subject}")
    if shape == "artifact" and len(layers) != 1:
        problems.append(f"{len(layers)} layers for one file")
    if problems:
        fail_with(f"{attacher.label} made another shape than asked: {'; '.join(problems)}", step=step, answer=text)
    _check_data_fields(attacher, [config, *layers], step, text)
    if shape == "artifact-without-files":
        guidance = [_plain(layer) for layer in layers] == [EMPTY_DESCRIPTOR]
        evidence.current().add("empty_layer_guidance", "followed" if guidance else f"not followed: {made['layers']}")
    return document


def _plain(descriptor: Any) -> dict[str, Any]:
    return {k: descriptor.get(k) for k in ("mediaType", "digest", "size")} if isinstance(descriptor, dict) else {}


def _check_data_fields(attacher: Attacher, descriptors: list[Any], step: str, text: str) -> None:
    """A descriptor's ``data`` (image-spec: the embedded content, base64) MUST hash to its digest and size."""
    carried = []
    for descriptor in descriptors:
        if not isinstance(descriptor, dict) or "data" not in descriptor:
            continue
        carried.append(f"{descriptor.get('mediaType')}: {descriptor['data']}")
        try:
            content = base64.b64decode(str(descriptor["data"]), validate=True)
        except ValueError:
            content = None
        if (
            content is None
            or str(digest_bytes(content)) != descriptor.get("digest")
            or len(content) != descriptor.get("size")
        ):
            fail_with(
                f"{attacher.label} wrote a descriptor whose data is not its content ({descriptor.get('digest')})",
                step=step,
                answer=text,
            )
    evidence.current().add("data_fields", carried)


def _check_listed(bench, repo: str, subject: dict[str, Any], manifest: Manifest, what: str) -> None:
    """The attached artifact through the referrers API, or the referrers tag's index the tool keeps."""
    evidence.judging(WRITER, REGISTRY)
    client = bench.ctx.client
    listing = referrers.list_referrers(client, repo, subject["digest"])
    evidence.current().add("referrers", {"path": listing.path, "entries": listing.summary()})
    if manifest.digest not in listing.digests():
        fail_with(
            f"{what}: the attached artifact {manifest.digest} is not listed ({listing.path})",
            step=f"referrers of the image ({listing.path})",
            answer=json.dumps(listing.summary()),
        )
    problems = referrers.entry_problems(client, repo, subject["digest"], listing.entries)
    if problems:
        first = problems[0]
        fail_with(
            f"{what}: the entry {first.digest} in the {listing.path} contradicts its manifest: {first.problem}",
            step="index entry against its manifest",
            answer=first.answer,
        )
    if listing.path != referrers.API:
        evidence.judging(REGISTRY)
        shapes.check_tags_listed(bench.ctx, repo, [referrers_tag(subject["digest"])], what)


@spec(
    "distribution-spec/spec.md#pushing-manifests",
    "Pushing Manifests (artifacts a tool made: artifactType, the empty config, a subject present)",
)
@pytest.mark.parametrize("shape", SHAPES)
def test_tool_artifact_round_trip(cell, bench, attacher: Attacher, shape: str, keyring, recorder):
    repo, tag, exported, subject = _made(attacher, bench, keyring, shape)
    document = _check_shape(attacher, shape, exported, subject)
    manifest = Manifest(exported.manifest, OCI_MANIFEST, (), document)
    recorder.add("pushed", {"repository": repo, "digest": manifest.digest, "tag": tag or None})
    what = f"{shape} by {attacher.label}"
    evidence.judging(REGISTRY)
    ctx = bench.ctx
    shapes.read_manifest(ctx, repo, manifest, manifest.digest, what)
    if tag:
        shapes.read_manifest(ctx, repo, manifest, tag, what)
    for descriptor in [document["config"], *document.get("layers", [])]:
        shapes.read_blob_of(ctx, repo, descriptor, what)
    if tag:
        shapes.check_tags_listed(ctx, repo, [tag], what)
    if subject is not None:
        _check_listed(bench, repo, subject, manifest, what)
