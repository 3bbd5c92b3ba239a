"""The lifecycle probe, run: the shared fixtures (suites/conftest.py) build, push and pull it once."""

from __future__ import annotations

import pytest

from ocimatrix.cached_steps import PullStep
from ocimatrix.engines.base import Engine, EngineError, RunResult, RunSpec, Unsupported
from ocimatrix.images.contexts import parse_report


@pytest.fixture
def run_probe(cell, runner: Engine, pulled_image: PullStep, recorder):
    """Pull if needed, then run the probe with the cell's runtime and optional overrides;
    returns (result, report)."""

    def run(**overrides) -> tuple[RunResult, dict[str, str]]:
        image = pulled_image.get()
        spec = RunSpec(image=image.ref, runtime=cell["runtime"], **overrides)
        try:
            result = runner.run(spec)
        except Unsupported as exc:
            pytest.skip(str(exc))
        except EngineError as exc:
            pytest.fail(f"{runner.name} could not run the container: {exc}", pytrace=False)
        recorder.add("exit_code", result.exit_code)
        recorder.add("stdout", result.stdout[-4000:])
        if result.stderr.strip():
            recorder.add("stderr", result.stderr[-4000:])
        return result, parse_report(result.stdout)

    return run
