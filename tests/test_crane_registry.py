"""go-containerregistry's registry (sid's crane) as a second registry implementation: the catalog line
and the roots that install it, the matrix's ``embedded: crane`` entry (checked and resolved), the
service watch of its cells, expectations naming some cases of a test, and (when the sid root is in the
cache) the registry itself, run in sid's namespace and stopped with nothing left.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import yaml

from ocimatrix.errors import UsageError
from ocimatrix.matrix import parse_matrix
from ocimatrix.plugin.cell_watch import services_of_cell
from ocimatrix.plugin.expectations import names_the_test
from ocimatrix.registries import TargetUnavailable, registry_settings_problems, resolve_target
from ocimatrix.tools import catalog

# What trixie's root installed before crane joined the catalog: a tool of sid alone adds nothing there.
TRIXIE_ROOT = (
    "docker.io",
    "docker-cli",
    "podman",
    "conmon",
    "buildah",
    "containerd",
    "skopeo",
    "runc",
    "crun",
    "docker-registry",
    "busybox-static",
)


def _matrix(registry: dict) -> str:
    return yaml.safe_dump(
        {
            "name": "crane",
            "axes": {"builder": ["docker"], "engine": ["docker"], "registry": ["embedded"]},
            "registries": {"embedded": {"embedded": True}, "crane": registry},
            "suites": {"distribution": {"registry": ["crane"]}},
        }
    )


# --- the catalog and the roots ------------------------------------------------------------------


def test_crane_is_a_registry_and_a_copier_of_sid_only():
    tool = catalog.lookup("crane@sid")
    assert tool.roles == ("registry", "copier") and tool.root_packages == ("crane",)
    assert catalog.generations_of("crane") == ("sid",)
    assert tool.provision_on == ()  # never installed on this host
    with pytest.raises(UsageError, match="crane has no generation 'trixie'; known: sid"):
        catalog.lookup("crane@trixie")


def test_only_the_roots_of_its_generations_install_a_tool():
    trixie, sid = catalog.root_packages(generation="trixie"), catalog.root_packages(generation="sid")
    assert set(TRIXIE_ROOT) <= set(trixie) and "crane" not in trixie
    # What sid's root has beyond trixie's is exactly the packages of tools of sid alone, crane among them.
    only_sid = {p for t in catalog.TOOLS if t.in_root("sid") and not t.in_root("trixie") for p in t.root_packages}
    assert set(sid) - set(trixie) == only_sid and "crane" in only_sid
    # runsc is in every generation: every root installs it (optional).
    assert catalog.root_packages(optional=True, generation="trixie") == ("runsc",)
    assert catalog.root_packages(optional=True, generation="sid") == ("runsc",)
    assert "crane" in catalog.root_packages()  # of any root
    assert catalog.root_version_keys()["crane"] == "crane"


# --- the matrix entry ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "field", "message"),
    [
        (
            {"embedded": "crane"},
            ("generation",),
            "crane's registry runs from a generation's root; expected one of: sid",
        ),
        ({"embedded": "crane", "generation": "trixie"}, ("generation",), "crane has no generation 'trixie'"),
        ({"embedded": "crane", "generation": "sid", "port": 5000}, ("port",), "takes a free port"),
        ({"embedded": "crane", "generation": "sid", "url": "http://x"}, ("url",), "it has no url"),
        ({"embedded": "crane", "generation": "sid", "auth": {"type": "basic"}}, ("auth",), "serves without auth"),
        ({"embedded": "crane", "generation": "sid", "tls_verify": False}, ("tls_verify",), "serves plain HTTP"),
        ({"embedded": "zot"}, ("embedded",), "expected true or one of: token, basic, crane"),
    ],
)
def test_a_bad_crane_entry_names_its_field(settings, field, message):
    problems = registry_settings_problems(settings)
    assert any(where == field and message in text for where, text in problems), problems


def test_a_bad_crane_entry_is_bad_input_naming_the_file_and_field(tmp_path):
    path = tmp_path / "m.yaml"
    text = _matrix({"embedded": "crane", "generation": "trixie"})
    path.write_text(text)
    with pytest.raises(UsageError, match=r"field 'registries\.crane\.generation': crane has no generation 'trixie'"):
        parse_matrix(yaml.safe_load(text), path, text)


def test_a_crane_entry_names_sid_for_the_run_and_its_cells_watch_crane_at_sid(tmp_path):
    text = _matrix({"embedded": "crane", "generation": "sid"})
    matrix = parse_matrix(yaml.safe_load(text), tmp_path / "m.yaml", text)
    assert matrix.generations(("distribution",)) == ("sid",)
    assert services_of_cell({"registry": "crane"}, matrix) == ["crane@sid"]


def test_the_crane_target_comes_from_what_the_run_started():
    started = {"url": "http://127.0.0.1:6100", "plain_http": True, "version": "0.20.7+ds1-5"}
    endpoints = SimpleNamespace(registry="127.0.0.1:5000", registries={"crane@sid": started}, errors={})
    target = resolve_target("c", {"embedded": "crane", "generation": "sid", "namespace": "mine"}, endpoints)
    assert (target.base_url, target.namespace, target.version, target.auth_type) == (
        "http://127.0.0.1:6100",
        "mine",
        "0.20.7+ds1-5",
        "none",
    )
    assert target.blobs_shared  # one blob store for every repository: the suite keeps its blobs there
    assert not resolve_target("d", {"embedded": True}, endpoints).blobs_shared


def test_a_crane_that_did_not_start_says_why():
    endpoints = SimpleNamespace(registry="x", registries={}, errors={"crane@sid": "HarnessError: exited 2"})
    with pytest.raises(TargetUnavailable, match="crane's registry from generation sid is not available: .*exited 2"):
        resolve_target("c", {"embedded": "crane", "generation": "sid"}, endpoints)
    endpoints = SimpleNamespace(registry="x", registries={}, errors={"generation sid": "debootstrap failed"})
    with pytest.raises(TargetUnavailable, match="debootstrap failed"):
        resolve_target("c", {"embedded": "crane", "generation": "sid"}, endpoints)


# --- expectations on some cases of a test ------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "item", "named"),
    [
        ("test_blob_range_request", "test_blob_range_request[embedded-crane-500-1499]", True),
        ("test_blob_range_request[*--500]", "test_blob_range_request[embedded-crane--500]", True),
        ("test_blob_range_request[*-500-]", "test_blob_range_request[embedded-crane-500-]", True),
        ("test_blob_range_request[*-500-]", "test_blob_range_request[embedded-crane-500-1499]", False),
        ("test_blob_bad_digest_is_400[*-chunked*]", "test_blob_bad_digest_is_400[embedded-crane-post-only]", False),
        ("test_upload_status*", "test_upload_status_from_a_stale_url[embedded-crane]", True),
        # A character class inside a name glob is still one.
        ("test_runs_config_declared_as_1_[23]_*", "test_runs_config_declared_as_1_2_x[runc]", True),
        ("test_runs_config_declared_as_1_[23]_*", "test_runs_config_declared_as_1_4_x[runc]", False),
    ],
)
def test_an_expectation_names_some_cases_of_a_test(pattern, item, named):
    assert names_the_test(item.partition("[")[0], item, pattern) is named


# --- the registry itself, in sid's namespace ----------------------------------------------------


def _live_prerequisites() -> str:
    from ocimatrix.generations import prepared_root

    if os.geteuid() != 0:
        return "a generation's mount namespace needs root"
    root = prepared_root("sid")
    if root is None:
        return "the sid root is not in the cache (ocimatrix provision --generation sid prepares it)"
    if "crane" not in root.manifest.packages:
        return "the cached sid root has no crane yet (ocimatrix provision --generation sid installs it)"
    if not all(shutil.which(tool) for tool in ("unshare", "nsenter")) or not Path("/bin/busybox").is_file():
        return "unshare, nsenter and /bin/busybox (busybox-static) are needed"
    return ""


@pytest.mark.skipif(bool(_live_prerequisites()), reason=_live_prerequisites() or "ready")
def test_crane_serves_from_sid_and_leaves_nothing(tmp_path_factory):
    from ocimatrix.generations import GenerationHost, prepared_root
    from ocimatrix.host.crane_registry import has_registry, start_crane_registry
    from ocimatrix.system.offline import OFFLINE_ENV

    root = prepared_root("sid")
    assert root is not None
    state = Path(tmp_path_factory.mktemp("generation")) / "sid"
    host = GenerationHost("sid", root.rootfs, state).start()
    try:
        assert has_registry(host)
        crane = start_crane_registry(host, root.manifest.packages["crane"])
        assert crane.settings() == {"url": crane.url, "plain_http": True, "version": root.manifest.packages["crane"]}
        assert httpx.get(f"{crane.url}/v2/", timeout=5).status_code == 200
        # A blob lands on disk under the generation's state dir (--disk), not in memory.
        upload = httpx.post(f"{crane.url}/v2/probe/blobs/uploads/", timeout=5)
        assert upload.status_code == 202, upload.text
        digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        put = httpx.put(f"{crane.url}{upload.headers['Location']}?digest={digest}", content=b"{}", timeout=5)
        assert put.status_code == 201, put.text
        assert (state / "crane-registry" / "blobs" / "sha256" / digest.removeprefix("sha256:")).is_file()
        daemon = next(d for d in host.daemons if d.name.startswith("crane "))
        assert {k: daemon.env[k] for k in OFFLINE_ENV} == OFFLINE_ENV
    finally:
        report = host.stop()
    assert report.clean, report


def test_the_crane_of_a_generation_is_supervised_by_its_answer_to_get_v2(tmp_path):
    from ocimatrix.host.crane_registry import CraneRegistry, serve_argv
    from ocimatrix.host.generation_services import GenerationServices
    from ocimatrix.host.supervision import ServiceBook
    from ocimatrix.system.process import Daemon

    def daemon(name: str, argv: list[str]) -> Daemon:
        return Daemon(f"{name} (sid)", argv, tmp_path / f"{name}.log", {}, SimpleNamespace(pid=os.getpid()))

    crane = CraneRegistry("sid", "127.0.0.1:6100")
    host = SimpleNamespace(name="sid", daemons=[daemon("crane", serve_argv("sid", crane.address, "/d"))])
    book = ServiceBook(tmp_path)
    GenerationServices._supervise(host, SimpleNamespace(), book, crane)
    assert book.names() == ["crane@sid"]
    spec = book._specs()["crane@sid"]
    assert (spec.probe.kind, spec.probe.target) == ("http", "http://127.0.0.1:6100/v2/")
    assert spec.argv == ["/usr/bin/crane", "registry", "serve", "--address", "127.0.0.1:6100", "--disk", "/d"]


def test_the_crane_address_is_chosen_before_any_daemon_starts_so_every_one_trusts_it():
    from ocimatrix.host.generation_services import GenerationServices

    services = GenerationServices(log=lambda _: None)
    reserved = services.reserve(("trixie", "sid"))
    assert list(services.reserved) == ["sid"]  # trixie's root has no crane
    host, _, port = reserved[0].rpartition(":")
    assert (host, int(port) > 0) == ("127.0.0.1", True)


def test_a_lifecycle_cell_through_crane_watches_crane_and_makes_the_run_ready_sid(tmp_path):
    data = yaml.safe_load(_matrix({"embedded": "crane", "generation": "sid"}))
    data["axes"]["builder"] = ["docker", "podman"]
    data["suites"] = {"lifecycle": {"include": [{"builder": "podman", "engine": "docker", "registry": "crane"}]}}
    text = yaml.safe_dump(data)
    matrix = parse_matrix(yaml.safe_load(text), tmp_path / "m.yaml", text)
    cells = matrix.cells_for(("builder", "engine", "registry"), "lifecycle")
    assert {"builder": "podman", "engine": "docker", "registry": "crane"} in cells
    assert matrix.generations(("lifecycle",)) == ("sid",)
    assert "crane@sid" in services_of_cell({"engine": "docker", "registry": "crane"}, matrix)
