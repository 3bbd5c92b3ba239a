"""Probe images for the store-state and filesystem-defaults suites, written here (no builder involved).

The store probe prints which CPU it runs on (``uname -m``) and which image it came from (a marker
file baked into its layer), so a test can tell which of several images under one reference an engine
ran: another platform of the same index, or an older image under the same tag. The defaults probe
prints the owner and mode of the paths an engine provides to every container (``/``, ``/run``,
``/etc/hosts`` ...) and the mount lines of those paths, so engines can be set side by side.

Both are single-layer busybox images (``ocimatrix.images.pause.build_busybox_image``); an index of
several platforms is written here too, byte for byte reproducibly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from ocimatrix.images.pause import BuiltImage, ImageFile, build_busybox_image, check_loopback, push_image
from ocimatrix.oci import mediatypes
from ocimatrix.oci.registry_client import RegistryClient

STORE_REPOSITORY = "ocimatrix/store"
DEFAULTS_REPOSITORY = "ocimatrix/fs-defaults"
MARKER = "marker"

STORE_SCRIPT = 'echo "machine=$(uname -m)"; echo "marker=$(cat /marker)"'

# The paths every engine provides whatever the image holds; the image itself has only /bin and /etc.
DEFAULT_PATHS = ("/", "/run", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/dev/shm")
# One line per path, "path|<path>|<type>:<uid>:<gid>:<octal mode>" or "path|<path>|missing", then
# "mount|<the /proc/mounts line>" for each of those paths that is a mount point.
DEFAULTS_SCRIPT = r"""
for p in / /run /etc/hosts /etc/hostname /etc/resolv.conf /dev/shm; do
  if [ -e "$p" ]; then echo "path|$p|$(stat -c '%F:%u:%g:%a' "$p")"; else echo "path|$p|missing"; fi
done
while read -r src dst rest; do
  case "$dst" in
    /|/run|/etc/hosts|/etc/hostname|/etc/resolv.conf|/dev/shm) echo "mount|$src $dst $rest";;
  esac
done < /proc/mounts
"""


def store_image(platform: str, marker: str) -> BuiltImage:
    """The store probe for ``platform``, its /marker file saying ``marker``."""
    return build_busybox_image(
        {
            "Entrypoint": ["/bin/sh", "-c", STORE_SCRIPT],
            "Env": ["PATH=/bin"],
            "Labels": {"org.opencontainers.image.title": f"ocimatrix store-state probe ({marker})"},
        },
        applets=("sh", "uname", "cat"),
        files=(ImageFile(MARKER, f"{marker}\n".encode()),),
        platform=platform,
    )


def defaults_image() -> BuiltImage:
    return build_busybox_image(
        {
            "Entrypoint": ["/bin/sh", "-c", DEFAULTS_SCRIPT],
            "Env": ["PATH=/bin"],
            "Labels": {"org.opencontainers.image.title": "ocimatrix filesystem-defaults probe"},
        },
        applets=("sh", "stat"),
        # Most images have /etc: the engine's files land in it rather than in a directory it made.
        files=(ImageFile("etc", None, 0o755),),
    )


@dataclass(frozen=True)
class PushedIndex:
    ref: str  # host:port/repository:tag
    digest: str
    manifests: dict[str, str]  # platform -> manifest digest
    configs: dict[str, str]  # platform -> config digest


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def index_document(images: Mapping[str, BuiltImage]) -> bytes:
    """An OCI image index listing ``images`` (platform -> image), in the order given."""
    manifests = []
    for platform, image in images.items():
        os_name, arch, *variant = platform.split("/")
        manifests.append(
            {
                "mediaType": mediatypes.OCI_MANIFEST,
                "digest": image.manifest_digest,
                "size": len(image.manifest),
                "platform": {"architecture": arch, "os": os_name, **({"variant": variant[0]} if variant else {})},
            }
        )
    document = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": manifests}
    return json.dumps(document, sort_keys=True).encode()


def push_index(registry: str, repository: str, tag: str, images: Mapping[str, BuiltImage]) -> PushedIndex:
    """Push each platform's image by digest, then the index under ``tag`` (loopback registries only)."""
    check_loopback(registry)
    for image in images.values():
        push_image(registry, repository, image.manifest_digest, image)
    body = index_document(images)
    with RegistryClient(registry, plain_http=True) as client:
        digest = client.put_manifest(repository, tag, body, mediatypes.OCI_INDEX)
    return PushedIndex(
        f"{registry}/{repository}:{tag}",
        digest,
        {p: i.manifest_digest for p, i in images.items()},
        {p: i.config_digest for p, i in images.items()},
    )


@dataclass(frozen=True)
class DefaultsView:
    """What the defaults probe printed: path -> "type:uid:gid:mode" (or "missing"), path -> mount line."""

    paths: dict[str, str]
    mounts: dict[str, str]

    def mount_options(self, path: str) -> dict[str, str]:
        """The fs type and options of ``path``'s mount ({} when it is no mount point)."""
        line = self.mounts.get(path, "")
        fields = line.split()
        if len(fields) < 4:
            return {}
        return {"source": fields[0], "type": fields[2], "options": fields[3]}


def parse_defaults(stdout: str) -> DefaultsView:
    paths: dict[str, str] = {}
    mounts: dict[str, str] = {}
    for line in stdout.splitlines():
        kind, _, rest = line.partition("|")
        if kind == "path":
            path, _, stat = rest.partition("|")
            paths[path] = stat
        elif kind == "mount":
            fields = rest.split()
            if len(fields) >= 2:
                # A path mounted twice (a tmpfs over the image's /run, say): the last line is what shows.
                mounts[fields[1]] = rest
    return DefaultsView(paths, mounts)
