"""What each engine tells its runtime: the config.json docker, podman, ctr and containerd's CRI hand runc.

Every engine runs the same probe image (the lifecycle probe, built once by one builder) with the same
run-time environment through the run's recording shim (``ocimatrix/runtime/recording_shim.py``), an
extra runtime that saves the bundle's config.json and then execs runc. The saved document is the
cell's evidence (``runtime_config``, and its aspects under ``engine_config``) and is checked against
runtime-spec's config schema and the MUSTs a schema can't say.

Verdicts (see ``ocimatrix/runtime/config_compare.py``): a config that breaks the schema or a MUST is
``failed``; engines that differ (env order, capabilities, masked paths, seccomp, cgroup path ...)
are all conforming, since the spec leaves those values to them: the cells pass, and the site's
engine-config page shows the differences side by side, each with its spec section.

containerd's CRI (and CRI-O's, where a matrix names one) is sent what the kubelet sends
(``ocimatrix/cri/security_context.py``): for a pod that asks nothing, the default masked and read-only
paths, seccomp Unconfined for the container and RuntimeDefault for the sandbox. A second CRI column,
``test_cri_engine_config_of_a_restricted_pod``, is a pod asking what the restricted Pod Security
Standard asks (seccomp RuntimeDefault, ``allowPrivilegeEscalation: false``, capabilities drop ALL):
what the CRI runtime then hands its OCI runtime.
"""

from __future__ import annotations

import secrets

import pytest

from ocimatrix.cri.security_context import ContainerSecurity, PodSecurity
from ocimatrix.engines.base import Engine, RunSpec, runtime_versions
from ocimatrix.errors import HarnessError
from ocimatrix.plugin.verdicts import run_container
from ocimatrix.runtime import recording_shim
from ocimatrix.runtime.config_compare import MARKER_VARIABLE, aspects, must_problems
from ocimatrix.specs import spec
from ocimatrix.tools import catalog

# One variable the image sets (replaced) and one it doesn't (added): how the engine merges and orders them.
RUN_ENV = {"OCIMATRIX_GREETING": "replaced at run time", "OCIMATRIX_OVERRIDE": "added at run time"}
RESTRICTED = ContainerSecurity(allow_privilege_escalation=False, capabilities_drop=("ALL",))
RESTRICTED_COLUMN = "restricted pod"


@pytest.fixture
def builder(endpoints, recorder, bound_tools) -> Engine:
    """The probe's builder, the same for every engine (the shared ``pushed_image`` fixture builds with it),
    bound once per worker so the shared build and push is done once."""
    probe_builder = bound_tools.get(catalog.PROBE_BUILDER, endpoints, role="builder")
    bound_tools.note(recorder, "builder", probe_builder)
    return probe_builder


@pytest.fixture
def recording_runtime(endpoints, recorder) -> str:
    """The run's recording shim, installed (dockerd and containerd were configured with it at start) and
    known to the drivers that hand a runtime's path (podman ``--runtime``, ``ctr --runc-binary``)."""
    # The drivers find it by name under the run's state directory (``BoundTool.runtime_binary``).
    shim = recording_shim.install(endpoints.state_dir)
    recorder.add("recording_shim", {"path": str(shim), "execs": recording_shim.REAL_RUNTIME})
    real = catalog.default_runtime()
    recorder.versions[real] = runtime_versions().get(real, "")
    return recording_shim.RECORDING_RUNTIME


def _run_recorded(cell, runner: Engine, spec: RunSpec, endpoints, recorder, column: str, asked=None) -> None:
    """Run ``spec`` (a CRI runner passes ``asked``, a pod's security asks), find the config.json the shim
    saved for it, keep it as evidence under ``column`` and judge it."""
    marker = f"{MARKER_VARIABLE}={cell['engine']}-{secrets.token_hex(6)}"
    spec.env[MARKER_VARIABLE] = marker.partition("=")[2]
    failure = f"{runner.name} could not run the probe through the recording shim"
    result = run_container(_Asking(runner, asked) if asked else runner, spec, recorder, failure)
    record = recording_shim.find_by_env(endpoints.state_dir, marker)
    if record is None:
        saved = [f"{r.container_id}: {r.argv[:8]}" for r in recording_shim.recorded(endpoints.state_dir)]
        raise HarnessError(
            f"the recording shim saved no config.json with {marker} for {runner.name} "
            f"(exit {result.exit_code}); saved in this run: {saved[-6:]}"
        )
    recorder.add("runtime_config", record.config)
    recorder.add("runtime_argv", record.argv)
    recorder.add(
        "engine_config",
        {"engine": column, "container_id": record.container_id, "aspects": aspects(record.config, record.container_id)},
    )
    found = must_problems(record.config)
    broken = "; ".join(found[:15])
    assert not found, f"{runner.name} handed runc a config.json that breaks runtime-spec v1.2.0: {broken}"
    stderr = result.stderr[-600:]
    assert result.exit_code == 0, f"the probe exited {result.exit_code} under {runner.name} (shim): {stderr}"


@spec("runtime-spec/config.md#configuration", "config: Configuration (the config.json an engine hands its runtime)")
@pytest.mark.axes("engine")
def test_engine_config_is_valid(cell, runner: Engine, pulled_image, recording_runtime: str, endpoints, recorder):
    # A CRI engine is sent what the kubelet sends for a pod that asks nothing (ocimatrix/cri/security_context.py).
    spec = RunSpec(image=pulled_image.get().ref, runtime=recording_runtime, env=dict(RUN_ENV))
    _run_recorded(cell, runner, spec, endpoints, recorder, cell["engine"])


@spec("runtime-spec/config.md#configuration", "config: Configuration (a CRI runtime's, for a restricted pod)")
@pytest.mark.axes("engine")
def test_cri_engine_config_of_a_restricted_pod(
    cell, runner: Engine, pulled_image, recording_runtime: str, endpoints, recorder
):
    """What a CRI runtime hands its OCI runtime for a pod asking what the restricted Pod Security
    Standard asks: seccomp RuntimeDefault, ``allowPrivilegeEscalation: false`` (the kubelet then
    sends ``no_new_privs``) and capabilities drop ALL, with the kubelet's default masked and
    read-only paths."""
    if not runner.supports("cri"):
        pytest.skip(runner.why_not("cri"))
    spec = RunSpec(image=pulled_image.get().ref, runtime=recording_runtime, env=dict(RUN_ENV))
    asked = {"pod_security": PodSecurity(seccomp="RuntimeDefault"), "security": RESTRICTED}
    recorder.add(
        "pod_asks",
        {"pod": "seccompProfile RuntimeDefault", "container": "allowPrivilegeEscalation false, capabilities drop ALL"},
    )
    _run_recorded(cell, runner, spec, endpoints, recorder, f"{cell['engine']} ({RESTRICTED_COLUMN})", asked)


class _Asking:
    """``runner`` whose run(), the call run_container makes, passes a pod's security asks along."""

    def __init__(self, runner: Engine, asked: dict) -> None:
        self.runner, self.asked = runner, asked

    def run(self, spec: RunSpec):
        return self.runner.run(spec, **self.asked)
