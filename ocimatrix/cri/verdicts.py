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


# -- the CRI's own metrics (ListMetricDescriptors, ListPodSandboxMetrics) ---------------------------------------

# The container metrics the kubelet's cAdvisor endpoint serves, which the CRI's metrics are to replace: critest
# (cri-tools ba03eabc, pod.go) asks for each of these names, by resource.
CADVISOR_METRICS: frozenset[str] = frozenset(
    [f"container_cpu_{m}_seconds_total" for m in ("usage", "user", "system", "cfs_throttled")]
    + ["container_cpu_cfs_periods_total", "container_cpu_cfs_throttled_periods_total"]
    + [f"container_fs_{m}" for m in ("inodes_free", "inodes_total", "limit_bytes", "usage_bytes")]
    + [f"container_fs_{op}{unit}_total" for op in ("reads", "writes") for unit in ("", "_bytes")]
    + ["container_blkio_device_usage_total", "container_hugetlb_usage_bytes", "container_hugetlb_max_usage_bytes"]
    + [
        f"container_memory_{m}"
        for m in (
            "cache",
            "failcnt",
            "failures_total",
            "kernel_usage",
            "mapped_file",
            "max_usage_bytes",
            "rss",
            "swap",
            "usage_bytes",
            "working_set_bytes",
        )
    ]
    + [
        f"container_network_{way}_{what}_total"
        for way in ("receive", "transmit")
        for what in ("bytes", "errors", "packets_dropped", "packets")
    ]
    + [
        f"container_pressure_{res}_{how}_seconds_total"
        for res in ("cpu", "io", "memory")
        for how in ("stalled", "waiting")
    ]
    + [f"container_spec_cpu_{m}" for m in ("period", "quota", "shares")]
    + [f"container_spec_memory_{m}_bytes" for m in ("limit", "reservation_limit", "swap_limit")]
    + ["container_file_descriptors", "container_processes", "container_sockets", "container_threads"]
    + ["container_threads_max", "container_ulimits_soft", "container_oom_events_total"]
    + ["container_last_seen", "container_start_time_seconds"]
)
# Named by critest as not yet implemented by every runtime (containerd's issue 13532): their absence is forgiven.
NOT_YET_EVERYWHERE: frozenset[str] = frozenset(
    {
        "container_hugetlb_max_usage_bytes",
        "container_hugetlb_usage_bytes",
        "container_spec_cpu_quota",
        "container_spec_memory_reservation_limit_bytes",
        "container_ulimits_soft",
    }
    | {f"container_pressure_{r}_{h}_seconds_total" for r in ("cpu", "io", "memory") for h in ("stalled", "waiting")}
)
# Described, but a value only where the kernel accounts block I/O per device (not on a virtual disk): critest's
# optional values.
VALUE_MAY_BE_ABSENT: frozenset[str] = frozenset(
    {"container_blkio_device_usage_total"}
    | {f"container_fs_{op}{unit}_total" for op in ("reads", "writes") for unit in ("", "_bytes")}
)


def described(descriptors: Iterable[Any]) -> str:
    """A ListMetricDescriptors answer as the text a check keeps: how many, and their names."""
    names = sorted(d.name for d in descriptors)
    return f"{len(names)} descriptors: {', '.join(names)}" if names else "0 descriptors (an empty list)"


def descriptor_problems(descriptors: Iterable[Any]) -> list[str]:
    """What is wrong with a ListMetricDescriptors answer ([] when nothing): every descriptor names a metric
    once, with help text and label keys; every cAdvisor metric is described (but those not yet everywhere)."""
    descriptors = list(descriptors)
    if not descriptors:
        return ["no descriptor at all"]
    problems = []
    seen: dict[str, int] = {}
    for index, desc in enumerate(descriptors):
        name = desc.name or f"descriptor #{index} (no name)"
        seen[desc.name] = seen.get(desc.name, 0) + 1
        lacks = [field for field in ("name", "help", "label_keys") if not getattr(desc, field)]
        if lacks:
            problems.append(f"{name} has no {' and no '.join(lacks)}")
    twice = sorted(name for name, count in seen.items() if name and count > 1)
    if twice:
        problems.append(f"described more than once: {', '.join(twice)}")
    missing = sorted(CADVISOR_METRICS - NOT_YET_EVERYWHERE - set(seen))
    if missing:
        problems.append(f"not described: {', '.join(missing)}")
    return problems


def pod_metrics_text(pod_metrics: Iterable[Any]) -> str:
    """A ListPodSandboxMetrics answer as the text a check keeps: each pod, its metric names, its containers."""
    parts = []
    for pod in pod_metrics:
        containers = "; ".join(f"{c.container_id}: {len(c.metrics)} values" for c in pod.container_metrics)
        parts.append(f"pod {pod.pod_sandbox_id}: {len(pod.metrics)} values, containers [{containers}]")
    return f"{len(parts)} pods: " + " | ".join(parts) if parts else "0 pods (an empty list)"


def pod_metrics_problems(
    pod_metrics: Iterable[Any], descriptors: Iterable[Any], pod_id: str, container_ids: Iterable[str]
) -> list[str]:
    """What is wrong with the metrics of a running pod ``pod_id`` with the running ``container_ids`` ([] when
    nothing): the pod is answered once, each of its containers under it, every value names a described metric
    with as many label values as its label keys, and every cAdvisor metric has a value in the pod or one of
    its containers (but those not yet everywhere and those only where block I/O is accounted)."""
    mine = [pod for pod in pod_metrics if pod.pod_sandbox_id == pod_id]
    if len(mine) != 1:
        return [f"pod {pod_id} is answered {len(mine)} times, not once"]
    pod = mine[0]
    keys = {d.name: len(d.label_keys) for d in descriptors}
    problems = []
    answered = [c.container_id for c in pod.container_metrics]
    missing_containers = sorted(set(container_ids) - set(answered))
    if missing_containers:
        problems.append(f"no metrics of its running container(s) {', '.join(missing_containers)}")
    values = [("the pod", m) for m in pod.metrics] + [
        (f"container {c.container_id}", m) for c in pod.container_metrics for m in c.metrics
    ]
    undescribed, mislabelled = set(), set()
    for owner, metric in values:
        if metric.name not in keys:
            undescribed.add(metric.name or "(no name)")
        elif len(metric.label_values) != keys[metric.name]:
            mislabelled.add(f"{metric.name} of {owner} ({len(metric.label_values)} values, {keys[metric.name]} keys)")
    if undescribed:
        problems.append(f"values of metrics no descriptor names: {', '.join(sorted(undescribed))}")
    if mislabelled:
        problems.append(f"label values unlike the descriptor's label keys: {', '.join(sorted(mislabelled))}")
    without = sorted(CADVISOR_METRICS - NOT_YET_EVERYWHERE - VALUE_MAY_BE_ABSENT - {m.name for _, m in values})
    if without:
        problems.append(f"no value for: {', '.join(without)}")
    return problems
