"""Allure labels for suite tests: the suite, the spec section as feature, the cell axes as parameters.

The main plugin calls ``register(config)`` from its ``pytest_configure``; it does nothing unless
allure-pytest is installed and writing (``--alluredir``). Then, per test:
- labels (at collection, so a cell skipped during setup carries them too): parentSuite
  ``ocimatrix``, suite = the suite folder, subSuite and feature = the spec section, epic = the spec
  document (the part before ``§``), and a link to the spec text;
- parameters (when the test starts): one per cell axis, replacing the raw ``cell`` dict that
  allure-pytest would print; at teardown the tool versions the cell recorded, marked ``excluded``
  so a version bump does not start a new history line for the same case.
Labels a test sets itself with ``@allure.*`` win over these defaults.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ocimatrix import evidence

PLUGIN_NAME = "ocimatrix-allure-labels"
LABEL_MARK = "allure_label"  # the marker names allure-pytest reads (allure_pytest.utils)
LINK_MARK = "allure_link"

CellOf = Callable[[pytest.Item], "dict[str, Any] | None"]


def default_cell_of(item: pytest.Item) -> dict[str, Any] | None:
    """The ``cell`` parameter the ocimatrix plugin gives suite tests, when it is a dict."""
    callspec = getattr(item, "callspec", None)
    cell = callspec.params.get("cell") if callspec else None
    return cell if isinstance(cell, dict) else None


def suite_of(item: pytest.Item) -> str:
    """``suites/<suite>/...`` -> ``<suite>``; the test's folder name elsewhere."""
    parts = Path(str(item.path)).parts
    if "suites" in parts:
        at = len(parts) - 1 - parts[::-1].index("suites")
        if at + 1 < len(parts) - 1:
            return parts[at + 1]
    return Path(str(item.path)).parent.name


def spec_of(item: pytest.Item) -> tuple[str, str] | None:
    marker = item.get_closest_marker("spec")
    if marker is None or not marker.args:
        return None
    section = str(marker.args[0])
    url = str(marker.args[1]) if len(marker.args) > 1 else str(marker.kwargs.get("url", ""))
    return section, url


def cell_label(cell: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in cell.items())


class AllureLabels:
    def __init__(self, cell_of: CellOf = default_cell_of) -> None:
        self.cell_of = cell_of

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            self.label(item)

    def label(self, item: pytest.Item) -> None:
        marks = [
            pytest.mark.allure_label("ocimatrix", label_type="parentSuite"),
            pytest.mark.allure_label(suite_of(item), label_type="suite"),
        ]
        spec = spec_of(item)
        if spec:
            section, url = spec
            marks.append(pytest.mark.allure_label(section, label_type="subSuite"))
            marks.append(pytest.mark.allure_label(section, label_type="feature"))
            document = section.split("§")[0].strip() or section
            marks.append(pytest.mark.allure_label(document, label_type="epic"))
            if url:
                marks.append(pytest.mark.allure_link(url, link_type="link", name=section))
        cell = self.cell_of(item)
        for axis, value in (cell or {}).items():
            marks.append(pytest.mark.allure_label(f"{axis}:{value}", label_type="tag"))
        for mark in marks:
            item.add_marker(mark)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        # Runs inside allure-pytest's protocol wrapper, so the test's result object exists; a
        # parameter named "cell" set here stops allure-pytest adding the dict's repr after setup.
        cell = self.cell_of(item)
        if not cell:
            return
        import allure

        allure.dynamic.parameter("cell", cell_label(cell))
        for axis, value in cell.items():
            allure.dynamic.parameter(axis, str(value))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        # The versions are known once the cell's fixtures bound its tools (evidence, not the cell).
        if not self.cell_of(item):
            return
        import allure

        for tool, version in evidence.current().versions.items():
            allure.dynamic.parameter(f"{tool} version", str(version), excluded=True)


def allure_active(config: pytest.Config) -> bool:
    """allure-pytest is installed and asked to write results (``--alluredir``).

    Only the option is checked: allure-pytest registers its listener in its own pytest_configure,
    which may run after the caller's.
    """
    if not getattr(config.option, "allure_report_dir", None):
        return False
    return importlib.util.find_spec("allure") is not None


def register(config: pytest.Config, cell_of: CellOf = default_cell_of) -> bool:
    """Register the label plugin when allure-pytest is writing results; returns whether it did."""
    if config.pluginmanager.has_plugin(PLUGIN_NAME):
        return True
    if not allure_active(config):
        return False
    config.pluginmanager.register(AllureLabels(cell_of), PLUGIN_NAME)
    return True
