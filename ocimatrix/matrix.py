"""Matrix files: load and check them, then expand their axes into cells.

A matrix names the values of each axis (engine, runtime, builder, platform, registry, format,
compression), optional ``exclude``/``include`` rules, the registries and endpoints it talks to, and
which suites run (optionally narrowing axes per suite). Each suite test declares the axes it varies
over; its cells are the distinct projections of the expanded product onto those axes.

Every error names the file, the line and the field, so a typo never turns into a traceback.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ocimatrix.axes import AXES, FORMATS, SUITES
from ocimatrix.errors import UsageError
from ocimatrix.registries.targets import registry_settings_problems
from ocimatrix.resources import MATRIX_DIR
from ocimatrix.tools import catalog
from ocimatrix.tools.versions import RangeError, VersionRange, parse_range

DEFAULT_MATRIX = MATRIX_DIR / "default.yaml"

# The axes and their known values; ``None`` means "checked by a pattern or by another section".
# Tools come from the catalog (tools/catalog.py), where ``name@generation`` is spelled too.
KNOWN_VALUES: dict[str, tuple[str, ...] | None] = {
    "engine": catalog.names("engine"),
    "builder": catalog.names("builder"),
    "runtime": catalog.names("runtime"),
    "platform": None,
    "registry": None,
    "format": FORMATS,
    "compression": ("gzip", "zstd", "none"),
}
TOOL_AXES = {"engine": "engine", "builder": "builder", "runtime": "runtime"}  # axis -> catalog role
# Suites that drive every root tool of some roles beyond their axes (the signatures suite's writers and
# readers): the run prepares those tools' generations when the matrix's ``suites:`` names the suite
# (such a suite runs only then: suites/signatures/conftest.py).
SUITE_ROLES = {"signatures": ("signer", "attacher")}


def suite_tools(suite: str) -> list[str]:
    """``name@generation`` of each root tool ``suite`` drives beyond its axes (none for most suites)."""
    roles = set(SUITE_ROLES.get(suite, ()))
    return [
        catalog.spelled(t.name, g) for t in catalog.TOOLS if roles & set(t.roles) for g in t.generations if t.in_root(g)
    ]


# GOOS/GOARCH pairs the image-spec points to, with the variants we know how to provide.
KNOWN_PLATFORMS = (
    "linux/amd64",
    "linux/386",
    "linux/arm64",
    "linux/arm/v5",
    "linux/arm/v6",
    "linux/arm/v7",
    "linux/arm64/v8",
    "linux/s390x",
    "linux/ppc64le",
    "linux/riscv64",
    "linux/mips64le",
    "windows/amd64",
    "windows/arm64",
)
_PLATFORM_RE = re.compile(r"^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?$")

TOP_LEVEL_KEYS = {
    "name",
    "description",
    "axes",
    "exclude",
    "include",
    "registries",
    "endpoints",
    "suites",
    "expectations",
}
REGISTRY_KEYS = {
    "port",
    "embedded",
    "url",
    "plain_http",
    "tls_verify",
    "auth",
    "namespace",
    "generation",
    "image",
    "description",
    "version",
}
ENDPOINT_KEYS = set(catalog.endpoint_keys())
# A suite's own keys beside its axes: extra cells, and tests it leaves out.
SUITE_KEYS = ("include", "deselect")


@dataclass(frozen=True)
class Matrix:
    path: Path
    name: str
    axes: dict[str, tuple[str, ...]]
    exclude: tuple[dict[str, tuple[str, ...]], ...] = ()
    include: tuple[dict[str, str], ...] = ()
    registries: dict[str, dict[str, Any]] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)
    suites: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    # Known incompatibilities: {test: glob of the test function name, cell: {axis: values},
    # versions: {tool: VersionRange} (empty: whatever versions), match, reason}.
    expectations: tuple[dict[str, Any], ...] = ()
    # Extra cells of one suite only (``suites: {lifecycle: {include: [...]}}``).
    suite_include: dict[str, tuple[dict[str, str], ...]] = field(default_factory=dict)
    # Tests of one suite this matrix leaves out, as globs of the test's name with its parameters
    # (``suites: {layers: {deselect: ["test_many_layers[*"]}}``): deselected, never reported as skipped.
    suite_deselect: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def deselects(self, suite: str, test_name: str) -> bool:
        """Whether this matrix leaves ``test_name`` (``test_x[params]``) of ``suite`` out."""
        return any(fnmatch.fnmatchcase(test_name, glob) for glob in self.suite_deselect.get(suite, ()))

    def generations(self, suites: tuple[str, ...] | None = None) -> tuple[str, ...]:
        """The generations other than this host's that any cell of the matrix names (of ``suites``
        only, when given): their roots and daemons are made ready for the run."""
        values: list[str] = []
        # A suite outside SUITES (verify's claims suite) still names cells: the run's own list counts.
        named = SUITES if suites is None else suites
        for suite in [s for s in (self.suites or named) if self.runs_suite(s) and s in named]:
            for cell in self.cells(suite):
                values += [cell.get(axis, "") for axis in TOOL_AXES]
                # A generation's registry (registries: {NAME: {embedded: true, generation: trixie}}).
                generation = (self.registries.get(cell.get("registry", "")) or {}).get("generation")
                values += [f"registry@{generation}"] if generation else []
            # Only a suite the matrix names: one running every suite by default prepares no root for them.
            values += suite_tools(suite) if suite in self.suites else []
        return catalog.root_generations(values)

    @property
    def embedded_registry_port(self) -> int:
        """A fixed port for the embedded registry (so a user's daemon can be told to trust it), or 0."""
        ports = [
            s.get("port")
            for s in self.registries.values()
            if s.get("embedded") is True and s.get("port") and not s.get("generation")
        ]
        return int(ports[0]) if ports else 0

    def runs_suite(self, suite: str) -> bool:
        return not self.suites or suite in self.suites

    def cells(self, suite: str | None = None) -> list[dict[str, str]]:
        """The full expanded product (after per-suite narrowing, exclude and include)."""
        axes = dict(self.axes)
        for axis, values in (self.suites.get(suite) or {}).items() if suite else ():
            axes[axis] = values
        names = list(axes)
        product = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes.values())]
        cells = [c for c in product if not any(_matches(c, rule) for rule in self.exclude) and same_generation(c)]
        for extra in (*self.include, *(self.suite_include.get(suite, ()) if suite else ())):
            cell = {axis: extra.get(axis, axes[axis][0]) for axis in names}
            if cell not in cells and same_generation(cell):
                cells.append(cell)
        return cells

    def cells_for(self, axes: Iterable[str], suite: str | None = None) -> list[dict[str, str]]:
        """Distinct projections of the cells onto ``axes``, in matrix order."""
        wanted = list(axes)
        unknown = [a for a in wanted if a not in AXES]
        if unknown:
            raise ValueError(f"unknown axes {unknown}; known: {', '.join(AXES)}")
        seen: list[dict[str, str]] = []
        for cell in self.cells(suite):
            projected = {a: cell[a] for a in wanted}
            if projected not in seen:
                seen.append(projected)
        return seen


def _matches(cell: Mapping[str, str], rule: Mapping[str, tuple[str, ...]]) -> bool:
    return all(cell.get(axis) in values for axis, values in rule.items())


def same_generation(cell: Mapping[str, str]) -> bool:
    """An engine hands containers to the runtimes of its own generation only (a root's crun needs the
    root's libraries): ``docker@trixie`` with ``crun`` is not a cell, ``docker@trixie`` with
    ``crun@trixie`` is. Builders and engines of different generations are the point: they meet
    through the one registry."""
    engine, runtime = cell.get("engine"), cell.get("runtime")
    return not (engine and runtime) or catalog.generation_of(engine) == catalog.generation_of(runtime)


def value_matches(cell_value: str | None, wanted: tuple[str, ...]) -> bool:
    """An expectation's axis values against a cell's: a bare tool name stands for every generation
    of it (``docker`` matches ``docker@trixie``; the expectation's ``versions`` tell them apart),
    ``docker@trixie`` only that generation."""
    if cell_value is None:
        return False
    if cell_value in wanted:
        return True
    name, _generation = catalog.split_generation(cell_value)
    return "@" in cell_value and name in wanted


def versions_match(ranges: Mapping[str, Any], recorded: Mapping[str, str]) -> bool | None:
    """Whether the versions a cell recorded fall in an expectation's ``versions`` ranges: every tool
    listed must have a recorded version in its range (``docker`` is any generation's docker in the cell,
    ``docker@trixie`` that one). None when a listed tool recorded no version (not judged)."""
    for tool, version_range in ranges.items():
        if "@" in tool:
            found = [recorded[tool]] if tool in recorded else []
        else:
            found = [v for k, v in recorded.items() if catalog.split_generation(k)[0] == tool and " " not in k]
        if not found:
            return None
        if not any(version_range.admits(v) for v in found):
            return False
    return True


class YamlLocations:
    """Line numbers of every mapping key and sequence item, so errors can point into the file."""

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[Any, ...], int] = {}
        try:
            node = yaml.compose(text)
        except yaml.YAMLError:
            return
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, path: tuple[Any, ...]) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, key.value)
                self.lines[child] = key.start_mark.line + 1
                self._walk(value, child)
                self.lines[child] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*path, index))

    def line(self, path: tuple[Any, ...]) -> int | None:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path)


class _Checker:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.located = YamlLocations(text)

    def fail(self, where: tuple[Any, ...], message: str) -> UsageError:
        line = self.located.line(where)
        field_name = ".".join(str(p) for p in where) or "(top level)"
        at = f"{self.path}:{line}" if line else str(self.path)
        return UsageError(f"{at}: field '{field_name}': {message}")

    def str_list(self, value: Any, where: tuple[Any, ...]) -> tuple[str, ...]:
        if isinstance(value, str | int | float):
            value = [value]
        if not isinstance(value, list) or not value:
            raise self.fail(where, "expected a non-empty list of values")
        out = []
        for index, item in enumerate(value):
            if not isinstance(item, str | int | float) or isinstance(item, bool):
                raise self.fail((*where, index), f"expected a string, got {type(item).__name__}")
            out.append(str(item))
        return tuple(out)

    def axis_values(self, axis: str, value: Any, where: tuple[Any, ...], registries: Mapping[str, Any]):
        values = self.str_list(value, where)
        for index, item in enumerate(values):
            self.check_value(axis, item, (*where, index), registries)
        return values

    def check_value(self, axis: str, value: str, where: tuple[Any, ...], registries: Mapping[str, Any]) -> None:
        if axis not in KNOWN_VALUES:
            raise self.fail(where, f"unknown axis '{axis}'; known axes: {', '.join(AXES)}")
        known = KNOWN_VALUES[axis]
        if axis in TOOL_AXES:
            try:
                catalog.lookup(value, TOOL_AXES[axis])
            except UsageError as exc:
                raise self.fail(where, str(exc)) from None
        elif known is not None and value not in known:
            raise self.fail(where, f"unknown {axis} '{value}'; known: {', '.join(known)}")
        if axis == "platform" and not _PLATFORM_RE.match(value):
            raise self.fail(where, f"platform '{value}' is not os/arch[/variant]; known: {', '.join(KNOWN_PLATFORMS)}")
        if axis == "platform" and value not in KNOWN_PLATFORMS:
            raise self.fail(where, f"unknown platform '{value}'; known: {', '.join(KNOWN_PLATFORMS)}")
        if axis == "registry" and value not in registries:
            raise self.fail(where, f"registry '{value}' is not defined under 'registries' ({', '.join(registries)})")


def load_matrix(path: str | Path) -> Matrix:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read matrix file: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise UsageError(f"{where}: not valid YAML: {problem}") from None
    return parse_matrix(data, path, text)


def parse_matrix(data: Any, path: Path, text: str = "") -> Matrix:
    check = _Checker(path, text)
    if not isinstance(data, dict):
        raise check.fail((), "a matrix file is a mapping with at least 'axes'")
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise check.fail((key,), f"unknown key; expected one of: {', '.join(sorted(TOP_LEVEL_KEYS))}")

    registries = _parse_registries(check, data.get("registries") or {"embedded": {"embedded": True}})
    endpoints = _parse_endpoints(check, data.get("endpoints") or {})

    raw_axes = data.get("axes")
    if not isinstance(raw_axes, dict) or not raw_axes:
        raise check.fail(("axes",), "expected a mapping of axis name to a list of values")
    axes: dict[str, tuple[str, ...]] = {}
    for axis in AXES:
        if axis in raw_axes:
            axes[axis] = check.axis_values(axis, raw_axes[axis], ("axes", axis), registries)
    for axis in raw_axes:
        if axis not in KNOWN_VALUES:
            raise check.fail(("axes", axis), f"unknown axis; known axes: {', '.join(AXES)}")
    axes.setdefault("registry", (next(iter(registries)),))
    defaults = {
        "platform": ("linux/amd64",),
        "format": ("oci",),
        "compression": ("gzip",),
        "runtime": (catalog.default_runtime(),),
    }
    for axis, value in defaults.items():
        axes.setdefault(axis, value)
    for axis in ("engine", "builder"):
        if axis not in axes:
            raise check.fail(("axes",), f"missing axis '{axis}'")

    exclude = tuple(_parse_rules(check, data.get("exclude"), "exclude", registries, axes))
    include = _include_cells(check, _parse_rules(check, data.get("include"), "include", registries, axes), ("include",))

    suites = _parse_suites(check, data.get("suites"), registries)
    suite_include = _parse_suite_includes(check, data.get("suites"), registries)
    suite_deselect = _parse_suite_deselects(check, data.get("suites"))
    expectations = _parse_expectations(check, data.get("expectations"), registries)
    name = str(data.get("name") or path.stem)
    matrix = Matrix(
        path,
        name,
        axes,
        exclude,
        tuple(include),
        registries,
        endpoints,
        suites,
        expectations,
        suite_include,
        suite_deselect,
    )
    if not matrix.cells():
        raise check.fail(("exclude",), "every cell is excluded; the matrix would run nothing")
    return matrix


def _parse_rules(
    check: _Checker, raw: Any, key: str, registries, axes, prefix: tuple = ()
) -> list[dict[str, tuple[str, ...]]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise check.fail((*prefix, key), "expected a list of {axis: value} rules")
    rules = []
    for index, rule in enumerate(raw):
        if not isinstance(rule, dict) or not rule:
            raise check.fail((*prefix, key, index), "expected a mapping of axis to value(s)")
        parsed = {}
        for axis, value in rule.items():
            where = (*prefix, key, index, axis)
            if axis not in KNOWN_VALUES:
                raise check.fail(where, f"unknown axis; known axes: {', '.join(AXES)}")
            values = check.axis_values(axis, value, where, registries)
            if key == "include" and len(values) != 1:
                raise check.fail(where, "an include rule names one value per axis")
            parsed[axis] = values
        rules.append(parsed)
    return rules


def _parse_registries(check: _Checker, raw: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, dict):
        raise check.fail(("registries",), "expected a mapping of registry name to its settings")
    registries = {}
    for name, spec in raw.items():
        where = ("registries", name)
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            raise check.fail(where, "expected a mapping (url, plain_http, tls_verify, auth, namespace)")
        for key in spec:
            if key not in REGISTRY_KEYS:
                raise check.fail((*where, key), f"unknown key; expected one of: {', '.join(sorted(REGISTRY_KEYS))}")
        if not spec.get("embedded") and not spec.get("url") and not spec.get("image"):
            raise check.fail(where, "a registry needs 'url' (an existing registry), 'image' or 'embedded: true'")
        auth = spec.get("auth")
        if auth is not None:
            if not isinstance(auth, dict) or auth.get("type") not in ("none", "basic", "bearer"):
                raise check.fail((*where, "auth"), "expected {type: none|basic|bearer, ...}")
            for secret in ("password", "token"):
                if secret in auth:
                    raise check.fail(
                        (*where, "auth", secret),
                        f"secrets never go in a matrix file: use '{secret}_env' (an environment variable name) "
                        "or 'credentials_file'",
                    )
        for subfield, message in registry_settings_problems(spec):
            raise check.fail((*where, *subfield), message)
        registries[str(name)] = dict(spec)
    return registries


def _parse_endpoints(check: _Checker, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise check.fail(("endpoints",), "expected a mapping of engine to endpoint URL")
    endpoints = {}
    for engine, url in raw.items():
        where = ("endpoints", engine)
        if engine not in ENDPOINT_KEYS:
            raise check.fail(where, f"unknown engine; known: {', '.join(sorted(ENDPOINT_KEYS))}")
        if not isinstance(url, str) or not re.match(r"^(unix|tcp|npipe)://", url):
            raise check.fail(where, "expected an endpoint like unix:///run/containerd/containerd.sock")
        endpoints[engine] = url
    return endpoints


def _parse_suites(check: _Checker, raw: Any, registries) -> dict[str, dict[str, tuple[str, ...]]]:
    if raw is None:
        return {}
    if isinstance(raw, list):
        raw = dict.fromkeys(raw)
    if not isinstance(raw, dict):
        raise check.fail(("suites",), f"expected a list or mapping of suites ({', '.join(SUITES)})")
    suites = {}
    for suite, overrides in raw.items():
        where = ("suites", suite)
        if suite not in SUITES:
            raise check.fail(where, f"unknown suite; known: {', '.join(SUITES)}")
        overrides = overrides or {}
        if not isinstance(overrides, dict):
            raise check.fail(where, "expected a mapping of axis to the values this suite runs")
        overrides = {axis: values for axis, values in overrides.items() if axis not in SUITE_KEYS}
        suites[suite] = {
            axis: check.axis_values(axis, values, (*where, axis), registries) for axis, values in overrides.items()
        }
    return suites


def _parse_suite_deselects(check: _Checker, raw: Any) -> dict[str, tuple[str, ...]]:
    """``suites: {layers: {deselect: [GLOB, ...]}}``: tests of that suite the matrix leaves out."""
    found: dict[str, tuple[str, ...]] = {}
    for suite, overrides in (raw or {}).items() if isinstance(raw, dict) else ():
        if isinstance(overrides, dict) and "deselect" in overrides:
            globs = overrides["deselect"]
            if not isinstance(globs, list) or not globs or not all(isinstance(g, str) and g for g in globs):
                where = ("suites", suite, "deselect")
                raise check.fail(where, "expected a list of test names or globs (e.g. 'test_many_layers[*')")
            found[str(suite)] = tuple(globs)
    return found


def _parse_suite_includes(check: _Checker, raw: Any, registries) -> dict[str, tuple[dict[str, str], ...]]:
    """``suites: {lifecycle: {include: [{...}]}}``: extra cells of that suite only."""
    found: dict[str, tuple[dict[str, str], ...]] = {}
    for suite, overrides in (raw or {}).items() if isinstance(raw, dict) else ():
        if isinstance(overrides, dict) and "include" in overrides:
            rules = _parse_rules(check, overrides["include"], "include", registries, {}, prefix=("suites", suite))
            found[str(suite)] = tuple(_include_cells(check, rules, ("suites", suite, "include")))
    return found


def _include_cells(check: _Checker, rules, where: tuple) -> list[dict[str, str]]:
    cells = []
    for index, rule in enumerate(rules):
        cell = {axis: values[0] for axis, values in rule.items()}
        if not same_generation(cell):
            raise check.fail(
                (*where, index, "runtime"),
                f"runtime {cell['runtime']} is of another generation than engine {cell['engine']}: an engine runs "
                "the runtimes of its own generation",
            )
        cells.append(cell)
    return cells


def _parse_expectations(check: _Checker, raw: Any, registries) -> tuple[dict[str, Any], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise check.fail(("expectations",), "expected a list of {test, cell, match, reason}")
    parsed = []
    for index, entry in enumerate(raw):
        where = ("expectations", index)
        if not isinstance(entry, dict):
            raise check.fail(where, "expected a mapping: test, match, reason, optionally cell and versions")
        for key in entry:
            if key not in ("test", "cell", "versions", "step", "match", "reason"):
                raise check.fail((*where, key), "unknown key; expected test, cell, versions, step, match, reason")
        if not isinstance(entry.get("test"), str) or not entry["test"]:
            raise check.fail((*where, "test"), "expected the test function name (glob patterns allowed)")
        if not isinstance(entry.get("reason"), str) or not entry["reason"].strip():
            raise check.fail((*where, "reason"), "say why this cell is expected to fail")
        match = _parse_match(check, entry.get("match"), (*where, "match"))
        cell = entry.get("cell") or {}
        if not isinstance(cell, dict):
            raise check.fail((*where, "cell"), "expected a mapping of axis to value(s)")
        values = {axis: check.axis_values(axis, v, (*where, "cell", axis), registries) for axis, v in cell.items()}
        expectation = {"test": entry["test"], "cell": values, "match": match, "reason": entry["reason"].strip()}
        if "step" in entry:
            expectation["step"] = _parse_match(check, entry["step"], (*where, "step"))
        if "versions" in entry:
            expectation["versions"] = _parse_versions(check, entry["versions"], (*where, "versions"))
        parsed.append(expectation)
    return tuple(parsed)


def _parse_versions(check: _Checker, raw: Any, where: tuple) -> dict[str, VersionRange]:
    """``versions: {docker: "<23", runc@trixie: ">=1.1,<1.2"}``: the tool versions that have the
    incompatibility (ranges as in claims files); a cell whose recorded versions are outside is
    expected to pass."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not raw:
        raise check.fail(where, "expected a mapping of tool to a version range, e.g. {docker: '<23'}")
    ranges = {}
    for tool, text in raw.items():
        try:
            catalog.lookup(str(tool))
        except UsageError as exc:
            raise check.fail((*where, tool), str(exc)) from None
        if not isinstance(text, str | int | float) or isinstance(text, bool):
            raise check.fail((*where, tool), "expected a version range such as '<23' or '>=1.6,<1.7'")
        try:
            ranges[str(tool)] = parse_range(text)
        except RangeError as exc:
            raise check.fail((*where, tool), str(exc)) from None
    return ranges


def _parse_match(check: _Checker, raw: Any, where: tuple) -> str:
    """A pattern the implementation's own answer (``match``) or the step it answered (``step``) must
    match for a failure to count as this known incompatibility.

    Without it any failure, a refused connection included, would "confirm" the expectation.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise check.fail(where, "expected a regular expression the implementation's answer must match (re.search)")
    try:
        re.compile(raw)
    except re.error as exc:
        raise check.fail(where, f"not a valid regular expression: {exc}") from None
    return raw
