"""One bounded reader for every JSON document the validator reads: a layout's own files, a saved
archive's members and blobs report a missing, unreadable or oversized document the same way."""

from __future__ import annotations

import io
import json
import tarfile

from ocimatrix.oci import walker as walker_module
from ocimatrix.oci.validate import validate_archive, validate_layout


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


def test_an_archive_member_named_by_the_index_but_absent_is_missing(tmp_path):
    archive = tmp_path / "image.tar"
    with tarfile.open(archive, "w") as tar:
        for name, document in {
            "oci-layout": {"imageLayoutVersion": "1.0.0"},
            "index.json": {
                "schemaVersion": 2,
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
    assert "blob.missing" in _rules(validate_archive(archive))
