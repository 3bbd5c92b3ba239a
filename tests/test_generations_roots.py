"""Generation roots: cache paths, mirror choice, the commands built, and when a root is refreshed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ocimatrix.errors import UsageError
from ocimatrix.generations import roots
from ocimatrix.generations.manifest import (
    Manifest,
    parse_apt_policy,
    parse_dpkg_query,
    read_manifest,
    recheck_due,
    refresh_plan,
    write_manifest,
)
from ocimatrix.host.foreign_busybox import configured_sources
from ocimatrix.tools.catalog import root_packages
from ocimatrix.tools.generations import generation

MIRROR = "http://mirror.example/debian"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"

DEB822 = f"""\
Types: deb
URIs: {MIRROR}
Suites: bookworm bookworm-updates
Components: main
Signed-By: {KEYRING}

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""

DPKG_QUERY = "docker.io\t26.1.5+dfsg1-9\tii \ncontainerd\t1.7.24~ds1-6\tii \nrunsc\t\tun \n"

APT_POLICY = """\
docker.io:
  Installed: 26.1.5+dfsg1-9
  Candidate: 26.1.5+dfsg1-10
  Version table:
 *** 26.1.5+dfsg1-9 500
        500 http://mirror.example/debian trixie/main amd64 Packages
containerd:
  Installed: 1.7.24~ds1-6
  Candidate: 1.7.24~ds1-6
runsc:
  Installed: (none)
  Candidate: (none)
"""


def _apt_etc(tmp_path: Path, text: str = DEB822) -> Path:
    parts = tmp_path / "apt" / "sources.list.d"
    parts.mkdir(parents=True)
    (parts / "debian.sources").write_text(text)
    return tmp_path / "apt"


def _manifest(**packages: str) -> Manifest:
    return Manifest("trixie", "trixie", MIRROR, dict(packages), prepared=1.0, checked=time.time())


# --- catalog and cache ---------------------------------------------------------------------------


def test_bookworm_is_the_host_and_the_others_have_roots():
    assert generation("bookworm").is_host
    assert not generation("trixie").is_host and generation("sid").root
    # A root holds the tools' packages, runsc after the others (a suite may drop it).
    assert "docker.io" in root_packages() and root_packages(optional=True) == ("runsc",)


def test_unknown_generation_names_the_known_ones():
    with pytest.raises(UsageError, match="unknown generation 'tixie'; known: bookworm, trixie, sid"):
        generation("tixie")


def test_the_host_generation_has_no_root_to_prepare():
    with pytest.raises(roots.GenerationUnavailable, match="this host's own system"):
        roots.prepare("bookworm", log=lambda _: None)


def test_roots_live_under_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("OCIMATRIX_CACHE", str(tmp_path))
    layout = roots.RootLayout.of("trixie")
    assert layout.rootfs == tmp_path / "roots" / "trixie" / "rootfs"
    assert layout.manifest == tmp_path / "roots" / "trixie" / "versions.json"
    assert layout.building.parent == layout.lock.parent == tmp_path / "roots"
    monkeypatch.delenv("OCIMATRIX_CACHE")
    assert roots.cache_root() == Path("/var/cache/ocimatrix")


# --- mirror and commands -------------------------------------------------------------------------


def test_mirror_is_the_hosts_source_for_its_own_release(tmp_path):
    source = roots.choose_mirror(configured_sources(_apt_etc(tmp_path)), "bookworm")
    assert (source.uri, source.signed_by) == (MIRROR, KEYRING)


def test_mirror_override_keeps_the_hosts_keyring(tmp_path):
    source = roots.choose_mirror(configured_sources(_apt_etc(tmp_path)), "bookworm", "http://mirror.example/other/")
    assert (source.uri, source.signed_by) == ("http://mirror.example/other", KEYRING)


def test_no_mirror_is_a_clear_message(tmp_path):
    only_security = DEB822.split("\n\n")[1]
    expected = "no apt source for 'bookworm main'.*OCIMATRIX_GENERATION_MIRROR"
    with pytest.raises(roots.GenerationUnavailable, match=expected):
        roots.choose_mirror(configured_sources(_apt_etc(tmp_path, only_security)), "bookworm")


UBUNTU_SOURCES = """Types: deb
URIs: http://archive.ubuntu.example/ubuntu/
Suites: noble noble-updates noble-backports
Components: main restricted universe multiverse
Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg
"""


def _ubuntu_sources(tmp_path):
    etc = tmp_path / "apt"
    (etc / "sources.list.d").mkdir(parents=True)
    (etc / "sources.list.d" / "ubuntu.sources").write_text(UBUNTU_SOURCES)
    return configured_sources(etc)


def test_an_ubuntu_host_never_builds_debian_roots_from_its_own_archive(tmp_path):
    # Ubuntu's sources name 'noble main': taken for a Debian mirror, debootstrap of trixie would fail late.
    with pytest.raises(roots.GenerationUnavailable, match="not Debian: set OCIMATRIX_GENERATION_MIRROR"):
        roots.choose_mirror(_ubuntu_sources(tmp_path), "noble", host_is_debian=False)


def test_an_ubuntu_host_builds_from_the_given_mirror_with_debians_keyring(tmp_path, monkeypatch):
    keyring = tmp_path / "debian-archive-keyring.gpg"
    keyring.write_bytes(b"")
    monkeypatch.setattr(roots, "DEBIAN_KEYRING", keyring)
    source = roots.choose_mirror(_ubuntu_sources(tmp_path), "noble", "http://deb.example/debian/", False)
    assert (source.uri, source.signed_by) == ("http://deb.example/debian", str(keyring))
    argv = roots.debootstrap_command("trixie", Path("/r"), source)
    assert argv[-3:] == ["trixie", "/r", "http://deb.example/debian"] and f"--keyring={keyring}" in argv


def test_ubuntu_provisioning_installs_what_roots_need():
    from ocimatrix.system import distro

    packages = {r.package for r in distro.UBUNTU_24_04.requirements}
    assert {"debootstrap", "debian-archive-keyring"} <= packages


def test_debootstrap_runs_in_a_mount_namespace_of_its_own(tmp_path):
    source = roots.choose_mirror(configured_sources(_apt_etc(tmp_path)), "bookworm")
    argv = roots.debootstrap_command("trixie", Path("/cache/roots/.trixie.building/rootfs"), source)
    assert argv[:4] == ["unshare", "--mount", "--propagation", "private"]
    assert argv[4:] == [
        "debootstrap",
        "--variant=minbase",
        f"--keyring={KEYRING}",
        "trixie",
        "/cache/roots/.trixie.building/rootfs",
        MIRROR,
    ]


def test_apt_runs_chrooted_with_proc_and_dev_mounted_privately():
    argv = roots.chroot_command(Path("/r"), roots.install_argv(["podman", "crun"]))
    assert argv[:4] == ["unshare", "--mount", "--propagation", "private"]
    script = argv[argv.index("-c") + 1]
    assert 'mount -t proc proc "$root/proc"' in script and 'exec chroot "$root" "$@"' in script
    assert argv[-7:] == ["/r", "apt-get", "install", "-y", "-q", "--no-install-recommends", "podman", "crun"][-7:]
    assert "--no-install-recommends" in argv


# --- versions ------------------------------------------------------------------------------------


def test_dpkg_query_keeps_installed_packages_only():
    assert parse_dpkg_query(DPKG_QUERY) == {"docker.io": "26.1.5+dfsg1-9", "containerd": "1.7.24~ds1-6"}


def test_apt_policy_gives_candidates():
    assert parse_apt_policy(APT_POLICY) == {"docker.io": "26.1.5+dfsg1-10", "containerd": "1.7.24~ds1-6"}


def test_manifest_round_trip_and_tools(tmp_path):
    path = tmp_path / "versions.json"
    write_manifest(path, _manifest(**{"docker.io": "26.1.5", "docker-registry": "2.8.3"}))
    data = json.loads(path.read_text())
    assert data["tools"]["docker"] == {
        "version": "26.1.5",
        "package": "docker.io",
        "origin": "debian trixie (root of generation trixie)",
    }
    assert data["tools"]["registry"]["version"] == "2.8.3"
    assert read_manifest(path).packages == {"docker.io": "26.1.5", "docker-registry": "2.8.3"}


@pytest.mark.parametrize("text", ["", "{", "[]", '{"schema": 1, "packages": {"a": 1}}', '{"schema": 9}'])
def test_an_unreadable_manifest_means_rebuild(tmp_path, text):
    path = tmp_path / "versions.json"
    path.write_text(text)
    assert read_manifest(path) is None
    assert refresh_plan(None, "trixie", ("docker.io",), None).action == "build"


# --- the refresh decision ------------------------------------------------------------------------

REQUIRED = ("docker.io", "containerd")


def test_other_suite_is_rebuilt():
    plan = refresh_plan(_manifest(**{"docker.io": "1", "containerd": "1"}), "sid", REQUIRED, None)
    assert (plan.action, plan.reason) == ("build", "the root holds trixie, not sid: rebuilt")


def test_missing_package_is_installed():
    plan = refresh_plan(_manifest(**{"docker.io": "1"}), "trixie", REQUIRED, {"docker.io": "1"})
    assert (plan.action, plan.packages) == ("install", ("containerd",))


def test_recently_checked_root_is_kept_without_asking():
    plan = refresh_plan(_manifest(**{"docker.io": "1", "containerd": "1"}), "trixie", REQUIRED, None)
    assert plan.action == "keep"


def test_changed_candidate_upgrades():
    manifest = _manifest(**parse_dpkg_query(DPKG_QUERY))
    plan = refresh_plan(manifest, "trixie", REQUIRED, parse_apt_policy(APT_POLICY))
    assert (plan.action, plan.packages) == ("upgrade", ("docker.io",))
    assert "docker.io 26.1.5+dfsg1-9 -> 26.1.5+dfsg1-10" in plan.reason


def test_same_candidates_keep_and_a_vanished_candidate_is_no_change():
    manifest = _manifest(**{"docker.io": "26.1.5+dfsg1-10", "containerd": "1.7.24~ds1-6", "runsc": "2024"})
    plan = refresh_plan(manifest, "trixie", REQUIRED, parse_apt_policy(APT_POLICY))
    assert (plan.action, plan.reason) == ("keep", "up to date with trixie")


def test_recheck_after_the_interval_only():
    manifest = _manifest()
    manifest.checked = 1000.0
    assert not recheck_due(manifest, 3600, now=1000.0 + 60)
    assert recheck_due(manifest, 3600, now=1000.0 + 3601)
    assert recheck_due(manifest, 3600, now=999.0)  # a clock set back: ask again
    assert recheck_due(manifest, 0, now=1000.0)


# --- prepare without the network -----------------------------------------------------------------


def _cached_root(cache: Path, checked: float) -> Path:
    layout = roots.RootLayout.of("trixie", cache)
    (layout.rootfs / "usr" / "bin").mkdir(parents=True)
    packages = dict.fromkeys(root_packages(), "1.0")
    write_manifest(layout.manifest, Manifest("trixie", "trixie", MIRROR, packages, 1.0, checked))
    return layout.manifest


def test_second_prepare_soon_after_changes_nothing(tmp_path, monkeypatch):
    manifest_path = _cached_root(tmp_path, checked=time.time())
    before = manifest_path.read_bytes()

    def no_commands(*args, **kwargs):
        raise AssertionError(f"ran {args[0]}")

    monkeypatch.setattr(roots, "run_streamed", no_commands)
    monkeypatch.setattr(roots.subprocess, "run", no_commands)
    lines: list[str] = []
    prepared = roots.prepare("trixie", lines.append, cache=tmp_path)
    assert prepared.plan.action == "keep" and prepared.rootfs == tmp_path / "roots" / "trixie" / "rootfs"
    assert manifest_path.read_bytes() == before
    assert lines[0] == "generation trixie: keep: checked recently, versions recorded"
    assert roots.prepared_root("trixie", tmp_path).manifest.packages["podman"] == "1.0"


def test_missing_root_with_no_mirror_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(roots, "host_codename", lambda: "bookworm")
    monkeypatch.delenv(roots.MIRROR_ENV, raising=False)
    with pytest.raises(roots.GenerationUnavailable, match="can't locate a Debian mirror"):
        roots.prepare("trixie", lambda _: None, cache=tmp_path, sources=[])
    assert roots.prepared_root("trixie", tmp_path) is None


def test_a_release_past_its_valid_until_is_read_anyway_with_its_signature(monkeypatch, tmp_path):
    """sid's mirror here served a Release a month past its Valid-Until: apt-get update refuses the whole
    suite, and every later check of the root failed. The check reads it anyway, saying so."""
    calls: list[list[str]] = []
    expired = (
        "E: Release file for http://deb.example/debian/dists/sid/InRelease is expired (invalid since 31d 15h). "
        "Updates for this repository will not be applied."
    )

    def streamed(argv, log, what, timeout):
        calls.append(argv)
        return (100, ["Reading package lists...", expired]) if len(calls) == 1 else (0, ["Reading package lists..."])

    monkeypatch.setattr(roots, "run_streamed", streamed)
    monkeypatch.setattr(roots, "_captured_in_root", lambda rootfs, argv: _policy_answer())
    said: list[str] = []
    assert roots.candidate_versions(tmp_path, ("crane",), said.append) == {"crane": "0.20.7-1"}
    assert "Acquire::Check-Valid-Until=false" not in calls[0]
    assert calls[1][-2:] == ["-o", "Acquire::Check-Valid-Until=false"]
    assert any("past its Valid-Until" in line and "signatures still checked" in line for line in said)


def test_an_update_that_fails_otherwise_is_the_generation_s_error(monkeypatch, tmp_path):
    monkeypatch.setattr(roots, "run_streamed", lambda argv, log, what, timeout: (100, ["E: Could not resolve"]))
    with pytest.raises(roots.GenerationUnavailable, match=r"(?s)apt-get update failed .*Could not resolve"):
        roots.candidate_versions(tmp_path, ("crane",), print)


def _policy_answer():
    import subprocess

    text = "crane:\n  Installed: 0.20.7-1\n  Candidate: 0.20.7-1\n"
    return subprocess.CompletedProcess([], 0, stdout=text, stderr="")
