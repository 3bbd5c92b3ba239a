"""ContainerStats and ListContainerStats, as the kubelet's stats provider and critest's five stats checks ask them
(container.go): one pod, three started containers, each filter the API has and none at all."""

from __future__ import annotations

import pytest
from cri_probe import SERVE

from ocimatrix.cri.messages import shown
from ocimatrix.errors import fail_with
from ocimatrix.specs import spec

AXES = ("engine", "runtime")
LABEL = "io.ocimatrix.stats"


def _listed(stats) -> str:
    """A ListContainerStats answer as the text a check keeps: each entry's container id and name."""
    entries = "; ".join(f"{s.attributes.id} {s.attributes.metadata.name}" for s in stats)
    return f"{len(stats)} entries: {entries}"


@pytest.mark.axes(*AXES)
@spec("cri/api.proto", "RuntimeService/ContainerStats, ListContainerStats (by id, by labels, empty and unset filter)")
def test_container_stats(cell, cri, pod, probe, recorder):
    ids = [
        pod.create(f"container-for-stats-{n}", probe, command=SERVE, labels={LABEL: "bar" if n == 0 else "other"})
        for n in range(3)
    ]
    for container_id in ids:  # all three created before any starts, as critest
        cri.start_container(container_id)
    recorder.add("containers", ids)
    first = ids[0]

    stats = cri.container_stats(first)
    step = f"ContainerStats {first}"
    if stats.attributes.id != first or "container-for-stats-0" not in stats.attributes.metadata.name:
        fail_with(f"ContainerStats of {first} names another container", step=step, answer=shown(stats.attributes))
    if not stats.cpu.timestamp or not stats.memory.timestamp:
        fail_with(
            "ContainerStats of a running container has no CPU or memory timestamp", step=step, answer=shown(stats)
        )

    by_id = cri.list_container_stats(container_id=first)
    if [s.attributes.id for s in by_id] != [first]:
        # critest only looks for the container among the answers; a filter by id answers that one container.
        fail_with(
            f"ListContainerStats filtered by id {first} must answer exactly that container",
            step="ListContainerStats filtered by id",
            answer=_listed(by_id),
        )

    for unfiltered, what in ((True, "no filter"), (False, "an empty filter (the kubelet's)")):
        every = cri.list_container_stats(unfiltered=unfiltered)
        missing = sorted(set(ids) - {s.attributes.id for s in every})
        if missing:
            fail_with(
                f"ListContainerStats with {what} lacks the running container(s) {missing}",
                step=f"ListContainerStats with {what}",
                answer=_listed(every),
            )

    for value, wanted in (("bar", True), ("baz", False)):
        labelled = cri.list_container_stats(labels={LABEL: value})
        found = first in {s.attributes.id for s in labelled}
        others = {s.attributes.id for s in labelled} & set(ids[1:])
        if found != wanted or others:
            fail_with(
                f"ListContainerStats filtered by label {LABEL}={value} must {'' if wanted else 'not '}answer {first} "
                f"(labelled {LABEL}=bar) and neither of its siblings (labelled {LABEL}=other)",
                step=f"ListContainerStats filtered by label {LABEL}={value}",
                answer=_listed(labelled),
            )
