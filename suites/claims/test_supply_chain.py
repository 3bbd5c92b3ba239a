"""What points at a vendor's image, checked where the claims name it and again after the named copy.

- ``signed``: each claimed signer's verifiers here (every generation's: cosign of trixie and of sid)
  verify the image with the claims' key or certificate; each verifier's own answer decides, and every
  one must say yes. Nothing is looked up beyond loopback (the drivers' proxies point at a closed port).
- ``attestations``: the index holds, for every claimed platform's image, an attestation manifest (as
  BuildKit stores them) whose in-toto statement of the claimed kind names that image's manifest, and
  which breaks none of the validator's ``attestation.*`` rules. The index is read as the registry (or
  the layout) serves it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ocimatrix.claims.attested import PREDICATES, IndexAttestations, Unreadable, from_layout, from_registry
from ocimatrix.engines.signing import Keyring, ReadBack, Signer
from ocimatrix.errors import EngineError, ServiceUnavailable, fail_with
from ocimatrix.host.platforms import platform_matches_request
from ocimatrix.oci.reference import parse_reference
from ocimatrix.oci.registry_client import RegistryClient, RegistryError
from ocimatrix.specs import spec

LOOPBACK = ("127.", "localhost", "[::1]")
STORAGE = "buildkit/docs/attestations/attestation-storage.md#attestation-manifest-descriptor"


def _registry_of(ref: str) -> str:
    return parse_reference(ref).registry


def _answers_before_acting(ref: str) -> None:
    """Skip a registry this host may not reach; an error when a loopback one answers nothing at all."""
    host = _registry_of(ref)
    if not host.startswith(LOOPBACK):
        pytest.skip(f"{host} is not on loopback: nothing here reaches past 127.0.0.1")
    try:
        with RegistryClient(host, plain_http=True) as client:
            client.ping()
    except RegistryError as exc:
        if exc.status is None:
            raise ServiceUnavailable(f"registry {host}", str(exc)) from None


def _verify(family: str, ref: str, image_claims, claims_keys: Path, endpoints, bound_tools, recorder) -> None:
    claimed = image_claims["signed"][family]
    _answers_before_acting(ref)
    keys = Keyring(claims_keys / family)
    keys.directory.mkdir(parents=True, exist_ok=True)
    source = Path(claimed["material"])
    material = keys.path("material", source.name)
    material.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, material)  # the roots see the state directory, not the claims file's
    answers: list[ReadBack] = []
    for label in claimed["verifiers"]:
        tool = bound_tools.get(label, endpoints, role="signer")
        assert isinstance(tool, Signer)
        bound_tools.note(recorder, f"verifier {label}", tool)
        try:
            back = tool.verify_with(ref, material, keys)
        except EngineError as exc:
            fail_with(
                f"{label} refused the claims' {source.name}: {exc}",
                step=exc.step or "verify",
                answer=exc.answer or str(exc),
            )
        answers.append(back)
        recorder.add("verified", [{"verifier": b.reader, "yes": b.found, "answer": b.answer[-1500:]} for b in answers])
    if not answers:
        pytest.skip(f"no verifier of {family} here")
    refused = [b for b in answers if not b.found]
    if refused:
        first = refused[0]
        fail_with(
            f"{first.reader} did not verify {ref} with {source.name}",
            step=first.step,
            answer=first.answer,
        )


def test_signed_at_source(signer_family, image_claims, claims_keys, endpoints, bound_tools, recorder):
    source = image_claims["source"]
    _verify(signer_family, source["value"], image_claims, claims_keys, endpoints, bound_tools, recorder)


def test_signed_after_copy(signer_family, image_claims, copied_image, claims_keys, endpoints, bound_tools, recorder):
    ref = copied_image.get()
    recorder.add("copy", ref)
    _verify(signer_family, ref, image_claims, claims_keys, endpoints, bound_tools, recorder)


def _read(where: str, reader) -> IndexAttestations:
    try:
        return reader()
    except Unreadable as exc:
        if exc.unanswered:
            raise ServiceUnavailable(where, str(exc)) from None
        fail_with(f"the image's index can't be read {where}: {exc}", step=f"read the index {where}", answer=str(exc))


def _platform_fields(text: str) -> dict:
    os_name, arch, variant = (text.split("/") + ["", "", ""])[:3]
    return {"os": os_name, "architecture": arch, "variant": variant}


def _judge_attestations(kind: str, found: IndexAttestations, platforms: list[str], where: str, recorder) -> None:
    recorder.add(
        "attestations", {"where": where, "index": found.digest, "found": [a.to_json() for a in found.attestations]}
    )
    wanted = PREDICATES[kind]
    answer = json.dumps(found.to_json())
    step = f"read the index {found.digest} {where}"
    if not found.images:
        fail_with(
            f"{where}: the image is a single manifest, not an index: it carries no attestation",
            step=step,
            answer=answer,
        )
    problems = [f"the index: {p}" for p in found.index_problems]
    for platform in platforms:
        about = found.about(lambda text, p=platform: platform_matches_request(p, _platform_fields(text)))
        if not about:
            problems.append(f"{platform}: the index has no image for it")
        for digest, attestations in about.items():
            good = [a for a in attestations if set(a.predicate_types) & set(wanted) and not a.problems]
            if good:
                continue
            if not attestations:
                problems.append(f"{platform}: no attestation manifest is about its image {digest}")
                continue
            said = "; ".join(
                f"{a.digest}: predicate types {a.predicate_types or 'none'}"
                + (f", {'; '.join(a.problems)}" if a.problems else "")
                for a in attestations
            )
            problems.append(f"{platform}: no {kind} attestation ({', '.join(wanted)}) about {digest}: {said}")
    if problems:
        fail_with(f"{where}: " + "; ".join(problems), step=step, answer=answer)


def _at_source(source: dict) -> IndexAttestations:
    if source["kind"] == "reference":
        _answers_before_acting(source["value"])
        return from_registry(source["value"])
    return from_layout(Path(source["value"]), tag=source.get("tag") or "")


@spec(STORAGE, "attestation manifests about every claimed platform's image, where the claims name it")
def test_attested_at_source(attestation_kind, image_claims, recorder):
    source = image_claims["source"]
    where = f"at {source['value']}"
    found = _read(where, lambda: _at_source(source))
    _judge_attestations(attestation_kind, found, image_claims["platforms"], where, recorder)


@spec(STORAGE, "attestation manifests about every claimed platform's image, after the claims' copy")
def test_attested_after_copy(attestation_kind, image_claims, copied_image, recorder):
    ref = copied_image.get()
    where = f"after the copy to {ref}"
    found = _read(where, lambda: from_registry(ref))
    _judge_attestations(attestation_kind, found, image_claims["platforms"], where, recorder)
