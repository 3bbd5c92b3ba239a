"""Pulling a multi-platform index with a runner, and what the runner says it chose.

Runners pull the index under tags of their own (one per worker and platform, all naming the same
index digest), so no two pulls fight over one local tag.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocimatrix import evidence
from ocimatrix.engines.base import Engine, ResolvedImage, Unsupported
from ocimatrix.engines.skopeo_copier import copy_all_command
from ocimatrix.errors import HarnessError, ServiceUnavailable
from ocimatrix.oci.registry_client import RegistryClient, RegistryError
from ocimatrix.platform_images.index import IndexEntry, PlatformIndex
from ocimatrix.plugin.shared_steps import Outcome, cached_step, registry_services
from ocimatrix.run_ids import worker_name


def worker_tag(index: PlatformIndex, name: str, aliases: dict[tuple[str, str], str]) -> str:
    """A tag of this worker's naming the index (same bytes, same digest) for one pull; ``aliases``
    remembers the ones made."""
    worker = worker_name()
    key = (index.ref, f"{worker}-{name}")
    if key not in aliases:
        tag = f"{index.tag}-{worker}-{name}"
        alias = f"{index.registry}/{index.repo}:{tag}"
        # The harness PUTs the same bytes under the new tag; skopeo does the same by hand.
        source = f"docker://{index.registry}/{index.repo}@{index.digest}"
        evidence.record_command(copy_all_command(source, f"docker://{alias}"))
        with RegistryClient(index.registry, plain_http=True) as client:
            digest = client.put_manifest(index.repo, tag, index.body.encode(), index.media_type)
        if digest != index.digest:
            raise HarnessError(f"re-tagging the index as {tag} gave {digest}, not {index.digest}")
        aliases[key] = alias
    return aliases[key]


@dataclass
class Pulled:
    ref: str
    platform: str | None  # what the pull asked for (None: the engine's default)
    resolved: ResolvedImage | None  # None: the engine doesn't say which image it took
    pull_seconds: float
    unresolved: str = ""  # why ``resolved`` is None


def pull_for(
    runner: Engine,
    index: PlatformIndex,
    platform: str | None,
    name: str,
    cache: dict[str, dict],
    lock_dir: Path | None = None,
) -> Outcome:
    """Pull the index with ``platform`` under a tag of its own, once per worker (``cache``, the worker's:
    its "aliases" and "pulls"); ``.get()`` it.

    ``lock_dir`` (shared by the workers) keeps one worker's re-tagging PUT from overlapping another's
    pull of the same repository: distribution rewrites the manifest's revision link in place on every
    PUT of the same bytes, and a pull reading it at that moment gets a 500 that would be blamed on the
    runner.
    """
    key = (runner.key, index.digest, platform if platform else f"default-{name}")

    def pull() -> Pulled:
        with _repository_lock(lock_dir, index):
            try:
                ref = worker_tag(index, f"{runner.label.replace('@', '-')}-{name}", cache.setdefault("aliases", {}))
            except RegistryError as exc:
                # The harness's own re-tagging PUT: a failure here blames no runner.
                what = f"tagging index {index.digest} for this pull"
                if exc.status is None:
                    raise ServiceUnavailable(f"registry {index.registry}", f"{what}: {exc}") from None
                raise HarnessError(f"{what}: {exc}") from None
            started = time.monotonic()
            runner.pull(ref, platform=platform)
            elapsed = time.monotonic() - started
        try:
            return Pulled(ref, platform, runner.resolved_image(ref, platform=platform), round(elapsed, 3))
        except Unsupported as exc:
            # The pull happened; only the answer to "which variant?" is missing (the run still counts).
            return Pulled(ref, platform, None, round(elapsed, 3), unresolved=str(exc))

    return cached_step(cache.setdefault("pulls", {}), key, pull, services=registry_services(runner))


@contextlib.contextmanager
def _repository_lock(lock_dir: Path | None, index: PlatformIndex) -> Iterator[None]:
    if lock_dir is None:
        yield
        return
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"{index.repo.replace('/', '_')}.pull.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def selection(index: PlatformIndex, pulled: Pulled) -> tuple[IndexEntry | None, dict[str, Any]]:
    """Which index entry the engine ended up with, and the evidence that says so."""
    resolved = pulled.resolved
    if resolved is None:
        return None, {"asked": pulled.platform or "(none)", "unknown": pulled.unresolved}
    entry = index.chosen_entry(resolved)
    by_manifest = index.entry_by_manifest((resolved.manifest_digest, *resolved.digests))
    return entry, {
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
    }


def _matched_by(index: PlatformIndex, resolved: ResolvedImage, entry: IndexEntry | None) -> str:
    if entry is None:
        return "nothing: neither the config digest nor a reported manifest digest is in the index"
    if index.entry_by_config(resolved.config_digest) is entry:
        return "config digest"
    return "manifest digest (the engine's config digest is none of the index's configs)"
