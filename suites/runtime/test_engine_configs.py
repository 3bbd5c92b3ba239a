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
from pathlib import Path

import pytest

from ocimatrix import evidence
from ocimatrix.cri.security_context import ContainerSecurity, PodSecurity
from ocimatrix.engines.base import Engine, RunSpec, runtime_versions
from ocimatrix.errors import HarnessError, fail_with
from ocimatrix.images.busybox import HOST_BUSYBOX
from ocimatrix.plugin.items import MATRIX_KEY
from ocimatrix.plugin.shared_steps import PullStep, shared_step
from ocimatrix.plugin.verdicts import run_container
from ocimatrix.run_ids import run_token
from ocimatrix.runtime import recording_shim
from ocimatrix.runtime.bundle import write_rootfs
from ocimatrix.runtime.config_compare import MARKER_VARIABLE, aspects, must_problems
from ocimatrix.runtime.config_crossing import rebase, relation
from ocimatrix.specs import spec
from ocimatrix.tools import catalog

# One variable the image sets (replaced) and one it doesn't (added): how the engine merges and orders them.
RUN_ENV = {"OCIMATRIX_GREETING": "replaced at run time", "OCIMATRIX_OVERRIDE": "added at run time"}
RESTRICTED = ContainerSecurity(allow_privilege_escalation=False, capabilities_drop=("ALL",))
RESTRICTED_COLUMN = "restricted pod"
DEFAULT_KIND, RESTRICTED_KIND = "default", "restricted"


@pytest.fixture
def builder(endpoints, recorder, bound_tools) -> Engine:
    """The probe's builder, the same for every engine (the shared ``pushed_image`` fixture builds with it),
    bound once per worker so the shared build and push is done once."""
    probe_builder = bound_tools.get(catalog.PROBE_BUILDER, endpoints, role="builder")
    bound_tools.note(recorder, "builder", probe_builder)
    return probe_builder


@pytest.fixture
def recording_runtime(runner: Engine, endpoints, recorder) -> str:
    """The run's recording shim, installed (dockerd and containerd were configured with it at start) and
    known to the drivers that hand a runtime's path (podman ``--runtime``, ``ctr --runc-binary``). An
    engine of another generation hands it over as that generation's (its root sees the shim at the same
    path, and there the shim execs the root's runc)."""
    # The drivers find it by name under the run's state directory (``BoundTool.runtime_binary``).
    shim = recording_shim.install(endpoints.state_dir)
    recorder.add("recording_shim", {"path": str(shim), "execs": recording_shim.REAL_RUNTIME})
    default = catalog.default_runtime()
    real = catalog.spelled(default, runner.generation)
    site = runner.site
    recorder.versions[real] = site.version_of(default) if site is not None else runtime_versions().get(real, "")
    return catalog.spelled(recording_shim.RECORDING_RUNTIME, runner.generation)


def _marker(engine: str, kind: str) -> str:
    """The env value a run's config is found by: the engine, which of its runs (``default`` for a pod or
    container that asks nothing, ``restricted``), and what makes it unique."""
    return f"{engine}/{kind}/{secrets.token_hex(6)}"


def _run_recorded(cell, runner: Engine, spec: RunSpec, endpoints, recorder, column: str, asked=None) -> None:
    """Run ``spec`` (a CRI runner passes ``asked``, a pod's security asks), find the config.json the shim
    saved for it, keep it as evidence under ``column`` and judge it."""
    marker = f"{MARKER_VARIABLE}={_marker(cell['engine'], RESTRICTED_KIND if asked else DEFAULT_KIND)}"
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


# --- every engine's config, run by every runtime of every generation -------------------------------------

CROSSING_PROBE = ["sh", "-c", "echo ran"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``config_engine``: each engine of the matrix's runtime suite, whose recorded config every runtime
    cell runs (``config-of-docker@trixie``, so an expectation names the pair as ``[*config-of-ENGINE]``)."""
    if "config_engine" not in metafunc.fixturenames:
        return
    matrix = metafunc.config.stash.get(MATRIX_KEY, None)
    engines = [c["engine"] for c in matrix.cells_for(("engine",), "runtime")] if matrix is not None else []
    if not engines:
        reason = "the matrix names no engine for the runtime suite"
        metafunc.parametrize("config_engine", [pytest.param(None, marks=pytest.mark.skip(reason=reason))])
        return
    metafunc.parametrize("config_engine", engines, ids=[f"config-of-{e}" for e in engines])


def _recorded_default(state_dir, engine: str) -> recording_shim.RecordedConfig | None:
    """The config ``engine`` handed the shim for the probe asking nothing (test_engine_config_is_valid's)."""
    prefix = f"{MARKER_VARIABLE}={engine}/{DEFAULT_KIND}/"
    found = [r for r in recording_shim.recorded(state_dir) if any(e.startswith(prefix) for e in r.env)]
    return found[-1] if found else None


@pytest.fixture
def engine_config(config_engine: str, endpoints, matrix, recorder, bound_tools, pushed_image, worker_cache) -> dict:
    """The config.json ``config_engine`` hands its runtime for the probe, as the recording shim saved it.

    Once per run across workers (a shared step): the one test_engine_config_is_valid recorded when it
    is there already, else the engine runs the probe through the shim now. An engine this host lacks
    skips the cell, before any runtime is asked; an engine that refuses the run fails it with its words."""
    engine = bound_tools.get(config_engine, endpoints, role="engine", named=matrix.endpoints)
    recorder.versions[engine.label] = engine.version()
    state = endpoints.state_dir

    def record() -> dict:
        found = _recorded_default(state, engine.label)
        source = "test_engine_config_is_valid's run"
        if found is None:
            recording_shim.install(state)
            image = PullStep(engine, pushed_image, worker_cache["pulls"]).get()
            shim = catalog.spelled(recording_shim.RECORDING_RUNTIME, engine.generation)
            spec = RunSpec(image=image.ref, runtime=shim, env=dict(RUN_ENV))
            marker = _marker(engine.label, DEFAULT_KIND)
            spec.env[MARKER_VARIABLE] = marker
            failure = f"{engine.name} could not run the probe through the recording shim"
            run_container(engine, spec, evidence.Recorder(), failure)
            found = recording_shim.find_by_env(state, f"{MARKER_VARIABLE}={marker}")
            source = "a run of the probe for this crossing"
            if found is None:
                raise HarnessError(f"the recording shim saved no config.json with {marker} for {engine.name}")
        return {"config": found.config, "container_id": found.container_id, "source": source}

    shared = Path(state) / "engine-config-crossing" / run_token()
    name = engine.label.replace("@", "-")
    value = shared_step(shared, name, record, lambda v: v, lambda d: d).get()
    if not isinstance(value["config"], dict):
        pytest.fail(f"{engine.name}'s recorded config.json is not a JSON object", pytrace=False)
    recorder.add("engine_config_source", {"engine": engine.label, "recorded": value["source"]})
    return value


@spec("runtime-spec/config.md#specification-version", "config: an engine's config.json on a runtime of any generation")
@pytest.mark.axes("runtime")
def test_runtime_runs_engine_config(cell, config_engine: str, engine_config: dict, lab, recorder):
    """The config.json an engine wrote, its ``ociVersion`` and properties as written, run by this cell's
    runtime with the engine's own paths rewritten to the harness's bundle
    (``ocimatrix/runtime/config_crossing.py``): it runs (passed; a release newer than the runtime
    declares is noted, its unknown properties ignored), or the runtime refuses it (failed with its words;
    a known refusal is listed for the engine x runtime pair with ``match:``)."""
    recorded = engine_config["config"]
    declared, source = lab.declared_spec_version()
    written = str(recorded.get("ociVersion") or "")
    scratch = lab.scratch("crossing")
    container_id = lab.new_id()
    rootfs = write_rootfs(scratch / "rootfs", HOST_BUSYBOX)
    rebased = rebase(
        recorded, container_id=container_id, rootfs=str(rootfs.path), scratch=str(scratch), probe=CROSSING_PROBE
    )
    for path, kind in rebased.sources:
        Path(path).mkdir() if kind == "dir" else Path(path).touch()
    for directory in rebased.directories:
        (rootfs.path / directory.lstrip("/")).mkdir(parents=True, exist_ok=True)
    crossing = {
        "engine": config_engine,
        "oci_version": written,
        "runtime_declares": declared,
        "source": source,
        "relation": relation(written, declared),
        "rewrites": rebased.rewrites,
    }
    lab.recorder.repro.append(
        f"# the rootfs at {rootfs.path} is written as the shared one; each rewritten bind source is empty"
    )
    bundle = lab.raw_bundle(container_id, rebased.config)
    step = f"{lab.name} create of the config.json {config_engine} wrote (ociVersion {written or 'none'})"
    container, result = lab.create_bundle(container_id, bundle, role=f"{config_engine}'s config")
    if result.ok:
        step = f"{lab.name} start of the config.json {config_engine} wrote (ociVersion {written or 'none'})"
        result = lab.runtime.start(container.id)
    if not result.ok:
        crossing.update(outcome="refused", step=step, answer=result.answer)
        recorder.add("engine_crossing", crossing)
        fail_with(
            f"{lab.name} refuses the config.json {config_engine} hands its runtime "
            f"(ociVersion {written or 'none'}; {lab.name} declares {declared or 'no version'}): {result.words}",
            step=step,
            answer=result.answer,
        )
    lab.wait_stopped(container)
    said = container.output().strip()
    warned = (container.errors()).strip()
    crossing.update(outcome="runs", stdout=said[-300:])
    if warned:
        crossing["warning"] = warned[-600:]
    if crossing["relation"] == "newer":
        crossing["note"] = f"declared newer than {declared}: properties it doesn't know are ignored"
    recorder.add("engine_crossing", crossing)
    if said != "ran":
        fail_with(
            f"{lab.name} ran the config.json {config_engine} wrote, but the probe printed {said!r}",
            step=f"the probe of the config.json {config_engine} wrote",
            answer=f"stdout {said[-500:]!r}, stderr {container.errors()[-500:]!r}",
        )
