"""Across architectures: one multi-platform index per builder and format, through every runner.

Portability is not compatibility: for each platform the matrix shows whether a builder's index
lists it correctly, whether a runner asked for it pulls that variant (and which one it takes when
asked for none), whether the container runs it (natively or under QEMU), and how a runner refuses
a platform the index doesn't have.
"""

from __future__ import annotations

import time

import pytest

from ocimatrix import evidence
from ocimatrix.axes import DOCKER_FORMAT, OCI_FORMAT
from ocimatrix.cri.image_ids import digest_or_none
from ocimatrix.engines.base import EngineError, RunSpec, Unsupported
from ocimatrix.errors import fail_with
from ocimatrix.host import platforms as host_platforms
from ocimatrix.images.busybox import host_platform_name
from ocimatrix.images.contexts import parse_report
from ocimatrix.matrix import KNOWN_PLATFORMS
from ocimatrix.oci import elf, mediatypes
from ocimatrix.oci.platforms import format_platform
from ocimatrix.plugin.shared_steps import Refusal, fail_refused
from ocimatrix.specs import spec

INDEX_TYPE = {OCI_FORMAT: mediatypes.OCI_INDEX, DOCKER_FORMAT: mediatypes.DOCKER_MANIFEST_LIST}
MANIFEST_TYPE = {OCI_FORMAT: mediatypes.OCI_MANIFEST, DOCKER_FORMAT: mediatypes.DOCKER_MANIFEST}


def built_entry(index, platform: str):
    """The index entry of ``platform``, or skip/fail with why the builder has none."""
    if platform in index.unavailable:
        pytest.skip(f"no {platform} image was built: {index.unavailable[platform]}")
    if platform in index.failed:
        said = index.answers.get(platform) or {}
        Refusal(
            f"the builder could not build or push {platform}: {index.failed[platform]}",
            said.get("step"),
            said.get("answer"),
        ).replay()
    entry = index.entry_for(platform)
    assert entry is not None, (
        f"{platform} was built and pushed as {index.built.get(platform)}, but index {index.digest} lists only "
        f"{[e.name for e in index.entries]}"
    )
    return entry


@pytest.mark.axes("builder", "format")
@spec("image-spec/image-index.md#image-index-property-descriptions", "image index (mediaType, manifests[].platform)")
def test_index_lists_every_platform(cell, platform_index, recorder):
    index = platform_index.get()
    recorder.add("index", {"ref": index.ref, "digest": index.digest, "media_type": index.media_type})
    recorder.add(
        "entries", [{"platform": e.name, "digest": e.digest, "media_type": e.media_type} for e in index.entries]
    )
    if index.attestations:  # BuildKit's, beside the images: the attestations suite judges them
        recorder.add("attestations", index.attestations)
    fmt = cell["format"]
    assert index.media_type == INDEX_TYPE[fmt], (
        f"{cell['builder']} pushed the {fmt} index as {index.media_type or '(no Content-Type)'}; "
        f"expected {INDEX_TYPE[fmt]}"
    )
    wrong_types = {e.name: e.media_type for e in index.entries if e.media_type != MANIFEST_TYPE[fmt]}
    assert not wrong_types, f"a {fmt} index should list {MANIFEST_TYPE[fmt]} entries; these differ: {wrong_types}"
    missing = [p for p in index.built if index.entry_for(p) is None]
    assert not missing, (
        f"{cell['builder']} built {sorted(index.built)} but its index lists {[e.name for e in index.entries]}: "
        f"{missing} have no entry with that exact os/architecture/variant"
    )
    assert not index.failed, f"{cell['builder']} could not build or push: {index.failed}"


@pytest.mark.axes("builder", "format", "platform")
@spec("image-spec/config.md#properties", "config architecture, os, variant (the binaries' CPU)")
def test_index_entry_matches_its_binaries(cell, platform_index, recorder):
    index = platform_index.get()
    platform = cell["platform"]
    entry = built_entry(index, platform)
    recorder.add(
        "entry",
        {"platform": entry.name, "manifest": entry.digest, "config": entry.config_platform, "binaries": entry.binaries},
    )
    config_platform = format_platform(entry.config_platform)
    assert host_platforms.platform_matches_request(platform, entry.config_platform), (
        f"the index lists {entry.name} for manifest {entry.digest}, but its config says {config_platform}"
    )
    assert entry.binaries, f"no ELF executable in the layers of {platform} manifest {entry.digest}"
    goarch = entry.config_platform.get("architecture", "")
    foreign = [b for b in entry.binaries if not elf.arch_compatible(goarch, elf.ElfIdent(*b["key"]))]
    assert not foreign, f"config architecture {goarch!r} but these binaries are built for another CPU: " + ", ".join(
        f"{b['path']} ({b['elf']})" for b in foreign
    )


@pytest.mark.axes("builder", "format", "engine", "platform")
@spec(
    "image-spec/image-index.md#image-index-property-descriptions",
    "image index: a runner picks the entry matching the requested platform",
)
def test_pull_with_platform_selects_that_variant(cell, platform_index, pull_index, record_selection):
    index = platform_index.get()
    platform = cell["platform"]
    expected = built_entry(index, platform)
    pulled = pull_index(index, platform, platform.replace("/", "-")).get()
    if pulled.resolved is None:
        pytest.skip(pulled.unresolved)
    chosen = record_selection(index, pulled)
    resolved = pulled.resolved
    assert chosen is not None, (
        f"{cell['engine']} pulled {index.ref} for {platform} and holds image config {resolved.config_digest} "
        f"(manifest digests {list(resolved.digests) or [resolved.manifest_digest]}), which is none of the "
        f"index's entries"
    )
    assert chosen.digest == expected.digest, (
        f"asked for {platform}, {cell['engine']} took the {chosen.name} entry ({chosen.digest}) "
        f"instead of {expected.name} ({expected.digest})"
    )
    arch = platform.split("/")[1]
    assert resolved.architecture == arch, (
        f"{cell['engine']} reports architecture {resolved.architecture!r} for the {platform} image it pulled"
    )
    variant = platform.split("/")[2] if platform.count("/") == 2 else ""
    # Only when the engine reports one: podman 4.3's inspect has no Variant (the config digest
    # above already proved which variant it took).
    if resolved.variant:
        assert resolved.variant == variant or (arch == "arm64" and {resolved.variant, variant} <= {"", "v8"}), (
            f"{cell['engine']} reports variant {resolved.variant!r} for the {platform} image it pulled"
        )
    reported = resolved.manifest_digest or next((d for d in resolved.digests if d != index.digest), "")
    # A manifest the engine reports must be the entry's, once spelled the same way.
    reported = digest_or_none(reported) or reported
    if reported:
        assert reported == expected.digest, (
            f"{cell['engine']} says it pulled manifest {reported}; the {platform} entry is {expected.digest}"
        )


@pytest.mark.axes("builder", "format", "engine", "runtime", "platform")
@spec("image-spec/config.md#properties", "config architecture (the binaries run on that CPU, natively or emulated)")
def test_container_runs_on_requested_platform(
    cell, runner, platform_index, pull_index, record_selection, host_support, recorder
):
    index = platform_index.get()
    platform = cell["platform"]
    built_entry(index, platform)
    support = host_support(platform)
    pulled = pull_index(index, platform, platform.replace("/", "-")).get()
    record_selection(index, pulled)
    started = time.monotonic()
    try:
        result = runner.run(RunSpec(image=pulled.ref, runtime=cell["runtime"], platform=platform))
    except Unsupported as exc:
        pytest.skip(str(exc))
    except EngineError as exc:
        fail_refused(f"{cell['engine']} could not run the {platform} container", exc)
    machine = parse_report(result.stdout).get("machine", "")
    expected = host_platforms.expected_machines(platform, support.mode)
    recorder.add(
        "run",
        {
            **support.evidence(),
            "run_seconds": round(time.monotonic() - started, 3),
            "exit_code": result.exit_code,
            "machine": machine,
            "expected_machine": sorted(expected),
        },
    )
    if result.stderr.strip():
        recorder.add("stderr", result.stderr[-2000:])
    assert result.exit_code == 0, (
        f"the {platform} probe exited {result.exit_code} under {cell['engine']} ({support.mode}): "
        f"{result.stderr.strip()[-500:]}"
    )
    assert machine in expected, (
        f"the {platform} container reports machine {machine!r}; a {platform} process ({support.mode}) "
        f"reports {' or '.join(sorted(expected))}"
    )


@pytest.mark.axes("builder", "format", "engine")
@spec(
    "image-spec/image-index.md#image-index-property-descriptions",
    "image index: with no platform asked, a runner takes its own",
)
def test_pull_without_platform_selects_host(cell, platform_index, pull_index, record_selection):
    index = platform_index.get()
    host = host_platform_name()
    expected = index.entry_for(host)
    if expected is None:
        pytest.skip(f"the index has no entry for this host's platform {host}")
    pulled = pull_index(index, None, "default").get()
    if pulled.resolved is None:
        pytest.skip(pulled.unresolved)
    chosen = record_selection(index, pulled)
    assert chosen is not None, (
        f"{cell['engine']} pulled {index.ref} with no platform and holds image config "
        f"{pulled.resolved.config_digest}, which is none of the index's entries"
    )
    assert chosen.digest == expected.digest, (
        f"asked for no platform on a {host} host, {cell['engine']} took the {chosen.name} entry; "
        f"the host's own is {expected.name} ({expected.digest})"
    )


@pytest.mark.axes("builder", "format", "engine", "runtime")
@spec(
    "image-spec/image-index.md#image-index-property-descriptions",
    "image index: with no platform asked, a runner runs its own",
)
def test_run_without_platform_runs_host_variant(cell, runner, platform_index, pull_index, record_selection, recorder):
    index = platform_index.get()
    host = host_platform_name()
    if index.entry_for(host) is None:
        pytest.skip(f"the index has no entry for this host's platform {host}")
    pulled = pull_index(index, None, "default").get()
    record_selection(index, pulled)
    try:
        result = runner.run(RunSpec(image=pulled.ref, runtime=cell["runtime"]))
    except Unsupported as exc:
        pytest.skip(str(exc))
    except EngineError as exc:
        fail_refused(f"{cell['engine']} could not run the index with no platform given", exc)
    machine = parse_report(result.stdout).get("machine", "")
    expected = host_platforms.expected_machines(host, host_platforms.NATIVE)
    recorder.add("run", {"exit_code": result.exit_code, "machine": machine, "expected_machine": sorted(expected)})
    assert result.exit_code == 0, f"the probe exited {result.exit_code}: {result.stderr.strip()[-500:]}"
    assert machine in expected, f"run with no platform on a {host} host, the container reports {machine!r}"


def absent_platform(index) -> str:
    """A Linux platform whose architecture the index doesn't have at all."""
    present = {e.platform.get("architecture") for e in index.entries}
    for platform in reversed(KNOWN_PLATFORMS):
        if platform.startswith("linux/") and platform.split("/")[1] not in present:
            return platform
    pytest.skip(f"the index covers every architecture ocimatrix knows ({sorted(present)})")


@pytest.mark.axes("builder", "format", "engine")
@spec(
    "image-spec/image-index.md#image-index-property-descriptions",
    "image index: no entry matches the requested platform",
)
def test_pull_of_absent_platform_is_refused(cell, platform_index, pull_index, record_selection, recorder):
    """The expected outcome is the engine's own error: an incompatibility, recorded, not a crash."""
    index = platform_index.get()
    platform = absent_platform(index)
    step = pull_index(index, platform, "absent")
    recorder.add("asked", {"platform": platform, "index": index.digest, "has": [e.name for e in index.entries]})
    evidence.current().extend(step.commands)
    if step.skip:
        pytest.skip(step.skip)
    if step.refusal is not None:
        said = step.refusal.answer if step.refusal.answer is not None else step.refusal.message
        recorder.add("incompatible", {"platform": platform, "engine_error": step.refusal.message})
        # The repository's own name says "platforms": only the rest of the answer can say why.
        words = said.replace(index.repo, "")
        if platform.split("/")[1] not in words and "platform" not in words and "manifest" not in words:
            fail_with(
                f"{cell['engine']} refused, but its message doesn't say why (no platform/manifest named): {said}",
                step=step.refusal.step or f"{cell['engine']} pull --platform {platform}",
                answer=said,
            )
        return
    chosen = record_selection(index, step.value)
    pytest.fail(
        f"asked for {platform}, which index {index.digest} doesn't list, {cell['engine']} pulled "
        f"{chosen.name if chosen else 'an image'} instead of refusing",
        pytrace=False,
    )
