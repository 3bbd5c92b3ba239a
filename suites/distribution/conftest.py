"""Fixtures of the distribution suite: the cell's registry as a target, a client, and a check runner.

- ``registry_pool`` (session): the matrix's registries for this worker (``registries.RegistryPool``).
- ``registry_target``: the cell's registry resolved (URL, namespace, auth, TLS) and answering. A
  registry the harness starts itself that is not up, or any registry that refuses, resets or ignores
  the first request, makes the cell an ``error`` (``ServiceUnavailable``): never a skip, never a
  failure. Only what is true of the host (a secret not set, no dockerd for an image) skips.
- ``registry_http``: an ``httpx.Client`` for it (its TLS settings, its auth, timeouts).
- ``dist``: runs one check of ``ocimatrix.distribution`` against it in a fresh ``DistContext``;
  a spec violation fails the test with the check's message and the registry's answer (which alone
  can confirm a listed known incompatibility), a lawfully absent optional feature skips it; what
  the check pushed is deleted afterwards, but for blobs in a registry with one blob store for every
  repository (``RegistryTarget.blobs_shared``, crane's): there the cleanup of one cell would delete
  the blobs the cells running beside it just pushed, and their verdicts would depend on timing.

The workflows are selectable on their own: ``-m distribution_pull`` (``_push``, ``_discovery``,
``_management``), or by file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ocimatrix import evidence
from ocimatrix.distribution.client import CheckFailed, NotApplicable
from ocimatrix.distribution.context import DistContext
from ocimatrix.errors import ServiceUnavailable
from ocimatrix.registries import RegistryPool, RegistryTarget, TargetUnavailable, http_client, redact, require_answering

WORKFLOWS = ("pull", "push", "discovery", "management")
MAX_EXCHANGES = 80


def pytest_configure(config: pytest.Config) -> None:
    for workflow in WORKFLOWS:
        config.addinivalue_line(
            "markers", f"distribution_{workflow}: distribution-spec {workflow} workflow conformance"
        )


@pytest.fixture(scope="session")
def registry_pool(request: pytest.FixtureRequest, matrix) -> Iterator[RegistryPool]:
    pool = RegistryPool(matrix.registries, lambda: request.getfixturevalue("endpoints"))
    yield pool
    pool.close()


def _harness_service_missing(settings: dict, message: str) -> bool:
    """A registry the harness was to start (embedded, or its container) is not up: the harness broke."""
    if settings.get("embedded"):
        return True
    return bool(settings.get("image")) and "no dockerd" not in message


@pytest.fixture
def registry_target(cell, registry_pool: RegistryPool) -> RegistryTarget:
    name = cell["registry"]
    try:
        target = registry_pool.target(name)
    except TargetUnavailable as exc:
        if _harness_service_missing(dict(registry_pool.registries.get(name) or {}), str(exc)):
            raise ServiceUnavailable(f"registry '{name}'", str(exc)) from None
        pytest.skip(str(exc))
    require_answering(target, "the checks")
    recorder = evidence.current()
    recorder.add("registry", target.describe())
    if target.version:
        recorder.versions[f"registry:{target.name}"] = target.version
    return target


@pytest.fixture
def registry_http(registry_target: RegistryTarget) -> Iterator[httpx.Client]:
    client = http_client(registry_target)
    yield client
    client.close()


class Checker:
    """``dist(check, **kwargs)`` runs ``check(ctx, **kwargs)`` and turns its outcome into pytest's."""

    def __init__(self, ctx: DistContext) -> None:
        self.ctx = ctx

    def __call__(self, check: Callable[..., Any], **kwargs: Any) -> None:
        # A skip leaves the except block first, so its report doesn't chain the check's exception.
        try:
            check(self.ctx, **kwargs)
            return
        except NotApplicable as exc:
            skipped = str(exc)
        except CheckFailed as exc:
            # pytest shows the check's sentence alone; the verdict reads the registry's answer (and
            # the step it answered) from the CheckFailed this failure is raised from.
            raise pytest.fail.Exception(str(exc), pytrace=False) from exc
        pytest.skip(skipped)


@pytest.fixture
def dist(registry_target: RegistryTarget, run_id: str) -> Iterator[Checker]:
    ctx = DistContext(registry_target, run_id)
    try:
        yield Checker(ctx)
    finally:
        exchanges = list(ctx.client.exchanges)
        kept = len(ctx.cleanup.blobs) if registry_target.blobs_shared else 0
        if kept:
            ctx.cleanup.blobs.clear()
        cleanup = ctx.close()
        if kept:
            cleanup["blobs_kept_shared_store"] = kept
        recorder = evidence.current()
        shown = exchanges[:MAX_EXCHANGES] + (["..."] if len(exchanges) > MAX_EXCHANGES else [])
        recorder.add("exchanges", redact(shown))
        recorder.add("cleanup", cleanup)
