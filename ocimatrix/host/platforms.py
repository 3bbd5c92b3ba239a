"""Which platforms this host's kernel can run containers for, and how.

A platform runs *natively* (the host's architecture), in *compat* mode (the 32-bit sibling of a
64-bit host, when the kernel was built with that support), or *emulated*: a binfmt_misc handler
hands the binary to a QEMU user-mode emulator. In a container only a handler registered with the
F (fix-binary) flag works: the kernel opened the interpreter at registration, so it need not exist
inside the container's root filesystem.

Each handler is matched to an architecture by the ELF header its magic describes (class,
byte order and e_machine), not by its name.

Public API: ``detect(platform) -> PlatformSupport``, ``detect_all(platforms)``,
``read_handlers(binfmt_dir)``, ``parse_handler(name, text)``, ``can_execute(binary)``,
``ensure_handlers(platforms, log)`` (provisioning).
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ocimatrix.oci import elf
from ocimatrix.tools.platforms import MACHINES, QEMU_HANDLERS, host_goarch

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
NOT_HANDLERS = {"register", "status"}
KERNEL_CONFIGS = (Path("/proc/config.gz"),)

# A 64-bit kernel runs its 32-bit sibling's binaries itself when built with this option.
COMPAT = {"amd64": ("386", "CONFIG_IA32_EMULATION"), "arm64": ("arm", "CONFIG_COMPAT")}

NATIVE, COMPAT_MODE, EMULATED, UNSUPPORTED = "native", "compat", "emulated", "unsupported"

# Where binfmt-support keeps the definitions packages ship (qemu-user-static's), by GOARCH.
BINFMTS_DEFINITIONS = Path("/usr/share/binfmts")

Log = Callable[[str], None]


@dataclass(frozen=True)
class BinfmtHandler:
    """One entry of /proc/sys/fs/binfmt_misc, as the kernel prints it."""

    name: str
    enabled: bool
    interpreter: str
    flags: str
    offset: int = 0
    magic: bytes = b""
    mask: bytes = b""
    extension: str = ""

    @property
    def fix_binary(self) -> bool:
        return "F" in self.flags

    def elf_ident(self) -> elf.ElfIdent | None:
        """The ELF header this handler claims, when it matches on an ELF magic at offset 0."""
        if self.extension or self.offset != 0:
            return None
        return elf.read_ident(self.magic)

    def goarch(self) -> str | None:
        ident = self.elf_ident()
        return elf.goarch_for(ident) if ident else None


def parse_handler(name: str, text: str) -> BinfmtHandler:
    """Parse the kernel's text for one handler (``enabled``, ``interpreter X``, ``flags: PF`` ...)."""
    fields: dict[str, str] = {}
    enabled = False
    for line in text.splitlines():
        line = line.strip()
        if line in ("enabled", "disabled"):
            enabled = line == "enabled"
            continue
        key, _, value = line.partition(" ")
        fields[key.rstrip(":")] = value.strip()
    return BinfmtHandler(
        name=name,
        enabled=enabled,
        interpreter=fields.get("interpreter", ""),
        flags=fields.get("flags", ""),
        offset=int(fields.get("offset", "0") or 0),
        magic=_hex(fields.get("magic", "")),
        mask=_hex(fields.get("mask", "")),
        extension=fields.get("extension", ""),
    )


def _hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""


def binfmt_state(binfmt_dir: Path = BINFMT_DIR) -> str:
    """'enabled', 'disabled', or 'not mounted'."""
    status = binfmt_dir / "status"
    try:
        return status.read_text().strip() or "enabled"
    except OSError:
        return "not mounted"


def read_handlers(binfmt_dir: Path = BINFMT_DIR) -> list[BinfmtHandler]:
    handlers = []
    try:
        entries = sorted(binfmt_dir.iterdir())
    except OSError:
        return []
    for path in entries:
        if path.name in NOT_HANDLERS:
            continue
        try:
            handlers.append(parse_handler(path.name, path.read_text()))
        except OSError:
            continue  # removed while we listed it
    return handlers


def read_kernel_config(paths: Iterable[Path] = KERNEL_CONFIGS) -> dict[str, str] | None:
    """CONFIG_X -> value from /proc/config.gz or /boot/config-<release>; None if neither is readable."""
    candidates = [*paths, Path(f"/boot/config-{os.uname().release}")]
    for path in candidates:
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        text = gzip.decompress(raw).decode(errors="replace") if path.suffix == ".gz" else raw.decode(errors="replace")
        config = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and key.startswith("CONFIG_"):
                config[key] = value
        return config
    return None


@dataclass(frozen=True)
class PlatformSupport:
    platform: str
    mode: str  # native | compat | emulated | unsupported
    detail: str  # how it runs, or why it can't (a skip reason)
    handler: str = ""
    interpreter: str = ""

    @property
    def runnable(self) -> bool:
        return self.mode != UNSUPPORTED

    @property
    def emulated(self) -> bool:
        return self.mode == EMULATED

    def evidence(self) -> dict[str, object]:
        data: dict[str, object] = {"platform": self.platform, "mode": self.mode, "emulated": self.emulated}
        if self.handler:
            data.update(binfmt_handler=self.handler, interpreter=self.interpreter)
        if not self.runnable:
            data["reason"] = self.detail
        return data


def detect(
    platform: str,
    *,
    handlers: list[BinfmtHandler] | None = None,
    binfmt: str | None = None,
    machine: str | None = None,
    kernel_config: Mapping[str, str] | None = None,
) -> PlatformSupport:
    """How (or whether) this kernel runs ``platform``'s binaries. Arguments default to the live host."""
    parts = platform.split("/")
    if len(parts) not in (2, 3):
        return PlatformSupport(platform, UNSUPPORTED, f"{platform!r} is not os/arch[/variant]")
    os_name, arch = parts[0], parts[1]
    host = host_goarch(machine)
    if os_name != "linux":
        return PlatformSupport(platform, UNSUPPORTED, f"{os_name} binaries don't run on a Linux kernel")
    if arch == host:
        return PlatformSupport(platform, NATIVE, f"the host is {host}")

    binfmt = binfmt if binfmt is not None else binfmt_state()
    handlers = read_handlers() if handlers is None else handlers
    found = _handler_for(arch, handlers) if binfmt == "enabled" else None
    if found is not None and found.enabled and found.fix_binary:
        return PlatformSupport(
            platform,
            EMULATED,
            f"binfmt_misc handler {found.name} -> {found.interpreter} (flags {found.flags})",
            handler=found.name,
            interpreter=found.interpreter,
        )
    compat = _compat(arch, host, machine, kernel_config)
    if compat is not None:
        return compat
    return PlatformSupport(platform, UNSUPPORTED, _why_not(arch, binfmt, found), handler=found.name if found else "")


def _handler_for(arch: str, handlers: list[BinfmtHandler]) -> BinfmtHandler | None:
    """The handler for ``arch``'s ELF binaries, preferring one that works in containers."""
    matching = [h for h in handlers if h.goarch() == arch]
    matching.sort(key=lambda h: (not (h.enabled and h.fix_binary), not h.enabled, h.name))
    return matching[0] if matching else None


def _compat(arch: str, host: str, machine: str | None, kernel_config: Mapping[str, str] | None):
    sibling, option = COMPAT.get(host, ("", ""))
    if arch != sibling:
        return None
    config = kernel_config if kernel_config is not None else (read_kernel_config() if machine is None else None)
    platform = f"linux/{arch}"
    if config is None:
        return PlatformSupport(
            platform, COMPAT_MODE, f"a {host} kernel usually runs {arch} binaries ({option} unknown)"
        )
    if config.get(option) == "y":
        return PlatformSupport(platform, COMPAT_MODE, f"the {host} kernel runs {arch} binaries itself ({option}=y)")
    return None


def _why_not(arch: str, binfmt: str, found: BinfmtHandler | None) -> str:
    if binfmt == "not mounted":
        return f"binfmt_misc is not mounted: nothing can run {arch} binaries (ocimatrix provision mounts it)"
    if binfmt == "disabled":
        return "binfmt_misc is disabled (/proc/sys/fs/binfmt_misc/status); ocimatrix provision enables it"
    if found is None:
        return (
            f"no binfmt_misc handler for {arch} ELF binaries: install qemu-user-static and binfmt-support "
            "(ocimatrix provision)"
        )
    if not found.enabled:
        return f"binfmt_misc handler {found.name} is disabled (update-binfmts --enable {found.name})"
    return (
        f"binfmt_misc handler {found.name} lacks the F (fix-binary) flag (flags: {found.flags or 'none'}): "
        f"containers can't reach {found.interpreter} inside their root filesystem"
    )


def detect_all(platforms: Iterable[str]) -> dict[str, PlatformSupport]:
    handlers, binfmt, config = read_handlers(), binfmt_state(), read_kernel_config()
    return {p: detect(p, handlers=handlers, binfmt=binfmt, kernel_config=config) for p in dict.fromkeys(platforms)}


def can_execute(binary: Path, timeout: float = 60.0) -> str | None:
    """Run ``binary true`` on the host (a static busybox): None if the kernel ran it, else why not."""
    try:
        proc = subprocess.run([str(binary), "true"], capture_output=True, text=True, timeout=timeout)
    except OSError as exc:
        return f"the kernel refused to execute {binary}: {exc.strerror}"
    except subprocess.TimeoutExpired:
        return f"{binary} true did not finish in {timeout:.0f}s"
    if proc.returncode != 0:
        return f"{binary} true exited {proc.returncode}: {proc.stderr.strip()[-300:]}"
    return None


# --- provisioning ------------------------------------------------------------------------------


def registration_line(handler: BinfmtHandler, flags: str) -> str:
    """The ``:name:M:offset:magic:mask:interpreter:flags`` string the register file takes."""

    def escaped(data: bytes) -> str:
        return "".join(f"\\x{b:02x}" for b in data)

    return (
        f":{handler.name}:M:{handler.offset or ''}:{escaped(handler.magic)}:{escaped(handler.mask)}:"
        f"{handler.interpreter}:{flags}"
    )


def ensure_handlers(platforms: Iterable[str], log: Log = print, binfmt_dir: Path = BINFMT_DIR) -> dict[str, str]:
    """Make each platform's QEMU handler usable in containers (enabled, with the F flag).

    Runs after ``ocimatrix.host.fixes.fix_binfmt`` (which mounts binfmt_misc and enables Debian's
    handlers). Returns platform -> how it runs now, or why it still can't.
    """
    outcome = {}
    for platform in dict.fromkeys(platforms):
        support = detect(platform)
        arch = platform.split("/")[1] if "/" in platform else ""
        found = _handler_for(arch, read_handlers(binfmt_dir)) if not support.runnable else None
        name = QEMU_HANDLERS.get(arch, "")
        importable = name and (BINFMTS_DEFINITIONS / name).is_file() and shutil.which("update-binfmts")
        if not support.runnable and found is None and importable:
            # qemu-user-static is installed but its handler was never imported into the kernel.
            result = subprocess.run(["update-binfmts", "--import", name], capture_output=True, text=True)
            log(f"update-binfmts --import {name}: exit {result.returncode} {result.stderr.strip()}")
            found = _handler_for(arch, read_handlers(binfmt_dir))
        if found is not None and not found.enabled and shutil.which("update-binfmts"):
            result = subprocess.run(["update-binfmts", "--enable", found.name], capture_output=True, text=True)
            log(f"update-binfmts --enable {found.name}: exit {result.returncode} {result.stderr.strip()}")
            found = _handler_for(arch, read_handlers(binfmt_dir))
        if found is not None and found.enabled and not found.fix_binary:
            _reregister_fix_binary(found, binfmt_dir, log)
        support = detect(platform)
        outcome[platform] = f"{support.mode}: {support.detail}"
    return outcome


def _reregister_fix_binary(handler: BinfmtHandler, binfmt_dir: Path, log: Log) -> None:
    """Register the handler again with F added: the kernel can't change a live handler's flags."""
    if not Path(handler.interpreter).exists():
        log(f"not re-registering {handler.name}: {handler.interpreter} does not exist")
        return
    line = registration_line(handler, "".join(sorted(set(handler.flags + "F"))))
    try:
        (binfmt_dir / handler.name).write_text("-1")
        (binfmt_dir / "register").write_text(line)
        log(f"re-registered binfmt_misc handler {handler.name} with flags F (containers need it)")
    except OSError as exc:
        log(f"re-registering {handler.name} with the F flag failed: {exc.strerror}")


# --- what a container of a platform should look like -------------------------------------------


def expected_machines(platform: str, mode: str, machine: str | None = None) -> set[str]:
    """The ``uname -m`` values a container of ``platform`` may report on this host.

    In compat mode the kernel reports its own machine unless the runtime switched the process's
    personality (runtime-spec ``linux.personality``, LINUX32), which engines don't do by default.
    """
    expected = set(MACHINES.get(platform, ()))
    if mode == COMPAT_MODE:
        expected.add(machine or os.uname().machine)
    return expected


def platform_matches_request(requested: str, platform: Mapping[str, str] | None) -> bool:
    """Does a platform object (index entry or config) satisfy ``os/arch[/variant]`` exactly?

    arm64's only variant is v8, so "linux/arm64" and "linux/arm64/v8" name the same thing.
    """
    if not platform:
        return False
    parts = requested.split("/")
    os_name, arch = parts[0], parts[1] if len(parts) > 1 else ""
    variant = parts[2] if len(parts) > 2 else ""
    if platform.get("os") != os_name or platform.get("architecture") != arch:
        return False
    got = platform.get("variant") or ""
    if arch == "arm64":
        return got in ("", "v8") and variant in ("", "v8")
    return got == variant
