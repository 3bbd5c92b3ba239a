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
        return _Broken(name, exc)
    except Exception as exc:  # noqa: BLE001 - one broken command must not take the others down
        return _Broken(name, exc)


class _Broken:
    """Stands in for a command whose module failed to import, and says why when it is used."""

    def __init__(self, name: str, exc: Exception) -> None:
        self.name = name
        self.error = f"{type(exc).__name__}: {exc}"
        self.HELP = f"(unavailable: {self.error})"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("args", nargs=argparse.REMAINDER)

    def main(self, args: argparse.Namespace) -> int:
        raise OcimatrixError(f"the '{self.name}' command is unavailable on this install: {self.error}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ocimatrix",
        description="Conformance and interoperability tests for OCI images, engines, runtimes and registries.",
    )
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
