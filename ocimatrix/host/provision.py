"""Provision the host: distribution packages, host fixes, QEMU handlers and foreign busybox.

Each step says what it is about to do before it starts, and long ones say they are still running,
so a person watching a first run never waits a silent minute.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ocimatrix.host import fixes, foreign_busybox, platforms
from ocimatrix.images.busybox import UNAVAILABLE_NOTE, busybox_cache_path, host_platform_name
from ocimatrix.system import distro, packages
from ocimatrix.tools.platforms import DEBIAN_ARCH

Log = Callable[[str], None]
STEPS = 5


@dataclass
class ProvisionReport:
    distribution: str = ""
    installed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    optional_missing: list[str] = field(default_factory=list)
    provided_by_vendor: dict[str, str] = field(default_factory=dict)
    fixes: list[fixes.FixResult] = field(default_factory=list)
    handlers: dict[str, str] = field(default_factory=dict)
    busybox: dict[str, str] = field(default_factory=dict)


def plan_foreign_busybox(
    distribution: distro.Distribution, host_platform: str, foreign: Iterable[str], mirror: str = ""
) -> tuple[dict[str, str], dict[str, str]]:
    """Where each foreign platform's busybox can come from.

    Returns (Debian architecture -> mirror URI for those the host's own archive lacks, when ``mirror``
    is given; platform -> reason for those no configured mirror carries).
    """
    host_arch = DEBIAN_ARCH.get(host_platform, "")
    mirrors: dict[str, str] = {}
    reasons: dict[str, str] = {}
    for platform in foreign:
        arch = DEBIAN_ARCH.get(platform)
        if arch is None or not host_arch or distribution.archive_serves(host_arch, arch):
            continue
        if mirror:
            mirrors[arch] = mirror
        else:
            reasons[platform] = (
                f"{distribution.name} keeps {arch} packages in another archive than this {host_arch} host's apt "
                f"sources: set {distro.FOREIGN_MIRROR_ENV} to a mirror that carries {arch} to fetch busybox-static"
            )
    return mirrors, reasons


def _note_path(platform: str):
    return busybox_cache_path(platform).parent / UNAVAILABLE_NOTE


def _record_busybox(outcome: dict[str, str]) -> None:
    """Leave each platform's reason where the cells read it; a binary clears an earlier reason."""
    for platform, result in outcome.items():
        if platform == host_platform_name():
            continue
        note = _note_path(platform)
        if result.startswith("/"):
            note.unlink(missing_ok=True)
        else:
            note.parent.mkdir(parents=True, exist_ok=True)
            note.write_text(result + "\n")


def provision(foreign: list[str], check_only: bool = False, log: Log = print) -> ProvisionReport:
    """Install and fix what the harness needs here, with QEMU handlers and busybox for the ``foreign`` platforms."""
    report = ProvisionReport()
    release = distro.read_os_release()
    distribution = distro.detect(release)
    report.distribution = distribution.name
    log(f"{'' if check_only else f'[1/{STEPS}] '}distribution: {distribution.name} ({release.describe()})")
    found = packages.survey(distribution)
    report.provided_by_vendor = found.provided_by_vendor
    for package, provider in found.provided_by_vendor.items():
        log(
            f"{package}: not installed, {provider} (Docker's own package) is used instead; installing {package} "
            "would conflict with it, and the harness starts daemons of its own, leaving the host's Docker alone"
        )
    if check_only:
        report.missing, report.optional_missing = found.missing, found.optional_missing
        log(f"packages: missing {' '.join(found.missing)}" if found.missing else "packages: all present")
        if found.optional_missing:
            log(f"optional packages missing: {' '.join(found.optional_missing)}")
        for platform, support in platforms.detect_all(foreign).items():
            log(f"{platform}: {'runnable' if support.runnable else 'not runnable'}")
        return report
    wanted = found.missing + found.optional_missing
    log(
        f"[2/{STEPS}] packages: apt-get install of {len(wanted)} packages: {' '.join(wanted)}"
        if wanted
        else f"[2/{STEPS}] packages: all present, nothing to install"
    )
    if wanted:
        packages.install(found.missing, log=log, optional=found.optional_missing)
        report.installed = wanted
        log(f"packages: installed {' '.join(wanted)}")
    log(f"[3/{STEPS}] host fixes: cgroup hugetlb hierarchy, binfmt_misc mount")
    for result in fixes.apply_all():
        report.fixes.append(result)
        log(f"{result.name}: {result.detail}")
    log(f"[4/{STEPS}] binfmt: QEMU handlers for {len(foreign)} foreign platforms: {', '.join(foreign)}")
    with packages.Heartbeat(log, "binfmt handlers"):
        report.handlers = platforms.ensure_handlers(foreign, log=log)
    report.busybox = _provision_busybox(distribution, foreign, log)
    for platform in foreign:
        log(f"{platform}: {report.handlers.get(platform, '?')}; busybox {report.busybox.get(platform, '?')}")
    return report


def _provision_busybox(distribution: distro.Distribution, foreign: list[str], log: Log) -> dict[str, str]:
    mirror = os.environ.get(distro.FOREIGN_MIRROR_ENV, "").strip()
    mirrors, reasons = plan_foreign_busybox(distribution, host_platform_name(), foreign, mirror)
    log(f"[5/{STEPS}] foreign busybox for {len(foreign)} platforms")
    for platform in foreign:
        if platform in reasons:
            log(f"  {platform}: skipped: {reasons[platform]}")
        else:
            arch = DEBIAN_ARCH.get(platform, "?")
            cached = foreign_busybox.cached_busybox(platform)
            source = mirrors.get(arch, "the host's apt mirror")
            log(f"  {platform}: {f'cached at {cached}' if cached else f'busybox-static:{arch} from {source}'}")
    fetchable = [p for p in foreign if p not in reasons]
    with packages.Heartbeat(log, "fetching foreign busybox"):
        outcome = foreign_busybox.ensure_foreign_busybox(fetchable, log=log, mirrors=mirrors)
    outcome.update(reasons)
    _record_busybox(outcome)
    return {p: outcome[p] for p in foreign}


def provision_generations(names: Iterable[str], check_only: bool = False, log: Log = print) -> dict[str, str]:
    """Prepare (or, with ``check_only``, look up) the cached root of each named generation.

    Returns generation -> where its root is, or why it is not ready. A root that can't be prepared
    is reported, never hidden: the cells naming its tools are errors in a run.
    """
    from ocimatrix.generations import GenerationUnavailable, prepare, prepared_root
    from ocimatrix.tools.generations import generation

    outcome: dict[str, str] = {}
    for name in names:
        if generation(name).is_host:
            outcome[name] = "this host's own system: nothing to prepare"
        elif check_only:
            found = prepared_root(name)
            outcome[name] = f"prepared at {found.rootfs}" if found else "not prepared (run: provision --generation)"
        else:
            log(f"generation {name}: preparing its root (debootstrap and the engines on first use, ~60-100 s)")
            try:
                outcome[name] = f"prepared at {prepare(name, log=log).rootfs}"
            except GenerationUnavailable as exc:
                outcome[name] = f"not prepared: {exc}"
        log(f"generation {name}: {outcome[name]}")
    return outcome


def needs_provisioning(foreign: list[str]) -> bool:
    """The cheap check `ocimatrix run` makes before deciding to provision (``foreign``: the platforms it runs)."""
    distribution = distro.current()
    if packages.survey(distribution).missing:
        return True
    if fixes.cgroup_is_hybrid() and not fixes.hugetlb_on_v1():
        return True
    if not (fixes.BINFMT_DIR / "register").exists():
        return True
    # A kept machine with an emptied cache would otherwise skip the foreign cells silently; a platform
    # that no configured mirror carries stays settled until the mirror variable changes.
    mirror = os.environ.get(distro.FOREIGN_MIRROR_ENV, "").strip()
    _mirrors, unserved = plan_foreign_busybox(distribution, host_platform_name(), foreign, mirror)
    return any(
        (foreign_busybox.cached_busybox(p) is None and p not in unserved) or not platforms.detect(p).runnable
        for p in foreign
    )
