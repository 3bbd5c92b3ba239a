"""The recording shim, the config comparison and the engine-config page, on hand-written configs."""

from __future__ import annotations

import subprocess

from ocimatrix.report.engine_configs import PAGE, engine_columns, link_engine_configs
from ocimatrix.results import Record, Results, Run
from ocimatrix.runtime import recording_shim
from ocimatrix.runtime.config_compare import aspects, differences, must_problems


def config(env: list[str], *, masked: list[str] | None = None, seccomp: bool = False) -> dict:
    linux: dict = {"namespaces": [{"type": "pid"}, {"type": "mount"}], "cgroupsPath": "/docker/" + "ab" * 32}
    if masked:
        linux["maskedPaths"] = masked
    if seccomp:
        linux["seccomp"] = {
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}],
        }
    return {
        "ociVersion": "1.0.2-dev",
        "root": {"path": "rootfs"},
        "process": {"args": ["/bin/sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "env": env},
        "linux": linux,
    }


def test_shim_saves_the_bundle_config_then_execs_the_runtime(tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text('{"ociVersion": "1.0.2", "process": {"env": ["M=1"]}}')
    shim = recording_shim.install(tmp_path / "state", real_runtime="/bin/echo")
    assert recording_shim.install(tmp_path / "state", real_runtime="/bin/echo") == shim  # idempotent
    out = subprocess.run(
        [shim, "--root", "/r", "create", "--bundle", bundle, "--pid-file", "/p", "c1"],
        text=True,
        capture_output=True,
        check=True,
    ).stdout
    assert out.split() == ["--root", "/r", "create", "--bundle", str(bundle), "--pid-file", "/p", "c1"]
    subprocess.run([shim, "run", "c2"], cwd=bundle, check=True, capture_output=True)  # no --bundle: the cwd
    subprocess.run([shim, "state", "c3"], check=True, capture_output=True)  # passes through, saves nothing
    saved = {r.container_id: r for r in recording_shim.recorded(tmp_path / "state")}
    assert sorted(saved) == ["c1", "c2"]
    assert recording_shim.find_by_env(tmp_path / "state", "M=1").config["ociVersion"] == "1.0.2"


def test_differences_are_listed_per_aspect_with_ids_taken_out():
    docker = aspects(config(["PATH=/bin", "OCIMATRIX_RECORD=docker-1"], masked=["/proc/kcore"], seccomp=True))
    podman = aspects(config(["OCIMATRIX_RECORD=podman-2", "PATH=/bin"]))
    assert docker["cgroupsPath"] == "/docker/<id>"
    found = {d.aspect.key: d for d in differences({"docker": docker, "podman": podman})}
    assert set(found) == {"env", "maskedPaths", "seccomp"}  # the marker's value and the ids compare equal
    assert found["seccomp"].values["podman"] == "absent"
    assert found["maskedPaths"].aspect.url.endswith("config-linux.md#masked-paths")


def test_a_config_breaking_the_schema_or_a_must_is_reported():
    assert must_problems(config(["PATH=/bin"])) == []
    broken = config(["NOT-AN-ENV-ENTRY"])
    broken["linux"]["namespaces"].append({"type": "pid"})
    found = must_problems(broken)
    assert any(p.startswith("/process/env/0") for p in found)
    assert any("'pid' listed twice" in p for p in found)


def test_page_shows_engines_side_by_side(tmp_path):
    records = []
    for engine, document in (("docker", config(["A=1"], seccomp=True)), ("podman", config(["A=1"]))):
        evidence = {
            "runtime_config": document,
            "engine_config": {"engine": engine, "container_id": "c", "aspects": aspects(document)},
        }
        cell = {"engine": engine, "versions": {engine: "1.0"}}
        records.append(
            Record(
                "suites/runtime/test_engine_configs.py::test_engine_config_is_valid",
                "runtime",
                "passed",
                cell,
                evidence=evidence,
            )
        )
    page = link_engine_configs("<main></main>", Results(Run(), records), tmp_path)
    assert f'href="{PAGE}"' in page
    html = (tmp_path / PAGE).read_text()
    assert "≠ differs" in html and "docker" in html and "podman" in html
    assert (tmp_path / "engine-configs" / "docker.json").exists()
    assert link_engine_configs("<main></main>", Results(Run(), []), tmp_path / "none") == "<main></main>"


def test_each_engines_oci_version_is_crossed_with_the_runtimes_version_dimension(tmp_path):
    """The cross table takes each runtime's outcome for the release the engine's config declares; the
    answer shown for a refusal is the runtime's own, and a release no record covers says so."""
    engine_config = config(["A=1"])  # ociVersion 1.0.2-dev: release 1.0.2
    newer = {**config(["A=2"]), "ociVersion": "1.2.0"}
    records = []
    for engine, document in (("podman", engine_config), ("docker@trixie", newer)):
        evidence = {
            "runtime_config": document,
            "engine_config": {"engine": engine, "container_id": "c", "aspects": aspects(document)},
        }
        records.append(
            Record(
                "suites/runtime/test_engine_configs.py::test_engine_config_is_valid",
                "runtime",
                "passed",
                {"engine": engine},
                evidence=evidence,
            )
        )
    refused = "exit 1: unknown version specified"
    for release, outcome in (("1_0_2", "passed"), ("1_2_0", "failed")):
        evidence = {"oci_version": {"outcome": "runs" if outcome == "passed" else "refused"}}
        if outcome == "failed":
            evidence["answer"] = {"step": "crun create", "text": refused}
        records.append(
            Record(
                f"suites/runtime/test_runtime_spec_versions.py::test_runs_config_declared_as_{release}[crun]",
                "runtime",
                outcome,
                {"runtime": "crun", "versions": {"crun": "1.8.1"}},
                evidence=evidence,
            )
        )
    records.append(
        Record(
            "suites/runtime/test_runtime_spec_versions.py::test_runs_config_declared_as_1_0_2[runc@trixie]",
            "runtime",
            "passed",
            {"runtime": "runc@trixie", "versions": {"runc@trixie": "1.1.15"}},
            evidence={"oci_version": {"outcome": "runs"}},
        )
    )
    link_engine_configs("<main></main>", Results(Run(), records), tmp_path)
    html = (tmp_path / PAGE).read_text()
    cross = html[html.index('id="oci-versions"') :]
    assert "crun 1.8.1" in cross and "runc@trixie 1.1.15" in cross
    podman_row = cross[cross.index('<th scope="row">podman') :].split("</tr>")[0]
    assert "1.0.2-dev" in podman_row and "runs" in podman_row and "no record" not in podman_row
    trixie_row = cross[cross.index('<th scope="row">docker@trixie') :].split("</tr>")[0]
    assert "refused" in trixie_row and refused in trixie_row
    assert "no record of this release" in trixie_row  # runc@trixie's records cover 1.0.2 only


def test_a_cri_runtimes_restricted_pod_is_a_column_of_its_own(tmp_path):
    """The kubelet's defaults for a pod asking nothing, and for a restricted pod: two columns of one runtime."""
    asked_nothing = config(["A=1"], masked=["/proc/kcore"])
    restricted = {**config(["A=1"], masked=["/proc/kcore"], seccomp=True)}
    restricted["process"]["noNewPrivileges"] = True
    records = [
        Record(
            f"suites/runtime/test_engine_configs.py::{test}[containerd-cri]",
            "runtime",
            "passed",
            {"engine": "containerd-cri"},
            evidence={
                "runtime_config": document,
                "engine_config": {"engine": column, "container_id": "c", "aspects": aspects(document)},
            },
        )
        for test, column, document in (
            ("test_engine_config_is_valid", "containerd-cri", asked_nothing),
            ("test_cri_engine_config_of_a_restricted_pod", "containerd-cri (restricted pod)", restricted),
        )
    ]
    columns = {c.engine: c for c in engine_columns(Results(Run(), records))}
    assert set(columns) == {"containerd-cri", "containerd-cri (restricted pod)"}
    assert columns["containerd-cri"].aspects["seccomp"] == "absent"
    assert columns["containerd-cri (restricted pod)"].aspects["noNewPrivileges"] is True
    found = {d.aspect.key for d in differences({name: c.aspects for name, c in columns.items()})}
    assert found == {"noNewPrivileges", "seccomp"}
