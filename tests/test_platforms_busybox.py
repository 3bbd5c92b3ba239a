"""Foreign busybox: finding the host's Debian mirror, the private apt setup, and the cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocimatrix.host import foreign_busybox as fb
from ocimatrix.images import busybox
from ocimatrix.system import apt_sources

DATA = Path(__file__).parent / "data" / "platforms"
HEADERS = json.loads((DATA / "busybox-elf-headers.json").read_text())
DEBIAN_OF = {
    "linux/amd64": "amd64",
    "linux/386": "i386",
    "linux/arm64": "arm64",
    "linux/arm/v7": "armhf",
    "linux/s390x": "s390x",
    "linux/ppc64le": "ppc64el",
    "linux/riscv64": "riscv64",
}


def test_deb822_sources_recorded_from_a_debian_12_host():
    sources = apt_sources.parse_deb822_sources((DATA / "debian.sources").read_text())
    assert [s.suites for s in sources] == [("bookworm", "bookworm-updates"), ("bookworm-security",)]
    mirror = apt_sources.debian_mirror(sources, "bookworm")
    assert mirror is not None
    assert mirror.uri == "http://deb.example/debian"
    assert mirror.signed_by == "/usr/share/keyrings/debian-archive-keyring.gpg"


def test_one_line_sources_with_options_and_comments():
    text = (
        "# a comment\n"
        "deb-src http://mirror.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main contrib # trailing\n"
        "deb http://security.example/debian-security bookworm-security main\n"
        "deb [broken\n"
    )
    sources = apt_sources.parse_one_line_sources(text)
    assert len(sources) == 2
    assert sources[0] == apt_sources.AptSource(
        "http://mirror.example/debian", ("bookworm",), ("main", "contrib"), "/k.gpg"
    )
    assert apt_sources.debian_mirror(sources, "bookworm") == sources[0]
    assert apt_sources.debian_mirror(sources, "trixie") is None


def test_disabled_deb822_stanzas_and_inline_keys_are_skipped():
    text = (
        "Types: deb\nURIs: http://a.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n\n"
        "Types: deb\nURIs: http://b.example/debian\nSuites: bookworm\nComponents: main\n"
        "Signed-By: -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n"
    )
    sources = apt_sources.parse_deb822_sources(text)
    assert [s.uri for s in sources] == ["http://b.example/debian"]
    assert sources[0].signed_by == ""  # an inline key can't be pointed at from our own list


def test_configured_sources_reads_list_and_sources_files_only(tmp_path):
    parts = tmp_path / "sources.list.d"
    parts.mkdir()
    (tmp_path / "sources.list").write_text("deb http://one.example/debian bookworm main\n")
    (parts / "debian.sources").write_text((DATA / "debian.sources").read_text())
    (parts / "other.list.disabled-by-admin").write_text("deb http://off.example/debian bookworm main\n")
    uris = [s.uri for s in apt_sources.configured_sources(tmp_path)]
    assert uris == [
        "http://one.example/debian",
        "http://deb.example/debian",
        "http://deb.example/debian-security",
    ]


@pytest.mark.parametrize(
    ("arch", "codename", "suite"),
    [
        ("arm64", "bookworm", "bookworm"),
        ("riscv64", "bookworm", "trixie"),
        ("riscv64", "trixie", "trixie"),
        ("riscv64", "forky", "forky"),
        ("s390x", "sid", "sid"),
    ],
)
def test_suite_for_an_architecture(arch, codename, suite):
    assert fb.suite_for(arch, codename) == suite


def test_private_apt_never_points_at_the_systems_sources(tmp_path):
    mirror = apt_sources.AptSource("http://deb.example/debian", ("bookworm",), ("main",), "/usr/share/keyrings/k.gpg")
    apt = fb._PrivateApt(tmp_path / "apt", {"arm64": (mirror, "bookworm"), "riscv64": (mirror, "trixie")})
    sources = (tmp_path / "apt" / "sources.list").read_text().splitlines()
    assert sources == [
        "deb [arch=arm64 signed-by=/usr/share/keyrings/k.gpg] http://deb.example/debian bookworm main",
        "deb [arch=riscv64 signed-by=/usr/share/keyrings/k.gpg] http://deb.example/debian trixie main",
    ]
    argv = apt.command("update")
    options = [argv[i + 1] for i, word in enumerate(argv) if word == "-o"]
    for option in options:
        if option.startswith(("Dir::Etc::Source", "Dir::Etc::Preferences", "Dir::State::Lists", "Dir::Cache")):
            assert str(tmp_path) in option, option  # nothing of the system's apt state is read or written
    assert "APT::Architectures::=arm64" in options and "APT::Architectures::=riscv64" in options
    assert argv[-1] == "update"


@pytest.fixture(autouse=True)
def amd64_host(monkeypatch):
    """These tests describe an amd64 host, whatever runs them."""
    monkeypatch.setattr(fb, "host_platform_name", lambda: "linux/amd64")
    monkeypatch.setattr(busybox, "host_platform_name", lambda: "linux/amd64")


def write_fake_binary(path: Path, debian_arch: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes.fromhex(HEADERS[debian_arch]) + b"\0" * 64)


@pytest.mark.parametrize("platform", sorted(DEBIAN_OF))
def test_binary_matches_its_platform_only(tmp_path, platform):
    binary = tmp_path / "busybox"
    write_fake_binary(binary, DEBIAN_OF[platform])
    assert fb.binary_matches(binary, platform)
    others = [p for p in DEBIAN_OF if p != platform]
    assert not any(fb.binary_matches(binary, other) for other in others)


def test_cache_hits_need_no_apt(tmp_path, monkeypatch):
    monkeypatch.setattr(busybox, "CACHE", tmp_path)
    for platform in ("linux/arm64", "linux/s390x"):
        write_fake_binary(busybox.busybox_cache_path(platform), DEBIAN_OF[platform])
    monkeypatch.setattr(fb, "_fetch", lambda *a, **k: pytest.fail("a cached busybox must not be fetched again"))
    result = fb.ensure_foreign_busybox(["linux/arm64", "linux/s390x", "windows/amd64", "linux/arm64"])
    assert list(result) == ["linux/arm64", "linux/s390x", "windows/amd64"]
    assert result["linux/arm64"] == str(tmp_path / "busybox" / "arm64" / "busybox")
    assert result["linux/s390x"].startswith("/")
    assert not result["windows/amd64"].startswith("/")
    # busybox_for finds what the cache holds.
    assert busybox.busybox_for("linux/s390x") == tmp_path / "busybox" / "s390x" / "busybox"


def test_a_wrong_binary_in_the_cache_is_not_trusted(tmp_path, monkeypatch):
    monkeypatch.setattr(busybox, "CACHE", tmp_path)
    write_fake_binary(busybox.busybox_cache_path("linux/arm64"), "s390x")
    asked = []

    def fetch(missing, cache_dir, log):
        asked.append(dict(missing))
        return dict.fromkeys(missing, "offline in this test")

    monkeypatch.setattr(fb, "_fetch", fetch)
    assert fb.ensure_foreign_busybox(["linux/arm64"]) == {"linux/arm64": "offline in this test"}
    assert asked == [{"linux/arm64": "arm64"}]


def test_no_mirror_gives_a_reason_for_each_platform(tmp_path, monkeypatch):
    monkeypatch.setattr(busybox, "CACHE", tmp_path)
    monkeypatch.setattr(fb, "configured_sources", lambda: [])
    monkeypatch.setattr(fb, "host_codename", lambda: "bookworm")
    result = fb.ensure_foreign_busybox(["linux/arm64", "linux/riscv64"])
    assert set(result) == {"linux/arm64", "linux/riscv64"}
    assert all("can't locate a Debian mirror" in reason for reason in result.values())
