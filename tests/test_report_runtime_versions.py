"""The "Which versions" view on the runtime suite, from recorded records of a default run (six runtime
versions: runc, crun and runsc of bookworm and trixie; tests/data/report/runtime_versions.json): per
runtime test, each runtime version with its outcomes, and what was fixed or broken in which version."""

from __future__ import annotations

from pathlib import Path

from test_report_site import load_js_data

from ocimatrix.report.cell_tools import resolve_tools
from ocimatrix.report.model import build_site_data
from ocimatrix.report.site import write_site
from ocimatrix.report.versions_view import versions_by_test
from ocimatrix.results import OUTCOMES
from ocimatrix.results.schema import load_checked_results

RECORDED = Path(__file__).parent / "data" / "report" / "runtime_versions.json"
SIX = {
    "runc 1.1.5 (bookworm)",
    "runc 1.1.15 (trixie)",
    "crun 1.8.1 (bookworm)",
    "crun 1.21 (trixie)",
    "runsc 20221219.0 (bookworm)",
    "runsc 20240729.0 (trixie)",
}


def by_test() -> dict[str, dict]:
    data = build_site_data(load_checked_results(RECORDED))
    entries = versions_by_test(data.records, resolve_tools(data.records), data.index["axes"])
    return {entry["test"].split("::")[1]: entry for entry in entries}


def rows(entry: dict) -> dict[str, dict[str, int]]:
    """label -> {outcome: count} of the runtime rows (the tested tool, never context)."""
    found = {}
    for tool in entry["tools"]:
        assert tool["role"] == "runtime" and not tool["context"], tool
        for row in tool["rows"]:
            found[row["label"]] = {o: n for o, n in zip(OUTCOMES, row["counts"], strict=True) if n}
    return found


def test_every_runtime_test_shows_the_six_runtime_versions():
    entries = by_test()
    assert len(entries) == 6
    for name, entry in entries.items():
        assert set(rows(entry)) == SIX, name
        assert entry["suite"] == "runtime" and entry["section"].startswith("runtime-spec"), name


def test_a_fix_is_named_with_the_version_that_brought_it():
    entries = by_test()
    expected = {
        # runc's tmpfs mode (runc issue 3911) was fixed in 1.1.8: bookworm's 1.1.5 has it, trixie's 1.1.15 not.
        "test_tmpfs_mount_with_options": ("runc", "runc 1.1.5 (bookworm)", "runc 1.1.15 (trixie)"),
        # crun 1.8.1 refuses a config declared as 1.2.0; crun 1.21 runs it.
        "test_runs_config_declared_as_1_2_0": ("crun", "crun 1.8.1 (bookworm)", "crun 1.21 (trixie)"),
        # runsc 20221219 ignored linux.devices; 20240729 creates them.
        "test_listed_device_is_created": ("runsc", "runsc 20221219.0 (bookworm)", "runsc 20240729.0 (trixie)"),
    }
    for name, (tool, older, newer) in expected.items():
        [change] = entries[name]["changes"]
        assert (change["kind"], change["tool"], change["from"], change["to"]) == ("fixed", tool, older, newer), name
        assert (change["was"], change["now"]) == ("xfailed", "passed")
    assert rows(entries["test_tmpfs_mount_with_options"])["runsc 20240729.0 (trixie)"] == {"xfailed": 1}


def test_a_version_that_broke_a_test_and_one_skipped_by_its_declaration():
    entries = by_test()
    # This record is the flake that sent runsc@trixie to the nightly: it reads as broken in 20240729.
    [change] = entries["test_kill_of_stopped_container_is_refused"]["changes"]
    assert (change["kind"], change["from"], change["to"]) == (
        "broken",
        "runsc 20221219.0 (bookworm)",
        "runsc 20240729.0 (trixie)",
    )
    # umask: 20221219 declares 1.0.2-dev and is skipped (says nothing of a version), 20240729 has the finding.
    umask = entries["test_umask"]
    assert umask["changes"] == [] and umask["differs"]
    assert rows(umask)["runsc 20221219.0 (bookworm)"] == {"skipped": 1}
    assert rows(umask)["runsc 20240729.0 (trixie)"] == {"xfailed": 1}
    # A test every version passes comes last and says nothing changed.
    assert list(entries)[-1] == "test_create_leaves_container_created"
    assert not entries["test_create_leaves_container_created"]["differs"]


def test_the_site_carries_the_runtime_versions_to_its_page(tmp_path):
    write_site([RECORDED], tmp_path)
    data = load_js_data(tmp_path / "data" / "index.js")
    tests = {entry["test"].split("::")[1] for entry in data["versions"]}
    assert "test_runs_config_declared_as_1_2_0" in tests
    shown = {row["label"] for entry in data["versions"] for tool in entry["tools"] for row in tool["rows"]}
    assert shown == SIX
