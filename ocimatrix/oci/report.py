"""What a validation finds: ``Violation`` records gathered in a ``Report``.

Public API (stable):

- ``Violation(rule_id, where, message, spec_url, level)`` - ``where`` names the file, blob or
  JSON path (``index.json:/manifests/0/digest``); ``message`` is one line a vendor can act on.
- ``Report`` - ``.violations``, ``.checked`` (counts of what was walked), ``.errors``,
  ``.warnings``, ``.ok`` (no errors), ``.has(rule_id)``, ``.add(rule_id, where, message)``,
  ``.to_dict()``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from ocimatrix.oci.rules import rule


@dataclass(frozen=True)
class Violation:
    rule_id: str
    where: str
    message: str
    spec_url: str
    level: str = "error"

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.level.upper()} {self.rule_id} {self.where}: {self.message} ({self.spec_url})"


@dataclass
class Report:
    source: str
    violations: list[Violation] = field(default_factory=list)
    checked: Counter = field(default_factory=Counter)
    _seen: set = field(default_factory=set, repr=False, compare=False)

    def add(self, rule_id: str, where: str, message: str) -> Violation:
        known = rule(rule_id)
        # One line each, whatever the input smuggled into the message.
        one_line = " ".join(str(message).split())
        violation = Violation(rule_id, where, one_line, known.url, known.level)
        if violation not in self._seen:
            self._seen.add(violation)
            self.violations.append(violation)
        return violation

    @property
    def errors(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "error"]

    @property
    def warnings(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def has(self, rule_id: str) -> bool:
        return any(v.rule_id == rule_id for v in self.violations)

    def rule_ids(self) -> set[str]:
        return {v.rule_id for v in self.violations}

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "valid": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "checked": dict(self.checked),
            "violations": [v.to_dict() for v in self.violations],
        }
