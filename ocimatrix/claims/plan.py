"""Claims -> the cells that test them: one ``Claim`` per statement, each naming the suite tests and
cell values it rests on, plus the matrix file and plan that make ``ocimatrix run``'s code path run
exactly those cells.

Whatever can be decided before anything runs is decided here and said: an engine whose claimed
versions no installed engine has makes its claims "unverifiable here" with the versions found.

An engine claim is expanded over every tool generation here (this host's tools and each prepared
root's, see ``here.py``) whose engine version the range admits: "docker >=24" on a Debian 12 host
with a trixie root becomes cells of ``docker@trixie`` with ``runc@trixie``, since an engine runs its
own generation's runtimes. Every such generation's cells must pass for the claim to verify.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ocimatrix.claims import catalog
from ocimatrix.claims.catalog import Entry, Selection
from ocimatrix.claims.here import Here
from ocimatrix.claims.model import ClaimsFile, EngineClaim, ImageClaims
from ocimatrix.specs import link
from ocimatrix.tools.catalog import DEFAULT_RUNTIME, REFERENCE_BUILDER, generation_of, spelled

CLAIMS_SUITE = "suites/claims/test_image_claims.py"
SUPPLY_CHAIN_SUITE = "suites/claims/test_supply_chain.py"
ATTESTATION_STORAGE = "buildkit/docs/attestations/attestation-storage.md"
VENDOR_REGISTRY = "vendor"


@dataclass
class Claim:
    id: str
    subject: str  # image | registry | cri | runtime
    title: str
    selections: tuple[Selection, ...]
    cell: dict[str, tuple[str, ...]] = field(default_factory=dict)  # the cells it rests on: axis -> values
    spec: str = ""
    platform: str = ""  # judged only on cells whose evidence shows they examined or ran this platform
    platform_evidence: str = ""  # the evidence key that says which platform the cell examined or ran
    engine: EngineClaim | None = None  # judged only on cells whose recorded engine version is in range
    version_axis: str = "engine"  # the cell axis naming the tool whose recorded version ``engine`` ranges over
    tools: tuple[str, ...] = ()  # the engines (tool@generation version) chosen for it before the run
    absence_contradicts: bool = False
    unverifiable: str = ""  # decided before the run: why no cell here can test it

    def selects(self, nodeid: str, cell: dict[str, Any]) -> bool:
        if not any(s.selects(nodeid) for s in self.selections):
            return False
        return all(str(cell.get(axis)) in values for axis, values in self.cell.items())

    def selection_json(self) -> list[dict[str, Any]]:
        return [
            {
                "path": s.path,
                "tests": list(s.tests),
                "exclude": list(s.exclude),
                "ids": list(s.ids),
                "cell": {k: list(v) for k, v in self.cell.items()},
            }
            for s in self.selections
        ]


def slug(*parts: str) -> str:
    return ".".join(re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") for p in parts if p)


def _static(test: str, *more: str) -> tuple[Selection, ...]:
    return (Selection(CLAIMS_SUITE, (test, *more)),)


def image_claims(image: ImageClaims, installed: dict[str, str] | Here) -> list[Claim]:
    """``installed``: what is here (``Here``), or tool label -> version ("" when not installed)."""
    here = Here.of(installed)
    claims: list[Claim] = []
    checks = image.checks
    metadata = checks.get("metadata") or {}
    for platform in image.platforms:
        cell = {"platform": (platform,)}

        def static(key: str, title: str, test: str, spec: str, _cell=cell, _platform=platform) -> None:
            claims.append(
                Claim(
                    slug("image", key, _platform),
                    "image",
                    f"{_platform}: {title}",
                    _static(test),
                    dict(_cell),
                    spec,
                    platform=_platform,
                    platform_evidence="platform_examined",
                )
            )

        static(
            "platform", "the image provides this platform", "test_platform_provided", link("image-spec/image-index.md")
        )
        if checks.get("files"):
            static("files", _files_title(checks["files"]), "test_files", link("image-spec/layer.md"))
        if metadata.get("non_root"):
            static(
                "non-root",
                "runs as a non-root user (config.User)",
                "test_runs_as_non_root",
                link("image-spec/config.md"),
            )
        if any(k in metadata for k in ("labels", "entrypoint", "cmd", "exposed_ports")):
            static("metadata", _metadata_title(metadata), "test_metadata", link("image-spec/config.md"))
        if checks.get("layers"):
            static("layers", _layers_title(checks["layers"]), "test_layers", link("image-spec/manifest.md"))
        if checks.get("binaries_match_platform"):
            static(
                "binaries",
                "every ELF binary is built for this platform",
                "test_binaries_match_platform",
                link("image-spec/config.md"),
            )
        if checks.get("kernel"):
            hosts = image.kernel_hosts
            title = (
                f"its binaries start on the claimed hosts' kernels ({hosts})"
                if hosts
                else "its binaries start on this host's kernel"
            )
            static(
                "kernel",
                title,
                "test_minimum_kernel",
                "https://refspecs.linuxfoundation.org/LSB_5.0.0/LSB-Core-generic/LSB-Core-generic/noteabitag.html",
            )
        for engine in image.runs_on:
            for runtime in image.runtimes:
                claims.append(_run_claim(engine, runtime, platform, here))
    return claims + supply_chain_claims(image, here)


def _stages(image: ImageClaims) -> list[tuple[str, str]]:
    """(test name suffix, where): at the source the claims name, and after the named copy."""
    stages = [("at_source", f"at {image.source.value}")]
    if image.after_copy:
        copy = image.after_copy
        to = "the run's registry" if copy["to"] == "embedded" else copy["to"]
        stages.append(("after_copy", f"after {copy['copier']} copies it to {to}"))
    return stages


def _copy_unverifiable(image: ImageClaims, here: Here) -> str:
    generation = generation_of(image.after_copy["copier"])
    why = here.missing_roots.get(generation)
    return f"{image.after_copy['copier']} can't copy here: {why}" if why else ""


def supply_chain_claims(image: ImageClaims, here: Here) -> list[Claim]:
    """Signatures and attestations, each where the claims name the image and again after the named copy.
    A signature claim is verified by every generation's verifier of its signer here (cosign of trixie
    and of sid), each of whose answers must be yes."""
    claims: list[Claim] = []
    for suffix, where in _stages(image):
        after_copy = suffix == "after_copy"
        for family, material in image.signed.items():
            verifiers = here.tools(family)
            claim = Claim(
                slug("image", "signed", family, "after-copy" if after_copy else ""),
                "image",
                f"signed with {family} ({Path(material).name}): verifies {where}",
                (Selection(SUPPLY_CHAIN_SUITE, (f"test_signed_{suffix}",), ids=(family,)),),
                tools=tuple(f"{label} {version}" for label, _g, version in verifiers),
            )
            if verifiers:
                claim.title += " (" + ", ".join(claim.tools) + ")"
            else:
                claim.unverifiable = _not_here(family, here)
            if after_copy and not claim.unverifiable:
                claim.unverifiable = _copy_unverifiable(image, here)
            claims.append(claim)
        for kind in image.attestations:
            claim = Claim(
                slug("image", "attestations", kind, "after-copy" if after_copy else ""),
                "image",
                f"carries a {kind} attestation about each claimed platform's image: {where}",
                (Selection(SUPPLY_CHAIN_SUITE, (f"test_attested_{suffix}",), ids=(kind,)),),
                spec=link(f"{ATTESTATION_STORAGE}#attestation-manifest-descriptor"),
            )
            if after_copy:
                claim.unverifiable = _copy_unverifiable(image, here)
            claims.append(claim)
    return claims


def _not_here(tool: str, here: Here) -> str:
    from ocimatrix.tools.catalog import generations_of

    text = f"no {tool} here to verify with"
    unknown = {g: why for g, why in here.missing_roots.items() if g in generations_of(tool)}
    if unknown:
        text += "; not looked at: " + "; ".join(f"{g}: {why}" for g, why in unknown.items())
    return text


def _run_claim(engine: EngineClaim, runtime: str, platform: str, here: Here) -> Claim:
    claim = Claim(
        slug("image", "runs", platform, engine.engine, runtime),
        "image",
        f"{platform}: runs on {engine.describe()} with {runtime} (the smoke command)",
        _static("test_image_runs"),
        {},
        link("runtime-spec/runtime.md#lifecycle"),
        platform=platform,
        platform_evidence="ran_platform",
        engine=engine,
    )
    if not here.is_host(engine.hosts):
        claim.unverifiable = f"claimed on {', '.join(engine.hosts)}; this host is {here.host or 'unknown'}"
        return claim
    found = here.engines(engine.engine, engine.generations)
    chosen = [f for f in found if engine.versions.admits(f[2])]
    if chosen:
        claim.tools = tuple(f"{label} {version}" for label, _generation, version in chosen)
        claim.title += ": on " + ", ".join(claim.tools)
        claim.cell = {
            "engine": tuple(label for label, _g, _v in chosen),
            "runtime": tuple(spelled(runtime, generation) for _l, generation, _v in chosen),
            "platform": (platform,),
        }
        return claim
    claim.cell = {"engine": (engine.engine,), "runtime": (runtime,), "platform": (platform,)}
    claim.unverifiable = _none_in_range(engine, found, here)
    return claim


def _none_in_range(engine: EngineClaim, found: list[tuple[str, str, str]], here: Here) -> str:
    """Why no engine here can test the claim: the versions found, and the generations not looked at."""
    where = f" of generation {', '.join(engine.generations)}" if engine.generations else ""
    if found:
        have = ", ".join(f"{label} {version}" for label, _g, version in found)
        text = f"no {engine.engine}{where} here is inside the claimed range {engine.versions}: found {have}"
    else:
        text = f"{engine.engine}{where} is not installed here"
    unknown = {g: why for g, why in here.missing_roots.items() if not engine.generations or g in engine.generations}
    if unknown:
        text += "; not looked at: " + "; ".join(f"{g}: {why}" for g, why in unknown.items())
    return text


def _present_title(entry: str | dict) -> str:
    if isinstance(entry, str):
        return entry
    said = [f"owner {entry['owner']}" if "owner" in entry else "", f"mode {entry['mode']}" if "mode" in entry else ""]
    said = [s for s in said if s]
    return entry["path"] + (f" ({', '.join(said)})" if said else "")


def _files_title(files: dict) -> str:
    parts = []
    if files.get("present"):
        parts.append("holds " + ", ".join(_present_title(e) for e in files["present"]))
    if files.get("absent"):
        parts.append("has no " + ", ".join(files["absent"]))
    if files.get("contents"):
        parts.append("with the claimed contents of " + ", ".join(files["contents"]))
    return "; ".join(parts) or "files"


def _metadata_title(metadata: dict) -> str:
    parts = []
    if metadata.get("labels"):
        parts.append("labels " + ", ".join(metadata["labels"]))
    if "entrypoint" in metadata:
        parts.append(f"entrypoint {metadata['entrypoint']}")
    if "cmd" in metadata:
        parts.append(f"cmd {metadata['cmd']}")
    if metadata.get("exposed_ports"):
        parts.append("exposes " + ", ".join(metadata["exposed_ports"]))
    return "config: " + "; ".join(parts)


def _layers_title(layers: dict) -> str:
    parts = []
    if "max_count" in layers:
        parts.append(f"at most {layers['max_count']} layers")
    if "max_size" in layers:
        parts.append(f"at most {layers['max_size']} in all")
    if "compression" in layers:
        parts.append(f"{layers['compression']} layers")
    return ", ".join(parts)


def _entry_claim(subject: str, kind: str, name: str, entry: Entry, cell: dict[str, tuple[str, ...]]) -> Claim:
    return Claim(
        slug(subject, kind, name),
        subject,
        entry.title,
        entry.selections,
        dict(cell),
        entry.spec,
        absence_contradicts=entry.absence_contradicts,
    )


def registry_claims(claims_file: ClaimsFile) -> list[Claim]:
    registry = claims_file.registry
    if registry is None:
        return []
    cell = {"registry": (VENDOR_REGISTRY,)}
    found = [_entry_claim("registry", "workflow", n, catalog.WORKFLOWS[n], cell) for n in registry.workflows]
    found += [_entry_claim("registry", "feature", n, catalog.FEATURES[n], cell) for n in registry.features]
    found += [_entry_claim("registry", "requirement", n, catalog.REQUIREMENTS[n], cell) for n in registry.requirements]
    return found


def cri_claims(claims_file: ClaimsFile) -> list[Claim]:
    cri = claims_file.cri
    if cri is None:
        return []
    cell = {"engine": (cri.engine,)}
    return [_entry_claim("cri", "area", area, catalog.CRI_AREAS[area], cell) for area in cri.areas]


def runtime_claims(claims_file: ClaimsFile) -> list[Claim]:
    """Each claimed area -> the runtime suite's tests for it, on cells of that one runtime. A version
    range is judged on the version each cell recorded for the runtime (as an engine claim's is)."""
    runtime = claims_file.runtime
    if runtime is None:
        return []
    cell = {"runtime": (runtime.name,)}
    claims = []
    for area in runtime.areas:
        claim = _entry_claim("runtime", runtime.name, area, catalog.RUNTIME_AREAS[area], cell)
        claim.title = f"{runtime.describe()}: {claim.title}"
        claim.engine = EngineClaim(runtime.name, runtime.versions)
        claim.version_axis = "runtime"
        claims.append(claim)
    return claims


def all_claims(claims_file: ClaimsFile, installed: dict[str, str] | Here) -> list[Claim]:
    image = image_claims(claims_file.image, installed) if claims_file.image else []
    claims = image + registry_claims(claims_file) + cri_claims(claims_file) + runtime_claims(claims_file)
    # One engine claimed twice (two version ranges) gives two claims: number the later ones.
    seen: dict[str, int] = {}
    for claim in claims:
        seen[claim.id] = seen.get(claim.id, 0) + 1
        if seen[claim.id] > 1:
            claim.id = f"{claim.id}.{seen[claim.id]}"
    return claims


# ---------------------------------------------------------------- what the run needs


def suite_paths(claims: list[Claim]) -> list[str]:
    """The suite files to collect: those a claim still to be tested rests on."""
    return sorted({s.path for c in claims if not c.unverifiable for s in c.selections})


def matrix_document(claims_file: ClaimsFile, claims: list[Claim], host_platform: str) -> dict[str, Any]:
    """A matrix file (as ``ocimatrix run`` reads them) whose axes hold every cell a claim rests on."""
    live = [c for c in claims if not c.unverifiable]
    axes: dict[str, list[str]] = {"builder": [REFERENCE_BUILDER]}
    for axis in ("engine", "runtime", "platform", "registry"):
        values = list(dict.fromkeys(v for c in live for v in c.cell.get(axis, ())))
        if values:
            axes[axis] = values
    # An engine hands containers only to its own generation's runtimes: a claim on crun@trixie needs a
    # trixie engine in the matrix for its runtime cells to exist (the runtime suite uses none).
    generations = dict.fromkeys(generation_of(v) for v in axes.get("runtime", ()))
    axes.setdefault("engine", [spelled(REFERENCE_BUILDER, g) for g in generations] or [REFERENCE_BUILDER])
    axes.setdefault("platform", [host_platform])
    # The run starts a root only for a generation some cell names: a verifier or copier of a root
    # generation gets a cell of that generation's reference builder with its default runtime (an engine
    # and a runtime of one generation), as a runtime claim's crun@trixie gets a trixie engine.
    named = {generation_of(v) for v in axes["engine"]}
    for generation in supply_chain_generations(claims_file, claims):
        if generation not in named:
            axes["engine"].append(spelled(REFERENCE_BUILDER, generation))
            runtimes = axes.setdefault("runtime", [DEFAULT_RUNTIME])
            runtimes.append(spelled(DEFAULT_RUNTIME, generation))
            named.add(generation)
    if claims_file.cri is not None:
        axes["runtime"] = list(dict.fromkeys([*axes.get("runtime", []), *claims_file.cri.runtimes]))
    document: dict[str, Any] = {
        "name": f"claims-{slug(claims_file.product) or 'product'}",
        "description": f"generated by ocimatrix verify from {claims_file.path}",
        "axes": axes,
    }
    if claims_file.registry is not None:
        document["registries"] = {VENDOR_REGISTRY: dict(claims_file.registry.settings)}
        axes["registry"] = [VENDOR_REGISTRY]
    if claims_file.cri is not None and claims_file.cri.endpoint != "embedded":
        document["endpoints"] = {claims_file.cri.engine: claims_file.cri.endpoint}
    if claims_file.runtime is not None:
        document["expectations"] = runtime_expectations()
    return document


def runtime_expectations() -> list[dict[str, Any]]:
    """The default matrix's known incompatibilities of the runtimes themselves (those keyed on the
    runtime axis alone), so a claimed area that one of them touches is contradicted with its reason
    (the cell is xfailed) rather than with a bare assertion."""
    from ocimatrix.resources import MATRIX_DIR

    document = yaml.safe_load((MATRIX_DIR / "default.yaml").read_text()) or {}
    return [e for e in document.get("expectations") or [] if set(e.get("cell") or {}) == {"runtime"}]


def plan_document(claims_file: ClaimsFile, claims: list[Claim]) -> dict[str, Any]:
    """What suites/claims reads (``OCIMATRIX_CLAIMS_PLAN``): the image claims and the cells to keep."""
    image = None
    if claims_file.image is not None:
        found = claims_file.image
        verifiers = {
            family: [label for c in claims if c.id.startswith(slug("image", "signed", family)) for label in _labels(c)]
            for family in found.signed
        }
        image = {
            "source": found.source.to_json(),
            "platforms": list(found.platforms),
            "checks": found.checks,
            "signed": {
                family: {"material": material, "verifiers": list(dict.fromkeys(verifiers[family]))}
                for family, material in found.signed.items()
            },
            "attestations": list(found.attestations),
            "after_copy": dict(found.after_copy),
        }
    return {
        "claims_file": str(claims_file.path),
        "image": image,
        "select": [s for c in claims if not c.unverifiable for s in c.selection_json()],
    }


def _labels(claim: Claim) -> list[str]:
    """The tool labels a claim chose before the run (``cosign@trixie 2.5.0`` -> ``cosign@trixie``)."""
    return [tool.split(" ", 1)[0] for tool in claim.tools]


def supply_chain_generations(claims_file: ClaimsFile, claims: list[Claim]) -> list[str]:
    """The generations whose roots the signature verifiers and the copier of a live claim run from."""
    image = claims_file.image
    if image is None:
        return []
    live = [c for c in claims if not c.unverifiable and c.id.startswith(slug("image", "signed"))]
    labels = [label for c in live for label in _labels(c)]
    if image.after_copy and any(not c.unverifiable and "after-copy" in c.id for c in claims):
        labels.append(image.after_copy["copier"])
    return list(dict.fromkeys(generation_of(label) for label in labels))


def write_run_inputs(out: Path, claims_file: ClaimsFile, claims: list[Claim], host_platform: str) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    matrix_path = out / "matrix.yaml"
    matrix_path.write_text(
        "# Generated by `ocimatrix verify`: the cells the claims rest on.\n"
        + yaml.safe_dump(matrix_document(claims_file, claims, host_platform), sort_keys=False)
    )
    plan_path = out / "plan.json"
    plan_path.write_text(json.dumps(plan_document(claims_file, claims), indent=1))
    return matrix_path, plan_path
