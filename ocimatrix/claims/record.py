"""``claims.json`` (``ocimatrix/claims-report/v1``, schemas/claims-report.schema.json): every claim's
verdict with the cells behind it, and a fingerprint of what was judged.

The fingerprint is a sha256 over the claims file's digest, the image digests the cells saw, the tool
versions recorded and the ocimatrix version: two reports with one fingerprint judged the same
claims, on the same image, with the same tools.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ocimatrix import __version__
from ocimatrix.claims.judge import Judgement, cell_json, counts
from ocimatrix.claims.model import ClaimsFile
from ocimatrix.results import Results

SCHEMA_ID = "ocimatrix/claims-report/v1"


def fingerprint(
    claims_digest: str, image_digests: list[str], tools: dict[str, str], version: str = __version__
) -> dict:
    parts = {
        "claims_file": claims_digest,
        "images": sorted(set(image_digests)),
        "tools": dict(sorted(tools.items())),
        "ocimatrix": version,
    }
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()
    return {"sha256": hashlib.sha256(canonical).hexdigest(), **parts}


def image_digests(results: Results) -> list[str]:
    return sorted({str(r.evidence["image_digest"]) for r in results.results if r.evidence.get("image_digest")})


def report_json(claims_file: ClaimsFile, judgements: list[Judgement], results: Results) -> dict[str, Any]:
    tools = dict(results.run.tools)
    return {
        "schema": SCHEMA_ID,
        "claims_file": str(claims_file.path),
        "vendor": claims_file.vendor,
        "product": claims_file.product,
        "product_version": claims_file.version,
        "subjects": _subjects(claims_file),
        "run": {
            "host": results.run.host,
            "kernel": results.run.kernel,
            "arch": results.run.arch,
            "started": results.run.started,
            "finished": results.run.finished,
            "ocimatrix_version": results.run.ocimatrix_version,
            "tools": tools,
        },
        "fingerprint": fingerprint(claims_file.digest, image_digests(results), tools),
        "counts": counts(judgements),
        "claims": [
            {
                "id": j.claim.id,
                "subject": j.claim.subject,
                "title": j.claim.title,
                "verdict": j.verdict,
                "reason": j.reason,
                "spec": j.claim.spec,
                "platform": j.claim.platform,
                "tools": list(j.claim.tools),
                "cells": [cell_json(c) for c in j.cells],
            }
            for j in judgements
        ],
        "attestations": image_attestations(results),
        "results": "cells/results.json",
    }


def image_attestations(results: Results) -> list[dict[str, Any]]:
    """Every attestation manifest the cells found in the image's index, where they read it (as pulled,
    at the source, after the copy), each once: its digest, its subject and that image's platform, and the
    statements' predicate types."""
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for record in results.results:
        seen = record.evidence.get("attestations")
        if not isinstance(seen, dict):
            continue
        for item in seen.get("found") or []:
            key = (str(seen.get("where", "")), str(seen.get("index", "")), str(item.get("digest", "")))
            found.setdefault(key, {"where": key[0], "index": key[1], **item})
    return [found[k] for k in sorted(found)]


def _subjects(claims_file: ClaimsFile) -> dict[str, str]:
    subjects = {}
    if claims_file.image:
        subjects["image"] = claims_file.image.source.describe()
    if claims_file.registry:
        subjects["registry"] = claims_file.registry.describe()
    if claims_file.cri:
        subjects["cri"] = f"{claims_file.cri.engine} at {claims_file.cri.endpoint}"
    if claims_file.runtime:
        subjects["runtime"] = claims_file.runtime.describe()
    return subjects
