"""Registries as a dimension of the site's interop view: which registry behaves how, per check.

A small run of the distribution suite on two implementations (distribution 2.8.2 and crane's
registry) is written as a site; its index names each registry with the version its cells recorded,
and, in a browser, the table has a row per check and a column per registry whose cells list that
check's cases on that registry.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_report_site import load_js_data

from ocimatrix.report.browser import PageWatch, chromium_page, missing_browser_reason
from ocimatrix.report.interop import registry_columns
from ocimatrix.report.site import write_site
from ocimatrix.results import Record, Results, Run, write_results

VERSIONS = {"embedded": "2.8.2", "embedded-crane": "0.20.7+ds1-5"}
OUTCOMES = {
    ("test_pull_blob", "embedded"): "passed",
    ("test_pull_blob", "embedded-crane"): "passed",
    ("test_cancel_upload", "embedded"): "passed",
    ("test_cancel_upload", "embedded-crane"): "xfailed",
    ("test_delete_tag", "embedded"): "xfailed",
    ("test_delete_tag", "embedded-crane"): "passed",
}


def _records() -> list[Record]:
    records = [
        Record(
            test=f"suites/distribution/test_x.py::{test}[{registry}]",
            suite="distribution",
            outcome=outcome,
            cell={"registry": registry, "versions": {f"registry:{registry}": VERSIONS[registry]}},
        )
        for (test, registry), outcome in OUTCOMES.items()
    ]
    # A lifecycle cell names the run's registry too, but it is no registry check.
    records.append(
        Record(test="suites/lifecycle/test_l.py::test_y[docker]", suite="lifecycle", outcome="passed", cell={})
    )
    return records


@pytest.fixture
def site(tmp_path) -> Path:
    path = tmp_path / "results.json"
    write_results(Results(run=Run(), results=_records()), path)
    write_site([path], tmp_path / "site")
    return tmp_path / "site"


def test_the_registry_columns_are_the_registries_of_the_registry_suites():
    assert registry_columns(_records()) == [
        {"value": "embedded", "version": "2.8.2"},
        {"value": "embedded-crane", "version": "0.20.7+ds1-5"},
    ]


def test_the_index_names_each_registry_with_its_version(site):
    data = load_js_data(site / "data" / "index.js")
    registries = data["interop"]["registries"]
    assert registries["suites"] == ["distribution"]
    assert {c["value"]: c["version"] for c in registries["cols"]} == VERSIONS


@pytest.mark.skipif(bool(missing_browser_reason()), reason=missing_browser_reason() or "")
def test_a_check_by_registry_table_whose_cells_list_their_cases(site):
    with chromium_page() as page:
        watch = PageWatch(page)
        page.goto((site / "index.html").as_uri() + "#view=interop")
        page.wait_for_function("document.documentElement.dataset.ready === '1'", timeout=15000)
        table = page.locator("#interop-registries table.grid")
        heads = [h.split("\n")[0].strip() for h in table.locator("thead th").all_inner_texts()]
        assert heads[1:] == ["embedded", "embedded-crane"]
        rows = [r.split("\n")[0].strip() for r in table.locator("tbody th").all_inner_texts()]
        assert sorted(rows) == ["test_cancel_upload", "test_delete_tag", "test_pull_blob"]
        cell = table.locator("button[aria-label^='test_cancel_upload on embedded-crane']")
        assert "1 xfailed" in cell.get_attribute("aria-label")
        cell.click()
        page.wait_for_function("!document.getElementById('view-results').hidden")
        assert page.locator("#result-count").inner_text().startswith("Showing 1 of 7")
        assert watch.problems == [] and watch.remote == []
