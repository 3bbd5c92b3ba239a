"""Strict JSON parsing for OCI documents: UTF-8 only, no NaN/Infinity, repeated keys reported.

``parse_json(data) -> ParsedJSON`` never raises on bad input; ``.usable`` is False when the bytes
are not JSON at all, and ``.problems`` lists (rule_id, message) pairs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class ParsedJSON:
    value: object = None
    problems: list[tuple[str, str]] = field(default_factory=list)
    usable: bool = False


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes) -> ParsedJSON:
    result = ParsedJSON()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        result.problems.append(("json.invalid", f"not UTF-8: byte {exc.start} cannot be decoded"))
        return result

    def pairs_hook(pairs: list[tuple[str, object]]) -> dict:
        seen: dict[str, object] = {}
        for key, value in pairs:
            if key in seen:
                result.problems.append(
                    ("json.duplicate-key", f"object repeats key {key!r}; readers disagree on which value wins")
                )
            seen[key] = value
        return seen

    try:
        result.value = json.loads(text, object_pairs_hook=pairs_hook, parse_constant=_reject_constant)
        result.usable = True
    except (ValueError, RecursionError) as exc:
        result.problems.append(("json.invalid", f"not valid JSON: {exc}"))
        result.value = None
    return result
