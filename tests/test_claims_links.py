"""Claims reports join the published matrix: merge keeps them, the site links them."""

from __future__ import annotations

import json
from pathlib import Path

from ocimatrix.report.site import write_site
from ocimatrix.results import Record, Results, Run, write_results
from ocimatrix.results.merge import merge_files


def _verify_dir(root: Path, product: str, host: str) -> Path:
    """What ``ocimatrix verify`` leaves: DIR/claims.json, DIR/badge.svg and DIR/cells/results.json."""
    results = Results(run=Run(host=host), results=[Record(test=f"t::{product}", suite="claims", outcome="passed")])
    write_results(results, root / "cells" / "results.json")
    claims = {
        "schema": "ocimatrix/claims-report/v1",
        "vendor": "V",
        "product": product,
        "counts": {"verified": 2, "contradicted": 1, "error": 0, "unverifiable": 0},
        "fingerprint": {"sha256": "ab" * 32},
    }
    (root / "claims.json").write_text(json.dumps(claims))
    (root / "badge.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / "index.html").write_text("<html></html>")
    return root / "cells" / "results.json"


def test_merge_keeps_claims_reports_and_the_site_links_them(tmp_path):
    first = _verify_dir(tmp_path / "a", "image", "host-a")
    second = _verify_dir(tmp_path / "b", "registry", "host-b")
    merged = merge_files([first, second])
    kept = merged.results.run.merge["claims"]
    assert [c["product"] for c in kept] == ["image", "registry"]
    merged_path = tmp_path / "merged" / "results.json"
    write_results(merged.results, merged_path)
    # A merge of merges keeps them too.
    again = merge_files([merged_path, _verify_dir(tmp_path / "c", "cri", "host-c")])
    assert [c["product"] for c in again.results.run.merge["claims"]] == ["image", "registry", "cri"]

    page = write_site([merged_path], tmp_path / "site").read_text()
    assert 'id="claims"' in page
    assert 'href="../a/index.html"' in page and "2/3 verified, 1 contradicted" in page


def test_no_claims_no_section(tmp_path):
    path = tmp_path / "results.json"
    write_results(Results(run=Run(), results=[Record(test="t", suite="s", outcome="passed")]), path)
    assert 'id="claims"' not in write_site([path], tmp_path / "site").read_text()
