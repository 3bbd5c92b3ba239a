"""Platform detection from recorded /proc/sys/fs/binfmt_misc files, and what a platform's container reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocimatrix.host import platforms
from ocimatrix.host.platforms import (
    COMPAT_MODE,
    EMULATED,
    NATIVE,
    UNSUPPORTED,
    BinfmtHandler,
    detect,
    expected_machines,
    parse_handler,
    platform_matches_request,
    read_handlers,
    registration_line,
)

BINFMT = Path(__file__).parent / "data" / "platforms" / "binfmt-debian12"
AMD64_KERNEL = {"CONFIG_IA32_EMULATION": "y", "CONFIG_BINFMT_MISC": "y"}


@pytest.fixture(scope="module")
def handlers() -> list[BinfmtHandler]:
    return read_handlers(BINFMT)


def on_amd64(platform: str, handlers, **kwargs):
    options = {"handlers": handlers, "binfmt": "enabled", "machine": "x86_64", "kernel_config": AMD64_KERNEL}
    return detect(platform, **{**options, **kwargs})


def test_parse_recorded_qemu_handler():
    handler = parse_handler("qemu-aarch64", (BINFMT / "qemu-aarch64").read_text())
    assert handler.enabled
    assert handler.interpreter == "/usr/libexec/qemu-binfmt/aarch64-binfmt-P"
    assert handler.flags == "PF" and handler.fix_binary
    assert handler.offset == 0
    assert handler.magic[:4] == b"\x7fELF" and len(handler.magic) == 20
    assert handler.goarch() == "arm64"


def test_handlers_map_to_architectures_by_their_elf_magic(handlers):
    by_name = {h.name: h.goarch() for h in handlers}
    assert by_name["qemu-aarch64"] == "arm64"
    assert by_name["qemu-arm"] == "arm"
    assert by_name["qemu-s390x"] == "s390x"  # big-endian e_machine 22
    assert by_name["qemu-ppc64le"] == "ppc64le"
    assert by_name["qemu-riscv64"] == "riscv64"
    assert by_name["qemu-mips64el"] == "mips64le"
    # Non-ELF handlers (a Python bytecode magic, a zip magic) claim no architecture.
    assert by_name["python3.11"] is None
    assert by_name["jar"] is None
    assert "status" not in by_name


def test_native_compat_and_emulated(handlers):
    assert on_amd64("linux/amd64", handlers).mode == NATIVE
    compat = on_amd64("linux/386", handlers)
    assert compat.mode == COMPAT_MODE and "CONFIG_IA32_EMULATION" in compat.detail
    arm = on_amd64("linux/arm/v7", handlers)
    assert arm.mode == EMULATED and arm.emulated and arm.handler == "qemu-arm"
    assert arm.interpreter.endswith("arm-binfmt-P")
    for platform in ("linux/arm64", "linux/s390x", "linux/ppc64le", "linux/riscv64", "linux/mips64le"):
        assert on_amd64(platform, handlers).mode == EMULATED, platform


def test_same_handler_name_sorting_prefers_usable(handlers):
    # qemu-mipsel and qemu-mipsn32el both claim 32-bit little-endian MIPS ELF files.
    assert on_amd64("linux/mipsle", handlers).handler == "qemu-mipsel"


def test_386_without_ia32_emulation_is_unsupported(handlers):
    support = on_amd64("linux/386", handlers, kernel_config={"CONFIG_IA32_EMULATION": "n"})
    assert support.mode == UNSUPPORTED
    assert "no binfmt_misc handler for 386" in support.detail


def test_missing_handler_is_a_skip_reason():
    support = on_amd64("linux/arm64", [])
    assert not support.runnable
    assert "qemu-user-static" in support.detail and "ocimatrix provision" in support.detail


def test_handler_without_fix_binary_flag_is_unusable_in_containers():
    text = (BINFMT / "qemu-aarch64").read_text().replace("flags: PF", "flags: P")
    support = on_amd64("linux/arm64", [parse_handler("qemu-aarch64", text)])
    assert support.mode == UNSUPPORTED
    assert "lacks the F (fix-binary) flag" in support.detail
    assert support.handler == "qemu-aarch64"


def test_disabled_handler_and_disabled_or_unmounted_binfmt(handlers):
    text = (BINFMT / "qemu-s390x").read_text().replace("enabled", "disabled", 1)
    support = on_amd64("linux/s390x", [parse_handler("qemu-s390x", text)])
    assert "is disabled (update-binfmts --enable qemu-s390x)" in support.detail
    assert "not mounted" in on_amd64("linux/s390x", handlers, binfmt="not mounted").detail
    assert "binfmt_misc is disabled" in on_amd64("linux/s390x", handlers, binfmt="disabled").detail


def test_non_linux_and_malformed_platforms(handlers):
    assert "don't run on a Linux kernel" in on_amd64("windows/amd64", handlers).detail
    assert on_amd64("linux", handlers).mode == UNSUPPORTED


def test_arm64_host_runs_arm_in_compat_only_with_config_compat():
    arm64 = {"handlers": [], "binfmt": "enabled", "machine": "aarch64"}
    assert detect("linux/arm64", **arm64).mode == NATIVE
    assert detect("linux/arm/v7", **arm64, kernel_config={"CONFIG_COMPAT": "y"}).mode == COMPAT_MODE
    assert detect("linux/arm/v7", **arm64, kernel_config={}).mode == UNSUPPORTED


def test_evidence_of_a_platform(handlers):
    evidence = on_amd64("linux/s390x", handlers).evidence()
    assert evidence == {
        "platform": "linux/s390x",
        "mode": EMULATED,
        "emulated": True,
        "binfmt_handler": "qemu-s390x",
        "interpreter": "/usr/libexec/qemu-binfmt/s390x-binfmt-P",
    }
    assert "reason" in on_amd64("linux/arm64", []).evidence()


def test_registration_line_round_trips_the_recorded_handler():
    handler = parse_handler("qemu-s390x", (BINFMT / "qemu-s390x").read_text())
    line = registration_line(handler, "PF")
    name, kind, offset, magic, mask, interpreter, flags = line.split(":")[1:]
    assert (name, kind, offset, interpreter, flags) == ("qemu-s390x", "M", "", handler.interpreter, "PF")
    assert bytes.fromhex(magic.replace("\\x", "")) == handler.magic
    assert bytes.fromhex(mask.replace("\\x", "")) == handler.mask


def test_expected_machines():
    assert expected_machines("linux/arm/v7", EMULATED) == {"armv7l"}
    assert expected_machines("linux/s390x", EMULATED) == {"s390x"}
    # A 32-bit process on a 64-bit kernel sees the kernel's machine unless its personality is LINUX32.
    assert "x86_64" in expected_machines("linux/386", COMPAT_MODE, machine="x86_64")
    assert "x86_64" not in expected_machines("linux/386", EMULATED)


@pytest.mark.parametrize(
    ("requested", "platform", "matches"),
    [
        ("linux/amd64", {"os": "linux", "architecture": "amd64"}, True),
        ("linux/arm/v7", {"os": "linux", "architecture": "arm", "variant": "v7"}, True),
        ("linux/arm/v7", {"os": "linux", "architecture": "arm"}, False),
        ("linux/arm/v7", {"os": "linux", "architecture": "arm", "variant": "v6"}, False),
        ("linux/arm64", {"os": "linux", "architecture": "arm64", "variant": "v8"}, True),
        ("linux/arm64/v8", {"os": "linux", "architecture": "arm64"}, True),
        ("linux/amd64", {"os": "windows", "architecture": "amd64"}, False),
        ("linux/amd64", None, False),
    ],
)
def test_platform_matches_request(requested, platform, matches):
    assert platform_matches_request(requested, platform) is matches


def test_live_host_detection_never_raises():
    # Whatever this machine has, detection answers with a mode and a sentence.
    for platform, support in platforms.detect_all(["linux/amd64", "linux/arm64", "linux/riscv64"]).items():
        assert support.platform == platform and support.mode in (NATIVE, COMPAT_MODE, EMULATED, UNSUPPORTED)
        assert support.detail
