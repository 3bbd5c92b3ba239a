"""What breaks: every failed, xfailed and errored record grouped into one finding per incompatibility.

A finding is one test function failing one way: the same test, the same outcome and the same reason
once the run's accidents (digests, ports, scratch paths, worker names) are taken out. It lists the
tool versions whose cells have it, the axis values all of them share, the versions that pass the same
test, and the records it holds (their positions in the page's order), so the site can list the cells.
Errors are findings too, but about the harness: the site shows them apart.

A finding names as having it only the tools it is about (``blame``: the tool its suite tests, or one
whose version alone turns the outcome); the other tools of its cells are listed as context.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ocimatrix.report.blame import Blame
from ocimatrix.report.cell_tools import ROLES, ToolId, role_rank
from ocimatrix.report.model import split_test_id
from ocimatrix.report.observed import observed
from ocimatrix.results import Record

FINDING_OUTCOMES = ("failed", "xfailed", "error")
REASON_LIMIT = 300
_ACCIDENTS = (
    (re.compile(r"\b(sha256|sha512):[0-9a-f]{6,}"), r"\1:…"),
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b"), "…"),
    (re.compile(r"\b(127\.0\.0\.1|localhost|\[::1\]):\d+"), r"\1:PORT"),
    (re.compile(r"/var/tmp/ocimatrix-[^/\s'\"]+"), "/var/tmp/ocimatrix-…"),
    (re.compile(r"(?<![\w/])/tmp/[^\s'\"]+"), "/tmp/…"),
    (re.compile(r"\bgw\d+\b"), "gw"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "…"),
    (re.compile(r"\s+"), " "),
)


def normalized_reason(reason: str) -> str:
    """The reason's first line without what differs from run to run, so equal failures group together."""
    first = next((line.strip() for line in reason.splitlines() if line.strip()), "")
    for pattern, replacement in _ACCIDENTS:
        first = pattern.sub(replacement, first)
    return first[:REASON_LIMIT]


@dataclass
class Finding:
    id: str
    test: str  # ``file::function``
    suite: str
    outcome: str
    reason: str  # normalized: what every record of it says
    section: str = ""
    url: str = ""
    records: list[int] = field(default_factory=list)
    tools: dict[str, list[str]] = field(default_factory=dict)  # role -> labels of the versions that have it
    context: dict[str, list[str]] = field(default_factory=dict)  # role -> labels merely in its cells
    axes: dict[str, list[str]] = field(default_factory=dict)  # other axis -> the values its cells have
    passes_with: dict[str, list[str]] = field(default_factory=dict)  # role -> labels passing the same test
    seen: dict[str, int] = field(default_factory=dict)  # what its cells saw (``observed``) -> how many cells

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "test": self.test,
            "suite": self.suite,
            "out": self.outcome,
            "reason": self.reason,
            "section": self.section,
            "url": self.url,
            "recs": self.records,
            "tools": self.tools,
            "ctx": self.context,
            "axes": self.axes,
            "passes": self.passes_with,
            "seen": [[fact, n] for fact, n in sorted(self.seen.items(), key=lambda item: (-item[1], item[0]))],
        }


def finding_id(test: str, outcome: str, reason: str) -> str:
    """Stable across runs with the same failure, so a link to a finding keeps pointing at it."""
    return hashlib.sha256(f"{test}\0{outcome}\0{reason}".encode()).hexdigest()[:10]


def _labels(ids: set[ToolId]) -> list[str]:
    return [t.label for t in sorted(ids, key=ToolId.sort_key)]


def find_findings(records: list[Record], tools: list[dict[str, ToolId]], axes: list[str]) -> list[Finding]:
    """Findings of ``records`` (in page order: ``Finding.records`` are indexes into this list; ``tools``
    are their ``cell_tools.resolve_tools``), failed first, then known incompatibilities, then harness
    errors; the widest first within each."""
    blame = Blame(records, tools, axes)
    by_key: dict[tuple[str, str, str], Finding] = {}
    tools_by_finding: dict[str, dict[str, set[ToolId]]] = defaultdict(lambda: defaultdict(set))
    values_by_finding: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    passing: dict[str, dict[str, set[ToolId]]] = defaultdict(lambda: defaultdict(set))
    for position, record in enumerate(records):
        test = split_test_id(record.test)[0]
        identities = tools[position]
        if record.outcome == "passed":
            for tool in identities.values():
                passing[test][tool.role].add(tool)
            continue
        if record.outcome not in FINDING_OUTCOMES:
            continue
        reason = normalized_reason(record.reason) or "(no reason recorded)"
        key = (test, record.outcome, reason)
        finding = by_key.get(key)
        if finding is None:
            finding = by_key[key] = Finding(
                id=finding_id(*key),
                test=test,
                suite=record.suite,
                outcome=record.outcome,
                reason=reason,
                section=record.spec.section if record.spec else "",
                url=record.spec.url if record.spec else "",
            )
        finding.records.append(position)
        fact = observed(record)
        if fact:
            finding.seen[fact] = finding.seen.get(fact, 0) + 1
        for tool in identities.values():
            tools_by_finding[finding.id][tool.role].add(tool)
        for axis in axes:
            if axis not in ROLES and record.cell.get(axis) is not None:
                values_by_finding[finding.id][axis].add(str(record.cell[axis]))
    findings = list(by_key.values())
    for finding in findings:
        having = tools_by_finding[finding.id]
        roles = sorted(having, key=role_rank)
        blamed = {
            role: {t for t in having[role] if blame.is_blamed_for(finding.records, finding.test, t)} for role in roles
        }
        finding.tools = {role: _labels(blamed[role]) for role in roles if blamed[role]}
        finding.context = {role: _labels(having[role] - blamed[role]) for role in roles if having[role] - blamed[role]}
        finding.axes = {axis: sorted(values) for axis, values in values_by_finding[finding.id].items()}
        # In a role it blames, the versions that pass the same test but never show it: the way out for a reader.
        ways_out = {role: passing[finding.test][role] - having[role] if blamed[role] else set() for role in roles}
        finding.passes_with = {role: _labels(ways_out[role]) for role in roles if ways_out[role]}
    order = {outcome: rank for rank, outcome in enumerate(FINDING_OUTCOMES)}
    findings.sort(key=lambda f: (order[f.outcome], -len(f.records), f.test, f.reason))
    return findings
