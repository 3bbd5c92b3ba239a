"""``ocimatrix provision``: install what the default matrix needs and apply the host fixes; idempotent."""

from __future__ import annotations

import argparse
import os

from ocimatrix.errors import UsageError
from ocimatrix.host.distro import FOREIGN_MIRROR_ENV, SUPPORTED
from ocimatrix.host.provision import provision

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


def main(args: argparse.Namespace) -> int:
    if os.geteuid() != 0 and not args.check:
        raise UsageError("provisioning installs packages and mounts cgroup/binfmt_misc: run it as root")
    report = provision(check_only=args.check)
    return 1 if args.check and report.missing else 0
