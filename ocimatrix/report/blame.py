"""Which tool a test's outcome speaks about, and which tools were merely in its cells.

A cell names a tool for each role axis, but a suite puts only some of them under test. The CRI
suite asks the CRI engine (containerd through the kubelet's API); the OCI runtime the engine was set
up with is in the cell too, yet a CRI finding says nothing about it. So a tool is *blamed* for a
test's outcomes when

- the test's suite puts its role under test (``SUITE_ROLES``; the image suite by what its record's
  ``evidence["tools"]`` says it drove), or
- its tool's version alone turns the outcome: among like cells (the same test, every other axis
  equal), one version of that tool passed and another failed.

A cell may use tools no axis names (the signatures suite's writer and reader, ``cell_tools.USED_ROLES``):
they count like the axes' tools, and a suite that moves from one tool's answers to another's within a
cell says whose answers it judges (``evidence["under_test"]``, ``evidence.judging``). A finding is then
blamed on the roles its own records name there: the reader whose verify found nothing, not the writer
whose signature it read, nor the registry that served both.

Every other tool of the cells is *context*: present, and nothing says it is at fault.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from ocimatrix.evidence import UNDER_TEST
from ocimatrix.report.cell_tools import ToolId
from ocimatrix.report.model import split_test_id
from ocimatrix.results import Record

NOT_WORKING = ("failed", "xfailed")
FINDING_OUTCOMES = ("failed", "xfailed", "error")

# suite -> the roles whose tool the suite's checks ask. A suite missing here (claims, a future one)
# blames every tool of its cells, as the report did before it knew better.
SUITE_ROLES: dict[str, tuple[str, ...]] = {
    "lifecycle": ("engine", "builder"),
    "platforms": ("engine", "builder"),
    "image": ("builder", "engine"),
    "cri": ("engine",),
    "runtime": ("runtime",),
    "distribution": ("registry",),
    # A writer's entries, a reader's verify, the registry's listing: each cell says which it judged last.
    "signatures": ("writer", "reader", "registry"),
    # The harness writes the layers and the store probes itself: what is judged is the engine's answer;
    # the runc it was set up with is context.
    "layers": ("engine",),
    "store": ("engine",),
    # A copy is the copier's (skopeo, crane) or, for save and load, the engine's.
    "copies": ("copier", "engine"),
    # BuildKit's index and attestations are the builder's; pulling and running them, the engine's.
    "attestations": ("builder", "engine"),
}
# Suites whose record says which of their roles it drove: an image check reads either what a
# builder pushed or what a runner saved, and records only that tool.
_BY_EVIDENCE = frozenset({"image"})

# (role, tool, the other axes' values) -> each version of that tool -> the outcomes of its cells
LikeCells = dict[tuple[str, str, tuple[tuple[str, str], ...]], dict[ToolId, list[str]]]


def judged_tools(record: Record, identities: dict[str, ToolId]) -> frozenset[ToolId] | None:
    """The tools whose answers the record's cell judged last (``evidence["under_test"]`` names their roles,
    or their keys when one cell used several in a role); None when it names none of its tools."""
    named = record.evidence.get(UNDER_TEST)
    if not isinstance(named, list):
        return None
    wanted = {role for role in named if isinstance(role, str)}
    found = frozenset(t for key, t in identities.items() if t.role in wanted or key in wanted)
    return found or None


def roles_under_test(record: Record, identities: dict[str, ToolId]) -> frozenset[str]:
    """The roles of ``identities`` (the record's resolved tools) that the record's suite tests."""
    present = frozenset(t.role for t in identities.values())
    axes = frozenset(t.role for t in identities.values() if not t.used)
    roles = SUITE_ROLES.get(record.suite)
    if roles is None:
        return present
    if record.suite in _BY_EVIDENCE:
        seen = record.evidence.get("tools") if isinstance(record.evidence.get("tools"), dict) else {}
        roles = tuple(r for r in roles if r in seen) or roles
    tested = present & frozenset(roles)
    # A cell naming none of them (a runtime-suite check varied only by engine): its axes' tools are what it tests.
    return tested or axes or present


def blamed_tools(record: Record, identities: dict[str, ToolId]) -> frozenset[ToolId]:
    """The tools a finding's record speaks about: whose answers its cell judged when it failed, where the
    suite says so; else the tools of the roles its suite tests."""
    if record.outcome in FINDING_OUTCOMES:
        judged = judged_tools(record, identities)
        if judged is not None:
            return judged
    roles = roles_under_test(record, identities)
    return frozenset(t for t in identities.values() if t.role in roles)


def one_outcome(outcomes: Iterable[str]) -> str | None:
    """The outcome all the like cells of one version agree on; None when they differ or say nothing
    (errors and skips say nothing about a version)."""
    telling = {o for o in outcomes if o not in ("skipped", "error")}
    return next(iter(telling)) if len(telling) == 1 else None


def version_steps(by_version: dict[ToolId, list[str]]) -> list[tuple[str, ToolId, ToolId, str, str]]:
    """(kind, older, newer, was, now) for each step from one version to the next where the outcome
    turned: ``fixed`` (failed or xfailed, then passed) or ``broken`` (the other way)."""
    ordered = sorted(by_version, key=ToolId.sort_key)
    steps = []
    for older, newer in zip(ordered, ordered[1:], strict=False):
        was, now = one_outcome(by_version[older]), one_outcome(by_version[newer])
        if was in NOT_WORKING and now == "passed":
            steps.append(("fixed", older, newer, was, now))
        elif was == "passed" and now in NOT_WORKING:
            steps.append(("broken", older, newer, was, now))
    return steps


def like_cells(records: list[Record], tools: list[dict[str, ToolId]], axes: list[str]) -> dict[str, LikeCells]:
    """test function -> its like-cell groups, one per role, tool and values of every other axis."""
    found: dict[str, LikeCells] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for record, identities in zip(records, tools, strict=True):
        test = split_test_id(record.test)[0]
        cell = tuple((axis, str(record.cell.get(axis, ""))) for axis in axes)
        # The tools a cell used beyond its axes belong to what makes cells alike, as the axes do.
        used = tuple(sorted((key, t.value) for key, t in identities.items() if t.used))
        for key, tool in identities.items():
            if tool.used:
                context = cell + tuple(pair for pair in used if pair[0] != key)
            else:
                at = axes.index(key) if key in axes else len(cell)
                context = cell[:at] + cell[at + 1 :] + used
            found[test][(tool.role, tool.tool, context)][tool].append(record.outcome)
    return found


def flipping_tools(groups: LikeCells) -> frozenset[tuple[str, str]]:
    """(role, tool) of each tool whose version alone turns the outcome in some like cells."""
    return frozenset((role, tool) for (role, tool, _), by_version in groups.items() if version_steps(by_version))


class Blame:
    """Per test function: which of its tools its outcomes are attributed to."""

    def __init__(self, records: list[Record], tools: list[dict[str, ToolId]], axes: list[str]) -> None:
        self.like_cells = like_cells(records, tools, axes)
        self._tested: dict[str, set[str]] = defaultdict(set)
        self._blamed = [blamed_tools(r, identities) for r, identities in zip(records, tools, strict=True)]
        # Records that say whose answers they judged (``under_test``): their findings are those tools' alone.
        self._judged = [
            r.outcome in FINDING_OUTCOMES and judged_tools(r, identities) is not None
            for r, identities in zip(records, tools, strict=True)
        ]
        for record, identities in zip(records, tools, strict=True):
            self._tested[split_test_id(record.test)[0]] |= roles_under_test(record, identities)
        self._flipping = {test: flipping_tools(groups) for test, groups in self.like_cells.items()}

    def is_blamed(self, test: str, role: str, tool: str) -> bool:
        """Whether an outcome of ``test`` (``file::function``) speaks about ``tool`` in ``role``: the
        suite tests that role, or that tool's version alone turned the outcome somewhere."""
        return role in self._tested.get(test, ()) or (role, tool) in self._flipping.get(test, ())

    def is_blamed_for(self, positions: Iterable[int], test: str, tool: ToolId) -> bool:
        """Whether the finding of ``test`` made of the records at ``positions`` speaks about ``tool``: their
        cells judged its answers, or that tool's version alone turned the outcome. Where every record
        says whose answers it judged, the finding is theirs alone: a writer whose newer version a reader
        can't read turns the outcome too, but the answer that failed is the reader's."""
        positions = list(positions)
        judged = any(tool in self._blamed[p] for p in positions)
        if positions and all(self._judged[p] for p in positions):
            return judged
        return judged or (tool.role, tool.tool) in self._flipping.get(test, ())
