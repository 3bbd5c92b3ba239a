"""A vendor image's supportability claims, each checked on the image itself or on a real engine.

Static claims read the image as the registry holds it (one platform per cell, the platform named in
the cell and nothing else); run claims pull it with each claimed engine for each claimed platform,
say which platform the engine chose, and run the claim's smoke command.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from ocimatrix.claims.elf_abi import kernel_text
from ocimatrix.claims.imagefs import ownership_problems
from ocimatrix.engines.base import EngineError, RunSpec, Unsupported
from ocimatrix.errors import fail_with
from ocimatrix.host.platforms import detect, platform_matches_request
from ocimatrix.oci import elf
from ocimatrix.plugin.verdicts import run_container
from ocimatrix.specs import spec
from ocimatrix.tools.versions import parse_range, parse_version


def _checks(image_claims: dict, name: str):
    return (image_claims.get("checks") or {}).get(name)


@pytest.mark.axes("platform")
@spec("image-spec/image-index.md#image-index-property-descriptions", "image index: manifests[].platform")
def test_platform_provided(cell, static_image, recorder):
    image = static_image.get()
    # What the claims report lists of every image: the attestations about this platform's manifest.
    found = static_image.attestations()
    if isinstance(found, str):
        recorder.add("attestations_unread", found)
    else:
        about = [a.to_json() for a in found.attestations if a.subject == image.manifest_digest]
        recorder.add("attestations", {"where": "the image as pulled", "index": found.digest, "found": about})
    assert platform_matches_request(cell["platform"], _platform_fields(image.platform)), (
        f"asked for {cell['platform']}, the layout gave {image.platform}"
    )


def _platform_fields(text: str) -> dict:
    os_name, arch, variant = (text.split("/") + ["", "", ""])[:3]
    return {"os": os_name, "architecture": arch, "variant": variant}


@pytest.mark.axes("platform")
@pytest.mark.claim_check("files")
@spec("image-spec/layer.md", "layer filesystem changeset (the final filesystem)")
def test_files(cell, static_image, image_claims, recorder):
    image = static_image.get()
    files = _checks(image_claims, "files")
    problems = []
    seen = {}
    for claimed in files.get("present") or []:
        path = claimed if isinstance(claimed, str) else claimed["path"]
        resolved = image.resolve(path)
        if resolved not in image.files:
            problems.append(
                f"{path} is missing" + (f" (a symlink to {resolved}, which is missing)" if resolved != path else "")
            )
            continue
        if isinstance(claimed, dict):
            problems += ownership_problems(image, path, claimed, seen)
    if seen:
        recorder.add("owner_and_mode", seen)
    for path in files.get("absent") or []:
        if os.path.normpath(path) in image.files:
            problems.append(f"{path} exists (added by layer {image.files[os.path.normpath(path)].layer})")
    for path, pattern in (files.get("contents") or {}).items():
        data = image.contents.get(image.resolve(path))
        if data is None:
            problems.append(f"{path} is missing or not a regular file, so its content can't match /{pattern}/")
        elif not re.search(pattern, data.decode(errors="replace")):
            problems.append(f"{path} does not match /{pattern}/: {data[:200].decode(errors='replace')!r}")
    present = [p if isinstance(p, str) else p["path"] for p in files.get("present", [])]
    recorder.add("files_examined", sorted({*present, *files.get("absent", []), *files.get("contents", {})}))
    if problems:
        fail_with(
            f"{cell['platform']}: " + "; ".join(problems),
            step=f"read the layers of {image.manifest_digest}",
            answer=json.dumps(seen) if seen else "; ".join(problems),
        )


def _user_entry(image, user: str) -> tuple[str, str] | None:
    """(uid, gid) for ``user`` (a name, uid, or name:group) from the image's own /etc/passwd."""
    name = user.split(":", 1)[0]
    if name.isdigit():
        return name, user.split(":", 1)[1] if ":" in user else ""
    passwd = image.contents.get(image.resolve("/etc/passwd"))
    for line in (passwd or b"").decode(errors="replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == name:
            return fields[2], fields[3]
    return None


@pytest.mark.axes("platform")
@pytest.mark.claim_check("metadata")
@spec("image-spec/config.md#properties", "config User (the user the process runs as)")
def test_runs_as_non_root(cell, static_image, image_claims, recorder):
    if not _checks(image_claims, "metadata").get("non_root"):
        pytest.skip("the claims don't state a non-root user")  # deselected by the plan; kept for direct runs
    image = static_image.get()
    user = (image.image_config.get("User") or "").strip()
    recorder.add("config_user", user)
    assert user, "config.User is empty: the process runs as root (uid 0)"
    entry = _user_entry(image, user)
    assert entry is not None, f"config.User {user!r} is not in the image's /etc/passwd: engines can't resolve it"
    recorder.add("uid", entry[0])
    assert entry[0] != "0", f"config.User {user!r} is uid 0 (root)"


@pytest.mark.axes("platform")
@pytest.mark.claim_check("metadata")
@spec("image-spec/config.md#properties", "config Labels, Entrypoint, Cmd, ExposedPorts")
def test_metadata(cell, static_image, image_claims, recorder):
    image = static_image.get()
    wanted = _checks(image_claims, "metadata")
    config = image.image_config
    recorder.add("config", {k: config.get(k) for k in ("User", "Entrypoint", "Cmd", "Labels", "ExposedPorts")})
    problems = []
    labels = config.get("Labels") or {}
    for name, pattern in (wanted.get("labels") or {}).items():
        if name not in labels:
            problems.append(f"label {name} is missing")
        elif pattern is not None and not re.search(pattern, str(labels[name])):
            problems.append(f"label {name}={labels[name]!r} does not match /{pattern}/")
    for key, field in (("entrypoint", "Entrypoint"), ("cmd", "Cmd")):
        if key in wanted and list(config.get(field) or []) != list(wanted[key]):
            problems.append(f"{field} is {config.get(field)!r}, claimed {wanted[key]!r}")
    ports = set(config.get("ExposedPorts") or {})
    for port in wanted.get("exposed_ports") or []:
        if (port if "/" in port else f"{port}/tcp") not in ports:
            problems.append(f"port {port} is not exposed (ExposedPorts: {sorted(ports) or 'none'})")
    if not problems and not any(k in wanted for k in ("labels", "entrypoint", "cmd", "exposed_ports")):
        pytest.skip("the claims state no labels, entrypoint, cmd or ports")
    assert not problems, f"{cell['platform']}: " + "; ".join(problems)


@pytest.mark.axes("platform")
@pytest.mark.claim_check("layers")
@spec("image-spec/manifest.md#image-manifest-property-descriptions", "manifest layers (count, sizes, media types)")
def test_layers(cell, static_image, image_claims, recorder):
    image = static_image.get()
    wanted = _checks(image_claims, "layers")
    sizes = [int(layer.get("size") or 0) for layer in image.layers]
    compressions = [layer.get("compression") for layer in image.layers]
    recorder.add("layers", [{"size": s, "compression": c} for s, c in zip(sizes, compressions, strict=True)])
    problems = []
    if "max_count" in wanted and len(sizes) > wanted["max_count"]:
        problems.append(f"{len(sizes)} layers, claimed at most {wanted['max_count']}")
    if "max_size_bytes" in wanted and sum(sizes) > wanted["max_size_bytes"]:
        problems.append(f"the layers weigh {sum(sizes)} bytes, claimed at most {wanted['max_size']}")
    if "compression" in wanted:
        other = sorted({c for c in compressions if c != wanted["compression"]})
        if other:
            problems.append(f"layers are {', '.join(other)}, claimed {wanted['compression']}")
    assert not problems, f"{cell['platform']}: " + "; ".join(problems)


@pytest.mark.axes("platform")
@pytest.mark.claim_check("binaries_match_platform")
@spec("image-spec/config.md#properties", "config architecture (the binaries are built for it)")
def test_binaries_match_platform(cell, static_image, recorder):
    image = static_image.get()
    goarch = cell["platform"].split("/")[1]
    wrong = [b for b in image.binaries if elf.arch_compatible(goarch, b.ident) is False]
    recorder.add("binaries", len(image.binaries))
    recorder.add("wrong_binaries", [f"{b.path}: {elf.describe(b.ident)}" for b in wrong[:20]])
    if not image.binaries:
        pytest.fail(f"{cell['platform']}: the image holds no ELF binary, so nothing shows it is built for {goarch}")
    assert not wrong, (
        f"{cell['platform']}: {len(wrong)} of {len(image.binaries)} ELF binaries are not built for {goarch}, e.g. "
        + "; ".join(f"{b.path} is {elf.describe(b.ident)}" for b in wrong[:5])
    )


@pytest.mark.axes("platform")
@pytest.mark.claim_check("kernel")
@spec("image-spec/config.md#properties", "ELF ABI note (NT_GNU_ABI_TAG): the oldest kernel glibc starts on")
def test_minimum_kernel(cell, static_image, image_claims, recorder):
    image = static_image.get()
    tagged = [b for b in image.binaries if b.abi is not None]
    host_kernel = os.uname().release
    claimed = _checks(image_claims, "kernel")
    hosts = parse_range(claimed["hosts"]) if isinstance(claimed, dict) else None
    oldest = hosts.lowest() if hosts else parse_version(host_kernel)
    where = f"the claimed hosts ({hosts}, from {kernel_text(oldest)})" if hosts else f"this host's kernel {host_kernel}"
    needed = max((b.abi for b in tagged), default=None)
    recorder.add("kernel_checked_against", where)
    recorder.add("abi_notes", {b.path: kernel_text(b.abi) for b in tagged[:50]})
    if needed is None:
        pytest.skip(f"no binary of {cell['platform']} carries an ABI note: the minimum kernel can't be read")
    needy = [b.path for b in tagged if b.abi == needed]
    assert needed <= tuple(oldest) + (0,) * (3 - len(oldest)), (
        f"{', '.join(needy[:3])} need kernel {kernel_text(needed)} or newer (ELF ABI note); {where} is older"
    )


@pytest.mark.axes("engine", "runtime", "platform")
@pytest.mark.claim_check("smoke")
@spec("runtime-spec/runtime.md#lifecycle", "lifecycle: the claimed image runs on the claimed engine and platform")
def test_image_runs(cell, vendor_image, image_claims, endpoints, matrix, recorder, request):
    engine_name, platform = cell["engine"], cell["platform"]
    runner = request.getfixturevalue("runner")  # the engine driver; skips if it isn't on this host
    if not runner.supports("no_network"):  # a vendor's image is untrusted: it never runs with a network
        pytest.skip(runner.why_not("no_network"))
    support = detect(platform)
    recorder.add("platform_support", support.evidence())
    if not support.runnable:
        pytest.skip(f"this host can't run {platform}: {support.detail}")
    image = vendor_image.get()
    recorder.add("image_digest", image.digest)
    try:
        runner.pull(image.ref, platform=platform)
    except EngineError as exc:
        pytest.fail(f"{engine_name} could not pull {image.ref} for {platform}: {exc}", pytrace=False)
    try:
        resolved = runner.resolved_image(image.ref, platform=platform)
    except Unsupported as exc:
        pytest.skip(
            f"{engine_name} can't say which platform it selected, so a run proves nothing about {platform}: {exc}"
        )
    ran = "/".join(p for p in (resolved.os, resolved.architecture, resolved.variant) if p)
    recorder.add("ran_platform", ran)
    assert platform_matches_request(platform, _platform_fields(ran)), (
        f"asked {engine_name} for {platform}, it selected {ran or 'an unknown platform'} ({resolved.how}); "
        f"a run would prove nothing about {platform}"
    )
    smoke = _checks(image_claims, "smoke")
    spec = RunSpec(
        image=image.ref,
        runtime=cell["runtime"],
        platform=platform,
        entrypoint=list(smoke["command"]) if smoke.get("command") else None,
        args=list(smoke["args"]) if smoke.get("args") else None,
        timeout=float(smoke.get("timeout") or 60),
    )
    try:
        result = run_container(runner, spec, recorder, f"{engine_name} could not run the image as {platform}")
    finally:
        runner.remove_image(image.ref)
    expected = int(smoke.get("exit_code", 0))
    assert result.exit_code == expected, (
        f"the smoke command exited {result.exit_code} on {engine_name} {platform}, claimed {expected}: "
        f"{(result.stderr.strip() or result.stdout.strip())[-500:]}"
    )
    if smoke.get("output"):
        assert re.search(smoke["output"], result.stdout), (
            f"the smoke command's output does not match /{smoke['output']}/: {result.stdout[-500:]!r}"
        )
