"""One bounded reader for every JSON document the validator reads: a layout's own files, a saved
archive's members and blobs report a missing, unreadable or oversized document the same way."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from ocimatrix.oci import walker as walker_module
from ocimatrix.oci.registry_client import RegistryError
from ocimatrix.oci.report import Report
from ocimatrix.oci.stores import RegistryStore
from ocimatrix.oci.validate import validate_archive, validate_layout
from ocimatrix.oci.walker import Walker


def _rules(report) -> set[str]:
    return {violation.rule_id for violation in report.violations}


def test_a_dangling_index_in_a_layout_is_reported_missing(tmp_path):
    (tmp_path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (tmp_path / "index.json").symlink_to(tmp_path / "gone.json")
    assert "layout.index-missing" in _rules(validate_layout(tmp_path))


def test_an_oversized_layout_file_is_too_large_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(walker_module, "MAX_JSON", 64)
    (tmp_path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0", "pad": "x" * 100}))
    (tmp_path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": []}))
    assert "json.too-large" in _rules(validate_layout(tmp_path))


def test_an_archive_member_named_by_the_index_but_absent_is_a_warning(tmp_path):
    archive = tmp_path / "image.tar"
    with tarfile.open(archive, "w") as tar:
        for name, document in {
            "oci-layout": {"imageLayoutVersion": "1.0.0"},
            "index.json": {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [
                    {
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": "sha256:" + "a" * 64,
                        "size": 2,
                    }
                ],
            },
        }.items():
            data = json.dumps(document).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        blobs = tarfile.TarInfo("blobs/sha256")
        blobs.type = tarfile.DIRTYPE
        tar.addfile(blobs)
    report = validate_archive(archive)
    # image-layout.md#blobs: the blobs directory MAY be missing referenced blobs.
    assert _rules(report) == {"layout.blob-absent"}
    assert report.ok
    (absent,) = report.violations
    assert absent.level == "warning"
    assert absent.spec_url.endswith("/image-layout.md#blobs")
    assert absent.where == "index.json:/manifests/0"
    assert "blobs/sha256/" + "a" * 64 in absent.message


def _layout_of(tmp_path, digest: str, media_type: str = "application/vnd.oci.image.manifest.v1+json"):
    tmp_path.joinpath("blobs", "sha256").mkdir(parents=True)
    (tmp_path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    entry = {"mediaType": media_type, "digest": digest, "size": 2}
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [entry]}
    (tmp_path / "index.json").write_text(json.dumps(index))
    return tmp_path


def test_a_layout_directory_lacking_a_referenced_blob_warns(tmp_path):
    report = validate_layout(_layout_of(tmp_path, "sha256:" + "b" * 64))
    assert [(v.rule_id, v.level) for v in report.violations] == [("layout.blob-absent", "warning")]
    assert report.ok


class _Answers404:
    """A registry client whose registry lists what it then cannot serve: 404 for every blob."""

    def get_blob(self, repository: str, digest: str):
        raise RegistryError(f"GET /v2/{repository}/blobs/{digest}: 404 BLOB_UNKNOWN", status=404)

    def get_manifest(self, repository: str, reference: str):
        raise RegistryError(f"GET /v2/{repository}/manifests/{reference}: 404 MANIFEST_UNKNOWN", status=404)


@pytest.mark.parametrize("media_type", ["application/vnd.oci.image.manifest.v1+json", "application/octet-stream"])
def test_a_registry_that_cannot_serve_a_referenced_blob_is_an_error(media_type):
    """No MAY for a registry: a manifest it serves names content it must serve too."""
    report = Report(source="127.0.0.1:5000/probe")
    walker = Walker(RegistryStore(_Answers404(), "probe"), report)
    walker.walk_descriptor({"mediaType": media_type, "digest": "sha256:" + "c" * 64, "size": 2}, "probe:/layers/0")
    assert [(v.rule_id, v.level) for v in report.violations][-1] == ("blob.missing", "error")
    assert not report.ok


def test_a_docker_save_layer_file_named_but_absent_stays_an_error(tmp_path):
    """docker save's manifest.json is no OCI layout: image-layout.md's MAY is not its to borrow."""
    archive = tmp_path / "save.tar"
    with tarfile.open(archive, "w") as tar:
        data = json.dumps([{"Config": "c.json", "RepoTags": [], "Layers": ["gone/layer.tar"]}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    report = validate_archive(archive)
    assert "blob.missing" in _rules(report)
    assert "layout.blob-absent" not in _rules(report)
