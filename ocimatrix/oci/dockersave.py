"""The ``docker save`` archive format: a top-level ``manifest.json`` listing config and layer files.

Docker's image spec ("combined image JSON + filesystem changeset format") names the config file
and the layer tars of each image; the layers are uncompressed tars whose sha256 are the config's
``rootfs.diff_ids``. Docker 25+ and podman also write an OCI layout into the same archive; the
two views share blobs, and each blob is read once.

Public API: ``check_docker_save(archive, walker)``.
"""

from __future__ import annotations

import re

from ocimatrix.oci.archive import MemberMissing, MemberUnreadable, TarArchive
from ocimatrix.oci.digest import digest_bytes
from ocimatrix.oci.jsondoc import parse_json
from ocimatrix.oci.platforms import platform_matches
from ocimatrix.oci.walker import Walker

MANIFEST = "manifest.json"
_UNUSABLE = object()
_HEX64 = re.compile(r"(?:^|/)(?:sha256[:/])?([a-f0-9]{64})(?:\.json)?$")


def _json(archive: TarArchive, name: str, walker: Walker, where: str) -> tuple[object, bytes | None]:
    """(document, bytes); the document is _UNUSABLE when there is none (JSON null is a document)."""
    missing = ("blob.missing", f"{name} is not in the archive")
    content = walker.read_document(lambda: archive.open(name), where, name, missing=missing)
    if content is None:
        return _UNUSABLE, None
    parsed = parse_json(content)
    for rule_id, message in parsed.problems:
        walker.add(rule_id, name, message)
    return (parsed.value if parsed.usable else _UNUSABLE), content


def check_docker_save(archive: TarArchive, walker: Walker) -> None:
    doc, _ = _json(archive, MANIFEST, walker, MANIFEST)
    if doc is _UNUSABLE:
        return
    walker.schema("docker-save-manifest", doc, MANIFEST)
    if not isinstance(doc, list):
        return
    for i, entry in enumerate(doc):
        if isinstance(entry, dict):
            _check_entry(archive, walker, entry, f"{MANIFEST}:/{i}")


def _check_entry(archive: TarArchive, walker: Walker, entry: dict, where: str) -> None:
    config_name, layers = entry.get("Config"), entry.get("Layers")
    if not isinstance(config_name, str) or not isinstance(layers, list):
        return
    config, content = _json(archive, config_name, walker, f"{where}/Config")
    if content is not None:
        named = _HEX64.search(config_name)
        actual = digest_bytes(content)
        if named and named.group(1) != actual.encoded:
            walker.add(
                "docker-archive.config-id",
                f"{where}/Config",
                f"{config_name} is named after sha256 {named.group(1)[:12]}... but hashes to {actual}",
            )
        walker.seen_blobs.add(str(actual))
    if config is not _UNUSABLE:
        walker.check_config(config, config_name)
    config = config if isinstance(config, dict) else None
    if walker.options.platform and config is not None:
        if not platform_matches(walker.options.platform, config):
            return
        walker.platform_matched = True
    diff_ids = walker.diff_ids_of(config)
    if diff_ids is not None and len(diff_ids) != len(layers):
        walker.add(
            "config.diff-ids-count",
            f"{config_name}:/rootfs/diff_ids",
            f"config lists {len(diff_ids)} diff_ids but {where} names {len(layers)} layer files",
        )
    goos = config.get("os") if config else None
    arch = config.get("architecture") if config else None
    for j, layer_name in enumerate(layers):
        if not isinstance(layer_name, str):
            continue
        result = _layer(archive, walker, layer_name, f"{where}/Layers/{j}")
        if result is not None:
            diff_id = diff_ids[j] if diff_ids is not None and j < len(diff_ids) else None
            walker.compare_layer(result, diff_id, f"{config_name}:/rootfs/diff_ids/{j}", goos, arch, config_name)


def _layer(archive: TarArchive, walker: Walker, name: str, where: str):
    # A layer under blobs/<alg>/<hex> may already have been read by the OCI layout walk.
    parts = name.split("/")
    cache_key = f"{parts[1]}:{parts[2]}" if len(parts) == 3 and parts[0] == "blobs" else f"archive:{name}"
    if cache_key in walker.layer_cache:
        return walker.layer_cache[cache_key]
    if not walker.options.check_layers:
        return None
    try:
        with archive.open(name) as raw:
            result = walker.check_layer_blob(raw, name, None)
    except MemberMissing:
        walker.add("blob.missing", where, f"layer file {name} is not in the archive")
        return None
    except MemberUnreadable as exc:
        walker.add("blob.unreadable", where, str(exc))
        return None
    walker.layer_cache[cache_key] = result
    if result.digest is not None:
        walker.seen_blobs.add(str(result.digest))
        if cache_key.startswith("sha256:") and str(result.digest) != cache_key:
            walker.add("layout.blob-digest-mismatch", name, f"{name} hashes to {result.digest}")
    return result
