"""Host fixes the engines need on a cgroup-v1-hybrid VM: each checks first and changes only what's missing."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")


@dataclass
class FixResult:
    name: str
    changed: bool
    detail: str


def _mount_points() -> dict[str, str]:
    points = {}
    for line in Path("/proc/self/mounts").read_text().splitlines():
        parts = line.split()
        points[parts[1]] = parts[2]
    return points


def cgroup_is_hybrid() -> bool:
    points = _mount_points()
    return points.get(str(CGROUP_ROOT)) == "tmpfs" and str(CGROUP_ROOT / "unified") in points


def hugetlb_on_v1() -> bool:
    return _mount_points().get(str(CGROUP_ROOT / "hugetlb")) == "cgroup"


def fix_hugetlb() -> FixResult:
    """crun 1.8 refuses hybrid hosts while hugetlb sits on the v2 hierarchy ("cgroups in hybrid mode
    not supported"); giving hugetlb its own v1 hierarchy makes the layout one crun accepts."""
    if not cgroup_is_hybrid():
        return FixResult("cgroup hugetlb", False, "not a cgroup v1 hybrid host; nothing to do")
    if hugetlb_on_v1():
        return FixResult("cgroup hugetlb", False, "hugetlb already on its own v1 hierarchy")
    (CGROUP_ROOT / "hugetlb").mkdir(exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", str(CGROUP_ROOT / "hugetlb")],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        return FixResult("cgroup hugetlb", False, f"mount failed: {result.stderr.strip()} (crun cells may fail)")
    return FixResult("cgroup hugetlb", True, "mounted hugetlb as a v1 hierarchy (crun needs it on hybrid hosts)")


def fix_binfmt() -> FixResult:
    """Foreign-architecture containers need binfmt_misc mounted and the qemu handlers enabled."""
    changed = []
    if not (BINFMT_DIR / "register").exists():
        result = subprocess.run(
            ["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT_DIR)], capture_output=True, text=True
        )
        if result.returncode != 0:
            return FixResult("binfmt_misc", False, f"mount failed: {result.stderr.strip()}")
        changed.append("mounted binfmt_misc")
    handlers = sorted(p.name for p in BINFMT_DIR.iterdir() if p.name.startswith("qemu-"))
    if not handlers and shutil.which("update-binfmts"):
        subprocess.run(["update-binfmts", "--enable"], capture_output=True, text=True)
        handlers = sorted(p.name for p in BINFMT_DIR.iterdir() if p.name.startswith("qemu-"))
        changed.append(f"enabled {len(handlers)} qemu handlers")
    detail = "; ".join(changed) if changed else f"{len(handlers)} qemu handlers already registered"
    return FixResult("binfmt_misc", bool(changed), detail)


def apply_all() -> list[FixResult]:
    return [fix_hugetlb(), fix_binfmt()]
