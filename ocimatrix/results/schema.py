"""Check a results.json against ``schemas/results.schema.json`` before anything reads it.

Public API: ``results_schema_path()``, ``results_problems(data, limit)`` and
``validate_results_file(path)``, which the report, merge and the run's own self-check call (the
record's own contract: it lives beside ``results.py``, not in the report). A file that
does not conform is refused with the file name and the JSON path of the first problems (exit 2), so a
writer's bug never turns into a half-drawn matrix.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

from ocimatrix.errors import UsageError
from ocimatrix.resources import schemas_dir
from ocimatrix.results import SCHEMA_ID, Record, Results, Run

SCHEMA_FILE = "results.schema.json"
SHOWN_PROBLEMS = 5


def results_schema_path() -> Path:
    """schemas/results.schema.json (the checkout's, or the wheel's copy); OCIMATRIX_SCHEMA_DIR overrides the folder."""
    path = schemas_dir() / SCHEMA_FILE
    if not path.is_file():
        hint = "set OCIMATRIX_SCHEMA_DIR to the schemas/ folder"
        raise UsageError(f"results schema not found at {path} ({hint})")
    return path


@cache
def _schema() -> dict[str, Any]:
    schema = json.loads(results_schema_path().read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def _validator(part: str = "") -> Draft202012Validator:
    """The reference validator, for the whole document or for one ``$defs`` entry (``part``)."""
    schema = _schema()
    registry = Registry(retrieve=_refuse_remote).with_resource(schema["$id"], Resource.from_contents(schema))
    if part:
        schema = {"$ref": f"{schema['$id']}#/$defs/{part}"}
    return Draft202012Validator(schema, registry=registry)


@cache
def _fast_check(part: str = "") -> Callable[[Any], bool] | None:
    """A compiled validator: jsonschema needs ~0.5 ms a record, 25 s for a 50,000-record nightly.

    The schema uses only keywords that mean the same in draft-07 (which fastjsonschema compiles) and
    in 2020-12, so both agree; tests/test_report_schema.py checks they do on broken documents.
    """
    try:
        import fastjsonschema
    except ImportError:
        return None
    schema = {k: v for k, v in _schema().items() if k != "$schema"}
    if part:
        schema = {"$id": schema["$id"], "$defs": schema["$defs"], "$ref": f"#/$defs/{part}"}
    # Every $ref is local; one that is not must fail here rather than become a download.
    compiled = fastjsonschema.compile(schema, handlers={"http": _refuse_remote, "https": _refuse_remote})
    # The exception class of the very module that compiled the check: if fastjsonschema is imported
    # again later (pytester restores sys.modules after an in-process run), a fresh import would bring
    # a different class that the compiled code never raises.
    invalid = fastjsonschema.JsonSchemaValueException

    def check(data: Any) -> bool:
        try:
            compiled(data)
        except invalid:
            return False
        return True

    return check


def _refuse_remote(uri: str) -> Any:
    # Both validators would otherwise try to download a $ref they cannot resolve locally.
    raise NoSuchResource(ref=uri)


def _passes_fast(check: Callable[[Any], bool], data: Any) -> bool:
    return check(data)


def results_problems(data: Any, limit: int = SHOWN_PROBLEMS) -> list[str]:
    """The first ``limit`` problems as ``$.json.path: message``, in document order."""
    # A wrong "schema" value makes every other message noise: say that alone.
    if isinstance(data, dict) and data.get("schema") != SCHEMA_ID:
        found = json.dumps(data.get("schema")) if "schema" in data else "missing"
        return [f'$.schema: expected "{SCHEMA_ID}", found {found}']
    fast = _fast_check()
    if fast is None:
        return _describe(itertools.islice(_validator().iter_errors(data), limit * 4), "$", limit)
    if _passes_fast(fast, data):
        return []
    # Something is wrong: find it with the reference validator, but only where the compiled one
    # points, so one bad record in 50,000 costs milliseconds rather than the full slow pass.
    records = data.get("results") if isinstance(data, dict) else None
    outer = {**data, "results": []} if isinstance(records, list) else data
    problems = _describe(_validator().iter_errors(outer), "$", limit)
    if isinstance(records, list):
        fast_record = _fast_check("record")
        for index, record in enumerate(records):
            if len(problems) >= limit:
                break
            if fast_record is not None and _passes_fast(fast_record, record):
                continue
            problems += _describe(_validator("record").iter_errors(record), f"$.results[{index}]", limit)
    return problems[:limit]


def _describe(errors: Iterable[ValidationError], prefix: str, limit: int) -> list[str]:
    """One line per JSON path; the missing required properties of one object on a single line."""
    missing: dict[str, list[str]] = {}
    lines: dict[str, list[str]] = {}
    for error in errors:
        path = prefix + error.json_path[1:]
        if error.validator == "required":
            missing.setdefault(path, []).append(repr(error.message.split("'")[1]))
            lines.setdefault(path, [])
        else:
            lines.setdefault(path, []).append(_short(error.message))
        if len(lines) > limit:
            break
    out = []
    for path, messages in lines.items():
        if path in missing:
            messages = [f"missing required {', '.join(missing[path])}"] + messages
        out.append(f"{path}: {'; '.join(messages)}")
    return out


def _short(message: str, width: int = 160) -> str:
    return message if len(message) <= width else message[: width - 1] + "…"


def load_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such results file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, expected a results.json file") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def validate_results_data(data: Any, source: str | Path) -> None:
    problems = results_problems(data)
    if problems:
        listed = "\n".join(f"  {p}" for p in problems)
        schema = results_schema_path().name
        raise UsageError(f"{source}: does not conform to {SCHEMA_ID} ({schema}); first problems:\n{listed}")


def validate_results_file(path: str | Path) -> dict[str, Any]:
    """Parse and check one results file; return its JSON, or raise UsageError naming file and JSON paths."""
    data = load_json(Path(path))
    validate_results_data(data, path)
    return data


def results_from_data(data: dict[str, Any]) -> Results:
    """Build the contract's dataclasses from JSON that already passed the schema check."""
    known = set(Run.__dataclass_fields__)
    run = Run(**{k: v for k, v in data["run"].items() if k in known})
    return Results(run=run, results=[Record.from_json(item) for item in data["results"]])


def load_checked_results(path: str | Path) -> Results:
    """Validated read: the schema check, then the same dataclasses ``results.read_results`` builds."""
    return results_from_data(validate_results_file(path))
