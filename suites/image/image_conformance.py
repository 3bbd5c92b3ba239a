"""Turn a validation ``Report`` into a suite verdict: evidence for every cell, a message a vendor can act on.

Errors (MUST rules) fail the cell; warnings (SHOULD rules) never do, but every violation, warnings
included, goes into the evidence so the matrix shows them.
"""

from __future__ import annotations

from ocimatrix import evidence
from ocimatrix.oci.report import Report

ELF_RULE = "layer.elf-arch-mismatch"
MAX_LISTED = 20  # a failure message stays readable; the evidence keeps the full list


def record_report(recorder: evidence.Recorder, report: Report, *, elf_checked: bool = True) -> None:
    """What was validated and what it found, whatever the verdict."""
    recorder.add("validated", report.source)
    recorder.add("checked", dict(report.checked))
    recorder.add("errors", len(report.errors))
    recorder.add("warnings", len(report.warnings))
    recorder.add("violations", [v.to_dict() for v in report.violations])
    # Said explicitly because a clean report can't show it: the layers' ELF binaries were compared
    # with the config's architecture.
    recorder.add("elf_check", f"{ELF_RULE}: {'checked' if elf_checked else 'not checked'}")


def nonconformance_message(made_by: str, what: str, report: Report) -> str:
    """One headline naming the tool, then one line per error: rule id, where, message, spec link."""
    errors = report.errors
    noun = "error" if len(errors) == 1 else "errors"
    lines = [f"{made_by} {what} breaks the spec: {len(errors)} {noun} in {report.source}"]
    lines += [f"  {v.rule_id} at {v.where}: {v.message} ({v.spec_url})" for v in errors[:MAX_LISTED]]
    if len(errors) > MAX_LISTED:
        lines.append(f"  ... and {len(errors) - MAX_LISTED} more (every violation is in the cell's evidence)")
    return "\n".join(lines)


def violations_answer(report: Report) -> str:
    """The errors as the validator states them, one a line (``rule_id at where: message``): what the
    tool's image was observed to be, with no harness sentence around it."""
    return "\n".join(f"{v.rule_id} at {v.where}: {v.message}" for v in report.errors)


def tool_label(recorder: evidence.Recorder, tool: str) -> str:
    """'podman 4.3.1': the tool with the version the harness read off it, when it has one."""
    version = recorder.versions.get(tool, "")
    return f"{tool} {version}".strip()
