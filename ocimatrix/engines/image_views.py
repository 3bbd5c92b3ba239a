"""What every driver reads off an image the same way, written once: the config section it reports,
the manifest it picks from an index for this host, and the digests it ties to a repository."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ocimatrix.cri.image_ids import repo_digests_of
from ocimatrix.tools.platforms import host_goarch


def config_section(section: Mapping[str, Any] | None, *, architecture: str, os: str, variant: str) -> dict[str, Any]:
    """The image config's ``config`` section (Labels, Env, User ...) with its platform fields, as
    ``Engine.image_config`` returns it whatever the tool's own spelling."""
    view = dict(section or {})
    view.update(architecture=architecture or "", os=os or "", variant=variant or "")
    return view


def config_section_of(image_config: Mapping[str, Any]) -> dict[str, Any]:
    """``config_section`` of an OCI image config document (the config blob)."""
    return config_section(
        image_config.get("config"),
        architecture=image_config.get("architecture", ""),
        os=image_config.get("os", ""),
        variant=image_config.get("variant", ""),
    )


def config_section_of_inspect(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """``config_section`` of a docker/podman ``image inspect`` answer (capitalised field names)."""
    return config_section(
        attrs.get("Config"),
        architecture=attrs.get("Architecture", ""),
        os=attrs.get("Os", ""),
        variant=attrs.get("Variant", ""),
    )


def host_manifest(manifests: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The index entry a runtime takes on this host when asked for no platform: this host's
    architecture, else the first entry."""
    arch = host_goarch()
    return next((m for m in manifests if (m.get("platform") or {}).get("architecture") == arch), manifests[0])


def split_tag(ref: str) -> tuple[str, str]:
    """'host:5000/repo/name:tag' -> ('host:5000/repo/name', 'tag'); digests stay with the repo."""
    if "@" in ref:
        repo, _, digest = ref.partition("@")
        return repo, digest
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1 :]
    return ref, "latest"


def digests_for(ref: str, repo_digests: Iterable[str]) -> tuple[str, ...]:
    """The manifest digests RepoDigests (``name@digest`` entries) ties to ``ref``'s repository."""
    return repo_digests_of(split_tag(ref)[0], repo_digests)
