"""CRI-O 1.33's answers, recorded, fed to the code that judges them: so verdicts stay right without a
CRI-O in CI (none is packaged for this host; containerd's CRI is the live peer of the suites).

Each answer below is built as CRI-O 1.33.13 gave it to a user's run: image ids as bare hex, the
chosen platform manifest in repo_digests, its own io.kubernetes.* labels on a pod, an empty
runtime_handler, a Status(verbose) that names no handler binary, a plain-HTTP registry refused.
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from concurrent import futures

import grpc
import httpx
import pytest

from ocimatrix import evidence
from ocimatrix.cri.client import KUBELET_RUNTIME_REQUEST_TIMEOUT, CriClient, CriError
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.cri.gen import api_pb2_grpc as api_grpc
from ocimatrix.cri.image_ids import digest_or_none, normalize_digest, repo_digests_of
from ocimatrix.cri.verdicts import (
    CADVISOR_METRICS,
    descriptor_problems,
    judge_map,
    pod_metrics_problems,
    runtime_handler_problem,
)
from ocimatrix.endpoints import Endpoints
from ocimatrix.engines import cri_engine
from ocimatrix.engines.base import ResolvedImage, RunSpec
from ocimatrix.engines.cri_answers import UNKNOWN_RUNTIME_VERSION, handler_binaries, handler_version
from ocimatrix.engines.cri_engine import CriEngine, CrioEngine
from ocimatrix.errors import HarnessError, ServiceUnavailable
from ocimatrix.oci.digest import DigestError
from ocimatrix.oci.registry_client import RegistryClient
from ocimatrix.platform_images.index import IndexEntry, PlatformIndex
from ocimatrix.platform_images.pulls import Pulled, selection

REGISTRY = "127.0.0.1:41234"
REPO = f"{REGISTRY}/ocimatrix/platforms/buildah-oci"
REF = f"{REPO}:run1-gw0-cri-o-linux-amd64"
INDEX = "sha256:" + "1d" * 32
AMD64_MANIFEST = "sha256:" + "a1" * 32
AMD64_CONFIG_HEX = "8b83" + "0f" * 30
ARM64_MANIFEST = "sha256:" + "b2" * 32
ARM64_CONFIG = "sha256:" + "c3" * 32

# ImageStatus as CRI-O 1.33 answers it after pulling REF (an index) on an amd64 node: the id is the
# config digest without "sha256:", repo_digests names the platform manifest it chose.
CRIO_IMAGE = api.Image(
    id=AMD64_CONFIG_HEX,
    repo_tags=[REF],
    repo_digests=[f"{REPO}@{AMD64_MANIFEST}"],
    size=1_234_567,
)
CRIO_VERBOSE_IMAGE_INFO = {"info": json.dumps({"labels": None, "imageSpec": None})}  # no OCI config in there
# Status(verbose) of CRI-O 1.33: its info map names the sandbox image, no runtime handler or binary.
CRIO_STATUS_INFO = {"config": json.dumps({"sandboxImage": f"{REGISTRY}/pause:3.10"})}


# ------------------------------------------------------------------ digests


def test_bare_hex_image_id_is_the_sha256_digest():
    assert normalize_digest(AMD64_CONFIG_HEX) == f"sha256:{AMD64_CONFIG_HEX}"
    assert normalize_digest(f"sha256:{AMD64_CONFIG_HEX}") == f"sha256:{AMD64_CONFIG_HEX}"


@pytest.mark.parametrize("bad", ["8b83", AMD64_CONFIG_HEX.upper(), "sha256:" + "0f" * 31, "sha256:", ""])
def test_a_malformed_digest_is_refused_not_compared(bad):
    with pytest.raises(DigestError):
        normalize_digest(bad)
    assert digest_or_none(bad) is None


def test_repo_digests_of_keeps_the_repository_s_own_and_normalises():
    digests = [f"{REPO}@{AMD64_MANIFEST}", f"{REGISTRY}/other@{ARM64_MANIFEST}", f"{REPO}@{'b2' * 32}", "junk"]
    assert repo_digests_of(REPO, digests) == (AMD64_MANIFEST, ARM64_MANIFEST)


class RecordedCrio:
    """The two answers resolved_image asks for, as CRI-O gave them (not a runtime: no RPC is made)."""

    def __init__(self, image: api.Image | None = CRIO_IMAGE) -> None:
        self.image = image

    def image_status(self, ref: str, verbose: bool = False) -> api.Image | None:
        return self.image

    def image_info(self, ref: str) -> dict:
        return {k: json.loads(v) for k, v in CRIO_VERBOSE_IMAGE_INFO.items()}


# The registry's answers to CRI-O's driver, as distribution 2.8 gave them for REF: the platform manifest
# CRI-O's repo_digests names, the index above it, and the config blob that manifest points to.
AMD64_CONFIG_BLOB = {
    "architecture": "amd64",
    "os": "linux",
    "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "d1" * 32]},
}
ARM64_CONFIG_BLOB = {**AMD64_CONFIG_BLOB, "architecture": "arm64", "variant": "v8"}
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def _manifest(config_digest: str) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": 2},
            "layers": [],
        }
    ).encode()


class RecordedRegistry:
    """distribution's HTTP answers for REF's repository, served to the driver's own RegistryClient (no
    socket: an httpx transport), so ``CrioEngine._registry_config`` runs as it does against a registry."""

    def __init__(self, config_blob: dict | None = None) -> None:
        self.asked: list[str] = []
        repo = "/v2/ocimatrix/platforms/buildah-oci"
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": ARM64_MANIFEST,
                    "size": 1,
                    "platform": {"architecture": "arm64", "os": "linux"},
                },
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": AMD64_MANIFEST,
                    "size": 1,
                    "platform": {"architecture": "amd64", "os": "linux"},
                },
            ],
        }
        self.answers: dict[str, tuple[bytes, str]] = {
            f"{repo}/manifests/{INDEX}": (json.dumps(index).encode(), OCI_INDEX),
            f"{repo}/manifests/{AMD64_MANIFEST}": (_manifest(f"sha256:{AMD64_CONFIG_HEX}"), OCI_MANIFEST),
            f"{repo}/manifests/{ARM64_MANIFEST}": (_manifest(ARM64_CONFIG), OCI_MANIFEST),
            f"{repo}/blobs/sha256:{AMD64_CONFIG_HEX}": (
                json.dumps(config_blob or AMD64_CONFIG_BLOB).encode(),
                "application/octet-stream",
            ),
            f"{repo}/blobs/{ARM64_CONFIG}": (json.dumps(ARM64_CONFIG_BLOB).encode(), "application/octet-stream"),
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(f"{request.method} {request.url}")
        found = self.answers.get(request.url.path)
        if found is None:
            body = {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}
            return httpx.Response(404, json=body)
        body, media_type = found
        return httpx.Response(200, content=body, headers={"Content-Type": media_type})

    def serve(self, monkeypatch) -> None:
        real = cri_engine.RegistryClient

        def recorded_client(host: str, **kwargs) -> RegistryClient:
            client = real(host, **kwargs)
            client._client = httpx.Client(transport=httpx.MockTransport(self), follow_redirects=True)
            return client

        monkeypatch.setattr(cri_engine, "RegistryClient", recorded_client)


@pytest.fixture
def registry(monkeypatch) -> RecordedRegistry:
    served = RecordedRegistry()
    served.serve(monkeypatch)
    return served


@pytest.fixture
def crio(tmp_path, monkeypatch, registry) -> CrioEngine:
    monkeypatch.delenv("OCIMATRIX_MATRIX", raising=False)
    engine = CrioEngine(Endpoints(state_dir=str(tmp_path)), endpoint="unix:///run/crio/crio.sock")
    engine._client = RecordedCrio()  # type: ignore[assignment]
    return engine


def test_crio_image_status_resolves_to_prefixed_digests(crio, registry):
    resolved = crio.resolved_image(REF)
    assert resolved.config_digest == f"sha256:{AMD64_CONFIG_HEX}"
    assert resolved.digests == (AMD64_MANIFEST,)
    assert crio.image_digest(REF) == AMD64_MANIFEST
    # CRI-O's verbose ImageStatus has no OCI config: the driver read the one its repo digest names.
    assert (resolved.architecture, resolved.os, resolved.variant) == ("amd64", "linux", "")
    base = f"http://{REGISTRY}/v2/ocimatrix/platforms/buildah-oci"
    assert registry.asked == [f"GET {base}/manifests/{AMD64_MANIFEST}", f"GET {base}/blobs/sha256:{AMD64_CONFIG_HEX}"]


def test_crio_s_platform_is_the_registry_config_s_not_a_guess(crio, monkeypatch):
    RecordedRegistry(config_blob=ARM64_CONFIG_BLOB).serve(monkeypatch)
    resolved = crio.resolved_image(REF)
    assert (resolved.architecture, resolved.variant) == ("arm64", "v8")
    assert crio.image_config(REF)["Cmd"] == ["sh"]


def test_a_repo_digest_naming_the_index_reads_this_host_s_manifest_config(crio, registry, monkeypatch):
    monkeypatch.setattr(cri_engine, "host_manifest", lambda manifests: manifests[1])  # the amd64 entry
    crio._client = RecordedCrio(api.Image(id=AMD64_CONFIG_HEX, repo_tags=[REF], repo_digests=[f"{REPO}@{INDEX}"]))
    assert crio.image_config(REF)["architecture"] == "amd64"
    assert [line.rsplit("/", 2)[-1] for line in registry.asked] == [
        INDEX,
        AMD64_MANIFEST,
        f"sha256:{AMD64_CONFIG_HEX}",
    ]


def test_a_registry_that_lost_the_manifest_is_the_harness_s_error_naming_the_digest(crio, registry):
    del registry.answers[f"/v2/ocimatrix/platforms/buildah-oci/manifests/{AMD64_MANIFEST}"]
    # What the registry served is not CRI-O's answer: an error of the run, never a failure of CRI-O.
    with pytest.raises(HarnessError, match=rf"reading the config of {REF}@{AMD64_MANIFEST} from its registry: .*404"):
        crio.resolved_image(REF)


# ------------------------------------------------------------------ the platforms suite's matching


def _index():
    entries = [
        IndexEntry(
            platform={"os": "linux", "architecture": "amd64"},
            digest=AMD64_MANIFEST,
            media_type="application/vnd.oci.image.manifest.v1+json",
            config_digest=f"sha256:{AMD64_CONFIG_HEX}",
            config_platform={"os": "linux", "architecture": "amd64", "variant": ""},
        ),
        IndexEntry(
            platform={"os": "linux", "architecture": "arm64"},
            digest=ARM64_MANIFEST,
            media_type="application/vnd.oci.image.manifest.v1+json",
            config_digest=ARM64_CONFIG,
            config_platform={"os": "linux", "architecture": "arm64", "variant": ""},
        ),
    ]
    return PlatformIndex(
        repo="ocimatrix/platforms/buildah-oci", tag="run1", registry=REGISTRY, digest=INDEX, entries=entries
    )


def test_crio_s_choice_is_matched_to_its_index_entry(crio):
    pulled = Pulled(REF, "linux/amd64", crio.resolved_image(REF), 0.5)
    chosen, seen = selection(_index(), pulled)
    assert chosen is not None and chosen.digest == AMD64_MANIFEST
    assert chosen.name == "linux/amd64" and seen["platform"] == "linux/amd64"
    assert seen["matched_by"] == "config digest"


def test_a_bare_hex_id_matches_even_unnormalised():
    index = _index()
    assert index.entry_by_config(AMD64_CONFIG_HEX).digest == AMD64_MANIFEST
    assert index.entry_by_manifest(["a1" * 32]).digest == AMD64_MANIFEST


def test_a_runtime_id_that_is_no_digest_is_matched_through_repo_digests(crio):
    crio._client = RecordedCrio(api.Image(id="not-a-digest", repo_digests=[f"{REPO}@{AMD64_MANIFEST}"]))
    with evidence.scoped() as recorder:
        resolved = crio.resolved_image(REF)
        chosen, seen = selection(_index(), Pulled(REF, None, resolved, 0.1))
    assert chosen is not None and chosen.digest == AMD64_MANIFEST
    assert recorder.evidence["cri_image_id_not_a_digest"] == "not-a-digest"
    assert seen["matched_by"].startswith("manifest digest")


def test_config_and_manifest_disagreeing_is_decided_by_the_config():
    index = _index()
    resolved = ResolvedImage(config_digest=ARM64_CONFIG, digests=(AMD64_MANIFEST,))
    assert index.chosen_entry(resolved).digest == ARM64_MANIFEST


# ------------------------------------------------------------------ labels and handler


def test_crio_s_own_pod_labels_are_evidence_not_a_failure():
    sent = {"io.ocimatrix.owner": "ocimatrix", "io.kubernetes.pod.name": "web", "io.kubernetes.pod.uid": "u1"}
    reported = {**sent, "io.kubernetes.container.name": "POD"}  # CRI-O names the infra container
    verdict = judge_map("PodSandboxStatus.labels", sent, reported)
    assert verdict.problem == ""
    assert verdict.evidence()["added"] == {"io.kubernetes.container.name": "POD"}


def test_a_lost_or_altered_label_is_a_failure_naming_it():
    verdict = judge_map("PodSandboxStatus.labels", {"a": "1", "b": "2"}, {"b": "3", "c": "4"})
    assert "lacks {'a': '1'}" in verdict.problem and "b: sent '2', got '3'" in verdict.problem
    assert verdict.added == {"c": "4"}


def test_crio_s_empty_runtime_handler_stays_flagged():
    problem = runtime_handler_problem("crun", "", "PodSandboxStatus")
    assert "run with runtime handler 'crun'" in problem and "reports ''" in problem
    assert runtime_handler_problem("crun", "crun", "PodSandboxStatus") == ""


# ------------------------------------------------------------------ versions


def test_crio_vouches_for_no_runtime_binary():
    assert handler_binaries({k: json.loads(v) for k, v in CRIO_STATUS_INFO.items()}) == {}
    assert handler_version("crun", {}, local=False) == UNKNOWN_RUNTIME_VERSION


class RecordedStatus:
    def __init__(self, info: dict[str, str]) -> None:
        self.info = info
        self.calls = 0

    def runtime_info(self) -> dict:
        self.calls += 1
        return {k: json.loads(v) for k, v in self.info.items()}


def test_a_crio_cell_records_unknown_not_the_host_s_crun(crio):
    crio._client = RecordedStatus(CRIO_STATUS_INFO)  # type: ignore[assignment]
    assert crio.runtime_version_of("crun") == UNKNOWN_RUNTIME_VERSION
    assert crio.runtime_version_of("crun") == UNKNOWN_RUNTIME_VERSION
    assert crio._client.calls == 1, "one Status per engine and handler, not one per cell"


def test_containerd_s_config_names_each_handler_s_binary():
    info = {
        "config": {
            "containerd": {
                "runtimes": {
                    "runc": {"runtimeType": "io.containerd.runc.v2", "options": {"Root": "/x"}},
                    "crun": {"runtimeType": "io.containerd.runc.v2", "options": {"BinaryName": "/opt/crun-1.21"}},
                    "other": {"runtimeType": "io.containerd.kata.v2"},
                }
            }
        }
    }
    assert handler_binaries(info) == {"runc": "runc", "crun": "/opt/crun-1.21"}
    named = handler_version("crun", handler_binaries(info), local=False)
    assert named == f"{UNKNOWN_RUNTIME_VERSION} (its config names /opt/crun-1.21 for handler crun)"


def test_the_embedded_containerd_s_binary_is_read_from_this_host():
    crun = shutil.which("crun") or shutil.which("runc")
    if crun is None:
        pytest.skip("no crun or runc on this host to read a version from")
    version = handler_version("h", {"h": crun}, local=True)
    assert version[:1].isdigit(), version


def test_a_named_endpoint_s_handler_is_not_checked_against_host_binaries(crio, monkeypatch):
    monkeypatch.setattr(cri_engine.os.path, "exists", lambda path: False)  # no runc, no crun here
    crio.check_runtime("crun")  # CRI-O's crun is its own: RunPodSandbox says if it lacks one


# ------------------------------------------------------------------ deadlines, transport, registries


class Slow(api_grpc.RuntimeServiceServicer, api_grpc.ImageServiceServicer):
    """Answers as CRI-O did in the user's run: a StopPodSandbox that outlasts the deadline; and an
    ExecSync whose own timeout the runtime reports (containerd's way); a pull refused over HTTPS."""

    def StopPodSandbox(self, request, context):
        time.sleep(1.0)
        return api.StopPodSandboxResponse()

    def ExecSync(self, request, context):
        context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, f"timeout {request.timeout}s exceeded: context deadline")

    def PullImage(self, request, context):
        host = request.image.image.split("/", 1)[0]
        context.abort(
            grpc.StatusCode.UNKNOWN,
            f'pinging container registry {host}: Get "https://{host}/v2/": http: server gave HTTP response to '
            "HTTPS client",
        )


@pytest.fixture
def slow() -> Iterator[CriClient]:
    directory = tempfile.mkdtemp(prefix="ocm-crio-", dir="/tmp")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    api_grpc.add_RuntimeServiceServicer_to_server(Slow(), server)
    api_grpc.add_ImageServiceServicer_to_server(Slow(), server)
    server.add_insecure_port(f"unix://{directory}/cri.sock")
    server.start()
    client = CriClient(f"unix://{directory}/cri.sock", timeout=0.3)
    try:
        yield client
    finally:
        client.close()
        server.stop(None)
        shutil.rmtree(directory, ignore_errors=True)


def test_deadlines_are_the_kubelet_s():
    client = CriClient("unix:///nonexistent.sock")
    assert KUBELET_RUNTIME_REQUEST_TIMEOUT == 120.0 and client.timeout == 120.0
    assert client.request_deadline(factor=2).seconds == 240.0
    assert client.request_deadline(10, "the 10 s grace period").seconds == 130.0
    client.close()


def test_a_deadline_is_reported_with_its_basis(slow):
    with pytest.raises(CriError) as caught:
        slow.stop_pod("pod-1")
    assert caught.value.timed_out and caught.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert str(caught.value) == (
        "StopPodSandbox pod-1: DEADLINE_EXCEEDED: timed out after 0.3 s (kubelet's runtime-request-timeout)"
    )


def test_the_runtime_s_own_deadline_answer_is_kept_as_it_said_it(slow):
    with pytest.raises(CriError) as caught:
        slow.exec_sync("ctr-1", ["sleep", "30"], timeout=1)
    assert not caught.value.timed_out
    assert caught.value.details == "timeout 1s exceeded: context deadline"


def test_a_plain_http_registry_refused_over_https_says_what_to_configure(slow):
    ref = f"{REGISTRY}/ocimatrix/cri/probe:run1"
    with pytest.raises(CriError) as caught:
        slow.pull_image(ref)
    message = str(caught.value)
    assert "server gave HTTP response to HTTPS client" in message
    assert f'`[[registry]] location = "{REGISTRY}" insecure = true`' in message
    assert "registries.conf" in message


def test_a_refusing_socket_is_a_service_fault(tmp_path, monkeypatch):
    monkeypatch.delenv("OCIMATRIX_MATRIX", raising=False)
    monkeypatch.setattr(cri_engine, "READY_TIMEOUT", 0.5)
    directory = tempfile.mkdtemp(prefix="ocm-crio-", dir="/tmp")
    path = f"{directory}/crio.sock"
    bound = socket.socket(socket.AF_UNIX)
    bound.bind(path)  # bound, never listening: connections are refused, as from a dead CRI-O
    try:
        engine = CriEngine(Endpoints(state_dir=str(tmp_path)), endpoint=f"unix://{path}")
        with pytest.raises(ServiceUnavailable, match=r"CRI endpoint unix://.* does not answer: not ready"):
            engine.unavailable()
        engine.close()
    finally:
        bound.close()
        shutil.rmtree(directory, ignore_errors=True)


def test_a_service_fault_in_a_run_stays_an_error(crio, monkeypatch):
    def gone(*args, **kwargs):
        raise ServiceUnavailable("CRI endpoint unix:///run/crio/crio.sock", "RunPodSandbox: UNAVAILABLE: refused")

    monkeypatch.setattr(crio, "ensure_image", lambda ref: AMD64_CONFIG_HEX)
    monkeypatch.setattr(crio, "run_pod", gone)
    monkeypatch.setattr(crio, "tear_down", lambda *args, **kwargs: None)
    with evidence.scoped(), pytest.raises(ServiceUnavailable):
        crio.run(RunSpec(image=REF, runtime="crun"))


# ------------------------------------------------------------------ the CRI metrics calls
#
# Not recorded from a run (no CRI-O here): built the way CRI-O's own code shapes them, read at
# cri-o/cri-o internal/lib/statsserver (descriptors.go, metrics.go, main of 2026) and server/sandbox_metrics_list.go
# (present at v1.30.0). ListMetricDescriptors always describes container_last_seen, and the groups its config's
# [crio.stats] included_pod_metrics names (empty by default: only container_last_seen); every descriptor's label
# keys start with id, image, namespace, pod, container. A pod's own values carry its id, "", its namespace and
# name and "POD"; a container's its id, its image, "", "", its name.

CRIO_BASE_KEYS = ["id", "image", "namespace", "pod", "container"]
# The keys CRI-O adds to the base ones, for the metrics that have any.
CRIO_EXTRA_KEYS = {
    "container_cpu_usage_seconds_total": ["cpu"],
    "container_blkio_device_usage_total": ["device", "major", "minor", "operation"],
    "container_hugetlb_usage_bytes": ["pagesize"],
    "container_hugetlb_max_usage_bytes": ["pagesize"],
    "container_memory_failures_total": ["failure_type", "scope"],
    "container_ulimits_soft": ["ulimit"],
    **{f"container_fs_{op}{unit}_total": ["device"] for op in ("reads", "writes") for unit in ("", "_bytes")},
    **{
        f"container_network_{way}_{what}_total": ["interface"]
        for way in ("receive", "transmit")
        for what in ("bytes", "errors", "packets_dropped", "packets")
    },
}
# Beyond cAdvisor's names, CRI-O's memory group describes these too.
CRIO_MORE = [
    f"container_memory_{m}_bytes" for m in ("active_anon", "inactive_anon", "anon_thp", "shmem_thp", "file_thp")
]
POD_ID, CTR_ID = "f" * 64, "e" * 64


def _crio_descriptors(names) -> list[api.MetricDescriptor]:
    return [
        api.MetricDescriptor(name=n, help=f"{n} (help)", label_keys=CRIO_BASE_KEYS + CRIO_EXTRA_KEYS.get(n, []))
        for n in sorted(names)
    ]


def _crio_value(name: str, base: list[str]) -> api.Metric:
    extra = ["x"] * len(CRIO_EXTRA_KEYS.get(name, []))
    return api.Metric(name=name, metric_type=api.COUNTER, label_values=base + extra, value=api.UInt64Value(value=1))


def _crio_pod_metrics(names) -> api.PodSandboxMetrics:
    """Network values on the pod (its interfaces are the pod's), the rest on its one container."""
    pod_values = [_crio_value(n, [POD_ID, "", "ns", "metrics", "POD"]) for n in names if "_network_" in n]
    ctr_values = [_crio_value(n, [CTR_ID, REF, "", "", "c"]) for n in names if "_network_" not in n]
    return api.PodSandboxMetrics(
        pod_sandbox_id=POD_ID,
        metrics=pod_values,
        container_metrics=[api.ContainerMetrics(container_id=CTR_ID, metrics=ctr_values)],
    )


def _every_group() -> list[str]:
    return sorted(CADVISOR_METRICS | set(CRIO_MORE))


def test_crio_with_every_metrics_group_included_meets_critest_s_checks():
    descriptors = _crio_descriptors(_every_group())
    assert descriptor_problems(descriptors) == []
    assert pod_metrics_problems([_crio_pod_metrics(_every_group())], descriptors, POD_ID, [CTR_ID]) == []


def test_crio_s_default_config_describes_only_container_last_seen_and_fails_naming_the_rest():
    problems = descriptor_problems(_crio_descriptors(["container_last_seen"]))
    assert len(problems) == 1 and problems[0].startswith("not described: container_blkio_device_usage_total, ")
    assert "container_last_seen" not in problems[0]
    # Those critest forgives are not asked for.
    assert "container_ulimits_soft" not in problems[0] and "pressure" not in problems[0]


def test_a_pod_without_its_container_s_metrics_or_with_mislabelled_values_fails_naming_them():
    descriptors = _crio_descriptors(_every_group())
    pod = _crio_pod_metrics(_every_group())
    pod.container_metrics[0].metrics[0].label_values.pop()
    problems = pod_metrics_problems([pod], descriptors, POD_ID, [CTR_ID, "d" * 64])
    assert any(p.startswith(f"no metrics of its running container(s) {'d' * 64}") for p in problems)
    assert any(p.startswith("label values unlike the descriptor's label keys: ") for p in problems)
    assert pod_metrics_problems([], descriptors, POD_ID, [CTR_ID]) == [f"pod {POD_ID} is answered 0 times, not once"]


def test_crio_s_metrics_answers_come_through_the_client():
    class Metrics(api_grpc.RuntimeServiceServicer):
        def ListMetricDescriptors(self, request, context):
            return api.ListMetricDescriptorsResponse(descriptors=_crio_descriptors(_every_group()))

        def ListPodSandboxMetrics(self, request, context):
            return api.ListPodSandboxMetricsResponse(pod_metrics=[_crio_pod_metrics(_every_group())])

    directory = tempfile.mkdtemp(prefix="ocm-cri-metrics-", dir="/tmp")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    api_grpc.add_RuntimeServiceServicer_to_server(Metrics(), server)
    server.add_insecure_port(f"unix://{directory}/cri.sock")
    server.start()
    try:
        with CriClient(f"unix://{directory}/cri.sock", timeout=5) as client:
            descriptors, pods = client.list_metric_descriptors(), client.list_pod_metrics()
    finally:
        server.stop(None)
        shutil.rmtree(directory, ignore_errors=True)
    assert [d.label_keys[:5] for d in descriptors] == [CRIO_BASE_KEYS] * len(descriptors)
    assert pod_metrics_problems(pods, descriptors, POD_ID, [CTR_ID]) == []
