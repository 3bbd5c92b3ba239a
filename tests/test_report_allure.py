"""Allure: labels from ocimatrix.plugin.allure_labels in a real allure-pytest run, then the real Allure CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ocimatrix.errors import UsageError
from ocimatrix.report import allure as allure_cli
from ocimatrix.report.browser import chromium_page, missing_browser_reason

pytest.importorskip("allure_pytest", reason="allure-pytest is not installed: run tools/setup-report-deps")

SAMPLE_TESTS = textwrap.dedent(
    """
    import pytest

    from ocimatrix import evidence

    CELLS = [
        {"engine": "docker", "runtime": "runc", "platform": "linux/amd64"},
        {"engine": "podman", "runtime": "crun", "platform": "linux/arm64"},
    ]
    VERSIONS = {"docker": "20.10.24", "podman": "4.3.1"}

    @pytest.mark.spec("runtime-spec §lifecycle", "https://github.com/opencontainers/runtime-spec/blob/main/runtime.md")
    @pytest.mark.parametrize("cell", CELLS, ids=["docker-runc-linux_amd64", "podman-crun-linux_arm64"])
    def test_exit_code(cell):
        evidence.begin().versions[cell["engine"]] = VERSIONS[cell["engine"]]  # as a bound tool reports it
        assert cell["engine"] == "docker", "exit status lost"

    @pytest.mark.spec("image-spec §manifest", "https://github.com/opencontainers/image-spec/blob/main/manifest.md")
    @pytest.mark.parametrize("cell", CELLS[:1], ids=["docker-runc-linux_amd64"])
    def test_skipped_in_setup(cell, request):
        pytest.skip("no zstd here")
    """
)
CONFTEST = textwrap.dedent(
    """
    from ocimatrix.plugin.allure_labels import register

    def pytest_configure(config):
        config.addinivalue_line("markers", "spec(section, url): spec section")
        register(config)
    """
)


@pytest.fixture(scope="module")
def allure_results(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("allure-run")
    suite = root / "suites" / "lifecycle"
    suite.mkdir(parents=True)
    (suite / "test_sample.py").write_text(SAMPLE_TESTS)
    (root / "conftest.py").write_text(CONFTEST)
    results = root / "allure-results"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(suite), "-p", "no:ocimatrix", "-p", "no:cacheprovider",
         "--alluredir", str(results), "-q", "--rootdir", str(root)],
        capture_output=True, text=True, timeout=120, cwd=root,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # one test fails on purpose
    return results


def result_files(results: Path) -> dict[str, dict]:
    return {json.loads(p.read_text())["name"]: json.loads(p.read_text()) for p in results.glob("*-result.json")}


def labels(result: dict, name: str) -> list[str]:
    return [label["value"] for label in result["labels"] if label["name"] == name]


def test_labels_and_parameters_from_the_cell(allure_results):
    results = result_files(allure_results)
    failing = results["test_exit_code[podman-crun-linux_arm64]"]
    assert failing["status"] == "failed"
    assert labels(failing, "suite") == ["lifecycle"] and labels(failing, "parentSuite") == ["ocimatrix"]
    assert labels(failing, "feature") == ["runtime-spec §lifecycle"]
    assert labels(failing, "subSuite") == ["runtime-spec §lifecycle"] and labels(failing, "epic") == ["runtime-spec"]
    assert sorted(labels(failing, "tag")) == ["engine:podman", "platform:linux/arm64", "runtime:crun"]
    params = {p["name"]: p for p in failing["parameters"]}
    # allure-pytest shows parameter values as Python literals, quotes included.
    assert params["cell"]["value"] == repr("engine=podman runtime=crun platform=linux/arm64")
    assert params["engine"]["value"] == "'podman'" and params["platform"]["value"] == "'linux/arm64'"
    assert params["podman version"]["value"] == "'4.3.1'" and params["podman version"]["excluded"] is True
    assert [link["url"] for link in failing["links"]] == [
        "https://github.com/opencontainers/runtime-spec/blob/main/runtime.md"
    ]


def test_a_cell_skipped_in_setup_keeps_its_labels(allure_results):
    skipped = result_files(allure_results)["test_skipped_in_setup[docker-runc-linux_amd64]"]
    assert skipped["status"] == "skipped"
    assert labels(skipped, "feature") == ["image-spec §manifest"] and labels(skipped, "suite") == ["lifecycle"]


def test_register_does_nothing_without_alluredir(pytester):
    pytester.makeconftest(
        "from ocimatrix.plugin.allure_labels import register\n"
        "def pytest_configure(config):\n"
        "    config._registered = register(config)\n"
        "def pytest_unconfigure(config):\n"
        "    print('registered', config._registered)\n"
    )
    pytester.makepyfile("def test_x():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest_subprocess("-p", "no:ocimatrix", "-s")
    result.stdout.fnmatch_lines(["*registered False*"])


def test_missing_allure_cli_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.delenv("OCIMATRIX_ALLURE", raising=False)
    monkeypatch.setenv("OCIMATRIX_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setattr(
        allure_cli, "candidates", lambda: [tmp_path / "empty-cache" / "npm" / "node_modules" / ".bin" / "allure"]
    )
    results = tmp_path / "ar"
    results.mkdir()
    (results / "x-result.json").write_text("{}")
    with pytest.raises(UsageError, match="tools/setup-report-deps"):
        allure_cli.generate_allure_report(results, tmp_path / "out")


def test_empty_results_dir_is_refused(tmp_path):
    with pytest.raises(UsageError, match="no Allure results"):
        allure_cli.generate_allure_report(tmp_path, tmp_path / "out")
    with pytest.raises(UsageError, match="no such Allure results directory"):
        allure_cli.generate_allure_report(tmp_path / "nope", tmp_path / "out")


def allure_missing() -> str | None:
    try:
        allure_cli.find_allure()
    except UsageError as exc:
        return str(exc)
    return None


@pytest.mark.skipif(allure_missing() is not None, reason=str(allure_missing()))
def test_cli_writes_an_allure_report_that_opens_offline(allure_results, tmp_path):
    out = tmp_path / "allure"
    done = subprocess.run(
        [sys.executable, "-m", "ocimatrix.cli", "report", "--allure", str(allure_results), "-o", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    index = out / "index.html"
    assert index.is_file() and f"Allure report {index}" in done.stdout
    if missing_browser_reason():
        pytest.skip(missing_browser_reason())
    with chromium_page() as page:
        remote: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "blob:")) else remote.append(r.url))
        page.goto(index.as_uri())
        page.wait_for_function("document.body.innerText.includes('test cases')", timeout=30000)
        page.screenshot(path=str(tmp_path / "allure.png"))
        assert remote == [], f"the Allure report reached for the network: {remote}"
