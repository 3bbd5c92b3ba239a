"""Which tool, version and generation a record's cell names, the way a person reads it:
``docker 20.10.24 (bookworm)``.

A cell names a tool per role axis (``engine: docker@trixie``); no ``@`` suffix is this host's
generation. The record's ``evidence["tools"][role]`` says what the harness found (version,
generation); older records have only the versions (tool or ``tool@generation`` -> version, read
back as ``Record.versions`` whichever place an older writer put them), and their generation is unknown.

A cell may also use tools no axis names: the signatures suite's writer and reader, the copies suite's
copier. The suite records each under its role in ``evidence["tools"]`` (``writer``, ``reader``, or
``writer <tool>`` when one cell uses several), and they are the cell's tools too (``ToolId.used``),
so a finding can be blamed on the one whose answer it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ocimatrix.results import Record
from ocimatrix.tools import generations

ROLES = ("builder", "engine", "runtime", "registry")  # the axes whose value names a tool
# Roles of tools a cell used beyond its axes, in the order the site lists them; others follow by name.
USED_ROLES = ("writer", "reader", "signer", "attacher", "copier")
_PACKAGING_SUFFIX = re.compile(r"[+~].*$")


_EPOCH = re.compile(r"^\d+:")
_DEBIAN_REVISION = re.compile(r"-[0-9][^-]*$")  # "1.21-1": the package's revision, not upstream's
_SNAPSHOT = re.compile(r"^0\.0~(?:git)?(\d{8})")  # Debian's spelling of a dated snapshot (runsc's)


def short_version(version: str) -> str:
    """``20.10.24+dfsg1`` -> ``20.10.24``: the upstream version people compare, without Debian's suffix.

    A dated snapshot such as ``0.0~20221219.0`` reads as its date, ``20221219``, not ``0.0``.
    """
    if not version:
        return ""
    version = _EPOCH.sub("", version.strip())
    snapshot = _SNAPSHOT.match(version)
    return snapshot.group(1) if snapshot else _DEBIAN_REVISION.sub("", _PACKAGING_SUFFIX.sub("", version))


def generation_rank(generation: str) -> int:
    """Older generations first; unknown ones (old results files) before the named ones."""
    if not generation:
        return -1
    return generations.order(generation)


def _version_key(version: str) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.\-]", short_version(version)))


@dataclass(frozen=True)
class ToolId:
    role: str
    value: str  # the cell's own spelling, e.g. ``docker@trixie``: what the site's filters use
    tool: str
    generation: str
    version: str
    used: bool = False  # a tool the cell used beyond its axes (``evidence["tools"]``), not one an axis names

    @property
    def label(self) -> str:
        text = self.tool + (f" {short_version(self.version)}" if self.version else "")
        return text + (f" ({self.generation})" if self.generation else "")

    def sort_key(self) -> tuple:
        return (generation_rank(self.generation), self.tool, _version_key(self.version), self.version)


def tools_of(record: Record) -> dict[str, ToolId]:
    """role -> the tool the record's cell names for it, with the version and generation known for it."""
    cell = record.cell
    versions = record.versions
    seen = record.evidence.get("tools") if isinstance(record.evidence.get("tools"), dict) else {}
    found: dict[str, ToolId] = {}
    for role in ROLES:
        value = cell.get(role)
        if not isinstance(value, str) or not value:
            continue
        tool, _, generation = value.partition("@")
        observed: dict[str, Any] = seen.get(role) if isinstance(seen.get(role), dict) else {}
        if observed.get("tool") not in (tool, value):
            observed = {}
        recorded = versions.get(value) or (versions.get(tool) if not generation else "")
        if role == "registry":
            # A registry is named by the matrix (embedded, container...); its software's version is recorded apart.
            tool = f"registry:{tool}"
            recorded = recorded or versions.get(f"registry:{value}") or _registry_version(record.evidence)
        version = str(observed.get("version") or recorded or "")
        generation = generation or str(observed.get("generation") or "")
        found[role] = ToolId(role=role, value=value, tool=tool, generation=generation, version=version)
    found.update(_used_tools(record, found))
    return found


def role_rank(role: str) -> tuple[int, int, str]:
    """The order the site lists roles in: the axes', then the used tools' (``ROLES``, ``USED_ROLES``)."""
    if role in ROLES:
        return (0, ROLES.index(role), "")
    if role in USED_ROLES:
        return (1, USED_ROLES.index(role), "")
    return (2, 0, role)


def _used_tools(record: Record, found: dict[str, ToolId]) -> dict[str, ToolId]:
    """The tools ``evidence["tools"]`` records beyond the cell's axes, keyed as recorded (``writer``,
    ``writer cosign@trixie``); their role is the key's first word."""
    seen = record.evidence.get("tools") if isinstance(record.evidence.get("tools"), dict) else {}
    used: dict[str, ToolId] = {}
    for key, observed in seen.items():
        if not isinstance(key, str) or not key.strip() or key in found or not isinstance(observed, dict):
            continue
        tool = observed.get("tool")
        if not isinstance(tool, str) or not tool:
            continue
        role = key.split()[0]
        if role in ROLES:
            # An axis's role the cell doesn't name (the runtime suite's probe builder): a means, not a cell's tool.
            continue
        generation = str(observed.get("generation") or "")
        value = f"{tool}@{generation}" if generation else tool
        version = str(observed.get("version") or "")
        used[key] = ToolId(role=role, value=value, tool=tool, generation=generation, version=version, used=True)
    return used


def _registry_version(evidence: dict[str, Any]) -> str:
    registry = evidence.get("registry")
    return str(registry.get("version") or "") if isinstance(registry, dict) else ""


def _could_be(vague: ToolId, known: ToolId) -> bool:
    same_version = not vague.version or known.version == vague.version
    return same_version and (not vague.generation or known.generation == vague.generation)


def resolve_tools(records: list[Record]) -> list[dict[str, ToolId]]:
    """``tools_of`` for each record, where a record that names a tool but knows nothing of it (a cell
    skipped before its tool was bound, an old file) borrows the one identity the run knows for that
    spelling: the same docker, not a second, versionless one."""
    found = [tools_of(r) for r in records]
    known: dict[tuple[str, str], set[ToolId]] = {}
    for tools in found:
        for tool in tools.values():
            if tool.version or tool.generation:
                known.setdefault((tool.role, tool.value), set()).add(tool)
    for tools in found:
        for role, tool in list(tools.items()):
            if tool.version and tool.generation:
                continue
            candidates = [t for t in known.get((role, tool.value), ()) if _could_be(tool, t)]
            if len(candidates) > 1:
                candidates = [t for t in candidates if t.version and t.generation]
            if len(candidates) == 1:
                tools[role] = candidates[0]
    return found
