"""Images as BuildKit ships them: an index with attestation manifests beside the image.

A builder that attaches attestations (``supports("attestations")``: buildx) builds the lifecycle probe for
this host's platform and arm64, in one build, with provenance in ``min`` and ``max`` mode and without
(``none``), and pushes the index. Then:

- the index is read back: every attestation entry is ``unknown/unknown``, names an image entry of the same
  index as its subject, and carries in-toto statements about that manifest (``ocimatrix validate``'s
  ``attestation.*`` rules); without provenance there is no attestation at all;
- every runner pulls it and runs it (min), and pulls the max-mode one: an engine that refuses the index
  because of such an entry fails;
- every runner is asked for the platform ``unknown/unknown``: whatever it answers is recorded (the spec
  says nothing of it; BuildKit's storage document says such entries are not images).

SBOM attestations are not asked for: BuildKit makes them with a scanner image from Docker Hub, which
nothing here may fetch.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ocimatrix import evidence
from ocimatrix.engines.base import Engine, EngineError, RunSpec, Unsupported
from ocimatrix.errors import HarnessError, fail_with
from ocimatrix.host import buildkit_dockerd
from ocimatrix.images.contexts import parse_report
from ocimatrix.oci import attestations
from ocimatrix.oci.registry_client import RegistryClient, RegistryError
from ocimatrix.oci.validate import validate_registry
from ocimatrix.plugin.shared_steps import Outcome, PullStep, PushedImage, fail_refused
from ocimatrix.plugin.verdicts import is_harness_fault, run_container
from ocimatrix.specs import spec

MODES = ("min", "max", "none")
SBOM_SKIP = "SBOM attestations need BuildKit's scanner image from Docker Hub, which nothing here may fetch"


def read_index(image: PushedImage) -> tuple[dict, dict[str, dict]]:
    """The pushed index and its manifests by digest, read back from the registry (the harness's read)."""
    host, _, rest = image.ref.partition("/")
    repo = rest.rpartition(":")[0]
    try:
        with RegistryClient(host, plain_http=True) as client:
            body, _, _ = client.get_manifest(repo, image.digest)
            index = json.loads(body)
            manifests = {}
            for entry in index.get("manifests") or []:
                raw, _, _ = client.get_manifest(repo, entry["digest"])
                manifests[entry["digest"]] = json.loads(raw)
    except RegistryError as exc:
        raise HarnessError(f"reading back {image.ref}@{image.digest} from the registry: {exc}") from None
    return index, manifests


@pytest.mark.axes("builder", "format")
@pytest.mark.parametrize("mode", MODES)
@spec("image-spec/image-index.md#image-index-property-descriptions", "image index: attestation entries beside images")
def test_attestations_point_into_their_index(cell, mode, attested_image, recorder):
    image = attested_image(mode).get()
    index, manifests = read_index(image)
    entries = index.get("manifests") or []
    found = [
        attestations.summary(e, manifests.get(e.get("digest"), {})) for e in entries if attestations.is_attestation(e)
    ]
    images = [e for e in entries if not attestations.is_attestation(e)]
    recorder.add("index", {"ref": image.ref, "digest": image.digest, "media_type": index.get("mediaType", "")})
    recorder.add("attestations", found)
    if mode == "none":
        if found:
            fail_with(
                f"{cell['builder']} was asked for no provenance but attached {len(found)} attestation(s)",
                step="build with --provenance=false",
                answer=json.dumps(found),
            )
        return
    if not found:
        fail_with(
            f"{cell['builder']} was asked for provenance ({mode}) and pushed no attestation manifest",
            step=f"build with provenance mode={mode}",
            answer=json.dumps(index),
        )
    about = {a["subject"] for a in found}
    missing = [e["digest"] for e in images if e.get("digest") not in about]
    if missing:
        fail_with(
            f"image manifests of the index with no attestation about them: {missing}",
            step=f"build with provenance mode={mode}",
            answer=json.dumps(found),
        )
    # The images' own layers are the lifecycle suite's and the image suite's to judge: here the index,
    # the attestation manifests and their in-toto layers.
    report = validate_registry(f"{image.ref}@{image.digest}", plain_http=True, check_layers=False)
    evidence.record_command(["ocimatrix", "validate", "--plain-http", "--no-layers", f"{image.ref}@{image.digest}"])
    broken = [v for v in report.violations if v.rule_id.startswith("attestation.")]
    recorder.add("attestation_violations", [str(v) for v in broken])
    if broken:
        fail_with(
            f"{cell['builder']}'s attestations break {sorted({v.rule_id for v in broken})}",
            step="ocimatrix validate",
            answer="; ".join(str(v) for v in broken),
        )
    kinds = {layer["predicate_type"] for a in found for layer in a["layers"]}
    recorder.add("predicate_types", sorted(kinds))


@pytest.mark.axes("builder", "format")
def test_sbom_attestations(cell, builder: Engine):
    if not builder.supports("attestations"):
        pytest.skip(builder.why_not("attestations"))
    pytest.skip(SBOM_SKIP)


def pulled(cell, runner: Engine, image: Outcome, pulls: dict):
    """The attested image pulled by the cell's runner, which must hold the index the tag names."""
    found = PullStep(runner, image, pulls).get()
    if found.digest != found.pushed_digest:
        fail_with(
            f"{cell['engine']} recorded {found.digest} for {found.ref}, which names {found.pushed_digest}",
            step=f"{runner.name} pull",
            answer=found.digest,
        )
    return found


@pytest.mark.axes("builder", "format", "engine", "runtime")
@spec("image-spec/image-index.md#image-index-property-descriptions", "a runner picks an image, never an attestation")
def test_runner_pulls_and_runs_an_attested_image(cell, runner: Engine, attested_image, recorder, worker_cache):
    """BuildKit's default when it pushes: provenance in min mode, an attestation beside the image."""
    image = pulled(cell, runner, attested_image("min"), worker_cache["pulls"])
    result = run_container(
        runner, RunSpec(image=image.ref, runtime=cell["runtime"]), recorder, f"{runner.name} could not run it"
    )
    report = parse_report(result.stdout)
    if result.exit_code != 0 or report.get("machine") != os.uname().machine:
        fail_with(
            f"{cell['engine']} ran the attested image with exit {result.exit_code}, machine {report.get('machine')!r}",
            step=f"{runner.name} run",
            answer=result.stdout[-500:] + result.stderr[-500:],
        )


@pytest.mark.axes("builder", "format", "engine")
@spec("image-spec/image-index.md#image-index-property-descriptions", "an index with a max-mode provenance attestation")
def test_runner_pulls_a_max_provenance_image(cell, runner: Engine, attested_image, worker_cache):
    """Provenance in max mode (the build's whole recipe in the statement): the same image to run, so the
    pull is what can break on it."""
    pulled(cell, runner, attested_image("max"), worker_cache["pulls"])


@pytest.mark.axes("builder", "format", "engine")
@spec("image-spec/image-index.md#image-index-property-descriptions", "platform unknown/unknown asked of a runner")
def test_runner_asked_for_the_unknown_platform(cell, runner: Engine, attested_image, recorder):
    """What each runner answers when asked for ``unknown/unknown``, the attestations' platform: a fact."""
    if not runner.supports("platform_choice"):
        pytest.skip(runner.why_not("platform_choice", "unknown/unknown"))
    image = attested_image("min").get()
    try:
        runner.pull(image.ref, platform="unknown/unknown")
    except Unsupported as exc:
        pytest.skip(str(exc))
    except EngineError as exc:
        if is_harness_fault(exc):
            raise
        recorder.add("unknown_platform", {"answer": "refused", "said": exc.answer if exc.answer else str(exc)})
        return
    try:
        resolved = runner.resolved_image(image.ref, platform="unknown/unknown")
    except Unsupported:
        recorder.add("unknown_platform", {"answer": "pulled", "said": "the engine does not say what it holds"})
        return
    except EngineError as exc:
        fail_refused(f"{runner.name} pulled for unknown/unknown, then could not say what it holds", exc)
    held = {"os": resolved.os, "architecture": resolved.architecture, "config": resolved.config_digest}
    recorder.add("unknown_platform", {"answer": "pulled", "holds": held, "digests": list(resolved.digests)})


@pytest.mark.axes("builder", "format")
def test_buildkit_reached_for_nothing_beyond_loopback(cell, builder: Engine, attested_image, endpoints, recorder):
    """The network rule, read in BuildKit's dockerd log once a build of this run is done: no public
    registry's name, no request through the closed proxy, no dial beyond 127.0.0.1."""
    attested_image("min").get()
    log = buildkit_dockerd.log_path(Path(endpoints.state_dir), builder.generation)
    if not log.is_file():
        raise HarnessError(f"no log of BuildKit's dockerd at {log}")
    text = log.read_text(errors="replace")
    found = buildkit_dockerd.reaches_outside(text)
    recorder.add("log_lines_read", len(text.splitlines()))
    if found:
        fail_with(
            f"BuildKit's dockerd of {builder.generation} reached beyond loopback ({len(found)} lines)",
            step="docker buildx build --network=none",
            answer="\n".join(found[:20]),
        )
