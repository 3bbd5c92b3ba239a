"""The claims report and badge in a real browser: Debian's chromium, driven by Playwright, opening
DIR/index.html and DIR/badge.svg from file://.

DIR is written by verify's own writers from a recorded run (tests/data/claims: the claims file and
the results.json of one ``ocimatrix verify`` on a Debian 12 host with the trixie root): the page must
show each claim's verdict, every cell link must open that cell's evidence page, the badge must say
how many claims verified in the right colour, and nothing may be fetched from the network.
Screenshots go to reports/ for a human to look at.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ocimatrix.claims.badge import AMBER, GREEN, RED, badge_svg
from ocimatrix.claims.here import Here
from ocimatrix.claims.load import load_claims
from ocimatrix.claims.plan import all_claims
from ocimatrix.commands.verify import judge_and_write
from ocimatrix.report.browser import PageWatch, chromium_page, missing_browser_reason

DATA = Path(__file__).parent / "data" / "claims"
SHOTS = Path(__file__).resolve().parents[1] / "reports"
# What the recording host had when the claims were expanded (verify reads it before anything runs).
RECORDED_HERE = Here(
    versions={
        "docker": "20.10.24+dfsg1",
        "podman": "4.3.1",
        "docker@trixie": "26.1.5+dfsg1-9+deb13u1+b1",
        "podman@trixie": "5.4.2+ds1-2+b2",
    },
    missing_roots={"sid": "its root is not prepared here (ocimatrix provision --generation sid)"},
    host="debian-12",
)
EXPECTED = {
    "image.platform.linux-amd64": "verified",
    "image.layers.linux-amd64": "verified",
    "image.runs.linux-amd64.docker.runc": "verified",  # docker >=24: trixie's docker 26.1
    "image.runs.linux-amd64.docker.runc.2": "contradicted",  # docker 20.10 can't unpack zstd
    "image.runs.linux-amd64.podman.runc": "unverifiable",  # podman >=99
    "registry.feature.cross-mount": "verified",
    "registry.requirement.tags-lexical-order": "contradicted",
}
LABELS = {"verified": "verified", "contradicted": "contradicted", "unverifiable": "unverifiable here"}

pytestmark = pytest.mark.skipif(missing_browser_reason() is not None, reason=str(missing_browser_reason()))


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("claims-report")
    (out / "cells").mkdir()
    shutil.copy(DATA / "results.json", out / "cells" / "results.json")
    claims_file = load_claims(DATA / "mixed.yaml")
    code = judge_and_write(claims_file, all_claims(claims_file, RECORDED_HERE), out, out / "cells" / "results.json")
    assert code == 1  # something is contradicted
    return out


def test_report_shows_each_verdict_and_its_cells_evidence(report_dir):
    SHOTS.mkdir(exist_ok=True)
    with chromium_page() as page:
        watch = PageWatch(page)
        page.goto((report_dir / "index.html").as_uri())
        assert "mixed claims" in page.locator("h1").inner_text()
        for claim_id, verdict in EXPECTED.items():
            row = page.locator(f'tr[id="{claim_id}"]')
            assert row.locator(".v").inner_text() == LABELS[verdict], claim_id
            assert verdict in row.locator(".v").get_attribute("class").split(), claim_id
        # The version claim says where it ran: trixie's docker, with trixie's runc.
        verified = page.locator('tr[id="image.runs.linux-amd64.docker.runc"]')
        assert "docker@trixie 26.1.5" in verified.inner_text() and "runc@trixie" in verified.inner_text()
        unverifiable = page.locator('tr[id="image.runs.linux-amd64.podman.runc"]').inner_text()
        assert "found podman 4.3.1, podman@trixie 5.4.2" in unverifiable
        # The badge shown on the page is the file beside it, and it loaded.
        assert page.locator('img[alt="ocimatrix badge"]').evaluate("i => i.complete && i.naturalWidth > 0")
        page.screenshot(path=str(SHOTS / "claims-report.png"), full_page=True)

        # Every cell link points at an evidence page that exists; the contradicted run's opens and says why.
        hrefs = page.locator('a[href^="evidence/"]').evaluate_all("links => links.map(a => a.href)")
        assert len(hrefs) == 6
        for href in hrefs:
            assert Path(href.removeprefix("file://")).is_file(), href
        contradicted = page.locator('tr[id="image.runs.linux-amd64.docker.runc.2"] a[href^="evidence/"]')
        contradicted.click()
        page.wait_for_load_state()
        assert page.url.startswith("file://") and "/evidence/" in page.url
        assert "test_image_runs[docker-runc-linux_amd64]" in page.locator("h1").inner_text()
        body = page.locator("body").inner_text()
        assert "failed" in body and "archive/tar: invalid tar header" in body and "docker 20.10.24" in body
        assert "pull --platform linux/amd64" in page.locator("pre").nth(1).inner_text()  # the repro commands
        page.screenshot(path=str(SHOTS / "claims-evidence.png"), full_page=True)
        page.locator("text=back to the claims").click()
        page.wait_for_load_state()
        assert page.url.endswith("/index.html")

        # The cells as a compatibility matrix: the site under cells/ opens from the report.
        page.locator("text=the cells as a compatibility matrix").click()
        page.wait_for_function("document.documentElement.dataset.ready === '1'", timeout=15000)
        assert page.url.endswith("cells/site/index.html")
        assert watch.problems == [] and watch.remote == []


def test_badge_text_and_colour(report_dir):
    report = json.loads((report_dir / "claims.json").read_text())
    assert report["counts"] == {"verified": 4, "contradicted": 2, "error": 0, "unverifiable": 1}
    with chromium_page(viewport=(400, 120)) as page:
        watch = PageWatch(page)
        page.goto((report_dir / "badge.svg").as_uri())
        texts = page.locator("svg text").all_text_contents()
        assert texts == ["ocimatrix", "4/7 verified"]
        fill = page.locator("svg rect").nth(1).get_attribute("fill")
        assert fill == RED
        label = page.locator("svg").get_attribute("aria-label")
        assert label == "ocimatrix: 4/7 verified, 2 contradicted, 1 unverifiable"
        box = page.locator("svg").bounding_box()
        assert box and box["height"] == 20 and box["width"] > 100
        page.screenshot(
            path=str(SHOTS / "claims-badge.png"), clip={"x": 0, "y": 0, "width": box["width"], "height": 20}
        )
        assert watch.problems == [] and watch.remote == []


@pytest.mark.parametrize(
    ("counts", "colour"),
    [
        ({"verified": 6, "contradicted": 0, "error": 0, "unverifiable": 0}, GREEN),
        ({"verified": 5, "contradicted": 0, "error": 0, "unverifiable": 1}, AMBER),
        ({"verified": 5, "contradicted": 0, "error": 1, "unverifiable": 0}, RED),
    ],
)
def test_badge_colour_as_rendered(tmp_path, counts, colour):
    badge = tmp_path / "badge.svg"
    badge.write_text(badge_svg(counts))
    with chromium_page(viewport=(300, 60)) as page:
        page.goto(badge.as_uri())
        # The colour a reader sees: the pixel under the right half's text area, not just the attribute.
        rect = page.locator("svg rect").nth(1)
        assert page.evaluate("r => getComputedStyle(r).fill", rect.element_handle()) == _rgb(colour)
        total = sum(counts.values())
        assert page.locator("svg text").nth(1).text_content() == f"{counts['verified']}/{total} verified"


def _rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"
