"""The static site's files: self-contained, data faithful to results.json, history kept across reports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ocimatrix.errors import UsageError
from ocimatrix.report.history import pass_rate, read_history
from ocimatrix.report.model import CHUNK
from ocimatrix.report.site import build_site, write_site
from ocimatrix.results import OUTCOMES, Record, Results, Run, Spec, write_results

DATA = Path(__file__).parent / "data" / "report"
RUN, BASELINE = DATA / "run.json", DATA / "baseline.json"


def ocimatrix(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ocimatrix.cli", *args], capture_output=True, text=True, timeout=120)


def load_js_data(path: Path, call: str = "load") -> object:
    """Run a data file in node with a stand-in OCIMATRIX, the same JavaScript parse the browser does."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed (apt-get install nodejs)")
    script = (
        "globalThis.OCIMATRIX = {load: d => out(d), details: (n, d) => out(d)};"
        "function out(d) { process.stdout.write(JSON.stringify(d)); }"
        f"require({json.dumps(str(path))});"
    )
    done = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_write_site_returns_index_and_writes_only_local_files(tmp_path):
    index = write_site([RUN], tmp_path / "site")
    assert index == tmp_path / "site" / "index.html" and index.is_file()
    html = index.read_text()
    for ref in re.findall(r'(?:src|href)="([^"#]+)"', html):
        # Spec links open the spec text; everything the page itself loads is next to it.
        assert not ref.startswith(("http:", "https:", "//")) or ref.startswith("https://github.com/"), ref
    for asset in ("assets/app.js", "assets/style.css", "data/index.js", "data/details-0000.js", "history.json"):
        assert (tmp_path / "site" / asset).is_file(), asset
    assert '<script src="assets/app.js' in html and "data/index.js" in html
    for js in (tmp_path / "site").rglob("*.js"):
        text = js.read_text()
        assert "fetch(" not in text and "XMLHttpRequest" not in text and "import(" not in text, js


def test_data_matches_the_results_record_for_record(tmp_path):
    write_site([RUN], tmp_path)
    data = load_js_data(tmp_path / "data" / "index.js")
    original = json.loads(RUN.read_text())["results"]
    r, strings = data["r"], data["strings"]
    assert len(r["out"]) == len(original)
    counts = {o: 0 for o in OUTCOMES}
    for code in r["out"]:
        counts[data["outcomes"][code]] += 1
    assert counts == {o: sum(1 for x in original if x["outcome"] == o) for o in OUTCOMES}
    details = load_js_data(tmp_path / "data" / "details-0000.js")
    by_test = {x["test"]: x for x in original}
    for i, detail in enumerate(details):
        source = by_test[detail["test"]]
        # run.json is an older record: its cell's versions read back as evidence.
        moved = {"versions": source["cell"]["versions"]} if "versions" in source["cell"] else {}
        assert detail["repro"] == source["repro"] and detail["evidence"] == {**moved, **source["evidence"]}
        assert detail["reason"] == source["reason"]
        assert data["outcomes"][r["out"][i]] == source["outcome"]
        assert r["dur"][i] == round(source["duration_s"] * 1000)
        cell = data["cells"][r["cell"][i]]
        axes = {a: strings[v] for a, v in zip(data["axes"], cell["a"], strict=True) if v >= 0}
        assert axes == {k: v for k, v in source["cell"].items() if k != "versions"}
        assert {strings[t]: strings[v] for t, v in cell["v"]} == source["cell"].get("versions", {})
        group = data["groups"][r["group"][i]]
        assert strings[group[0]] == source["suite"]
        assert strings[group[1]] == (source["spec"] or {}).get("section", "")


def test_tricky_text_survives_the_javascript_round_trip(tmp_path):
    nasty = "quote ' double \" backslash \\ </script><script>alert(1)</script> \u2028 line sep, ünïcödé, emoji 🐳"
    results = Results(
        run=Run(host="h<b>", started="2026-01-01T00:00:00+00:00", tools={"docker": "20.10 <x>"}),
        results=[
            Record(
                test=f"suites/x/test_a.py::test_{i}[{nasty}]",
                suite="lifecycle",
                outcome="failed",
                cell={"engine": nasty},
                spec=Spec(nasty, "https://example.invalid/?a=1&b='2'"),
                reason=nasty,
                repro=[nasty, "echo '\\n'"],
                evidence={"k": nasty, "n": [1.5, None, True]},
            )
            for i in range(3)
        ],
    )
    path = tmp_path / "r.json"
    write_results(results, path)
    write_site([path], tmp_path / "site")
    data = load_js_data(tmp_path / "site" / "data" / "index.js")
    assert nasty in data["strings"]
    [detail, *_] = load_js_data(tmp_path / "site" / "data" / "details-0000.js")
    assert detail["reason"] == nasty and detail["repro"] == [nasty, "echo '\\n'"]
    assert detail["evidence"] == {"k": nasty, "n": [1.5, None, True]}
    html = (tmp_path / "site" / "index.html").read_text()
    assert "<b>" not in html and "h&lt;b&gt;" in html and "20.10 &lt;x&gt;" in html


def test_details_are_split_into_chunks(tmp_path):
    records = [
        Record(test=f"suites/a/test_a.py::test_{i:05d}", suite="a", outcome="passed") for i in range(CHUNK * 2 + 7)
    ]
    path = tmp_path / "r.json"
    write_results(Results(run=Run(), results=records), path)
    write_site([path], tmp_path / "site")
    chunks = sorted((tmp_path / "site" / "data").glob("details-*.js"))
    assert [c.name for c in chunks] == ["details-0000.js", "details-0001.js", "details-0002.js"]
    assert len(load_js_data(chunks[-1])) == 7
    # A smaller run written into the same folder leaves no stale chunk behind.
    write_site([DATA / "run.json"], tmp_path / "site")
    assert [c.name for c in (tmp_path / "site" / "data").glob("details-*.js")] == ["details-0000.js"]


def test_baseline_changes_are_in_the_data(tmp_path):
    report = build_site([RUN], tmp_path, baseline=BASELINE)
    data = load_js_data(tmp_path / "data" / "index.js")
    kinds = data["changeKinds"]
    marked = {
        data["strings"][data["r"]["test"][i]] + "[" + data["r"]["param"][i] + "]": kinds[c - 1]
        for i, c in enumerate(data["r"]["chg"])
        if c
    }
    assert marked == {
        "suites/lifecycle/test_run.py::test_exit_code_propagated[podman-crun-linux_arm64]": "regression",
        "suites/lifecycle/test_run.py::test_env_passed[podman-runc-linux_amd64]": "fix",
    }
    assert data["missing"] == [
        [
            "suites/cri/test_pods.py::test_pod_removed[containerd-cri-runc]",
            "engine=containerd-cri runtime=runc",
            "passed",
        ]
    ]
    assert data["baseline"]["file"] == "baseline.json"
    assert report.diff.count("regression") == 1


def test_history_appends_per_run_and_replaces_a_rerender(tmp_path):
    site = tmp_path / "site"
    write_site([BASELINE], site)
    write_site([RUN], site)
    write_site([RUN], site)  # the same run again: no new point
    entries = read_history(site / "history.json")
    assert [e["started"][:10] for e in entries] == ["2026-11-19", "2026-11-20"]
    podman = entries[1]["engines"]["podman"]
    assert podman == {"passed": 9, "failed": 1, "skipped": 4, "error": 0, "xfailed": 0}
    assert pass_rate(podman) == pytest.approx(9 / 10)
    html = (site / "index.html").read_text()
    assert "Pass rate history" in html and "<svg" in html
    for engine in ("docker", "podman", "containerd-cri"):
        assert f">{engine}</text>" in html, f"{engine} missing from the chart legend"
    assert "podman, 2026-11-20: 90.0% (9/10 passed)" in html


def test_history_elsewhere_and_broken_history_is_refused(tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    write_site([RUN], tmp_path / "site", history=keep)
    assert len(read_history(keep / "history.json")) == 1 and not (tmp_path / "site" / "history.json").exists()
    (keep / "history.json").write_text("{oops")
    with pytest.raises(UsageError, match="unreadable history file"):
        write_site([RUN], tmp_path / "site", history=keep)


def test_several_inputs_are_merged_and_the_notes_shown(tmp_path):
    report = build_site([DATA / "shard-amd64.json", DATA / "shard-arm64.json"], tmp_path)
    assert len(report.results.results) == 30 and len(report.notes) == 2
    html = report.index.read_text()
    assert "Shard merge" in html and "1 conflicting and 1 duplicated" in html
    assert "ci-amd64-1" in html and "ci-arm64-1" in html


def test_cli_report(tmp_path):
    result = ocimatrix("report", str(RUN), "--baseline", str(BASELINE), "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "45 results" in result.stdout and "1 regression, 1 fix, 1 missing" in result.stdout
    assert (
        "regression: suites/lifecycle/test_run.py::test_exit_code_propagated[podman-crun-linux_arm64]" in result.stdout
    )
    gate = ocimatrix("report", str(RUN), "--baseline", str(BASELINE), "-o", str(tmp_path), "--fail-on-regression")
    assert gate.returncode == 1
    clean = ocimatrix("report", str(RUN), "--baseline", str(RUN), "-o", str(tmp_path), "--fail-on-regression")
    assert clean.returncode == 0 and "no change" in clean.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "OUT"], "give at least one RESULTS file"),
        (["missing.json", "-o", "OUT"], "missing.json: no such results file"),
        ([str(RUN), "-o", "OUT", "--fail-on-regression"], "--fail-on-regression needs --baseline"),
        ([str(RUN), "-o", "OUT", "--baseline", "nope.json"], "nope.json: no such results file"),
    ],
)
def test_cli_report_usage_errors(tmp_path, args, message):
    result = ocimatrix("report", *[str(tmp_path / "o") if a == "OUT" else a for a in args])
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_cli_report_refuses_a_non_conforming_file(tmp_path):
    data = json.loads(RUN.read_text())
    data["results"][11]["cell"]["versions"] = ["4.3.1"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    result = ocimatrix("report", str(bad), "-o", str(tmp_path / "site"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert str(bad) in result.stderr and "$.results[11].cell.versions" in result.stderr
    assert not (tmp_path / "site").exists(), "nothing is written for a refused file"


def test_output_dir_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(UsageError, match="not a directory"):
        write_site([RUN], target)


def test_history_chart_breaks_a_line_where_an_engine_did_not_run():
    from ocimatrix.report.svg import history_svg

    def entry(day: str, engines: dict) -> dict:
        return {"id": day, "started": f"2026-11-{day}T02:00:00+00:00", "engines": engines}

    ok = {"passed": 9, "failed": 1}
    svg = history_svg([entry("18", {"docker": ok}), entry("19", {"podman": ok}), entry("20", {"docker": ok})])
    docker_path = re.search(r'<path d="([^"]*)" fill="none" stroke="#0072B2"', svg).group(1)
    assert docker_path.count("M") == 2 and "L" not in docker_path
    assert svg.count("docker, 2026-11-") == 2 and "90.0% (9/10 passed)" in svg
    assert 'role="img"' in svg and '<title id="history-title">' in svg


def test_known_incompatibilities_count_against_the_pass_rate():
    # An xfailed cell doesn't fail the run, but it doesn't work either: people choose stacks by this rate.
    assert pass_rate({"passed": 9, "xfailed": 1, "skipped": 5}) == pytest.approx(0.9)
    assert pass_rate({"skipped": 3}) is None
