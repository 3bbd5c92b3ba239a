"""The house as docs/architecture.md draws it: every room on a floor, no import from a lower floor to
a higher one, no cycle between rooms, and tool and generation names spelled only where they belong.

A room is a top-level module or package of ``ocimatrix/``. Every import counts, those inside
functions and under ``TYPE_CHECKING`` too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "ocimatrix"
ARCHITECTURE = REPO / "docs" / "architecture.md"
FLOOR_ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*([^|]+?)\s*\|")


def declared_floors() -> dict[str, int]:
    """Room -> floor, from the floors table of docs/architecture.md (``| 1 | `tools`, `errors` | ...``)."""
    text = ARCHITECTURE.read_text()
    section = text.split("## Floors", 1)[1].split("\n## ", 1)[0]
    floors: dict[str, int] = {}
    for line in section.splitlines():
        match = FLOOR_ROW.match(line)
        if match:
            for room in re.findall(r"`([^`]+)`", match.group(2)):
                floors[room.removeprefix("ocimatrix/").strip("/").removesuffix(".py")] = int(match.group(1))
    return floors


def rooms() -> set[str]:
    found = set()
    for path in PACKAGE.iterdir():
        if path.name.startswith(("_", ".")) and path.name != "__init__.py":
            continue
        if path.is_dir() and (path / "__init__.py").exists():
            found.add(path.name)
        elif path.suffix == ".py" and path.name != "__init__.py":
            found.add(path.stem)
    return found


def _room_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "ocimatrix" or len(parts) < 2:
        return None
    return parts[1]


def imports_between_rooms() -> dict[tuple[str, str], list[str]]:
    """(from room, to room) -> where: every import of one room's code by another's."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(REPO).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        source = _room_of(module)
        if source is None:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")[: len(module.split(".")) - node.level + (path.name == "__init__.py")]
                    targets = [".".join([*base, node.module] if node.module else base)]
                elif node.module == "ocimatrix":
                    targets = [f"ocimatrix.{alias.name}" for alias in node.names]
                else:
                    targets = [node.module or ""]
            else:
                continue
            for target in targets:
                room = _room_of(target)
                if room and room != source and room in rooms():
                    edges[(source, room)].append(f"{relative}.py:{node.lineno}")
    return edges


def test_every_room_stands_on_a_declared_floor():
    undeclared = sorted(rooms() - set(declared_floors()))
    assert not undeclared, f"rooms missing from the floors table of docs/architecture.md: {undeclared}"
    gone = sorted(set(declared_floors()) - rooms())
    assert not gone, f"docs/architecture.md declares rooms that no longer exist: {gone}"


def test_no_room_imports_from_a_higher_floor():
    floors = declared_floors()
    upward = [
        f"{a} (floor {floors[a]}) imports {b} (floor {floors[b]}) at {', '.join(where[:3])}"
        for (a, b), where in sorted(imports_between_rooms().items())
        if a in floors and b in floors and floors[b] > floors[a]
    ]
    assert not upward, "imports pointing up a floor:\n" + "\n".join(upward)


def test_rooms_form_no_cycle():
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in imports_between_rooms():
        graph[a].add(b)
    cycles = _strongly_connected(graph)
    assert not cycles, f"rooms that import each other (directly or through others): {cycles}"


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_one():
    assert _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _strongly_connected({"a": {"b"}, "b": set()}) == []


# --- where tool and generation names are spelled --------------------------------------------------


def _spelled_names() -> set[str]:
    from ocimatrix.tools import catalog, generations

    tools = {t.name for t in catalog.TOOLS if set(t.roles) - {"support"} and t.name != "registry"}
    return tools | set(generations.NAMES)


def _spellings(path: Path, names: set[str], generations: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            name, at, generation = node.value.partition("@")
            if node.value in names or (at and name in names and generation in generations):
                found.add(node.value)
    return found


def _owners() -> dict[str, set[str]]:
    """Module path -> the tools it may name: each tool's driver module and the modules its catalog line
    declares (``Tool.modules``: its daemon's service, its config writer)."""
    from ocimatrix.axes import FORMATS
    from ocimatrix.tools import catalog

    owners: dict[str, set[str]] = {}
    for tool in catalog.TOOLS:
        modules = [tool.driver.partition(":")[0]] if tool.driver else []
        for module in [*modules, *tool.modules]:
            owners.setdefault(module.replace(".", "/") + ".py", set()).add(tool.name)
    # The manifest format "docker" is no tool: its one spelling is the axes' table of formats.
    owners.setdefault("ocimatrix/axes.py", set()).update(FORMATS)
    return owners


def _may_spell(relative: str) -> bool:
    """The tools floor owns every name (and the generated CRI stubs, which are no code of ours)."""
    return relative.startswith("ocimatrix/tools/") or "/gen/" in relative


def test_tool_and_generation_names_are_spelled_only_where_they_belong():
    from ocimatrix.tools.generations import NAMES

    names = _spelled_names()
    owners = _owners()
    grown = []
    for base in (PACKAGE, REPO / "suites"):
        for path in sorted(base.rglob("*.py")):
            relative = str(path.relative_to(REPO))
            if _may_spell(relative):
                continue
            own = owners.get(relative, set())
            spelled = {v for v in _spellings(path, names, set(NAMES)) if v.partition("@")[0] not in own}
            if spelled:
                grown.append(f"{relative}: {sorted(spelled)}")
    assert not grown, (
        "tool or generation names spelled outside ocimatrix/tools/ and the drivers (ask the catalog):\n"
        + "\n".join(grown)
    )


def test_the_spelling_finder_finds_names_and_generations_but_not_docstrings(tmp_path):
    from ocimatrix.tools.generations import NAMES

    module = tmp_path / "m.py"
    module.write_text('"""docker, in a docstring."""\nA = "podman"\nB = "runc@trixie"\nC = "docker-archive"\n')
    assert _spellings(module, _spelled_names(), set(NAMES)) == {"podman", "runc@trixie"}
