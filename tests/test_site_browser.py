"""The site in a real browser: Debian's chromium, driven by Playwright, opening index.html from file://.

Filter to one engine, open the failing cell, read its repro commands, copy them, and check the page
logged no error and asked the network for nothing. Screenshots go to reports/ for a human to look at.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocimatrix.report.browser import PageWatch, chromium_page, missing_browser_reason
from ocimatrix.report.site import write_site

DATA = Path(__file__).parent / "data" / "report"
RUN, BASELINE = DATA / "run.json", DATA / "baseline.json"
SHOTS = Path(__file__).resolve().parents[1] / "reports"
FAILING = "suites/lifecycle/test_run.py::test_exit_code_propagated[podman-crun-linux_arm64]"

pytestmark = pytest.mark.skipif(missing_browser_reason() is not None, reason=str(missing_browser_reason()))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return write_site([RUN], tmp_path_factory.mktemp("site"), baseline=BASELINE)


def open_site(page, index: Path, fragment: str = "") -> PageWatch:
    watch = PageWatch(page)
    page.goto(index.as_uri() + fragment)
    page.wait_for_function("document.documentElement.dataset.ready === '1'", timeout=15000)
    return watch


def expected_repro() -> list[str]:
    return next(r for r in json.loads(RUN.read_text())["results"] if r["test"] == FAILING)["repro"]


def test_filter_open_failing_cell_and_copy_its_repro(site):
    SHOTS.mkdir(exist_ok=True)
    with chromium_page(permissions=["clipboard-read", "clipboard-write"]) as page:
        watch = open_site(page, site, "#view=results")
        assert page.locator("#result-count").inner_text() == "All 45 results"
        assert page.locator("table.grid tbody tr").count() >= 4
        # Regressions come first: the changes section precedes the grid and names the case.
        changes = page.locator("#changes")
        assert changes.is_visible() and "regression" in changes.inner_text()
        assert page.evaluate(
            "document.getElementById('changes').compareDocumentPosition(document.getElementById('overview')) & 4"
        )

        page.select_option("#f-engine", "podman")
        assert page.locator("#result-count").inner_text() == "Showing 14 of 45 results"
        rows = page.locator("#groups .row")
        assert rows.count() == 14
        for text in rows.all_inner_texts():
            assert "podman" in text
        assert "engine=podman" in page.url
        page.screenshot(path=str(SHOTS / "site-browser.png"), full_page=True)

        failing = page.locator("#groups .row.r-failed")
        assert failing.count() == 1
        failing.locator("a").click()
        dialog = page.locator("dialog#detail")
        dialog.wait_for(state="visible")
        page.locator(".repro-commands").wait_for()
        assert page.locator(".repro-commands").inner_text().splitlines() == expected_repro()
        body = page.locator("#detail-body").inner_text()
        assert "container exit status 3 expected, engine reported 0" in body
        assert "regression" in body and "passed" in body  # the baseline outcome
        assert "4.3.1" in body and "1.8.1" in body  # versions of the cell
        assert FAILING in body
        page.locator("button.copy").click()
        page.wait_for_function("document.querySelector('button.copy').textContent === 'Copied'")
        assert page.evaluate("navigator.clipboard.readText()") == "\n".join(expected_repro())
        page.screenshot(path=str(SHOTS / "site-detail.png"))

        page.keyboard.press("Escape")
        dialog.wait_for(state="hidden")
        # Closing goes back in history (the dialog opened with a pushState), which lands asynchronously.
        page.wait_for_function("!location.hash.includes('r=')", timeout=5000)
        assert "r=" not in page.url and "engine=podman" in page.url
        assert watch.problems == [] and watch.remote == []


def test_keyboard_search_and_outcome_filter(site):
    with chromium_page() as page:
        watch = open_site(page, site, "#view=results")
        page.locator("#search").focus()
        page.keyboard.type("env_passed")
        page.wait_for_function("document.getElementById('result-count').textContent.startsWith('Showing 12 ')")
        page.locator("button.toggle[data-outcome='skipped']").click()
        page.wait_for_function("document.getElementById('result-count').textContent.startsWith('Showing 4 ')")
        assert page.locator("button.toggle[data-outcome='skipped']").get_attribute("aria-pressed") == "true"
        # A row is a link: focus it and press Enter to open its detail, Escape to close.
        link = page.locator("#groups .row a").first
        link.focus()
        page.keyboard.press("Enter")
        page.locator("dialog#detail").wait_for(state="visible")
        assert "riscv64" in page.locator("#detail-body").inner_text()
        page.keyboard.press("Escape")
        page.locator("dialog#detail").wait_for(state="hidden")
        page.locator("#clear-filters").click()
        assert page.locator("#result-count").inner_text() == "All 45 results"
        assert watch.problems == [] and watch.remote == []


def test_grid_cell_filters_and_deep_link_opens_a_record(site):
    with chromium_page() as page:
        watch = open_site(page, site, "#view=results")
        cell = page.locator("table.grid button.gcell.st-error")  # containerd-cri with crun: only a harness error
        assert cell.count() == 1
        label = cell.get_attribute("aria-label")
        assert "containerd-cri" in label and "1 error" in label
        cell.click()
        assert page.locator("#f-engine").input_value() == "containerd-cri"
        assert page.locator("#f-runtime").input_value() == "crun"
        assert page.locator("#result-count").inner_text() == "Showing 1 of 45 results"
        shared = page.url
    with chromium_page() as page:
        watch2 = open_site(
            page, Path(shared.split("#")[0].removeprefix("file://")), "#" + shared.split("#")[1] + "&r=0"
        )
        assert page.locator("#f-engine").input_value() == "containerd-cri"
        page.locator("dialog#detail").wait_for(state="visible")
        page.locator("#detail-body pre").first.wait_for()
        assert watch.problems == [] and watch2.problems == [] and watch.remote == [] and watch2.remote == []


def test_every_control_has_an_accessible_name(site):
    with chromium_page() as page:
        open_site(page, site)
        unnamed = page.evaluate(
            """() => [...document.querySelectorAll('select, input, button')].filter(el => {
                 const byLabel = el.id && document.querySelector(`label[for="${el.id}"]`);
                 return !byLabel && !el.getAttribute('aria-label') && !el.textContent.trim();
               }).map(el => el.outerHTML.slice(0, 80))"""
        )
        assert unnamed == []
        assert page.locator("ul.legend li").count() >= 5


GENERATIONS = DATA / "generations.json"


@pytest.fixture(scope="module")
def generations_site(tmp_path_factory) -> Path:
    return write_site([GENERATIONS], tmp_path_factory.mktemp("generations"))


def test_front_page_says_what_breaks_and_links_to_the_cells(generations_site):
    SHOTS.mkdir(exist_ok=True)
    with chromium_page() as page:
        watch = open_site(page, generations_site)
        assert page.locator("#tab-findings").get_attribute("aria-selected") == "true"
        assert page.locator("#view-results").is_hidden()
        findings = page.locator("#findings li.finding")
        assert findings.count() == 4
        zstd = page.locator("li.finding", has_text="test_pulled_digest_is_pushed_digest")
        text = zstd.inner_text()
        assert "Docker 20.10 cannot unpack zstd" in text and "docker 20.10.24 (bookworm)" in text
        assert "passes with" in text and "docker 26.1.5 (trixie)" in text and "2 cells" in text
        # The harness error is listed apart, after its own heading: it is no incompatibility.
        assert page.locator("#findings li.finding.f-error").count() == 1
        assert page.evaluate(
            "document.getElementById('harness-errors-h').compareDocumentPosition("
            "document.querySelector('li.finding.f-error')) & 4"
        )
        page.screenshot(path=str(SHOTS / "site-findings.png"), full_page=True)

        zstd.locator("a.finding-cells").click()
        assert "view=results" in page.url and "finding=" in page.url
        assert page.locator("#result-count").inner_text() == "Showing 2 of 19 results"
        assert page.locator("#groups .row.r-xfailed").count() == 2
        assert "Docker 20.10 cannot unpack zstd" in page.locator("#finding-filter").inner_text()
        shared = page.url
        page.go_back()
        page.wait_for_function("!document.getElementById('view-findings').hidden")
        assert "finding=" not in page.url and page.locator("#result-count").inner_text() == "All 19 results"
        page.go_forward()
        page.wait_for_function("!document.getElementById('view-results').hidden")
        assert page.locator("#result-count").inner_text() == "Showing 2 of 19 results"
    with chromium_page() as page:  # the link alone reproduces the view
        watch2 = open_site(page, generations_site, "#" + shared.split("#", 1)[1])
        assert page.locator("#view-results").is_visible()
        assert page.locator("#result-count").inner_text() == "Showing 2 of 19 results"
    assert watch.problems == [] and watch.remote == [] and watch2.problems == [] and watch2.remote == []


def test_builder_by_runner_across_generations_and_versions_fixed_in(generations_site):
    with chromium_page() as page:
        watch = open_site(page, generations_site)
        page.locator("#tab-findings").focus()
        page.keyboard.press("ArrowRight")  # the tab pattern: arrows move between views
        assert page.locator("#tab-interop").get_attribute("aria-selected") == "true"
        assert "view=interop" in page.url
        table = page.locator("#interop table.grid")
        assert table.locator("tbody tr").count() == 3
        assert [h.strip() for h in table.locator("th.gen-head").all_inner_texts()] == ["bookworm", "trixie"]
        cross = table.locator("button.gcell[aria-label^='built by podman 5.4.2 (trixie), run by docker 20.10.24']")
        label = cross.get_attribute("aria-label")
        assert "1 passed" in label and "1 xfailed" in label
        page.screenshot(path=str(SHOTS / "site-interop.png"), full_page=True)
        cross.click()
        assert page.locator("#f-builder").input_value() == "podman@trixie"
        assert page.locator("#f-engine").input_value() == "docker"
        assert page.locator("#result-count").inner_text().startswith("Showing 2 of 19")

        page.locator("#tab-versions").click()
        first = page.locator("#versions-list details.vtest").first
        assert "test_pulled_digest_is_pushed_digest" in first.inner_text()
        assert "fixed in docker 26.1.5 (trixie)" in first.inner_text()
        assert "xfailed with docker 20.10.24 (bookworm), passed with docker 26.1.5 (trixie)" in first.inner_text()
        page.screenshot(path=str(SHOTS / "site-versions.png"), full_page=True)
        assert watch.problems == [] and watch.remote == []
