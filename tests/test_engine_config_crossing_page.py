"""engine-configs.html's engine-config x runtime table: each engine's own config.json run by each runtime
(``test_runtime_runs_engine_config``), a refusal shown with the runtime's words, a skip with its reason."""

from __future__ import annotations

from ocimatrix.report.engine_configs import PAGE, crossing_outcomes, link_engine_configs
from ocimatrix.results import Record, Results, Run
from ocimatrix.runtime.config_compare import aspects

TEST = "suites/runtime/test_engine_configs.py::test_runtime_runs_engine_config"


def engine_record(engine: str, oci_version: str) -> Record:
    document = {"ociVersion": oci_version, "root": {"path": "/r"}, "process": {"cwd": "/", "args": ["x"]}}
    evidence = {
        "runtime_config": document,
        "engine_config": {"engine": engine, "container_id": "c", "aspects": aspects(document)},
    }
    return Record(
        "suites/runtime/test_engine_configs.py::test_engine_config_is_valid",
        "runtime",
        "passed",
        {"engine": engine},
        evidence=evidence,
    )


def crossing(engine: str, runtime: str, version: str, verdict: str, **seen) -> Record:
    evidence = {}
    if verdict != "skipped":
        evidence["engine_crossing"] = {"engine": engine, "oci_version": seen.pop("written", "1.0.2-dev"), **seen}
    if verdict in ("failed", "xfailed"):
        evidence["answer"] = {"step": f"{runtime} create", "text": seen.get("answer", "")}
    return Record(
        f"{TEST}[config-of-{engine}-{runtime}]",
        "runtime",
        verdict,
        # A cell skipped before its runtime was asked records no version: it joins that runtime's column.
        {"runtime": runtime, "versions": {runtime: version} if verdict != "skipped" else {}},
        reason="no CRI-O socket here" if verdict == "skipped" else "",
        evidence=evidence,
    )


def records() -> list[Record]:
    refused = "exit 1: unknown version specified"
    return [
        engine_record("docker", "1.0.2-dev"),
        engine_record("docker@trixie", "1.2.0"),
        crossing("docker", "crun", "1.8.1", "passed", outcome="runs"),
        crossing("docker@trixie", "crun", "1.8.1", "xfailed", outcome="refused", answer=refused, written="1.2.0"),
        crossing("docker@trixie", "runc@trixie", "1.1.15", "passed", outcome="runs", written="1.2.0"),
        crossing("containerd-cri", "runc@trixie", "1.1.15", "passed", outcome="runs", note="declared newer"),
        crossing("cri-o", "crun", "1.8.1", "skipped"),
    ]


def test_crossing_outcomes_read_engine_and_runtime_with_its_version():
    runtimes, found = crossing_outcomes(Results(Run(), records()))
    assert runtimes == ["crun 1.8.1", "runc@trixie 1.1.15"]
    assert set(found) == {"docker", "docker@trixie", "containerd-cri", "cri-o"}  # cri-o read from its id
    assert found["docker@trixie"]["crun 1.8.1"].outcome == "xfailed"
    assert found["cri-o"]["crun 1.8.1"].outcome == "skipped"
    assert list(found) == ["containerd-cri", "cri-o", "docker", "docker@trixie"]  # by generation, then name


def test_the_page_shows_each_engine_config_against_each_runtime(tmp_path):
    link_engine_configs("<main></main>", Results(Run(), records()), tmp_path)
    html = (tmp_path / PAGE).read_text()
    table = html[html.index('id="crossing"') : html.index("</table>", html.index('id="crossing"'))]
    row = table[table.index('<th scope="row">docker@trixie') :].split("</tr>")[0]
    assert "1.2.0" in row and "refused" in row and "unknown version specified" in row and "runs" in row
    docker = table[table.index('<th scope="row">docker<br>') :].split("</tr>")[0]
    assert "1.0.2-dev" in docker and "not run" in docker  # docker's config had no runc@trixie cell
    skipped = table[table.index('<th scope="row">cri-o') :].split("</tr>")[0]
    assert "skipped" in skipped and "no CRI-O socket here" in skipped
    assert "declared newer" in table
