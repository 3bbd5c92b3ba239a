"""What points at an image, read with the harness's own client: the referrers API, or the referrers tag
schema's index when the registry has no API, and a signature kept under ``<alg>-<hex>.sig``.

- ``list_referrers``: ``GET /v2/<name>/referrers/<digest>``; a 404 means no API (distribution-spec
  v1.1 lets a registry lack it) and the index under the referrers tag (``sha256-<hex>``) is read
  instead. Any other answer, or a 200 that is no image index, fails with the registry's answer.
- ``entry_problems``: each listed entry against the manifest it names: the descriptor's digest, size
  and media type, the ``artifactType`` (the manifest's, else its config's media type, as the spec
  says a referrers list carries it) and the manifest's ``subject``.
- ``signature_tag``: the tag schema cosign 2.x keeps its signatures under (no ``subject``, so no
  referrer), with the signed payload naming the image's digest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from ocimatrix.distribution.client import DistributionClient
from ocimatrix.distribution.content import MANIFEST_ACCEPT, referrers_tag
from ocimatrix.errors import fail_with
from ocimatrix.oci.digest import digest_bytes
from ocimatrix.oci.mediatypes import OCI_INDEX

API = "referrers API"
MAX_ANSWER = 600


def answer_of(response: httpx.Response) -> str:
    """The registry's answer as a failure keeps it: status, reason and the start of the body."""
    body = response.text[:MAX_ANSWER] if response.content else ""
    return f"{response.status_code} {response.reason_phrase}; body: {body!r}"


@dataclass
class Listing:
    """The referrers of one subject as the registry serves them, and the path they were read by."""

    path: str  # API, or "referrers tag sha256-<hex>"
    entries: list[dict[str, Any]] = field(default_factory=list)
    index_present: bool = True  # False: no API and no index under the tag (nothing refers to it yet)

    def digests(self) -> list[str]:
        return [str(e.get("digest", "")) for e in self.entries]

    def summary(self) -> list[str]:
        return [f"{e.get('digest', '')} {e.get('artifactType', '(no artifactType)')}" for e in self.entries]


def _index_entries(response: httpx.Response, what: str) -> list[dict[str, Any]]:
    try:
        document = json.loads(response.content)
    except ValueError:
        document = None
    manifests = document.get("manifests") if isinstance(document, dict) else None
    if not isinstance(manifests, list) or not all(isinstance(m, dict) for m in manifests):
        fail_with(
            f"{what}: the answer is no image index (no list of descriptors under manifests)",
            step=what,
            answer=answer_of(response),
        )
    return list(manifests)


def list_referrers(client: DistributionClient, repo: str, digest: str) -> Listing:
    """The referrers of ``repo@digest``: through the API when the registry has it, else the tag's index."""
    what = f"GET /v2/<name>/referrers/{digest}"
    response = client.request("GET", f"/v2/{repo}/referrers/{digest}", what=what, headers={"Accept": OCI_INDEX})
    if response.status_code == 200:
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if media_type != OCI_INDEX:
            fail_with(
                f"{what}: Content-Type {media_type!r}, the referrers list MUST be {OCI_INDEX}",
                step=what,
                answer=answer_of(response),
            )
        return Listing(API, _index_entries(response, what))
    if response.status_code != 404:
        fail_with(
            f"{what}: a registry answers the referrers API with 200 (an image index) or, without the API, 404",
            step=what,
            answer=answer_of(response),
        )
    tag = referrers_tag(digest)
    what = f"GET referrers tag {tag}"
    response = client.request("GET", f"/v2/{repo}/manifests/{tag}", what=what, headers={"Accept": OCI_INDEX})
    if response.status_code == 404:
        return Listing(f"referrers tag {tag}", [], index_present=False)
    if response.status_code != 200:
        fail_with(f"{what}: the registry neither serves nor denies the tag", step=what, answer=answer_of(response))
    return Listing(f"referrers tag {tag}", _index_entries(response, what))


def manifest(client: DistributionClient, repo: str, reference: str, what: str) -> tuple[dict[str, Any], httpx.Response]:
    """The manifest ``repo@reference`` as a document; a registry that doesn't serve it fails."""
    response = client.request(
        "GET", f"/v2/{repo}/manifests/{reference}", what=what, headers={"Accept": MANIFEST_ACCEPT}
    )
    if response.status_code != 200:
        fail_with(f"{what}: the manifest is not served", step=what, answer=answer_of(response))
    try:
        document = json.loads(response.content)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        fail_with(f"{what}: the manifest is no JSON object", step=what, answer=answer_of(response))
    return document, response


def artifact_type_of(document: dict[str, Any]) -> str:
    """A manifest's artifact type as a referrers list must carry it: ``artifactType``, else the config's media type."""
    config = document.get("config") if isinstance(document.get("config"), dict) else {}
    return str(document.get("artifactType") or config.get("mediaType") or "")


@dataclass
class EntryProblem:
    digest: str
    problem: str
    answer: str  # the entry and the manifest as served, side by side


def entry_problems(
    client: DistributionClient, repo: str, subject: str, entries: list[dict[str, Any]]
) -> list[EntryProblem]:
    """How each listed entry contradicts the manifest it names (none: they agree)."""
    problems = []
    for entry in entries:
        digest = str(entry.get("digest", ""))
        document, response = manifest(client, repo, digest, f"GET referrer {digest}")
        served_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        listed_type = str(entry.get("artifactType", ""))
        wanted_type = artifact_type_of(document)
        answer = (
            f"index entry artifactType {listed_type or '(none)'}, manifest artifactType "
            f"{document.get('artifactType') or '(none)'}, config mediaType "
            f"{(document.get('config') or {}).get('mediaType') or '(none)'}"
        )
        subject_digest = (
            (document.get("subject") or {}).get("digest") if isinstance(document.get("subject"), dict) else None
        )
        if listed_type != wanted_type:
            problems.append(
                EntryProblem(digest, f"the entry's artifactType is not its manifest's ({wanted_type})", answer)
            )
        if subject_digest != subject:
            problems.append(EntryProblem(digest, f"its manifest's subject is {subject_digest}, not {subject}", answer))
        if str(digest_bytes(response.content)) != digest or entry.get("size") != len(response.content):
            problems.append(EntryProblem(digest, "the entry's digest or size is not the manifest's", answer))
        if entry.get("mediaType") != (document.get("mediaType") or served_type):
            problems.append(
                EntryProblem(digest, f"the entry's mediaType is not the manifest's ({served_type})", answer)
            )
    return problems


def signature_tag(digest: str) -> str:
    """The tag cosign 2.x keeps an image's signatures under: the referrers tag with ``.sig``."""
    return f"{referrers_tag(digest)}.sig"


def signed_digests(client: DistributionClient, repo: str, digest: str) -> tuple[list[str], str]:
    """The image digests the payloads under ``signature_tag(digest)`` sign, and the registry's answer
    (([], answer) when the tag is absent)."""
    tag = signature_tag(digest)
    what = f"GET signature tag {tag}"
    response = client.request("GET", f"/v2/{repo}/manifests/{tag}", what=what, headers={"Accept": MANIFEST_ACCEPT})
    if response.status_code == 404:
        return [], answer_of(response)
    document, response = manifest(client, repo, tag, what)
    signed = []
    for layer in document.get("layers") or []:
        blob_what = f"GET signature payload {layer.get('digest')}"
        blob = client.request("GET", f"/v2/{repo}/blobs/{layer.get('digest')}", what=blob_what)
        try:
            payload = json.loads(blob.content)
            signed.append(str(payload["critical"]["image"]["docker-manifest-digest"]))
        except (ValueError, KeyError, TypeError):
            signed.append(f"(no signed digest in {blob.status_code} answer)")
    return signed, answer_of(response)
