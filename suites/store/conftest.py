"""Fixtures of the store-state suite: probe images pushed under tags of the cell's own, and a run that
reports which image the engine ran.

Every test pushes its own tags (named after the engine and the run), so no two cells share a local
reference in any store, and removes what it pulled when it ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ocimatrix.engines.base import Engine, RunSpec
from ocimatrix.errors import EngineError, HarnessError, OcimatrixError, Unsupported
from ocimatrix.images import probe_images
from ocimatrix.images.busybox import busybox_for, host_platform_name
from ocimatrix.images.contexts import parse_report
from ocimatrix.oci.registry_client import RegistryError
from ocimatrix.plugin.verdicts import is_harness_fault, skip_unless_started
from ocimatrix.run_ids import run_token, worker_name

# The other platform of the index: the first whose busybox the host has (arm64 runs under QEMU here,
# so a wrong choice shows as "aarch64" rather than as an exec format error).
FOREIGN_CANDIDATES = ("linux/arm64", "linux/s390x", "linux/ppc64le", "linux/riscv64", "linux/arm/v7")


@dataclass
class Ran:
    """One run of a store probe: what the engine answered, and what the container printed."""

    asked: str | None  # the platform asked for (None: none)
    refusal: str = ""  # the engine's words when it refused to run
    step: str = ""
    exit_code: int | None = None
    machine: str = ""
    marker: str = ""
    stderr: str = ""

    def evidence(self) -> dict:
        if self.refusal:
            return {"asked": self.asked or "(none)", "refused": self.refusal, "step": self.step}
        return {
            "asked": self.asked or "(none)",
            "exit_code": self.exit_code,
            "machine": self.machine,
            "marker": self.marker,
            **({"stderr": self.stderr[-600:]} if self.stderr.strip() else {}),
        }

    def answer(self) -> str:
        said = f"exit {self.exit_code}; machine={self.machine or '(none)'}; marker={self.marker or '(none)'}"
        return said + (f"; stderr: {self.stderr.strip()[-400:]}" if self.stderr.strip() else "")


@pytest.fixture(scope="session")
def foreign_platform() -> str:
    for platform in FOREIGN_CANDIDATES:
        try:
            busybox_for(platform)
        except OcimatrixError:
            continue
        return platform
    pytest.skip(f"no busybox for any of {', '.join(FOREIGN_CANDIDATES)} (ocimatrix provision fetches them)")


@pytest.fixture
def store_tag(cell) -> Iterator:
    """``store_tag(name)``: a tag of this cell's own for ``name``."""
    engine = cell["engine"].replace("@", "-")
    return lambda name: f"{name}-{engine}-{run_token()}"[:128]


@pytest.fixture
def pushed(endpoints):
    """``pushed.index(tag, platforms, marker)`` / ``pushed.image(tag, marker)`` push probes to the
    embedded registry; a registry that doesn't take them is the harness's fault (``error``)."""
    skip_unless_started(endpoints, "registry", "embedded registry")

    class Pusher:
        def index(self, tag: str, platforms: tuple[str, ...], marker: str) -> probe_images.PushedIndex:
            # The tag in the marker makes every layer the cell's own: removing it at the end can't take a
            # layer from under another worker's pull of the same engine (the stores share equal layers).
            images = {p: probe_images.store_image(p, f"{marker} {p} {tag}") for p in platforms}
            # This worker's own repository: engines of other workers pull the same bytes (see the copies suite).
            repository = f"{probe_images.STORE_REPOSITORY}-{worker_name()}"
            return self._push(lambda: probe_images.push_index(endpoints.registry, repository, tag, images))

        def image(self, tag: str, marker: str) -> probe_images.PushedIndex:
            # A single-platform image is an index of one, so the evidence reads the same way.
            return self.index(tag, (host_platform_name(),), marker)

        @staticmethod
        def _push(push):
            try:
                return push()
            except (RegistryError, OSError) as exc:
                raise HarnessError(f"pushing the store probe to the embedded registry: {exc}") from None

    return Pusher()


@pytest.fixture
def store_runner(cell, runner: Engine, recorder) -> Iterator:
    """``store_runner.pull(ref, platform)`` and ``.run(ref, platform) -> Ran``; removes what it pulled."""
    pulled: list[str] = []

    class StoreRunner:
        def pull(self, ref: str, platform: str | None = None) -> None:
            try:
                runner.pull(ref, platform=platform)
            except Unsupported as exc:
                pytest.skip(str(exc))
            pulled.append(ref)

        def run(self, ref: str, platform: str | None = None) -> Ran:
            spec = RunSpec(image=ref, runtime=cell["runtime"], platform=platform, timeout=90)
            try:
                result = runner.run(spec)
            except Unsupported as exc:
                pytest.skip(str(exc))
            except EngineError as exc:
                if is_harness_fault(exc):
                    raise
                said = exc.answer if exc.answer is not None else str(exc)
                ran = Ran(platform, refusal=str(said), step=exc.step or f"{runner.name} run")
                recorder.evidence.setdefault("runs", []).append(ran.evidence())
                return ran
            report = parse_report(result.stdout)
            said = result.stderr.strip()
            if result.exit_code != 0 and "machine" not in report and said and "exec format error" not in said:
                # Nothing of the image ran and the engine said why (ctr exits 1 with "ctr: ..."): a refusal.
                # An exec format error is the runtime starting the wrong platform's binary: not one.
                ran = Ran(platform, refusal=said[-1000:], step=f"{runner.name} run")
                recorder.evidence.setdefault("runs", []).append(ran.evidence())
                return ran
            ran = Ran(platform, "", "", result.exit_code, report.get("machine", ""), report.get("marker", ""))
            ran.stderr = result.stderr
            recorder.evidence.setdefault("runs", []).append(ran.evidence())
            return ran

        def config_platform(self, ref: str, platform: str | None = None) -> str:
            """The os/architecture of the image ``ref`` names in the store ("" when the engine won't say)."""
            try:
                resolved = runner.resolved_image(ref, platform=platform)
            except (Unsupported, EngineError):
                return ""
            return "/".join(p for p in (resolved.os, resolved.architecture, resolved.variant) if p)

    yield StoreRunner()
    for ref in pulled:
        with contextlib.suppress(OcimatrixError):
            runner.remove_image(ref)
