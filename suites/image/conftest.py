"""The image suite's steps: images saved back out by runners, skopeo's layout copies, and the validator.

The build, push and pull are the shared ones (suites/conftest.py), so a run with the lifecycle suite
builds each probe image once per worker. Everything written lands under the services' state dir,
which goes when the run ends.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from image_conformance import nonconformance_message, record_report, tool_label, violations_answer

from ocimatrix import evidence
from ocimatrix.engines.base import Engine
from ocimatrix.errors import UsageError, fail_with
from ocimatrix.oci.report import Report
from ocimatrix.plugin.shared_steps import PullStep, cached_step


def scratch_dir(endpoints, prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir=endpoints.state_dir))


@pytest.fixture
def saved_archive(runner: Engine, pulled_image: PullStep, endpoints, worker_cache) -> Callable[[str], Path]:
    """``save(archive_format)``: the image the runner pulled, written back out by the runner itself."""

    def save(archive_format: str) -> Path:
        # An engine with no save at all (the CRI) would only say so after a pointless pull.
        if not runner.supports("save"):
            pytest.skip(runner.why_not("save"))
        image = pulled_image.get()

        def write() -> Path:
            dest = scratch_dir(endpoints, f"save-{runner.name}-") / f"{archive_format}-archive.tar"
            return runner.save(image.ref, dest, format=archive_format)

        saves = worker_cache["saved archives"]  # (runner, ref, archive format) -> Outcome of the save
        return cached_step(saves, (runner.key, image.ref, archive_format), write).get()

    return save


@pytest.fixture
def scratch(endpoints) -> Path:
    """A fresh directory for what this test writes."""
    return scratch_dir(endpoints, "image-")


@pytest.fixture
def assert_conforms(recorder) -> Callable[..., Report]:
    """``assert_conforms(validate, source, made_by=..., what=...)``: run the validator, record, judge.

    ``validate`` is one of ``ocimatrix.oci.validate``'s entry points; ``repro`` is the
    ``ocimatrix validate`` command line that checks the same thing by hand.
    """

    def check(validate: Callable[..., Report], source: str, *, made_by: str, what: str, repro: list[str], **kw):
        evidence.record_command(repro)
        try:
            report = validate(source, check_layers=True, check_elf=True, **kw)
        except UsageError as exc:
            # The tool said it wrote the image, yet there is nothing the validator can open.
            message = f"{tool_label(recorder, made_by)} {what} cannot be validated: {exc}"
            fail_with(message, step="ocimatrix validate", answer=str(exc))
        record_report(recorder, report)
        if not report.ok:
            # The broken rules, where and why are the observed value a listing's match: is read against.
            fail_with(
                nonconformance_message(tool_label(recorder, made_by), what, report),
                step="ocimatrix validate",
                answer=violations_answer(report),
            )
        return report

    return check
