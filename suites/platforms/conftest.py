"""Multi-platform images for the platforms suite: built once per run, pulled per runner and platform.

For each (builder, format) the probe image is built for every platform of the suite (FROM scratch
around Debian's static busybox of that architecture), each image pushed, and a multi-platform
index pushed over them: an OCI image index for format "oci", a Docker manifest list for "docker".
That work is shared by the pytest-xdist workers (a lock file and a JSON record in the run's
temporary directory), since it is the same for all of them.

Runners then pull the index under tags of their own (one per worker and platform, all naming the
same index digest), so no two pulls fight over one local tag.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

from ocimatrix import evidence
from ocimatrix.cached_steps import Outcome, cached_step
from ocimatrix.cri.image_ids import digest_or_none
from ocimatrix.engines.base import Engine, EngineError, ResolvedImage, Unsupported
from ocimatrix.errors import OcimatrixError
from ocimatrix.host import platforms as host_platforms
from ocimatrix.images.busybox import busybox_for
from ocimatrix.images.contexts import lifecycle_context
from ocimatrix.oci import elf
from ocimatrix.oci.layer import check_layer
from ocimatrix.oci.platforms import format_platform
from ocimatrix.oci.registry import RegistryClient, RegistryError
from ocimatrix.plugin import RUN_ID_ENV

SUITE = "platforms"


# --- the index a builder made, as read back from the registry ----------------------------------


@dataclass
class IndexEntry:
    platform: dict  # the index's platform object for this entry
    digest: str  # the platform manifest's digest
    media_type: str  # the manifest's media type, as the index's descriptor says
    config_digest: str
    config_platform: dict  # os / architecture / variant from the image config
    binaries: list[dict] = field(default_factory=list)  # ELF files found in the layers

    @property
    def name(self) -> str:
        return format_platform(self.platform)


@dataclass
class PlatformIndex:
    repo: str  # repository path in the registry
    tag: str
    registry: str
    digest: str = ""
    media_type: str = ""
    body: str = ""  # the index bytes exactly as pushed (re-tagged verbatim for each worker)
    entries: list[IndexEntry] = field(default_factory=list)
    built: dict[str, str] = field(default_factory=dict)  # platform -> pushed per-platform ref
    failed: dict[str, str] = field(default_factory=dict)  # platform -> the builder's error
    unavailable: dict[str, str] = field(default_factory=dict)  # platform -> why it wasn't attempted

    @property
    def ref(self) -> str:
        return f"{self.registry}/{self.repo}:{self.tag}"

    def entry_for(self, platform: str) -> IndexEntry | None:
        """The first entry matching ``platform`` (image-index: the first match SHOULD be used)."""
        return next((e for e in self.entries if host_platforms.platform_matches_request(platform, e.platform)), None)

    def entry_by_config(self, config_digest: str) -> IndexEntry | None:
        """The entry whose config is ``config_digest``, in either spelling a runtime uses
        (``sha256:<hex>``, or CRI-O's image id: the bare hex)."""
        wanted = digest_or_none(config_digest) or config_digest
        return next((e for e in self.entries if e.config_digest == wanted), None)

    def entry_by_manifest(self, digests) -> IndexEntry | None:
        wanted = {digest_or_none(d) or d for d in digests if d}
        return next((e for e in self.entries if e.digest in wanted), None)

    def chosen_entry(self, resolved: ResolvedImage) -> IndexEntry | None:
        """The entry an engine holds: by its config digest, else by a platform manifest digest it
        reports (a CRI runtime's repo_digests). When both name an entry, the config decides: it is
        what the engine runs."""
        by_config = self.entry_by_config(resolved.config_digest)
        return by_config or self.entry_by_manifest((resolved.manifest_digest, *resolved.digests))

    @classmethod
    def from_json(cls, data: dict) -> PlatformIndex:
        entries = [IndexEntry(**e) for e in data.pop("entries")]
        return cls(**data, entries=entries)


def read_index(client: RegistryClient, index: PlatformIndex) -> None:
    """Fill ``index`` from the registry: its bytes, and for each entry the config and the ELF files."""
    body, media_type, digest = client.get_manifest(index.repo, index.digest)
    index.body, index.media_type = body.decode(), media_type
    for descriptor in json.loads(body).get("manifests") or []:
        raw, _, _ = client.get_manifest(index.repo, descriptor["digest"])
        manifest = json.loads(raw)
        config_digest = manifest["config"]["digest"]
        with client.get_blob(index.repo, config_digest) as stream:
            config = json.loads(stream.read())
        binaries = []
        for layer in manifest.get("layers") or []:
            with client.get_blob(index.repo, layer["digest"]) as stream:
                result = check_layer(stream, media_type=layer.get("mediaType"), inspect_elf=True)
            for key, (count, path) in result.elf.items():
                ident = elf.ElfIdent(*key)
                binaries.append({"path": path, "count": count, "elf": elf.describe(ident), "key": list(key)})
        index.entries.append(
            IndexEntry(
                platform=dict(descriptor.get("platform") or {}),
                digest=descriptor["digest"],
                media_type=descriptor.get("mediaType", ""),
                config_digest=config_digest,
                config_platform={k: config.get(k, "") for k in ("os", "architecture", "variant")},
                binaries=binaries,
            )
        )


def slug(platform: str) -> str:
    return platform.replace("/", "-")


def build_platform_index(
    builder: Engine, registry: str, fmt: str, platforms: list[str], workdir: Path, run: str
) -> PlatformIndex:
    """Build and push one image per platform, then the index over them (raises Unsupported/EngineError)."""
    index = PlatformIndex(repo=f"ocimatrix/platforms/{builder.name}-{fmt}", tag=run, registry=registry)
    for platform in platforms:
        try:
            busybox_for(platform)
        except OcimatrixError as exc:
            index.unavailable[platform] = str(exc)
            continue
        ref = f"{index.ref}-{slug(platform)}"
        context = lifecycle_context(workdir / slug(platform), platform, build_id=ref)
        try:
            builder.build(context, ref, format=fmt, platform=platform)
            builder.push(ref, format=fmt, compression="gzip")
            index.built[platform] = ref
        except EngineError as exc:
            index.failed[platform] = str(exc)
        finally:
            # The runners must pull from the registry, not find the builder's copy at hand.
            builder.remove_image(ref)
    if not index.built:
        problems = {**index.failed, **index.unavailable}
        raise EngineError(f"{builder.name} built no platform image: {problems}")
    index.digest = builder.build_index(index.ref, index.built, format=fmt)
    try:
        with RegistryClient(registry, plain_http=True) as client:
            read_index(client, index)
    except RegistryError as exc:
        raise EngineError(f"reading back index {index.ref}@{index.digest}: {exc}") from None
    return index


# --- sharing the build between xdist workers ---------------------------------------------------


def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


_indexes: dict[tuple[str, str], Outcome] = {}


def suite_platforms(matrix) -> list[str]:
    return [c["platform"] for c in matrix.cells_for(("platform",), SUITE)]


@pytest.fixture
def platform_index(cell, builder: Engine, endpoints, matrix, tmp_path_factory) -> Outcome:
    """The (builder, format) index over all the suite's platforms; ``.get()`` it in the test body."""
    if not endpoints.registry:
        pytest.skip("no embedded registry: " + endpoints.errors.get("registry", "not started"))
    fmt = cell["format"]
    key = (builder.name, fmt)
    if key in _indexes:
        return _indexes[key]
    shared = shared_dir(tmp_path_factory) / "platform-indexes"
    shared.mkdir(exist_ok=True)
    record = shared / f"{builder.name}-{fmt}.json"
    with open(shared / f"{builder.name}-{fmt}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker builds, the others wait and read its record
        if record.exists():
            data = json.loads(record.read_text())
            value = PlatformIndex.from_json(data["value"]) if data["value"] else None
            commands = evidence.Recorder(repro=data["repro"])
            outcome = Outcome(value=value, skip=data["skip"], error=data["error"], commands=commands)
        else:
            run = os.environ.get(RUN_ID_ENV, "local")

            def build() -> PlatformIndex:
                # Contexts hold a busybox per platform: gone as soon as the images are pushed.
                with tempfile.TemporaryDirectory(prefix="contexts-", dir=shared) as workdir:
                    return build_platform_index(
                        builder, endpoints.registry, fmt, suite_platforms(matrix), Path(workdir), run
                    )

            outcome = cached_step({}, key, build)
            value = asdict(outcome.value) if outcome.value else None
            data = {"value": value, "skip": outcome.skip, "error": outcome.error, "repro": outcome.commands.repro}
            record.write_text(json.dumps(data))
    _indexes[key] = outcome
    return outcome


# --- per-worker tags, pulls and host checks ----------------------------------------------------

_aliases: dict[tuple[str, str], str] = {}
_pulls: dict[tuple[str, str, str], Outcome] = {}
_executable: dict[str, str | None] = {}


def worker_tag(index: PlatformIndex, name: str) -> str:
    """A tag of this worker's naming the index (same bytes, same digest) for one pull."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    key = (index.ref, f"{worker}-{name}")
    if key not in _aliases:
        tag = f"{index.tag}-{worker}-{name}"
        alias = f"{index.registry}/{index.repo}:{tag}"
        # The harness PUTs the same bytes under the new tag; skopeo does the same by hand.
        source = f"docker://{index.registry}/{index.repo}@{index.digest}"
        evidence.record_command(
            [
                "skopeo",
                "copy",
                "--all",
                "--preserve-digests",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                source,
                f"docker://{alias}",
            ]
        )
        with RegistryClient(index.registry, plain_http=True) as client:
            digest = client.put_manifest(index.repo, tag, index.body.encode(), index.media_type)
        if digest != index.digest:
            raise RegistryError(f"re-tagging the index as {tag} gave {digest}, not {index.digest}")
        _aliases[key] = alias
    return _aliases[key]


@dataclass
class Pulled:
    ref: str
    platform: str | None  # what the pull asked for (None: the engine's default)
    resolved: ResolvedImage | None  # None: the engine doesn't say which image it took
    pull_seconds: float
    unresolved: str = ""  # why ``resolved`` is None


def pull_for(runner: Engine, index: PlatformIndex, platform: str | None, name: str) -> Outcome:
    """Pull the index with ``platform`` under a tag of its own, once per worker; ``.get()`` it."""
    key = (runner.name, index.digest, platform if platform else f"default-{name}")

    def pull() -> Pulled:
        try:
            ref = worker_tag(index, f"{runner.name}-{name}")
        except RegistryError as exc:
            raise EngineError(f"tagging index {index.digest} for this pull: {exc}") from None
        started = time.monotonic()
        runner.pull(ref, platform=platform)
        elapsed = time.monotonic() - started
        try:
            return Pulled(ref, platform, runner.resolved_image(ref, platform=platform), round(elapsed, 3))
        except Unsupported as exc:
            # The pull happened; only the answer to "which variant?" is missing (the run still counts).
            return Pulled(ref, platform, None, round(elapsed, 3), unresolved=str(exc))

    return cached_step(_pulls, key, pull)


def support_or_skip(platform: str) -> host_platforms.PlatformSupport:
    """How the host runs ``platform``; a platform it can't run skips the cell with the reason."""
    support = host_platforms.detect(platform)
    if not support.runnable:
        pytest.skip(f"this host can't run {platform}: {support.detail}")
    if platform not in _executable:
        try:
            _executable[platform] = host_platforms.can_execute(busybox_for(platform))
        except OcimatrixError as exc:
            _executable[platform] = str(exc)
    if _executable[platform]:
        pytest.skip(f"this host can't run {platform} ({support.detail}): {_executable[platform]}")
    return support


def note_selection(cell: dict, recorder, index: PlatformIndex, pulled: Pulled) -> IndexEntry | None:
    """Record which index entry the engine ended up with, in the evidence and in the cell."""
    resolved = pulled.resolved
    if resolved is None:
        recorder.add("selected", {"asked": pulled.platform or "(none)", "unknown": pulled.unresolved})
        return None
    entry = index.chosen_entry(resolved)
    by_manifest = index.entry_by_manifest((resolved.manifest_digest, *resolved.digests))
    recorder.add(
        "selected",
        {
            "asked": pulled.platform or "(none: the engine's default)",
            "platform": entry.name if entry else "",
            "manifest": entry.digest if entry else "",
            "config": resolved.config_digest,
            "matched_by": _matched_by(index, resolved, entry),
            "engine_reports": {
                "architecture": resolved.architecture,
                "os": resolved.os,
                "variant": resolved.variant,
                "manifest": resolved.manifest_digest or (by_manifest.digest if by_manifest else ""),
                "how": resolved.how,
            },
            "index": index.digest,
            "pull_seconds": pulled.pull_seconds,
        },
    )
    if entry is not None:
        cell["selected_platform"] = entry.name
    return entry


def _matched_by(index: PlatformIndex, resolved: ResolvedImage, entry: IndexEntry | None) -> str:
    if entry is None:
        return "nothing: neither the config digest nor a reported manifest digest is in the index"
    if index.entry_by_config(resolved.config_digest) is entry:
        return "config digest"
    return "manifest digest (the engine's config digest is none of the index's configs)"


# --- the helpers above, as fixtures (test modules can't import a conftest) ---------------------


@pytest.fixture
def pull_index(runner: Engine):
    """``pull_index(index, platform_or_None, name) -> Outcome`` with the cell's runner."""
    return lambda index, platform, name: pull_for(runner, index, platform, name)


@pytest.fixture
def record_selection(cell, recorder):
    """``record_selection(index, pulled) -> IndexEntry | None``: what the runner chose, noted."""
    return lambda index, pulled: note_selection(cell, recorder, index, pulled)


@pytest.fixture
def host_support():
    """``host_support(platform) -> PlatformSupport``, skipping the cell if this host can't run it."""
    return support_or_skip
