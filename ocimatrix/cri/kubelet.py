"""The kubelet-like CRI client the CRI engine and suite use: every call recorded as crictl would
make it (the cell's repro), plus the verbose calls a conformance test needs beyond the kubelet's."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ocimatrix import evidence
from ocimatrix.cri import logs, messages
from ocimatrix.cri.client import CriClient, CriError
from ocimatrix.cri.crictl_repro import CrictlRepro, note
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.errors import ImplementationFailure

# What an ImageStatus without an image shows, as the answer a check keeps.
NO_IMAGE = "ImageStatusResponse with no image"


class KubeletCri(CriClient):
    """The kubelet-like CRI client, recording each call as crictl would make it (the repro), plus
    the two calls a conformance test needs beyond the kubelet's own."""

    def __init__(self, endpoint: str, **kwargs: Any) -> None:
        super().__init__(endpoint, **kwargs)
        self.repro = CrictlRepro(endpoint)

    def _call(self, name, method, request, subject="", deadline=None):
        script = self.repro.for_test(evidence.current())
        for line in script.lines(name, request):
            note(line)
        response = super()._call(name, method, request, subject, deadline)
        script.created(name, response)
        return response

    def container_log(self, container_id: str):
        # No RPC: like the kubelet, the client reads the file the runtime writes.
        script = self.repro.for_test(evidence.current())
        note(f"{script.base} logs {script.id(container_id)}  # the CRI log file at ContainerStatus.log_path")
        return super().container_log(container_id)

    def follow_log(self, container_id: str) -> logs.LogFollower:
        """A follower of the container's log file at the path ContainerStatus reports (``crictl logs -f``)."""
        status = self.container_status(container_id)
        script = self.repro.for_test(evidence.current())
        note(f"{script.base} logs -f {script.id(container_id)}  # follows the CRI log file at ContainerStatus.log_path")
        if not status.log_path:
            raise CriError(
                "ContainerStatus", container_id, None, "the runtime reports no log_path", answer="log_path: ''"
            )
        return logs.LogFollower(status.log_path)

    def image_info(self, ref: str) -> dict[str, Any]:
        """ImageStatus(verbose): the runtime's free-form details (containerd: the OCI image config)."""
        request = api.ImageStatusRequest(image=messages.image_spec(ref), verbose=True)
        return decode_info(self._call("ImageStatus", self._images.ImageStatus, request, ref).info)

    def require_image(self, ref: str, since: str) -> api.Image:
        """ImageStatus of an image the runtime must have by now (``since``: "after PullImage"). An
        answer without one fails the check with that answer, rather than crashing the caller that
        reads its fields."""
        image = self.image_status(ref)
        if image is None:
            raise ImplementationFailure(
                f"ImageStatus found no {ref} {since}", step=f"ImageStatus {since}", answer=NO_IMAGE
            )
        return image

    def runtime_info(self) -> dict[str, Any]:
        """Status(verbose): the runtime's free-form details (containerd: its CRI config)."""
        return decode_info(self.status(verbose=True).info)

    def create_container_config(
        self, pod_id: str, config: api.ContainerConfig, pod_config: api.PodSandboxConfig
    ) -> str:
        """CreateContainer with a config built by the caller, for requests messages.container_config
        does not build (a group without a user, on purpose)."""
        if pod_config.log_directory and config.log_path:
            Path(pod_config.log_directory, config.log_path).parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        request = api.CreateContainerRequest(pod_sandbox_id=pod_id, config=config, sandbox_config=pod_config)
        subject = f"{config.metadata.name} in pod {pod_id}"
        return self._call("CreateContainer", self._runtime.CreateContainer, request, subject).container_id

    def delete_pod(self, pod_id: str, container_id: str = "", log_dir: Path | None = None) -> None:
        """Stop and remove the container, then the pod, and drop the pod's logs, as the kubelet
        does when a pod is deleted. Failures are kept as evidence: a leak must be visible."""
        problems = []
        steps = []
        if container_id:
            steps += [
                lambda: self.stop_container(container_id, missing_ok=True),
                lambda: self.remove_container(container_id),
            ]
        if pod_id:
            steps += [lambda: self.stop_pod(pod_id, missing_ok=True), lambda: self.remove_pod(pod_id)]
        for step in steps:
            try:
                step()
            except CriError as exc:
                problems.append(str(exc))
        if log_dir is not None:
            shutil.rmtree(log_dir, ignore_errors=True)
        if problems:
            evidence.current().add("cri_cleanup_errors", problems)

    def delete_pods(self, labels: Mapping[str, str]) -> list[str]:
        """delete_pod for every pod carrying ``labels``; their ids."""
        removed = []
        for pod in self.list_pods(labels=labels):
            self.delete_pod(pod.id)
            removed.append(pod.id)
        return removed


def decode_info(info: Mapping[str, str]) -> dict[str, Any]:
    """A verbose answer's ``info`` map: JSON values decoded, anything else kept as text."""
    decoded: dict[str, Any] = {}
    for key, value in info.items():
        try:
            decoded[key] = json.loads(value)
        except ValueError:
            decoded[key] = value
    return decoded
