"""The ``ocimatrix`` command: each subcommand lives in ``ocimatrix/commands/<name>.py``.

A command module exposes ``HELP`` (one line), ``add_arguments(parser)`` and ``main(args) -> int``.
Only the command being run is imported (some pull in pytest, docker-py or grpc), so the help lines
are repeated here; a self-test keeps the two in step.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ocimatrix import __version__
from ocimatrix.errors import OcimatrixError

COMMANDS = {
    "run": "run a matrix (default: the embedded default) and write results.json, JUnit and the HTML report",
    "provision": "install the Debian packages and host fixes the matrix needs (idempotent; needs root)",
    "validate": "validate an image layout, archive, registry image or JSON document against the OCI image-spec",
    "report": "write the static HTML compatibility matrix from results.json files (and an Allure report)",
    "merge": "merge results.json shards (one per host) into one file, reporting duplicates and conflicts",
    "services": "start the embedded registry, containerd, dockerd and podman storage and keep them up until Ctrl-C",
    "verify": "verify a vendor's claims (image, registry, CRI endpoint, OCI runtime) and write a claims report",
}


def _load(name: str):
    try:
        return importlib.import_module(f"ocimatrix.commands.{name}")
    except Exception as exc:  # noqa: BLE001 - one broken command must not take the others down
        return _Broken(name, exc)


class _Broken:
    """Stands in for a command whose module failed to import, and says why when it is used."""

    def __init__(self, name: str, exc: Exception) -> None:
        self.name = name
        self.error = f"{type(exc).__name__}: {exc}"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("args", nargs=argparse.REMAINDER)

    def main(self, args: argparse.Namespace) -> int:
        raise OcimatrixError(f"the '{self.name}' command is unavailable on this install: {self.error}")


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ocimatrix",
        description="Conformance and interoperability tests for OCI images, engines, runtimes and registries.",
    )
    parser.add_argument("--version", action="version", version=f"ocimatrix {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_line in COMMANDS.items():
        p = sub.add_parser(name, help=help_line, description=help_line)
        if name == selected:
            module = _load(name)
            module.add_arguments(p)
            p.set_defaults(_main=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    selected = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(selected if selected in COMMANDS else None)
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
