"""Does what X builds run on Y: the builder x runner table's shape, and the tool identities of each cell.

The page counts outcomes itself (so its filters apply); this module hands it who is who:
``index["tools"]`` lists every tool identity (role, the cell's spelling, tool, generation, version,
label), each ``index["cells"][i]["t"]`` the identities of that cell, and ``index["interop"]`` the
rows (builders) and columns (runners) of the table, ordered by generation, tool and version.

Registries are a dimension of their own: ``index["interop"]["registries"]`` names the suites whose
checks talk to a registry and, as columns, each registry their records name (the ``registry`` axis
value and the version the cell recorded), so the page shows which registry behaves how, per check.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ocimatrix.report.cell_tools import ToolId
from ocimatrix.report.model import SiteData
from ocimatrix.results import Record

# The suites that build with one tool and run with another (attestations: BuildKit's index, every engine).
INTEROP_SUITES = ("lifecycle", "platforms", "attestations")
REGISTRY_SUITES = ("distribution",)  # the suites whose checks are a registry's answers, cell by registry


def registry_columns(records: Iterable[Record]) -> list[dict[str, str]]:
    """Each registry the registry suites' records name, in page order, with the version its cells recorded."""
    columns: dict[str, str] = {}
    for record in records:
        value = record.cell.get("registry") if record.suite in REGISTRY_SUITES else None
        if not value:
            continue
        version = str(record.versions.get(f"registry:{value}", ""))
        if not columns.get(value):
            columns[value] = version
    return [{"value": value, "version": version} for value, version in columns.items()]


def add_tool_identities(data: SiteData, tools_by_record: list[dict[str, ToolId]]) -> None:
    index = data.index
    cells: list[dict[str, Any]] = index["cells"]
    cell_of_record: list[int] = index["r"]["cell"]
    identities: dict[ToolId, int] = {}
    of_cell: dict[int, dict[str, ToolId]] = {}
    builders: set[ToolId] = set()
    runners: set[ToolId] = set()
    for position, record in enumerate(data.records):
        cell = cell_of_record[position]
        tools = of_cell.get(cell)
        if tools is None:
            # A cell's records share its axes and versions; the first one speaks for all (the page counts by cell).
            tools = of_cell[cell] = tools_by_record[position]
            cells[cell]["t"] = [identities.setdefault(t, len(identities)) for t in tools.values()]
        if record.suite in INTEROP_SUITES and "builder" in tools and "engine" in tools:
            builders.add(tools["builder"])
            runners.add(tools["engine"])
    index["tools"] = [
        {"role": t.role, "value": t.value, "tool": t.tool, "gen": t.generation, "version": t.version, "label": t.label}
        for t in identities
    ]
    index["interop"] = {
        "suites": list(INTEROP_SUITES),
        "rows": [identities[t] for t in sorted(builders, key=ToolId.sort_key)],
        "cols": [identities[t] for t in sorted(runners, key=ToolId.sort_key)],
        "registries": {"suites": list(REGISTRY_SUITES), "cols": registry_columns(data.records)},
    }
