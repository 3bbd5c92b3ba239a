"""Fault test on real daemons: the embedded registry killed while the lifecycle suite's shared builds push.

The builder's push fails because the registry is gone: that is no answer of the builder's. The cell
whose shared build was pushing is ``error`` (with the registry's log as evidence), the build's
failure is not kept for the cells after it, no cell is ``failed``, the registry is restarted once,
the next cells build again and pass, the run exits 1, and nothing of the harness is left behind.
"""

from __future__ import annotations

from pathlib import Path

from test_faults import LiveRun, assert_nothing_left, kill, pytestmark  # noqa: F401 - same host requirements

from ocimatrix.system.process import processes_mentioning

# Two builders, so a second shared build runs after the restart; three tests, so each build is
# needed again by later cells (which must not replay the first one's fault).
LIFECYCLE_BUILDS = """
axes: {builder: [podman, buildah], engine: [podman], runtime: [runc], format: [oci], compression: [gzip]}
suites: {lifecycle: {}}
"""
TESTS = "test_pulled_digest_is_pushed_digest or test_exit_code_propagates or test_env_from_config"


def pushing(state: Path) -> bool:
    """A builder of the harness's (podman or buildah on the run's storage) is pushing right now."""
    for pid in processes_mentioning(str(state)):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and Path(argv[0].decode(errors="replace")).name in ("podman", "buildah") and b"push" in argv:
            return True
    return False


def test_registry_killed_while_shared_builds_push(tmp_path):
    run = LiveRun(tmp_path, LIFECYCLE_BUILDS, "--suite", "lifecycle", "-k", TESTS)
    state = run.state_dir()
    run.wait_for("a shared build pushing", lambda: pushing(state))
    kill(state, "registry")
    killed_at = len(run.progress_lines())
    code, data = run.finish()
    records = data["results"]
    outcomes = sorted((r["outcome"], r["test"].rsplit("::", 1)[-1]) for r in records)
    errors = [r for r in records if r["outcome"] == "error"]
    assert code == 1, f"a run with an errored cell must exit 1: {outcomes}"
    assert errors, f"no cell was marked error after the registry was killed mid-push: {outcomes}"
    assert not [r for r in records if r["outcome"] in ("failed", "xfailed", "skipped")], outcomes
    assert all("registry" in r["reason"] for r in errors), [r["reason"][:300] for r in errors]
    assert any("registry_log" in r["evidence"] for r in errors), "the registry's last log lines are evidence"
    restarts = data["run"]["restarts"].get("registry", [])
    assert len(restarts) == 1 and restarts[0]["outcome"] == "restarted", data["run"]["restarts"]
    # The fault was not replayed: every cell after the one that hit it built again and passed.
    later = [line for line in run.progress_lines()[killed_at + 1 :] if " PASSED " not in line]
    assert not later, f"cells after the restart did not pass: {later}"
    assert len([r for r in records if r["outcome"] == "passed"]) >= len(records) - len(errors) >= 4
    assert_nothing_left(state)
