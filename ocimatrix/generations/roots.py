"""Prepare, cache and refresh the root of a tool generation (trixie, sid) beside the host's own tools.

A root is ``debootstrap --variant=minbase`` of the suite from the Debian mirror the host's apt
sources already name, with the engines installed into it by its own apt. It lives under
``$OCIMATRIX_CACHE/roots/<generation>/rootfs`` (``/var/cache/ocimatrix`` by default, the cache the
foreign busybox uses), beside its ``versions.json``. Nothing is ever installed into the host system:
every apt and dpkg command runs chrooted in the root, inside a private mount namespace whose mounts
(``/proc``, ``/dev``) die with it and never show on the host.

A later ``prepare`` asks the suite for its candidate versions (``apt-get update`` answers from its
If-Modified-Since cache when nothing moved) and upgrades the root only when one changed; within
``recheck_after`` seconds of the last check it asks nothing at all.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ocimatrix.errors import OcimatrixError
from ocimatrix.generations.manifest import (
    Manifest,
    RefreshPlan,
    parse_apt_policy,
    parse_dpkg_query,
    read_manifest,
    recheck_due,
    refresh_plan,
    write_manifest,
)
from ocimatrix.system.apt_sources import AptSource, configured_sources, debian_mirror, host_codename
from ocimatrix.system.distro import UnsupportedDistribution, read_os_release
from ocimatrix.system.packages import Heartbeat
from ocimatrix.system.process import mounts_under
from ocimatrix.tools.catalog import root_packages
from ocimatrix.tools.generations import Generation, generation

Log = Callable[[str], None]
DEFAULT_CACHE = Path("/var/cache/ocimatrix")
MIRROR_ENV = "OCIMATRIX_GENERATION_MIRROR"  # a Debian mirror to build roots from instead of the host's
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")  # package debian-archive-keyring
RECHECK_AFTER_S = 3600.0
BOOTSTRAP_TIMEOUT_S = 1800.0
APT_TIMEOUT_S = 1800.0
# Lines of apt and debootstrap output that say nothing a person watching needs (hundreds per root).
_EXPIRED_RELEASE = re.compile(r"Release file for \S+ is expired")
_NOISE = ("Selecting previously unselected", "Preparing to unpack", "(Reading database", "Processing triggers")

# Mounts a chrooted apt needs, made inside a private mount namespace so they vanish with it.
_CHROOT_SCRIPT = """set -e
root=$1; shift
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
exec chroot "$root" "$@"
"""
POLICY_RC_D = (
    "#!/bin/sh\n# ocimatrix: packages in this root never start services; the harness starts its own.\nexit 101\n"
)


class GenerationUnavailable(OcimatrixError):
    """A generation's root can't be prepared on this host (no mirror, no debootstrap, a failed build)."""


def cache_root() -> Path:
    return Path(os.environ.get("OCIMATRIX_CACHE") or DEFAULT_CACHE)


@dataclass(frozen=True)
class RootLayout:
    """Where a generation's root and its manifest live in the cache."""

    generation: str
    base: Path

    @classmethod
    def of(cls, name: str, cache: Path | None = None) -> RootLayout:
        return cls(name, (cache or cache_root()) / "roots")

    @property
    def dir(self) -> Path:
        return self.base / self.generation

    @property
    def rootfs(self) -> Path:
        return self.dir / "rootfs"

    @property
    def manifest(self) -> Path:
        return self.dir / "versions.json"

    @property
    def building(self) -> Path:
        return self.base / f".{self.generation}.building"

    @property
    def lock(self) -> Path:
        return self.base / f".{self.generation}.lock"

    def is_prepared(self) -> bool:
        return (self.rootfs / "usr").is_dir() and read_manifest(self.manifest) is not None


@dataclass(frozen=True)
class PreparedRoot:
    generation: str
    rootfs: Path
    manifest: Manifest
    plan: RefreshPlan
    seconds: float


def _all_packages(generation: str) -> tuple[str, ...]:
    """What ``generation``'s root holds: the required packages, then the optional ones."""
    return (*root_packages(generation=generation), *root_packages(optional=True, generation=generation))


# --- the commands ------------------------------------------------------------------------------


def choose_mirror(
    sources: list[AptSource], codename: str, override: str = "", host_is_debian: bool = True
) -> AptSource:
    """The Debian archive to build roots from: ``override`` if set, else the host's source for its
    own release. A host of another distribution (an Ubuntu runner) names no Debian archive in its
    sources, so there the override is required; its keyring is Debian's archive keyring."""
    host = debian_mirror(sources, codename) if host_is_debian else None
    if override:
        keyring = host.signed_by if host else (str(DEBIAN_KEYRING) if DEBIAN_KEYRING.exists() else "")
        return AptSource(override.rstrip("/"), ("",), ("main",), keyring)
    if not host_is_debian:
        raise GenerationUnavailable(
            f"generation roots are built from a Debian mirror, and this host is not Debian: set {MIRROR_ENV} "
            "to one (the nightly workflow passes the repository variable OCIMATRIX_DEBIAN_MIRROR)"
        )
    if host is None:
        raise GenerationUnavailable(
            f"no apt source for '{codename} main' in /etc/apt/sources.list(.d): can't locate a Debian mirror "
            f"to build generation roots from (set {MIRROR_ENV} to one)"
        )
    return host


def _host_is_debian() -> bool:
    try:
        return read_os_release().id == "debian"
    except UnsupportedDistribution:
        return True  # unreadable: the host's own sources decide, as before


def debootstrap_command(suite: str, target: Path, mirror: AptSource) -> list[str]:
    # Its own mount namespace: debootstrap mounts /proc in the target, which must never show on the host.
    argv = ["unshare", "--mount", "--propagation", "private", "debootstrap", "--variant=minbase"]
    if mirror.signed_by:
        argv.append(f"--keyring={mirror.signed_by}")
    return [*argv, suite, str(target), mirror.uri]


def chroot_command(rootfs: Path, argv: list[str]) -> list[str]:
    """``argv`` run chrooted in ``rootfs`` with /proc and /dev, in a mount namespace of its own."""
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _CHROOT_SCRIPT, "sh", str(rootfs), *argv]


def install_argv(packages: tuple[str, ...] | list[str]) -> list[str]:
    return ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]


def query_argv(packages: tuple[str, ...]) -> list[str]:
    return ["dpkg-query", "-W", "-f", "${Package}\\t${Version}\\t${db:Status-Abbrev}\\n", *packages]


def policy_argv(packages: tuple[str, ...]) -> list[str]:
    return ["apt-cache", "policy", *packages]


# --- running them ------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    # The host's proxy settings carry over; the chroot's own PATH and a quiet debconf.
    return dict(
        os.environ,
        DEBIAN_FRONTEND="noninteractive",
        PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        LC_ALL="C",
    )


def run_streamed(argv: list[str], log: Log, what: str, timeout: float) -> tuple[int, list[str]]:
    """Run ``argv``, passing its output to ``log`` line by line (less apt's noise), with a heartbeat."""
    lines: list[str] = []
    with Heartbeat(log, what) as beat:
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, env=_env()
        )
        watchdog = threading.Timer(timeout, process.kill)  # a silent hang ends too, not only a chatty one
        watchdog.start()
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                line = raw.rstrip()
                lines.append(line)
                if line and not line.startswith(_NOISE):
                    log(f"  {what}: {line}")
                    beat.touch()
            code = process.wait()
        finally:
            watchdog.cancel()
    if code < 0:
        lines.append(f"killed after {timeout:.0f}s" if code == -9 else f"ended by signal {-code}")
    return code, lines[-200:]


def _tail(lines: list[str], count: int = 8) -> str:
    return "\n".join(line for line in lines[-count:] if line)


def _in_root(rootfs: Path, argv: list[str], log: Log, what: str, timeout: float = APT_TIMEOUT_S) -> list[str]:
    code, lines = run_streamed(chroot_command(rootfs, argv), log, what, timeout)
    if code != 0:
        raise GenerationUnavailable(f"{what} failed (exit {code}) in {rootfs}:\n{_tail(lines)}")
    return lines


def _captured_in_root(rootfs: Path, argv: list[str], timeout: float = 120.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        chroot_command(rootfs, argv), capture_output=True, text=True, timeout=timeout, env=_env(), check=False
    )


def installed_versions(rootfs: Path, packages: tuple[str, ...]) -> dict[str, str]:
    # dpkg-query exits 1 when a package is unknown; the known ones are still listed.
    return parse_dpkg_query(_captured_in_root(rootfs, query_argv(packages)).stdout)


def candidate_versions(rootfs: Path, packages: tuple[str, ...], log: Log) -> dict[str, str]:
    update = ["apt-get", "update", "-q", "-o", "Acquire::Languages=none"]
    code, lines = run_streamed(chroot_command(rootfs, update), log, "apt-get update", APT_TIMEOUT_S)
    expired = any(_EXPIRED_RELEASE.search(line) for line in lines)
    if code != 0 and expired:
        # A mirror serving a snapshot keeps a Release past its Valid-Until (sid's, here, by a month):
        # apt then ignores the whole suite. Its signature still holds, so the suite is read as served.
        log("  apt-get update: the mirror's Release is past its Valid-Until; read anyway (signatures still checked)")
        _in_root(rootfs, [*update, "-o", "Acquire::Check-Valid-Until=false"], log, "apt-get update")
    elif code != 0:
        raise GenerationUnavailable(f"apt-get update failed (exit {code}) in {rootfs}:\n{_tail(lines)}")
    result = _captured_in_root(rootfs, policy_argv(packages))
    if result.returncode != 0:
        raise GenerationUnavailable(f"apt-cache policy failed in {rootfs}: {result.stderr.strip()}")
    return parse_apt_policy(result.stdout)


def _prepare_chroot_files(rootfs: Path) -> None:
    """What apt inside the root needs from outside: name resolution, and no service starts."""
    resolv = Path("/etc/resolv.conf")
    target = rootfs / "etc" / "resolv.conf"
    if resolv.is_file():
        target.unlink(missing_ok=True)  # may be a dangling symlink to a resolver of the host's
        shutil.copyfile(resolv, target)
    policy = rootfs / "usr" / "sbin" / "policy-rc.d"
    policy.write_text(POLICY_RC_D)
    policy.chmod(0o755)


def _install(gen: Generation, rootfs: Path, packages: tuple[str, ...], log: Log) -> None:
    required = tuple(p for p in packages if p in root_packages(generation=gen.name))
    if required:
        _in_root(rootfs, install_argv(required), log, f"apt-get install ({gen.name})")
    for package in (p for p in packages if p in root_packages(optional=True, generation=gen.name)):
        code, lines = run_streamed(chroot_command(rootfs, install_argv([package])), log, package, APT_TIMEOUT_S)
        if code != 0:
            log(f"  {package}: not installed in {gen.name} (optional): {_tail(lines, 2)}")
    _in_root(rootfs, ["apt-get", "clean"], log, "apt-get clean")


def _record(gen: Generation, rootfs: Path, mirror: str, manifest_path: Path, prepared: float) -> Manifest:
    now = time.time()
    manifest = Manifest(gen.name, gen.suite, mirror, installed_versions(rootfs, _all_packages(gen.name)), prepared, now)
    missing = [p for p in root_packages(generation=gen.name) if p not in manifest.packages]
    if missing:
        raise GenerationUnavailable(f"generation {gen.name}: {' '.join(missing)} not installed in {rootfs}")
    write_manifest(manifest_path, manifest)
    return manifest


def _remove_tree(path: Path) -> None:
    if mounts_under(path):
        # Never rm -rf across a mount: it would delete what the mount shows (the host's /dev, /proc).
        raise GenerationUnavailable(f"{path} still has mounts ({', '.join(mounts_under(path))}); not removing it")
    shutil.rmtree(path, ignore_errors=True)


def _build(gen: Generation, layout: RootLayout, mirror: AptSource, log: Log) -> Manifest:
    if shutil.which("debootstrap") is None:
        raise GenerationUnavailable("debootstrap not found: install Debian's debootstrap (a host package)")
    _remove_tree(layout.building)
    staging = layout.building / "rootfs"
    staging.mkdir(parents=True)
    log(f"generation {gen.name}: debootstrap --variant=minbase {gen.suite} (from {mirror.uri})")
    code, lines = run_streamed(debootstrap_command(gen.suite, staging, mirror), log, "debootstrap", BOOTSTRAP_TIMEOUT_S)
    if code != 0:
        _remove_tree(layout.building)
        raise GenerationUnavailable(f"debootstrap {gen.suite} failed (exit {code}):\n{_tail(lines)}")
    _prepare_chroot_files(staging)
    log(f"generation {gen.name}: installing {' '.join(_all_packages(gen.name))}")
    try:
        _install(gen, staging, _all_packages(gen.name), log)
        manifest = _record(gen, staging, mirror.uri, layout.building / "versions.json", time.time())
    except GenerationUnavailable:
        _remove_tree(layout.building)
        raise
    # The finished root replaces the old one in one rename; a half-built one is never used.
    if layout.dir.exists():
        old = layout.base / f".{gen.name}.old"
        _remove_tree(old)
        os.replace(layout.dir, old)
        os.replace(layout.building, layout.dir)
        _remove_tree(old)
    else:
        os.replace(layout.building, layout.dir)
    return manifest


def prepare(
    name: str,
    log: Log = print,
    *,
    cache: Path | None = None,
    recheck_after: float = RECHECK_AFTER_S,
    sources: list[AptSource] | None = None,
) -> PreparedRoot:
    """Make the generation's root ready and current; a second call soon after changes nothing.

    Safe to run concurrently: a lock per generation serializes builders.
    """
    gen = generation(name)
    if gen.is_host:
        raise GenerationUnavailable(f"generation {name} is this host's own system: it has no root to prepare")
    started = time.monotonic()
    layout = RootLayout.of(name, cache)
    layout.base.mkdir(parents=True, exist_ok=True)
    with open(layout.lock, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = read_manifest(layout.manifest) if (layout.rootfs / "usr").is_dir() else None
        candidates = None
        if manifest is not None and manifest.suite == gen.suite and recheck_due(manifest, recheck_after):
            log(f"generation {name}: comparing {gen.suite}'s versions with the root's")
            _prepare_chroot_files(layout.rootfs)
            candidates = candidate_versions(layout.rootfs, _all_packages(name), log)
        plan = refresh_plan(manifest, gen.suite, root_packages(generation=name), candidates)
        log(f"generation {name}: {plan.action}: {plan.reason}")
        if plan.action == "build":
            mirror = choose_mirror(
                configured_sources() if sources is None else sources,
                host_codename(),
                os.environ.get(MIRROR_ENV, ""),
                _host_is_debian() if sources is None else True,
            )
            manifest = _build(gen, layout, mirror, log)
        else:
            assert manifest is not None
            if plan.action == "upgrade":
                _in_root(layout.rootfs, ["apt-get", "dist-upgrade", "-y", "-q"], log, f"apt-get dist-upgrade ({name})")
                _in_root(layout.rootfs, ["apt-get", "clean"], log, "apt-get clean")
            elif plan.action == "install":
                _prepare_chroot_files(layout.rootfs)
                _install(gen, layout.rootfs, plan.packages, log)
            if plan.action != "keep":
                manifest = _record(gen, layout.rootfs, manifest.mirror, layout.manifest, time.time())
            elif candidates is not None:
                manifest.checked = time.time()
                write_manifest(layout.manifest, manifest)
        seconds = time.monotonic() - started
        log(f"generation {name}: ready at {layout.rootfs} ({seconds:.1f}s)")
        return PreparedRoot(name, layout.rootfs, manifest, plan, seconds)


def prepared_root(name: str, cache: Path | None = None) -> PreparedRoot | None:
    """The cached root if provisioning prepared it, without touching the network; None otherwise."""
    layout = RootLayout.of(name, cache)
    if not layout.is_prepared():
        return None
    manifest = read_manifest(layout.manifest)
    assert manifest is not None
    return PreparedRoot(name, layout.rootfs, manifest, RefreshPlan("keep", "cached"), 0.0)
