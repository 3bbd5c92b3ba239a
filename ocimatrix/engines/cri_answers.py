"""How the harness reads a CRI runtime's answers, whichever runtime gave them (containerd, CRI-O):
the digests ImageStatus ties to a reference, the image config in its verbose details, the binary
behind a runtime handler, a container's final status, a refused handler."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from typing import Any

from ocimatrix.cri.client import CriError
from ocimatrix.cri.gen import api_pb2 as api
from ocimatrix.cri.image_ids import repo_digests_of
from ocimatrix.engines.base import first_line_version
from ocimatrix.engines.image_views import config_section_of
from ocimatrix.oci.reference import parse_reference
from ocimatrix.tools import catalog

# What a cell records as its runtime's version when the CRI endpoint does not say which binary,
# of which version, its handler ran: never the host's binary of the same name.
UNKNOWN_RUNTIME_VERSION = "reported by the CRI endpoint: unknown"


def repo_digest_for(ref: str, repo_digests: Sequence[str]) -> str:
    """The manifest digest the runtime recorded for ``ref``'s repository ("" if none)."""
    try:
        parsed = parse_reference(ref)
    except ValueError:
        return ""
    digests = repo_digests_of(f"{parsed.registry}/{parsed.repository}", repo_digests)
    if parsed.digest and parsed.digest in digests:
        return parsed.digest
    return digests[0] if digests else ""


def handler_binaries(info: Mapping[str, Any]) -> dict[str, str]:
    """Runtime handler -> the OCI runtime binary the endpoint's Status(verbose) names for it.

    containerd 1.6 answers ``{"config": {"containerd": {"runtimes": {NAME: {"runtimeType": ...,
    "options": {"BinaryName": PATH}}}}}}`` (no BinaryName: the runc shim's default, ``runc`` on its PATH). CRI-O 1.33
    names no handler there (``{"config": {"sandboxImage": ...}}``): nothing to read.
    """
    config = info.get("config")
    containerd = config.get("containerd") if isinstance(config, dict) else None
    runtimes = containerd.get("runtimes") if isinstance(containerd, dict) else None
    if not isinstance(runtimes, dict):
        return {}
    binaries = {}
    for name, runtime in runtimes.items():
        options = runtime.get("options") if isinstance(runtime, dict) else None
        binary = options.get("BinaryName") if isinstance(options, dict) else None
        if isinstance(binary, str) and binary:
            binaries[str(name)] = binary
        elif isinstance(runtime, dict) and str(runtime.get("runtimeType", "")).startswith("io.containerd.runc."):
            binaries[str(name)] = catalog.default_runtime()  # the runc shim runs the binary of that name
    return binaries


def handler_version(handler: str, binaries: Mapping[str, str], *, local: bool) -> str:
    """The version a cell records for ``handler``'s runtime.

    Only the harness's own containerd (``local``) shares this host's filesystem for sure, so only
    there the binary its config names is the one read with ``--version``; for any other endpoint
    the binary it names is reported, but its version stays unknown.
    """
    binary = binaries.get(handler, "")
    if not binary:
        return UNKNOWN_RUNTIME_VERSION
    if not local:
        return f"{UNKNOWN_RUNTIME_VERSION} (its config names {binary} for handler {handler})"
    path = shutil.which(binary) if "/" not in binary else binary
    version = first_line_version([path, "--version"]) if path else ""
    return version or f"{UNKNOWN_RUNTIME_VERSION} ({binary} gave no version)"


def config_from_info(info: Mapping[str, Any]) -> dict[str, Any] | None:
    """The image config from ImageStatus(verbose) details, if the runtime put it there.

    containerd 1.6 answers ``{"info": {"chainID": ..., "imageSpec": <OCI image config>}}``.
    """
    details = info.get("info")
    spec = details.get("imageSpec") if isinstance(details, dict) else None
    if not isinstance(spec, dict):
        return None
    return config_section_of(spec)


def status_summary(status: api.ContainerStatus) -> dict[str, Any]:
    return {
        "state": api.ContainerState.Name(status.state),
        "exit_code": status.exit_code,
        "reason": status.reason,
        "message": status.message,
        "image_ref": status.image_ref,
        "log_path": status.log_path,
    }


def is_unknown_handler(error: CriError) -> bool:
    """RunPodSandbox refused the runtime handler itself (containerd: 'no runtime for "x" is
    configured'; CRI-O: 'failed to find runtime handler x')."""
    text = error.details.lower()
    return "no runtime for" in text or "runtime handler" in text
