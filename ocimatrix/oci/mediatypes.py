"""Media types of the OCI image-spec v1.1 and of Docker's image manifest v2 schema 2.

Public API (stable): the ``OCI_*`` and ``DOCKER_*`` constants, the sets grouping them
(``MANIFEST_TYPES``, ``INDEX_TYPES``, ``CONFIG_TYPES``, ``LAYER_TYPES``, ``KNOWN``),
``layer_compression(media_type)`` and ``kind_of(media_type)``.
"""

from __future__ import annotations

import re

# OCI image-spec v1.1, media-types.md
OCI_DESCRIPTOR = "application/vnd.oci.descriptor.v1+json"
OCI_LAYOUT_HEADER = "application/vnd.oci.layout.header.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_TAR_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
# Deprecated in v1.1 ("non-distributable" layers), still valid to read.
OCI_LAYER_NONDIST_TAR = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDIST_TAR_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_NONDIST_TAR_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

# The empty descriptor's well-known content: the two bytes "{}".
EMPTY_JSON = b"{}"
EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

# Docker Image Manifest V2, Schema 2 and the manifest list
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_FOREIGN_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
DOCKER_PLUGIN_CONFIG = "application/vnd.docker.plugin.v1+json"
# Schema 1 is deprecated; recognised only to say so.
DOCKER_MANIFEST_V1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_MANIFEST_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
CONFIG_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})
OCI_LAYER_TYPES = frozenset(
    {
        OCI_LAYER_TAR,
        OCI_LAYER_TAR_GZIP,
        OCI_LAYER_TAR_ZSTD,
        OCI_LAYER_NONDIST_TAR,
        OCI_LAYER_NONDIST_TAR_GZIP,
        OCI_LAYER_NONDIST_TAR_ZSTD,
    }
)
DOCKER_LAYER_TYPES = frozenset({DOCKER_LAYER_GZIP, DOCKER_LAYER_FOREIGN_GZIP})
LAYER_TYPES = OCI_LAYER_TYPES | DOCKER_LAYER_TYPES
NONDISTRIBUTABLE_TYPES = frozenset(
    {OCI_LAYER_NONDIST_TAR, OCI_LAYER_NONDIST_TAR_GZIP, OCI_LAYER_NONDIST_TAR_ZSTD, DOCKER_LAYER_FOREIGN_GZIP}
)
KNOWN = (
    INDEX_TYPES
    | MANIFEST_TYPES
    | CONFIG_TYPES
    | LAYER_TYPES
    | {OCI_DESCRIPTOR, OCI_LAYOUT_HEADER, OCI_EMPTY, DOCKER_PLUGIN_CONFIG}
)

# What a registry client sends in Accept to get any manifest kind back.
MANIFEST_ACCEPT = (OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST)

# RFC 6838 section 4.2: type "/" subtype, restricted-name characters; parameters are not allowed
# in a descriptor's mediaType.
RFC6838 = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$")


def layer_compression(media_type: str) -> str | None:
    """The compression a layer media type announces: "gzip", "zstd", "none", or None if not a layer."""
    if not isinstance(media_type, str):
        return None
    if media_type in DOCKER_LAYER_TYPES:
        return "gzip"
    if media_type not in OCI_LAYER_TYPES:
        return None
    if media_type.endswith("+gzip"):
        return "gzip"
    if media_type.endswith("+zstd"):
        return "zstd"
    return "none"


def kind_of(media_type: str | None) -> str | None:
    """Which kind of document a media type names: index, manifest, config, layer, empty, or None."""
    if not isinstance(media_type, str):
        return None
    if media_type in INDEX_TYPES:
        return "index"
    if media_type in MANIFEST_TYPES:
        return "manifest"
    if media_type in CONFIG_TYPES:
        return "config"
    if media_type in LAYER_TYPES:
        return "layer"
    if media_type == OCI_EMPTY:
        return "empty"
    if media_type == OCI_DESCRIPTOR:
        return "descriptor"
    if media_type == OCI_LAYOUT_HEADER:
        return "layout"
    return None
