"""Fetch Debian's static busybox for foreign architectures into the harness's cache.

Images for other platforms are built FROM scratch around Debian's ``busybox-static`` of that
architecture, since nothing may be pulled from a public registry. The packages come from the
Debian mirror the host already uses, through an apt configuration of our own (its own source
list, package lists and architectures under the cache directory). The system's apt sources,
preferences, dpkg architectures and package lists are never touched: fetching can't upgrade
or install anything, and can't collide with another ``apt-get`` running on the host.

riscv64 has no bookworm port; its busybox comes from trixie (a static binary, so nothing of
trixie's libc comes along).

Public API: ``ensure_foreign_busybox(platforms, log=print) -> {platform: path or reason}``,
``cached_busybox(platform)``, ``configured_sources()``, ``debian_mirror(sources, codename)``.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from ocimatrix.images.busybox import HOST_BUSYBOX, busybox_cache_path, host_platform_name
from ocimatrix.oci import elf
from ocimatrix.system.apt_sources import (
    APT_ETC,
    OS_RELEASE,
    AptSource,
    configured_sources,
    debian_mirror,
    host_codename,
)
from ocimatrix.tools.generations import DEBIAN_RELEASES
from ocimatrix.tools.platforms import DEBIAN_ARCH, FIRST_DEBIAN_RELEASE

PACKAGE = "busybox-static"
# Where the package puts the binary: /bin before the /usr merge, /usr/bin after (trixie).
BINARY_PATHS = ("bin/busybox", "usr/bin/busybox")
# Debian releases in order, and the first release that has a port (for ports newer than the host's).
RELEASES = tuple(DEBIAN_RELEASES.values())
FIRST_RELEASE = FIRST_DEBIAN_RELEASE
APT_TIMEOUT = 600.0

Log = Callable[[str], None]


def suite_for(debian_arch: str, codename: str) -> str:
    """The host's release, unless the architecture's port only starts in a later one."""
    first = FIRST_RELEASE.get(debian_arch)
    if first is None or codename not in RELEASES:
        return codename
    return first if RELEASES.index(codename) < RELEASES.index(first) else codename


# --- the cache ---------------------------------------------------------------------------------


def goarch_of(platform: str) -> str:
    parts = platform.split("/")
    return parts[1] if len(parts) > 1 else ""


def binary_matches(path: Path, platform: str) -> bool:
    """True if ``path`` is an ELF executable for ``platform``'s architecture."""
    expected = elf.GOARCH_ELF.get(goarch_of(platform))
    try:
        with open(path, "rb") as handle:
            ident = elf.read_ident(handle.read(elf.HEADER_BYTES))
    except OSError:
        return False
    return expected is not None and ident is not None and ident.key() == expected.key()


def cached_busybox(platform: str) -> Path | None:
    path = busybox_cache_path(platform)
    return path if path.is_file() and binary_matches(path, platform) else None


# --- fetching ----------------------------------------------------------------------------------


class _PrivateApt:
    """apt-get with its own sources, lists and architectures under ``root``."""

    def __init__(self, root: Path, entries: dict[str, tuple[AptSource, str]]) -> None:
        self.root = root
        for sub in ("lists/partial", "cache/archives/partial", "preferences.d", "sources.list.d"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        lines = []
        for debian_arch, (source, suite) in sorted(entries.items()):
            options = [f"arch={debian_arch}"] + ([f"signed-by={source.signed_by}"] if source.signed_by else [])
            lines.append(f"deb [{' '.join(options)}] {source.uri} {suite} main")
        (root / "sources.list").write_text("\n".join(lines) + "\n")
        self.options = [
            f"Dir::Etc::SourceList={root / 'sources.list'}",
            f"Dir::Etc::SourceParts={root / 'sources.list.d'}",
            f"Dir::Etc::Preferences={root / 'preferences'}",
            f"Dir::Etc::PreferencesParts={root / 'preferences.d'}",
            f"Dir::State::Lists={root / 'lists'}",
            f"Dir::Cache={root / 'cache'}",
            "Acquire::Languages=none",
            "Acquire::PDiffs=false",
            "APT::Sandbox::User=root",  # the download directory is ours, not _apt's
            *(f"APT::Architectures::={arch}" for arch in sorted(entries)),
        ]

    def command(self, *args: str) -> list[str]:
        argv = ["apt-get", "-q"]
        for option in self.options:
            argv += ["-o", option]
        return [*argv, *args]

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        return subprocess.run(
            self.command(*args), cwd=cwd, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT
        )


def _tail(proc: subprocess.CompletedProcess) -> str:
    text = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
    return " / ".join(text[-3:]) if text else f"exit {proc.returncode}"


def _unpack(deb: Path, into: Path) -> Path | None:
    subprocess.run(["dpkg-deb", "-x", str(deb), str(into)], check=True, capture_output=True, timeout=120)
    return next((into / rel for rel in BINARY_PATHS if (into / rel).is_file()), None)


def _install_into_cache(binary: Path, platform: str, provenance: dict) -> Path:
    dest = busybox_cache_path(platform)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.with_name(f".busybox.{os.getpid()}")
    shutil.copy2(binary, staging)
    staging.chmod(0o755)
    os.replace(staging, dest)  # readers never see a half-copied binary
    (dest.parent / "source.json").write_text(json.dumps(provenance, indent=1) + "\n")
    return dest


def ensure_foreign_busybox(
    platforms: Iterable[str], log: Log = print, mirrors: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Make a static busybox available for each platform; idempotent, safe to run concurrently.

    ``mirrors`` maps a Debian architecture to the mirror URI to fetch it from instead of the host's
    own (Ubuntu's primary archive and ports archive each carry only some architectures).
    Returns platform -> the binary's absolute path, or a reason (never starting with "/") why
    there is none, which the platform's cells show as their skip reason.
    """
    wanted = list(dict.fromkeys(platforms))
    results: dict[str, str] = {}
    missing: dict[str, str] = {}  # platform -> Debian architecture
    native = host_platform_name()
    for platform in wanted:
        if platform == native:
            results[platform] = (
                str(HOST_BUSYBOX) if HOST_BUSYBOX.exists() else ("no /bin/busybox on the host: install busybox-static")
            )
        elif platform not in DEBIAN_ARCH or goarch_of(platform) not in elf.GOARCH_ELF:
            results[platform] = f"Debian has no busybox-static for {platform}"
        elif cached := cached_busybox(platform):
            results[platform] = str(cached)
        else:
            missing[platform] = DEBIAN_ARCH[platform]
    if not missing:
        return results
    cache_dir = busybox_cache_path(next(iter(missing))).parent.parent
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be fetching the same packages
        still_missing = {p: a for p, a in missing.items() if not cached_busybox(p)}
        for platform in missing.keys() - still_missing.keys():
            results[platform] = str(cached_busybox(platform))
        if still_missing:
            # Only asked for when given: the host's own mirror is the usual case.
            extra = {"mirrors": dict(mirrors)} if mirrors else {}
            results.update(_fetch(still_missing, cache_dir, log, **extra))
    return {p: results[p] for p in wanted}


def _fetch(missing: dict[str, str], cache_dir: Path, log: Log, mirrors: dict[str, str] | None = None) -> dict[str, str]:
    mirrors = mirrors or {}
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        return dict.fromkeys(missing, "apt-get/dpkg-deb not found: foreign busybox comes from Debian packages")
    codename = host_codename()
    if not codename:
        return dict.fromkeys(missing, f"no VERSION_CODENAME in {OS_RELEASE}: not a Debian host?")
    mirror = debian_mirror(configured_sources(), codename)
    if mirror is None and not set(missing.values()) <= mirrors.keys():
        reason = f"no apt source for '{codename} main' in {APT_ETC}/sources.list(.d): can't locate a Debian mirror"
        return dict.fromkeys(missing, reason)
    signed_by = mirror.signed_by if mirror else ""  # a mirror of the same archive is signed by the same key
    entries = {
        arch: (
            AptSource(mirrors[arch], (codename,), ("main",), signed_by) if arch in mirrors else mirror,
            suite_for(arch, codename),
        )
        for arch in missing.values()
    }
    with tempfile.TemporaryDirectory(prefix="apt-", dir=cache_dir) as tmp:
        apt = _PrivateApt(Path(tmp) / "apt", entries)
        by_uri = sorted({source.uri for source, _suite in entries.values()})
        log(f"fetching busybox-static for {', '.join(sorted(entries))} from {', '.join(by_uri)}")
        update = apt.run("update")
        if update.returncode != 0:
            return dict.fromkeys(missing, f"apt-get update (private lists) failed: {_tail(update)}")
        download_dir = Path(tmp) / "debs"
        download_dir.mkdir()
        # One download for all: each apt-get run re-reads every package list, seconds per call.
        packages = [f"{PACKAGE}:{arch}" for arch in sorted(entries)]
        together = apt.run("download", *packages, cwd=download_dir)
        results = {}
        for platform, arch in missing.items():
            deb = next(iter(sorted(download_dir.glob(f"{PACKAGE}_*_{arch}.deb"))), None)
            if deb is None and together.returncode != 0:
                # Ask again alone, for this package's own error rather than the first one's.
                alone = apt.run("download", f"{PACKAGE}:{arch}", cwd=download_dir)
                deb = next(iter(sorted(download_dir.glob(f"{PACKAGE}_*_{arch}.deb"))), None)
                if deb is None:
                    results[platform] = f"apt-get download {PACKAGE}:{arch} ({entries[arch][1]}) failed: {_tail(alone)}"
                    continue
            if deb is None:
                results[platform] = f"apt-get download {PACKAGE}:{arch} left no .deb in {download_dir}"
                continue
            results[platform] = _unpack_into_cache(deb, platform, entries[arch], Path(tmp) / f"root-{arch}", log)
        return results


def _unpack_into_cache(deb: Path, platform: str, entry: tuple[AptSource, str], scratch: Path, log: Log) -> str:
    try:
        binary = _unpack(deb, scratch)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        return f"dpkg-deb -x {deb.name} failed: {exc}"
    if binary is None:
        return f"{deb.name} has no {' or '.join(BINARY_PATHS)}"
    if not binary_matches(binary, platform):
        return f"{deb.name}'s busybox is not an ELF executable for {platform}"
    provenance = {
        "package": deb.name.split("_")[0],
        "deb": deb.name,
        "suite": entry[1],
        "mirror": entry[0].uri,
    }
    path = _install_into_cache(binary, platform, provenance)
    log(f"busybox for {platform}: {path} (from {deb.name}, {entry[1]})")
    return str(path)
