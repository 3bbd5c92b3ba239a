"""Where foreign busybox comes from on each distribution, and why a platform has none (pure logic)."""

from __future__ import annotations

from ocimatrix.host.provision import plan_foreign_busybox
from ocimatrix.system import distro

FOREIGN_OF_X86 = ["linux/386", "linux/arm64", "linux/arm/v7", "linux/s390x", "linux/ppc64le", "linux/riscv64"]


def test_debian_mirrors_carry_every_architecture() -> None:
    assert plan_foreign_busybox(distro.DEBIAN_12, "linux/amd64", FOREIGN_OF_X86) == ({}, {})


def test_ubuntu_x86_without_a_ports_mirror_skips_with_the_variable_to_set() -> None:
    mirrors, reasons = plan_foreign_busybox(distro.UBUNTU_24_04, "linux/amd64", FOREIGN_OF_X86)
    assert mirrors == {}
    assert set(reasons) == set(FOREIGN_OF_X86) - {"linux/386"}  # i386 lives in the primary archive
    assert all(distro.FOREIGN_MIRROR_ENV in reason for reason in reasons.values())
    assert "arm64" in reasons["linux/arm64"] and not reasons["linux/arm64"].startswith("/")


def test_ubuntu_x86_with_a_ports_mirror_fetches_from_it() -> None:
    mirror = "http://mirror.example/ubuntu-ports"
    mirrors, reasons = plan_foreign_busybox(distro.UBUNTU_24_04, "linux/amd64", FOREIGN_OF_X86, mirror)
    assert reasons == {}
    assert mirrors == dict.fromkeys(["arm64", "armhf", "s390x", "ppc64el", "riscv64"], mirror)


def test_ubuntu_arm64_needs_the_primary_archive_for_x86() -> None:
    foreign = ["linux/amd64", "linux/386", "linux/arm/v7", "linux/riscv64"]
    mirrors, reasons = plan_foreign_busybox(distro.UBUNTU_24_04, "linux/arm64", foreign)
    assert set(reasons) == {"linux/amd64", "linux/386"}
    mirrors, reasons = plan_foreign_busybox(distro.UBUNTU_24_04, "linux/arm64", foreign, "http://mirror.example/ubuntu")
    assert mirrors == {"amd64": "http://mirror.example/ubuntu", "i386": "http://mirror.example/ubuntu"}


def test_a_reason_reaches_the_cells_and_a_binary_clears_it(tmp_path, monkeypatch) -> None:
    import pytest

    from ocimatrix.errors import OcimatrixError
    from ocimatrix.host import provision
    from ocimatrix.images import busybox

    monkeypatch.setattr(busybox, "CACHE", tmp_path)
    reason = f"no mirror carries arm64: set {distro.FOREIGN_MIRROR_ENV}"
    provision._record_busybox({"linux/arm64": reason})
    with pytest.raises(OcimatrixError, match="no mirror carries arm64"):
        busybox.busybox_for("linux/arm64")
    binary = busybox.busybox_cache_path("linux/arm64")
    binary.write_bytes(b"\x7fELF")
    provision._record_busybox({"linux/arm64": str(binary)})
    assert not (binary.parent / busybox.UNAVAILABLE_NOTE).exists()
    assert busybox.busybox_for("linux/arm64") == binary
