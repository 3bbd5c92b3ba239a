"""Which distribution /etc/os-release names, and the package table provisioning uses for it (recorded texts)."""

from __future__ import annotations

import pytest

from ocimatrix import cli
from ocimatrix.system import distro

DEBIAN_12 = """\
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
"""

UBUNTU_24_04 = """\
PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.1 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=noble
LOGO=ubuntu-logo
"""

FEDORA_40 = """\
NAME="Fedora Linux"
VERSION="40 (Container Image)"
ID=fedora
VERSION_ID=40
VERSION_CODENAME=""
PLATFORM_ID="platform:f40"
PRETTY_NAME="Fedora Linux 40 (Container Image)"
"""

UBUNTU_22_04 = UBUNTU_24_04.replace("24.04", "22.04").replace("noble", "jammy").replace("Noble Numbat", "Jammy")

MINT_22 = """\
NAME="Linux Mint"
VERSION="22 (Wilma)"
ID=linuxmint
ID_LIKE="ubuntu debian"
VERSION_ID="22"
VERSION_CODENAME=wilma
UBUNTU_CODENAME=noble
"""

RASPBIAN_12 = """\
PRETTY_NAME="Raspbian GNU/Linux 12 (bookworm)"
VERSION_ID="12"
VERSION_CODENAME=bookworm
ID=raspbian
ID_LIKE=debian
"""


def test_debian_12_is_read_with_its_quoting() -> None:
    release = distro.parse_os_release(DEBIAN_12)
    assert (release.id, release.version_id, release.codename, release.id_like) == ("debian", "12", "bookworm", ())
    assert release.pretty_name == "Debian GNU/Linux 12 (bookworm)"
    assert distro.detect(release) is distro.DEBIAN_12


def test_ubuntu_24_04_has_its_own_table() -> None:
    release = distro.parse_os_release(UBUNTU_24_04)
    assert release.id_like == ("debian",)
    found = distro.detect(release)
    assert found is distro.UBUNTU_24_04
    names = {r.package for r in found.requirements}
    # Every tool the matrix drives has an Ubuntu package name.
    assert {"docker.io", "containerd", "runc", "crun", "podman", "buildah", "skopeo", "umoci"} <= names
    assert {"docker-registry", "busybox-static", "qemu-user-static", "binfmt-support"} <= names


@pytest.mark.parametrize(("text", "expected"), [(MINT_22, distro.UBUNTU_24_04), (RASPBIAN_12, distro.DEBIAN_12)])
def test_derivatives_match_through_id_like(text: str, expected: distro.Distribution) -> None:
    assert distro.detect(distro.parse_os_release(text)) is expected


@pytest.mark.parametrize("text", [FEDORA_40, UBUNTU_22_04, ""])
def test_unsupported_release_is_refused_naming_what_was_read(text: str) -> None:
    release = distro.parse_os_release(text, source="/recorded/os-release")
    with pytest.raises(distro.UnsupportedDistribution) as caught:
        distro.detect(release)
    message = str(caught.value)
    assert "/recorded/os-release" in message
    assert f"ID={release.id or '(none)'}" in message
    assert f"VERSION_CODENAME={release.codename or '(none)'}" in message
    assert "Debian 12 (bookworm)" in message and "Ubuntu 24.04 (noble)" in message


def test_unreadable_os_release_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(distro.UnsupportedDistribution, match="can't read"):
        distro.read_os_release(tmp_path / "absent")


def test_provision_check_on_an_unsupported_host_says_why_without_a_traceback(monkeypatch, capsys) -> None:
    release = distro.parse_os_release(FEDORA_40)
    monkeypatch.setattr(distro, "read_os_release", lambda path=distro.OS_RELEASE: release)
    assert cli.main(["provision", "--check"]) == 1
    err = capsys.readouterr().err
    assert "unsupported distribution" in err and "ID=fedora" in err and "Traceback" not in err


def test_ubuntu_splits_architectures_between_two_archives() -> None:
    ubuntu = distro.UBUNTU_24_04
    assert ubuntu.archive_serves("amd64", "i386")
    assert not ubuntu.archive_serves("amd64", "arm64")
    assert ubuntu.archive_serves("arm64", "s390x")
    assert not ubuntu.archive_serves("arm64", "amd64")
    assert distro.DEBIAN_12.archive_serves("amd64", "riscv64")
