"""The specifications the harness checks against, and the one marker a suite test names its section with.

``@spec("runtime-spec/config.md#root", "Root: readonly true")``: the reference is the document (and
anchor) inside a specification listed here, pinned to the release the suites read; the marker carries
the section's label (``runtime-spec v1.2.0 §Root: readonly true``) and its link into the report.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Specification:
    name: str
    release: str
    base: str  # where its documents live at that release

    def url(self, document: str) -> str:
        return f"{self.base}/{document}" if document else self.base


SPECIFICATIONS = {
    spec.name: spec
    for spec in (
        Specification("image-spec", "v1.1.0", "https://github.com/opencontainers/image-spec/blob/v1.1.0"),
        Specification("runtime-spec", "v1.2.0", "https://github.com/opencontainers/runtime-spec/blob/v1.2.0"),
        Specification("distribution-spec", "v1.1.0", "https://github.com/opencontainers/distribution-spec/blob/v1.1.0"),
        Specification("docker-image-spec", "v1.3.1", "https://github.com/moby/docker-image-spec/blob/v1.3.1"),
        Specification("cri", "runtime.v1", "https://github.com/kubernetes/cri-api/blob/master/pkg/apis/runtime/v1"),
        # The Node Resource Interface: the plugin API containerd 1.7 and 2.x and CRI-O serve.
        Specification("nri", "v0.9.0", "https://github.com/containerd/nri/blob/v0.9.0"),
        # Docker's image manifest v2 schema 2, as distribution 2.8 documents it.
        Specification(
            "docker-manifest", "v2.8.2", "https://github.com/distribution/distribution/blob/v2.8.2/docs/spec"
        ),
        # How BuildKit stores attestations in an index (buildx 0.13's BuildKit): no spec speaks of them.
        Specification("buildkit", "v0.13.1", "https://github.com/moby/buildkit/blob/v0.13.1"),
    )
}


def link(reference: str) -> str:
    """``runtime-spec/config.md#root`` -> the document's address at the release the suites read."""
    name, _, document = reference.partition("/")
    try:
        return SPECIFICATIONS[name].url(document)
    except KeyError:
        known = ", ".join(SPECIFICATIONS)
        raise ValueError(f"unknown specification {name!r} in {reference!r}; known: {known}") from None


def label(reference: str, section: str) -> str:
    spec = SPECIFICATIONS[reference.partition("/")[0]]
    return f"{spec.name} {spec.release} §{section}"


def spec(reference: str, section: str) -> pytest.MarkDecorator:
    """The spec marker of a suite test: the section it checks, and the link to it."""
    return pytest.mark.spec(label(reference, section), link(reference))
