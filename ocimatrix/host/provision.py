"""Provision the host: Debian packages, host fixes, QEMU handlers and foreign busybox. Says what it did."""

from __future__ import annotations

from dataclasses import dataclass, field

from ocimatrix.host import fixes, foreign_busybox, packages, platforms
from ocimatrix.images.busybox import host_platform_name
from ocimatrix.matrix import DEFAULT_MATRIX, load_matrix


@dataclass
class ProvisionReport:
    installed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    fixes: list[fixes.FixResult] = field(default_factory=list)
    handlers: dict[str, str] = field(default_factory=dict)
    busybox: dict[str, str] = field(default_factory=dict)


def default_foreign_platforms() -> list[str]:
    """The platforms the default matrix runs, other than this host's own."""
    cells = load_matrix(DEFAULT_MATRIX).cells_for(("platform",), "platforms")
    return [c["platform"] for c in cells if c["platform"] != host_platform_name()]


def provision(check_only: bool = False, log=print) -> ProvisionReport:
    report = ProvisionReport()
    missing = packages.missing_packages()
    if check_only:
        report.missing = missing
        log(f"packages: missing {' '.join(missing)}" if missing else "packages: all present")
        for platform, support in platforms.detect_all(default_foreign_platforms()).items():
            log(f"{platform}: {'runnable' if support.runnable else 'not runnable'}")
        return report
    if missing:
        packages.install(missing, log=log)
        report.installed = missing
    log(f"packages: installed {' '.join(missing)}" if missing else "packages: all present, nothing installed")
    for result in fixes.apply_all():
        report.fixes.append(result)
        log(f"{result.name}: {result.detail}")
    foreign = default_foreign_platforms()
    report.handlers = platforms.ensure_handlers(foreign, log=log)
    report.busybox = foreign_busybox.ensure_foreign_busybox(foreign, log=log)
    for platform in foreign:
        log(f"{platform}: {report.handlers.get(platform, '?')}; busybox {report.busybox.get(platform, '?')}")
    return report


def needs_provisioning() -> bool:
    """The cheap check `ocimatrix run` makes before deciding to provision."""
    if packages.missing_packages():
        return True
    if fixes.cgroup_is_hybrid() and not fixes.hugetlb_on_v1():
        return True
    if not (fixes.BINFMT_DIR / "register").exists():
        return True
    # A kept machine with an emptied cache would otherwise skip the foreign cells silently.
    foreign = default_foreign_platforms()
    return any(foreign_busybox.cached_busybox(p) is None or not platforms.detect(p).runnable for p in foreign)
