"""The ``ocimatrix`` command: each subcommand lives in ``ocimatrix/commands/<name>.py``.

A command module exposes ``HELP`` (one line), ``add_arguments(parser)`` and ``main(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ocimatrix import __version__
from ocimatrix.errors import OcimatrixError

COMMANDS = ["run", "provision", "validate", "report", "merge"]


def _load(name: str):
    try:
        return importlib.import_module(f"ocimatrix.commands.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"ocimatrix.commands.{name}":
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocimatrix", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ocimatrix {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = _load(name)
        if module is None:
            continue
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_main=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_main", None):
        parser.print_help()
        return 2
    try:
        return int(args._main(args) or 0)
    except OcimatrixError as exc:
        print(f"ocimatrix {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ocimatrix: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
