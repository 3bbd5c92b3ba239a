"""Fixtures of the attestations suite: the lifecycle probe built by the cell's builder with provenance
attestations of each mode, pushed once a run and shared by every worker and runner."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path

import pytest

from ocimatrix.engines.base import Engine
from ocimatrix.errors import OcimatrixError
from ocimatrix.images.busybox import busybox_for, host_platform_name
from ocimatrix.images.contexts import platforms_context
from ocimatrix.plugin.shared_steps import Outcome, PushedImage, shared_step
from ocimatrix.plugin.verdicts import skip_unless_started
from ocimatrix.run_ids import run_token

# The image's second platform, when its busybox is at hand: an index of two images and two attestations,
# as a multi-platform build pushes it, which every runner has to choose the host's image from.
SECOND_PLATFORM = "linux/arm64"


def image_platforms() -> list[str]:
    platforms = [host_platform_name()]
    try:
        busybox_for(SECOND_PLATFORM)
    except OcimatrixError:
        return platforms
    return platforms if SECOND_PLATFORM in platforms else [*platforms, SECOND_PLATFORM]


@pytest.fixture
def attested_image(cell, builder: Engine, endpoints, worker_cache):
    """``attested_image(mode) -> Outcome``: the probe built with provenance ``mode`` and pushed, once a run."""
    skip_unless_started(endpoints, "registry", "embedded registry")

    def get(mode: str) -> Outcome:
        if not builder.supports("attestations", mode):
            pytest.skip(builder.why_not("attestations", mode))
        fmt = cell.get("format", "oci")
        name = f"{builder.label.replace('@', '-')}-{fmt}-provenance-{mode}"
        platforms = image_platforms()

        def build_and_push() -> PushedImage:
            ref = f"{endpoints.registry}/ocimatrix/attested/{name}:{run_token()}"
            workdir = Path(tempfile.mkdtemp(prefix="attested-", dir=endpoints.state_dir))
            context = platforms_context(workdir, platforms, build_id=ref)
            try:
                digest = builder.build_and_push(
                    context, ref, platforms=platforms, format=fmt, compression="gzip", provenance=mode
                )
            finally:
                builder.remove_image(ref)
            return PushedImage(ref, digest, builder.label)

        cache = worker_cache["attested images"]
        if name not in cache:
            shared = Path(endpoints.state_dir) / "attested-builds" / run_token()
            cache[name] = shared_step(shared, name, build_and_push, asdict, lambda data: PushedImage(**data))
        return cache[name]

    return get
