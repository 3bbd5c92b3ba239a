"""``ocimatrix validate SOURCE``: check an image or one document against the OCI image-spec v1.1.

Exit status: 0 valid, 1 violations found (errors; warnings too with --strict), 2 unusable input
(no such source; a file that is neither JSON, an archive nor a layout) or arguments.
"""

from __future__ import annotations

import argparse
import json
import sys

from ocimatrix.errors import UsageError
from ocimatrix.oci.registry_client import credentials_from_env, credentials_from_file
from ocimatrix.oci.report import Report
from ocimatrix.oci.rules import RULES
from ocimatrix.oci.validate import DOCUMENT_KINDS, validate_source

HELP = "validate an image layout, archive, registry image or JSON document against the OCI image-spec"

EPILOG = """\
SOURCE is one of:
  DIR                     an OCI image layout directory (oci:DIR forces it)
  FILE.tar[.gz|.zst]      a docker save / podman save / OCI archive (oci-archive:, docker-archive:)
  HOST[:PORT]/REPO[:TAG]  an image in a registry (docker://... forces it); HTTPS unless --plain-http
  FILE.json               one manifest, index, config, descriptor or oci-layout (see --as)

Registry credentials come from OCIMATRIX_REGISTRY_USER / OCIMATRIX_REGISTRY_PASSWORD or
--credentials-file (user:password on the first line, or a Docker config.json); they are never printed.
Exit status: 0 valid, 1 violations found, 2 unusable input (no such source, or a file that is
neither JSON, an archive nor a layout; --as KIND reads it as a broken document instead) or arguments.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("source", nargs="?", metavar="SOURCE", help="what to validate (see below)")
    parser.add_argument(
        "--as",
        dest="as_kind",
        choices=DOCUMENT_KINDS,
        help="read SOURCE as one JSON document of this kind (guessed from mediaType or shape when omitted)",
    )
    parser.add_argument("--plain-http", action="store_true", help="talk HTTP, not HTTPS, to the registry")
    parser.add_argument("--platform", metavar="OS/ARCH[/VARIANT]", help="only check manifests for this platform")
    parser.add_argument(
        "--credentials-file", metavar="FILE", help="registry credentials (user:password or config.json)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--strict", action="store_true", help="fail on warnings (SHOULD rules) too")
    parser.add_argument("--no-layers", action="store_true", help="check descriptors and JSON only, not layer contents")
    parser.add_argument("--no-elf", action="store_true", help="skip the ELF architecture check of layer files")
    parser.add_argument("--list-rules", action="store_true", help="print every rule id with its level and spec link")


def _list_rules(as_json: bool) -> int:
    if as_json:
        print(json.dumps([vars(r) for r in RULES.values()], indent=2))
        return 0
    for r in RULES.values():
        print(f"{r.id:36} {r.level:7} {r.summary}\n{'':44} {r.url}")
    return 0


def _human_size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _print_report(report: Report, failed: bool) -> None:
    out = sys.stdout
    for v in report.violations:
        out.write(f"{v.level.upper():7} {v.rule_id}  {v.where}\n        {v.message}\n        {v.spec_url}\n")
    checked = report.checked
    parts = [
        f"{k} {checked[k]}"
        for k in ("indexes", "manifests", "attestations", "configs", "layers", "blobs", "documents")
        if checked[k]
    ]
    if checked["bytes"]:
        parts.append(f"{_human_size(checked['bytes'])} read")
    out.write(f"checked: {', '.join(parts) or 'nothing'}\n")
    verdict = "INVALID" if failed else "VALID"
    out.write(f"{report.source}: {verdict} ({len(report.errors)} errors, {len(report.warnings)} warnings)\n")


def main(args: argparse.Namespace) -> int:
    if args.list_rules:
        return _list_rules(args.json)
    if not args.source:
        raise UsageError("SOURCE is required (an OCI layout, archive, registry reference or JSON file)")
    credentials = None
    if args.credentials_file:
        host = args.source.removeprefix("docker://").split("/", 1)[0]
        credentials = credentials_from_file(args.credentials_file, host)
    credentials = credentials or credentials_from_env()
    report = validate_source(
        args.source,
        as_kind=args.as_kind,
        plain_http=args.plain_http,
        platform=args.platform,
        credentials=credentials,
        check_layers=not args.no_layers,
        check_elf=not args.no_elf,
    )
    failed = bool(report.errors or (args.strict and report.warnings))
    if args.json:
        print(json.dumps({**report.to_dict(), "strict": args.strict, "valid": not failed}, indent=2))
    else:
        _print_report(report, failed)
    return 1 if failed else 0
