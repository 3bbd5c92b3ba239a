"""The site blames the tool whose answer a finding is, among the tools a cell used beyond its axes.

The signatures suite's cells have one axis, the registry; the writer and reader they drive are recorded
in ``evidence["tools"]``, and ``evidence["under_test"]`` says whose answers the cell judged when it
failed. Read on records of a real run here (``tests/data/blame_signatures_records.json``, trimmed by
hand to what the blame reads): cosign 3.1.1's index entry is the writer's finding, cosign 2.5.0 not
finding cosign 3.1.1's signature is the reader's, and the registries that served both are context.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_report_blame import site_of

from ocimatrix.report.blame import Blame, blamed_tools
from ocimatrix.report.cell_tools import resolve_tools, tools_of
from ocimatrix.report.findings import find_findings
from ocimatrix.report.site import write_site
from ocimatrix.report.versions_view import versions_by_test
from ocimatrix.results import Record

RECORDED = Path(__file__).parent / "data" / "blame_signatures_records.json"
WRITTEN = "suites/signatures/test_signatures.py::test_written_entries_agree_with_their_manifests"
READ = "suites/signatures/test_signatures.py::test_reader_finds_what_the_writer_wrote"
REGISTRIES = ["registry:embedded 2.8.2", "registry:embedded-crane 0.20.7", "registry:embedded-trixie 2.8.3"]


def recorded() -> list[Record]:
    return [Record(**entry) for entry in json.loads(RECORDED.read_text())]


@pytest.fixture
def findings(tmp_path):
    _, data, tools, axes = site_of(tmp_path, recorded())
    return {(f.test, f.outcome): f for f in find_findings(data.records, tools, axes)}


def test_the_recorded_cells_name_their_writer_and_reader_as_tools():
    record = next(r for r in recorded() if r.test.startswith(READ) and r.outcome == "xfailed")
    tools = tools_of(record)
    assert {key: (t.role, t.label, t.used) for key, t in tools.items() if t.used} == {
        "writer": ("writer", "cosign 3.1.1 (sid)", True),
        "reader": ("reader", "cosign 2.5.0 (trixie)", True),
    }
    assert tools["registry"].used is False
    assert [t.label for t in blamed_tools(record, tools)] == ["cosign 2.5.0 (trixie)"]


def test_cosign_3s_index_entry_is_the_writers_finding_not_the_registrys(findings):
    finding = findings[(WRITTEN, "xfailed")]
    assert finding.tools == {"writer": ["cosign 3.1.1 (sid)"]}
    assert finding.context == {"registry": _registry_labels(finding)}
    # The way out: the writers that pass the same check.
    assert "cosign 2.5.0 (trixie)" in finding.passes_with["writer"]


def test_cosign_2_not_finding_cosign_3s_signature_is_the_readers_finding(findings):
    finding = findings[(READ, "xfailed")]
    assert finding.tools == {"reader": ["cosign 2.5.0 (trixie)"]}
    assert finding.context["writer"] == ["cosign 3.1.1 (sid)"]
    assert "registry" not in finding.tools and finding.context["registry"] == _registry_labels(finding)
    assert "cosign 3.1.1 (sid)" in finding.passes_with["reader"]


def _registry_labels(finding) -> list[str]:
    labels = finding.context.get("registry", [])
    assert len(labels) == 3 and all(label.startswith("registry:embedded") for label in labels), labels
    return labels


def test_the_versions_view_rates_writers_and_readers(tmp_path):
    _, data, tools, axes = site_of(tmp_path, recorded())
    entry = next(e for e in versions_by_test(data.records, tools, axes) if e["test"] == READ)
    roles = [(group["role"], group["tool"], group["context"]) for group in entry["tools"]]
    assert ("reader", "cosign", False) in roles and ("writer", "cosign", False) in roles
    # Axes' roles before the used tools' among the tested ones.
    assert [r for r, _, context in roles if not context][0] == "registry"


def test_the_site_carries_the_writer_and_reader(tmp_path):
    path, *_ = site_of(tmp_path, recorded())
    write_site([path], tmp_path / "site")
    from test_report_site import load_js_data

    index = load_js_data(tmp_path / "site" / "data" / "index.js")
    by_test = {(f["test"], f["out"]): f for f in index["findings"]}
    assert by_test[(READ, "xfailed")]["tools"] == {"reader": ["cosign 2.5.0 (trixie)"]}
    labels = {t["label"] for t in index["tools"]}
    assert {"cosign 3.1.1 (sid)", "cosign 2.5.0 (trixie)"} <= labels


def _cell(outcome: str, under_test: list[str] | None, **tools: tuple[str, str, str]) -> Record:
    evidence: dict = {"tools": {key: {"tool": t, "generation": g, "version": v} for key, (t, g, v) in tools.items()}}
    if under_test is not None:
        evidence["under_test"] = under_test
    return Record(
        test="suites/signatures/test_signatures.py::test_referrers_index_keeps_every_entry[embedded]",
        suite="signatures",
        outcome=outcome,
        cell={"registry": "embedded"},
        reason="after oras@sid wrote, the referrers index no longer holds the earlier entries as written",
        evidence=evidence,
    )


WRITERS = {
    "writer cosign@trixie": ("cosign", "trixie", "2.5.0"),
    "writer oras@trixie": ("oras", "trixie", "1.2.0"),
    "writer oras@sid": ("oras", "sid", "1.3.3"),
}


def test_one_of_several_writers_is_blamed_by_its_key():
    records = [_cell("failed", ["writer oras@sid"], **WRITERS)]
    [finding] = find_findings(records, resolve_tools(records), ["registry"])
    assert finding.tools == {"writer": ["oras 1.3.3 (sid)"]}
    assert finding.context["writer"] == ["cosign 2.5.0 (trixie)", "oras 1.2.0 (trixie)"]


def test_without_under_test_the_suites_roles_are_blamed():
    """An older record, written before the suite said whose answers it judged: every role the suite tests."""
    records = [_cell("failed", None, **WRITERS)]
    [finding] = find_findings(records, resolve_tools(records), ["registry"])
    assert set(finding.tools) == {"writer", "registry"} and len(finding.tools["writer"]) == 3


def test_under_test_naming_no_tool_of_the_cell_falls_back_to_the_suites_roles():
    records = [_cell("failed", ["signer"], **WRITERS)]
    [finding] = find_findings(records, resolve_tools(records), ["registry"])
    assert len(finding.tools["writer"]) == 3


def test_a_passing_cells_last_judging_does_not_narrow_the_test():
    """Passing cells leave ``under_test`` at their last step; the test still tests every role of its suite."""
    records = [_cell("passed", ["writer oras@sid"], **WRITERS)]
    blame = Blame(records, resolve_tools(records), ["registry"])
    test = records[0].test.split("[")[0]
    assert blame.is_blamed(test, "writer", "cosign") and blame.is_blamed(test, "registry", "registry:embedded")


def test_an_axis_role_recorded_beside_the_axes_stays_out():
    """The runtime suite's probe builder is recorded as ``builder`` in a cell without that axis: a means."""
    record = Record(
        test="suites/runtime/test_engine_configs.py::test_x[docker]",
        suite="runtime",
        outcome="failed",
        cell={"engine": "docker"},
        evidence={"tools": {"builder": {"tool": "docker", "version": "20.10.24"}, "engine": {"tool": "docker"}}},
    )
    assert set(tools_of(record)) == {"engine"}
