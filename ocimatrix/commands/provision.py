"""``ocimatrix provision``: install what the default matrix needs and apply the host fixes; idempotent."""

from __future__ import annotations

import argparse
import os

from ocimatrix.errors import UsageError
from ocimatrix.host.provision import provision

HELP = "install the Debian packages and host fixes the matrix needs (idempotent; needs root)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="only report what is missing; change nothing")


def main(args: argparse.Namespace) -> int:
    if os.geteuid() != 0 and not args.check:
        raise UsageError("provisioning installs packages and mounts cgroup/binfmt_misc: run it as root")
    report = provision(check_only=args.check)
    return 1 if args.check and report.missing else 0
