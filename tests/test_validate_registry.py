"""The registry source against a real docker-registry (distribution 2.8) on 127.0.0.1.

Content is pushed with ocimatrix's own RegistryClient (monolithic POST+PUT uploads), then pulled
and validated; anonymous, htpasswd Basic and Bearer-token registries are each exercised.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from corpus.builders import build_layout, rootfs_layer
from corpus.local_registry import PASSWORD, USER, LocalRegistry

from ocimatrix.cli import main as cli_main
from ocimatrix.errors import UsageError
from ocimatrix.oci import mediatypes as mt
from ocimatrix.oci.registry_client import Credentials, RegistryClient
from ocimatrix.oci.validate import validate_registry, validate_source

pytestmark = pytest.mark.skipif(
    not shutil.which("docker-registry") and not os.path.exists("/usr/bin/docker-registry"),
    reason="Debian's docker-registry is not installed (apt-get install docker-registry)",
)

CREDS = Credentials(USER, PASSWORD)


def push_layout(client: RegistryClient, repo: str, root: Path, tag: str) -> str:
    """Push every manifest of an OCI layout (children first) and tag its index.json or sole manifest."""

    def blob(digest: str) -> bytes:
        return (root / "blobs" / digest.replace(":", "/")).read_bytes()

    def push_descriptor(desc: dict) -> None:
        body = blob(desc["digest"])
        doc = json.loads(body)
        if desc["mediaType"] in mt.INDEX_TYPES:
            for child in doc["manifests"]:
                push_descriptor(child)
        else:
            for part in [doc["config"], *doc["layers"]]:
                client.push_blob(repo, blob(part["digest"]))
        client.put_manifest(repo, desc["digest"], body, desc["mediaType"])

    index_bytes = (root / "index.json").read_bytes()
    index = json.loads(index_bytes)
    for desc in index["manifests"]:
        push_descriptor(desc)
    if len(index["manifests"]) == 1:
        only = index["manifests"][0]
        return client.put_manifest(repo, tag, blob(only["digest"]), only["mediaType"])
    return client.put_manifest(repo, tag, index_bytes, mt.OCI_INDEX)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    reg = LocalRegistry(tmp_path_factory.mktemp("registry"))
    yield reg
    reg.close()


@pytest.fixture(scope="module")
def client(registry):
    with RegistryClient(registry.host, plain_http=True) as c:
        yield c


def test_valid_image_by_tag_and_by_digest(registry, client, tmp_path):
    build_layout(tmp_path / "l", compression="gzip")
    digest = push_layout(client, "corpus/app", tmp_path / "l", "v1")
    head_digest, media_type, size = client.head_manifest("corpus/app", "v1")
    assert head_digest == digest and media_type == mt.OCI_MANIFEST and size > 0

    report = validate_source(f"{registry.host}/corpus/app:v1", plain_http=True)
    assert report.violations == [], [str(v) for v in report.violations]
    assert report.checked["layers"] == 1 and report.checked["configs"] == 1

    by_digest = validate_registry(f"{registry.host}/corpus/app@{digest}", plain_http=True)
    assert by_digest.violations == []


def test_multi_platform_index_and_platform_filter(registry, client, tmp_path):
    from corpus.builders import LayoutWriter, build_manifest

    root = tmp_path / "multi"
    writer = LayoutWriter(root)
    entries = [build_manifest(writer, arch=a, compression="zstd")[0] for a in ("amd64", "arm64")]
    writer.finish({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": entries})
    push_layout(client, "corpus/multi", root, "v1")

    report = validate_registry(f"{registry.host}/corpus/multi:v1", plain_http=True)
    assert report.violations == [] and report.checked["manifests"] == 2

    only_arm = validate_registry(f"{registry.host}/corpus/multi:v1", plain_http=True, platform="linux/arm64")
    assert only_arm.violations == [] and only_arm.checked["manifests"] == 1

    absent = validate_registry(f"{registry.host}/corpus/multi:v1", plain_http=True, platform="linux/riscv64")
    assert absent.rule_ids() == {"index.platform-not-found"}


@pytest.mark.parametrize(
    ("name", "kwargs", "rule"),
    [
        (
            "diffid",
            {
                "compression": "gzip",
                "layers": [rootfs_layer(), rootfs_layer("386")],
                "config_edit": lambda c: c["rootfs"]["diff_ids"].reverse(),
            },
            "config.diff-id-mismatch",
        ),
        ("elf", {"arch": "amd64", "layers": [rootfs_layer("arm64")]}, "layer.elf-arch-mismatch"),
        ("dockergz", {"docker": True}, "layer.compression-mismatch"),
    ],
)
def test_broken_images_in_the_registry(registry, client, tmp_path, name, kwargs, rule):
    build_layout(tmp_path / "l", **kwargs)
    push_layout(client, f"corpus/broken-{name}", tmp_path / "l", "v1")
    report = validate_registry(f"{registry.host}/corpus/broken-{name}:v1", plain_http=True)
    assert rule in report.rule_ids(), [str(v) for v in report.violations]
    assert not report.ok


def test_unknown_tag_and_https_are_usage_errors(registry):
    with pytest.raises(UsageError, match="MANIFEST_UNKNOWN|404"):
        validate_registry(f"{registry.host}/corpus/none:v1", plain_http=True)
    # Without --plain-http the client speaks TLS, which a plain-HTTP registry cannot answer.
    with pytest.raises(UsageError, match="cannot fetch"):
        validate_registry(f"{registry.host}/corpus/app:v1", timeout=5)


def test_cli_on_registry_reference(registry, client, tmp_path, capsys):
    build_layout(tmp_path / "l")
    push_layout(client, "corpus/cli", tmp_path / "l", "v1")
    assert cli_main(["validate", f"{registry.host}/corpus/cli:v1", "--plain-http", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] is True and out["checked"]["layers"] == 1
    assert cli_main(["validate", f"{registry.host}/corpus/missing:v1", "--plain-http"]) == 2


def test_basic_auth_registry(tmp_path, monkeypatch, capsys):
    pytest.importorskip("bcrypt")
    reg = LocalRegistry(tmp_path / "reg", auth="htpasswd")
    try:
        with RegistryClient(reg.host, plain_http=True, credentials=CREDS) as pusher:
            build_layout(tmp_path / "l")
            push_layout(pusher, "private/app", tmp_path / "l", "v1")
        ref = f"{reg.host}/private/app:v1"

        monkeypatch.delenv("OCIMATRIX_REGISTRY_USER", raising=False)
        with pytest.raises(UsageError, match="requires credentials"):
            validate_registry(ref, plain_http=True)

        monkeypatch.setenv("OCIMATRIX_REGISTRY_USER", USER)
        monkeypatch.setenv("OCIMATRIX_REGISTRY_PASSWORD", PASSWORD)
        assert validate_registry(ref, plain_http=True).violations == []

        monkeypatch.delenv("OCIMATRIX_REGISTRY_USER")
        creds_file = tmp_path / "creds"
        creds_file.write_text(f"{USER}:{PASSWORD}\n")
        assert cli_main(["validate", ref, "--plain-http", "--credentials-file", str(creds_file)]) == 0
        creds_file.write_text(f"{USER}:wrong\n")
        assert cli_main(["validate", ref, "--plain-http", "--credentials-file", str(creds_file)]) == 2
        captured = capsys.readouterr()
        assert PASSWORD not in captured.out + captured.err and "wrong" not in captured.out + captured.err
    finally:
        reg.close()


def test_bearer_token_registry(tmp_path, monkeypatch):
    pytest.importorskip("cryptography")
    reg = LocalRegistry(tmp_path / "reg", auth="token")
    try:
        with RegistryClient(reg.host, plain_http=True, credentials=CREDS) as pusher:
            build_layout(tmp_path / "l", compression="gzip")
            push_layout(pusher, "tokened/app", tmp_path / "l", "v1")
        ref = f"{reg.host}/tokened/app:v1"
        monkeypatch.delenv("OCIMATRIX_REGISTRY_USER", raising=False)
        with pytest.raises(UsageError, match="token request"):
            validate_registry(ref, plain_http=True)
        issued = reg.issuer.issued
        report = validate_registry(ref, plain_http=True, credentials=CREDS)
        assert report.violations == [] and report.checked["layers"] == 1
        assert reg.issuer.issued > issued, "the client must have gone through the token realm"
    finally:
        reg.close()
