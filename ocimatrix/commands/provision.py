"""``ocimatrix provision``: install what the default matrix needs and apply the host fixes; idempotent."""

from __future__ import annotations

import argparse
import os

from ocimatrix.errors import UsageError
from ocimatrix.host.provision import provision, provision_generations
from ocimatrix.system.distro import FOREIGN_MIRROR_ENV, SUPPORTED
from ocimatrix.tools.generations import generation

HELP = "install the Debian packages and host fixes the matrix needs (idempotent; needs root)"
EPILOG = (
    f"Supported: {', '.join(d.name for d in SUPPORTED.values())}, recognised from /etc/os-release "
    "(ID and VERSION_CODENAME, or ID_LIKE). Docker's own packages (docker-ce, containerd.io) are used "
    "where installed instead of the distribution's conflicting docker.io, containerd and runc. "
    f"{FOREIGN_MIRROR_ENV}=URI names an apt mirror for the foreign architectures this host's own "
    "sources don't carry (on Ubuntu x86_64 a ports mirror; on Ubuntu arm64 the primary archive); "
    "without it those platforms' cells are skipped with that reason."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument("--check", action="store_true", help="only report what is missing; change nothing")
    parser.add_argument(
        "--generation",
        action="append",
        default=[],
        metavar="NAME",
        help="also prepare the cached root of this tool generation (trixie, sid), as a run naming it would "
        "(repeatable); roots live under $OCIMATRIX_CACHE/roots (default /var/cache/ocimatrix/roots)",
    )


def main(args: argparse.Namespace) -> int:
    if os.geteuid() != 0 and not args.check:
        raise UsageError("provisioning installs packages and mounts cgroup/binfmt_misc: run it as root")
    for name in args.generation:
        generation(name)  # an unknown name is refused before anything is installed
    report = provision(default_foreign_platforms(), check_only=args.check)
    prepared = provision_generations(args.generation, check_only=args.check)
    unready = [name for name, state in prepared.items() if state.startswith("not prepared")]
    return 1 if (args.check and report.missing) or unready else 0


def default_foreign_platforms() -> list[str]:
    """The platforms the default matrix runs, other than this host's own: what provisioning prepares."""
    from ocimatrix.images.busybox import host_platform_name
    from ocimatrix.matrix import DEFAULT_MATRIX, load_matrix

    cells = load_matrix(DEFAULT_MATRIX).cells_for(("platform",), "platforms")
    return [c["platform"] for c in cells if c["platform"] != host_platform_name()]
