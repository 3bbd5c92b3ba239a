"""How the CRI suite judges what a runtime reports back, kept apart from the suites so the self-tests
can feed it recorded answers (CRI-O's, containerd's) without a runtime at hand.

Labels and annotations are judged the way critest judges them: every key the client sent must come
back with its value; keys the runtime adds of its own (CRI-O adds ``io.kubernetes.*`` ones) are
allowed, and reported as evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ocimatrix.errors import ImplementationFailure


@dataclass(frozen=True)
class MapVerdict:
    """What became of a map (labels, annotations) the client sent, in the runtime's answer."""

    what: str  # e.g. "PodSandboxStatus.labels"
    missing: dict[str, str] = field(default_factory=dict)  # sent, absent from the answer
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (sent, reported)
    added: dict[str, str] = field(default_factory=dict)  # the runtime's own keys

    @property
    def problem(self) -> str:
        """A message naming what was lost or altered ("" when every sent entry came back)."""
        parts = []
        if self.missing:
            parts.append(f"lacks {self.missing}")
        if self.changed:
            altered = ", ".join(f"{k}: sent {sent!r}, got {got!r}" for k, (sent, got) in sorted(self.changed.items()))
            parts.append(f"altered {altered}")
        if not parts:
            return ""
        return f"{self.what} {' and '.join(parts)}; every label and annotation the client set must come back as set"

    def evidence(self) -> dict[str, object]:
        return {"missing": self.missing, "changed": {k: list(v) for k, v in self.changed.items()}, "added": self.added}


def judge_map(what: str, sent: Mapping[str, str], reported: Mapping[str, str]) -> MapVerdict:
    sent, reported = dict(sent), dict(reported)
    return MapVerdict(
        what,
        missing={k: v for k, v in sent.items() if k not in reported},
        changed={k: (v, reported[k]) for k, v in sent.items() if k in reported and reported[k] != v},
        added={k: v for k, v in reported.items() if k not in sent},
    )


def runtime_handler_problem(asked: str, reported: str, where: str) -> str:
    """The CRI reports the handler a pod runs with; an empty one (CRI-O 1.33) hides it ("" if right)."""
    if reported == asked:
        return ""
    return f"the pod was run with runtime handler {asked!r}; {where} reports {reported!r}"


def listed_images(images: Iterable[Any]) -> str:
    """A ListImages answer as the text a check keeps (``api.Image`` items): how many images the runtime
    listed, each by id with its tags; a listed incompatibility about the answer is read against this."""
    images = list(images)
    shown = "; ".join(f"{image.id} {list(image.repo_tags)}" for image in images)
    return f"{len(images)} images: {shown}"


def refused(step: str, message: str, error: Any) -> ImplementationFailure:
    """A ``CriError`` the check did not accept, as its failure: ``step`` names the call and the
    situation (``StopPodSandbox after remove``), the answer is the runtime's status and message."""
    return ImplementationFailure(f"{message}: {error}", step=step, answer=error.answer)
