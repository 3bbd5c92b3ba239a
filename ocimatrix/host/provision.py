"""Provision the host: Debian packages, host fixes, foreign-architecture busybox. Says what it did."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from ocimatrix.host import fixes, packages

# Platforms whose busybox the default matrix needs besides the host's (provisioned when the
# platforms support is present; see ocimatrix/host/foreign_busybox.py).
DEFAULT_FOREIGN_PLATFORMS = [
    "linux/arm64",
    "linux/arm/v7",
    "linux/s390x",
    "linux/ppc64le",
    "linux/riscv64",
    "linux/386",
]


@dataclass
class ProvisionReport:
    installed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    fixes: list[fixes.FixResult] = field(default_factory=list)
    platforms: dict[str, str] = field(default_factory=dict)


def provision(check_only: bool = False, log=print) -> ProvisionReport:
    report = ProvisionReport()
    missing = packages.missing_packages()
    if check_only:
        report.missing = missing
        log(f"packages: missing {' '.join(missing)}" if missing else "packages: all present")
        return report
    if missing:
        packages.install(missing, log=log)
        report.installed = missing
    log(f"packages: installed {' '.join(missing)}" if missing else "packages: all present, nothing installed")
    for result in fixes.apply_all():
        report.fixes.append(result)
        log(f"{result.name}: {result.detail}")
    foreign = _optional("ocimatrix.host.foreign_busybox")
    if foreign is not None:
        report.platforms = foreign.ensure_foreign_busybox(DEFAULT_FOREIGN_PLATFORMS, log=log)
    return report


def needs_provisioning() -> bool:
    """Cheap check `ocimatrix run` makes before deciding to provision."""
    if packages.missing_packages():
        return True
    return fixes.cgroup_is_hybrid() and not fixes.hugetlb_on_v1() or not (fixes.BINFMT_DIR / "register").exists()


def _optional(module: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        return None
