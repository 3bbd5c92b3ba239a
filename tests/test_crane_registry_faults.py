"""go-containerregistry's registry killed in the middle of the distribution suite: supervised like the
harness's other registries (``crane@sid``, health by ``GET /v2/``), its cell is an ``error`` with its
log as evidence, never a failure of the registry; it is restarted once and the cells after it pass;
exit 1; nothing of the run is left. Needs the cached sid root (``ocimatrix provision --generation sid``).
"""

from __future__ import annotations

import pytest
from test_faults import LiveRun, assert_fault_handled, assert_nothing_left, kill, pytestmark  # noqa: F401

from ocimatrix.generations import prepared_root

_SID = prepared_root("sid")
if _SID is None or "crane" not in _SID.manifest.packages:
    pytest.skip("the cached sid root has no crane (ocimatrix provision --generation sid)", allow_module_level=True)

CRANE = """
axes: {builder: [podman], engine: [podman], registry: [embedded]}
registries:
  embedded: {embedded: true}
  crane: {embedded: crane, generation: sid}
suites: {distribution: {registry: [crane]}}
"""


def test_crane_killed_mid_suite(tmp_path):
    # Cases crane passes, so every cell but the one the kill hits is expected to pass.
    selection = "test_pull_blob or test_head_blob or test_pull_manifest or test_head_manifest or test_unknown"
    run = LiveRun(tmp_path, CRANE, "--suite", "distribution", "-k", selection)
    state = run.state_dir()
    run.wait_for("three finished cells", lambda: len(run.progress_lines()) >= 3)
    kill(state, "crane@sid")
    killed_at = len(run.progress_lines())
    code, data = run.finish()
    assert_fault_handled(code, data, run, "crane@sid", killed_at)
    assert_nothing_left(state)
