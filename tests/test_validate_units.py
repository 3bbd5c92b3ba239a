"""Unit tests of the validation library's parts: digests, references, ELF, streams, schemas, CLI."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import zstandard
from corpus.builders import build_layout, canonical, fake_elf, tar_bytes, tar_of_tree

from ocimatrix.cli import main as cli_main
from ocimatrix.errors import UsageError
from ocimatrix.oci import elf
from ocimatrix.oci import mediatypes as mt
from ocimatrix.oci.digest import DigestError, HashingReader, digest_bytes, digest_problem, parse_digest, verify_stream
from ocimatrix.oci.reference import parse_reference
from ocimatrix.oci.registry_client import Credentials, credentials_from_file, parse_challenge
from ocimatrix.oci.rules import RULES
from ocimatrix.oci.schemas import SCHEMA_KINDS, schema_dir, schema_errors
from ocimatrix.oci.streams import CorruptStream, GzipReader, ZstdReader, sniff_compression
from ocimatrix.oci.validate import guess_kind, validate_document, validate_source

# -- digests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("sha256:" + "a" * 64, True),
        ("sha512:" + "0" * 128, True),
        ("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", True),
        ("sha256:" + "A" * 64, False),
        ("sha256:" + "a" * 63, False),
        ("sha512:" + "a" * 64, False),
        ("SHA256:" + "a" * 64, False),
        ("sha256" + "a" * 64, False),
        ("sha256:../../etc/passwd", False),
        (42, False),
    ],
)
def test_digest_grammar(text, ok):
    assert (digest_problem(text) is None) is ok


def test_digest_streaming_and_verify():
    data = os.urandom(3 << 20)
    expected = "sha256:" + hashlib.sha256(data).hexdigest()
    assert str(digest_bytes(data)) == expected
    ok, actual, size = verify_stream(io.BytesIO(data), expected, len(data))
    assert ok and str(actual) == expected and size == len(data)
    assert not verify_stream(io.BytesIO(data + b"x"), expected)[0]
    reader = HashingReader(io.BytesIO(data), ("sha256", "sha512"))
    reader.drain()
    assert str(reader.digest()) == expected and reader.size == len(data)
    assert reader.digest("sha512").encoded == hashlib.sha512(data).hexdigest()
    with pytest.raises(DigestError):
        parse_digest("sha256:" + "A" * 64)


def test_unregistered_algorithm_parses_but_cannot_hash():
    d = parse_digest("sha3+256:" + "a" * 64)
    assert not d.registered
    with pytest.raises(DigestError):
        digest_bytes(b"x", d.algorithm)


# -- references and auth ---------------------------------------------------------------------------


def test_references():
    ref = parse_reference("127.0.0.1:5000/a/b:v1")
    assert (ref.registry, ref.repository, ref.tag, ref.ref) == ("127.0.0.1:5000", "a/b", "v1", "v1")
    pinned = parse_reference("docker://localhost/x@sha256:" + "b" * 64)
    assert pinned.registry == "localhost" and pinned.ref == "sha256:" + "b" * 64
    for bad in ("busybox", "busybox:latest", "127.0.0.1:5000/UPPER", "127.0.0.1:5000/x@sha256:short"):
        with pytest.raises(ValueError):
            parse_reference(bad)


def test_challenge_parsing_and_credentials(tmp_path):
    scheme, params = parse_challenge(
        'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"'
    )
    assert scheme == "bearer" and params == {
        "realm": "https://auth.example/token",
        "service": "reg",
        "scope": "repository:a/b:pull",
    }
    assert parse_challenge('Basic realm="x"') == ("basic", {"realm": "x"})
    creds = Credentials("u", "topsecret")
    assert "topsecret" not in repr(creds) and "topsecret" not in str(creds)
    plain = tmp_path / "plain"
    plain.write_text("user:pa:ss\n")
    assert credentials_from_file(plain, "h") == Credentials("user", "pa:ss")
    config = tmp_path / "config.json"
    import base64

    config.write_text(json.dumps({"auths": {"127.0.0.1:5000": {"auth": base64.b64encode(b"me:pw").decode()}}}))
    assert credentials_from_file(config, "127.0.0.1:5000") == Credentials("me", "pw")
    assert credentials_from_file(config, "other:1") is None
    with pytest.raises(UsageError):
        credentials_from_file(tmp_path / "absent", "h")


# -- ELF -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("goarch", sorted(elf.GOARCH_ELF))
def test_elf_ident_round_trip(goarch):
    ident = elf.read_ident(fake_elf(goarch))
    assert ident is not None and elf.arch_compatible(goarch, ident)
    assert elf.goarch_for(ident) == goarch or elf.GOARCH_ELF[elf.goarch_for(ident)].key() == ident.key()


def test_elf_compatibility_rules():
    arm64 = elf.read_ident(fake_elf("arm64"))
    assert elf.arch_compatible("amd64", arm64) is False
    assert elf.arch_compatible("arm64", elf.read_ident(fake_elf("arm"))) is True  # 32-bit compat
    assert elf.arch_compatible("ppc64le", elf.read_ident(fake_elf("ppc64"))) is False  # byte order matters
    assert elf.arch_compatible("riscv64", elf.read_ident(fake_elf("riscv64"))) is True
    assert elf.arch_compatible("wasm", arm64) is None
    assert elf.read_ident(b"#!/bin/sh\n" + bytes(20)) is None
    real = Path("/bin/busybox")
    if real.exists():
        ident = elf.read_ident(real.read_bytes()[:20])
        assert ident is not None and ident.bits in (32, 64)


# -- streams ---------------------------------------------------------------------------------------


def test_sniffing():
    assert sniff_compression(gzip.compress(b"x")) == "gzip"
    assert sniff_compression(zstandard.ZstdCompressor().compress(b"x")) == "zstd"
    assert sniff_compression(b"BZh91AY") == "bzip2"
    assert sniff_compression(b"\xfd7zXZ\x00") == "xz"
    assert sniff_compression(tar_bytes([("a", "f", b"1")])) == "none"


def test_decompressors_bound_their_output_and_detect_cuts():
    bomb = zstandard.ZstdCompressor(level=19).compress(bytes(64 << 20))  # 64 MiB of zeros in a few KiB
    reader = ZstdReader(io.BytesIO(bomb))
    sizes = []
    while chunk := reader.read(1 << 20):
        sizes.append(len(chunk))
    assert sum(sizes) == 64 << 20 and max(sizes) <= 1 << 20
    gz = gzip.compress(bytes(8 << 20), mtime=0)
    with pytest.raises(CorruptStream):
        g = GzipReader(io.BytesIO(gz[:-4]))
        while g.read(1 << 20):
            pass


class _Trickle:
    """A stream that never returns more than 7 bytes per read, as a slow socket might."""

    def __init__(self, data: bytes):
        self._f = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._f.read(min(7, n) if n is not None and n >= 0 else 7)


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_layers_survive_short_reads(compression):
    from corpus.builders import compress, rootfs_layer

    from ocimatrix.oci.layer import check_layer

    tar = rootfs_layer("arm64")
    result = check_layer(_Trickle(compress(tar, compression)), media_type=mt.OCI_LAYER_TAR)
    assert result.compression == compression and result.entries == 4
    assert str(result.diff_id) == "sha256:" + hashlib.sha256(tar).hexdigest()
    assert [p for p in result.problems if p[0] != "layer.compression-mismatch"] == []
    assert list(result.elf) == [elf.GOARCH_ELF["arm64"].key()]


# -- schemas and rules -----------------------------------------------------------------------------


def test_schemas_are_draft_2020_12_and_map_to_known_rules():
    from jsonschema import Draft202012Validator

    root = schema_dir()
    for path in sorted(root.glob("*/*.schema.json")):
        schema = json.loads(path.read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", path
        Draft202012Validator.check_schema(schema)
        for rule_id in _rule_ids(schema):
            assert rule_id in RULES, f"{path.name}: x-ocimatrix-rule {rule_id} is not in rules.py"
    for kind, (file, fallback) in SCHEMA_KINDS.items():
        assert (root / file).is_file() and fallback in RULES, kind


def _rule_ids(node):
    if isinstance(node, dict):
        if "x-ocimatrix-rule" in node:
            yield node["x-ocimatrix-rule"]
        for value in node.values():
            yield from _rule_ids(value)
    elif isinstance(node, list):
        for value in node:
            yield from _rule_ids(value)


def test_spec_examples_pass_their_schemas():
    manifest = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": {"mediaType": mt.OCI_CONFIG, "digest": "sha256:" + "b" * 64, "size": 7023},
        "layers": [{"mediaType": mt.OCI_LAYER_TAR_GZIP, "digest": "sha256:" + "9" * 64, "size": 32654}],
        "subject": {"mediaType": mt.OCI_MANIFEST, "digest": "sha256:" + "5" * 64, "size": 7682},
        "annotations": {"com.example.key1": "value1"},
    }
    assert list(schema_errors("manifest", manifest)) == []
    config = {
        "created": "2015-10-31T22:22:56.015925234Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"ExposedPorts": {"8080/tcp": {}}, "Env": ["PATH=/bin"], "Volumes": {"/var/job-result-data": {}}},
        "rootfs": {"diff_ids": ["sha256:" + "c" * 64], "type": "layers"},
        "history": [{"created": "2015-10-31T22:22:54.690851953Z", "created_by": "/bin/sh", "empty_layer": True}],
    }
    assert list(schema_errors("config", config)) == []
    assert list(schema_errors("layout", {"imageLayoutVersion": "1.0.0"})) == []


def test_every_rule_has_level_and_link():
    for r in RULES.values():
        assert r.level in ("error", "warning") and r.url.startswith("https://") and r.summary


# -- documents, kinds and the command line ---------------------------------------------------------


def test_guess_kind():
    assert guess_kind({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []}) == "index"
    assert guess_kind({"schemaVersion": 2, "config": {}, "layers": []}) == "manifest"
    assert guess_kind({"architecture": "amd64", "os": "linux", "rootfs": {}}) == "config"
    assert guess_kind({"imageLayoutVersion": "1.0.0"}) == "layout"
    assert guess_kind({"mediaType": mt.OCI_MANIFEST, "digest": "sha256:" + "a" * 64, "size": 1}) == "descriptor"
    assert guess_kind({"hello": "world"}) is None
    assert guess_kind([1, 2]) is None


def test_unusable_inputs_raise_usage_errors(tmp_path):
    odd = tmp_path / "odd.json"
    odd.write_bytes(b'{"hello": "world"}')
    with pytest.raises(UsageError, match="--as"):
        validate_document(odd)
    with pytest.raises(UsageError):
        validate_source(str(tmp_path / "nope"))
    with pytest.raises(UsageError, match="platform"):
        validate_source(str(tmp_path), platform="linux")
    with pytest.raises(UsageError):
        validate_document(odd, as_kind="picture")


def test_cli_exit_codes_and_json(tmp_path, capsys):
    build_layout(tmp_path / "good")
    assert cli_main(["validate", str(tmp_path / "good")]) == 0
    assert "VALID" in capsys.readouterr().out

    build_layout(tmp_path / "bad", config_edit=lambda c: c["rootfs"].update(type="layer"))
    assert cli_main(["validate", str(tmp_path / "bad"), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] is False
    assert [v["rule_id"] for v in out["violations"]] == ["config.rootfs-type"]
    assert set(out["violations"][0]) == {"rule_id", "where", "message", "spec_url", "level"}

    warn = tmp_path / "warn.json"
    warn.write_bytes(canonical({"schemaVersion": 2, "manifests": []}))
    assert cli_main(["validate", str(warn)]) == 0  # a SHOULD only
    assert cli_main(["validate", str(warn), "--strict"]) == 1
    assert cli_main(["validate", str(warn), "--as", "manifest"]) == 1
    assert cli_main(["validate", str(tmp_path / "missing")]) == 2
    assert cli_main(["validate"]) == 2
    capsys.readouterr()
    assert cli_main(["validate", "--list-rules", "--json"]) == 0
    assert {r["id"] for r in json.loads(capsys.readouterr().out)} == set(RULES)


def test_nothing_is_written_while_reading_a_hostile_archive(tmp_path):
    build_layout(tmp_path / "layout", layers=[tar_bytes([("../../../escape", "f", b"x"), ("/abs", "f", b"y")])])
    import tarfile

    evil = tarfile.TarInfo("../outside-archive")
    archive = tar_of_tree(tmp_path / "layout", tmp_path / "evil.tar", extra=[evil])
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    parent_before = sorted(os.listdir(tmp_path.parent))
    report = validate_source(str(archive))
    assert {"archive.unsafe-path", "layer.path-traversal", "layer.path-absolute"} <= report.rule_ids()
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert sorted(os.listdir(tmp_path.parent)) == parent_before


def test_large_layer_is_streamed_in_bounded_memory(tmp_path):
    """A 128 MiB layer must validate in a child process whose peak RSS stays far below the layer size."""
    block = os.urandom(1 << 20)
    build_layout(tmp_path / "big", layers=[tar_bytes([(f"f{i}", "f", block) for i in range(128)])], compression="zstd")
    script = textwrap.dedent(
        f"""
        from ocimatrix.oci.validate import validate_layout
        report = validate_layout({str(tmp_path / "big")!r})
        assert report.ok and report.checked["layers"] == 1, report.violations
        # VmHWM, not ru_maxrss: after exec, ru_maxrss still carries the parent's (this test's) peak.
        status = open("/proc/self/status").read()
        print(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    peak_mib = int(out.stdout) / 1024
    assert peak_mib < 100, f"validating a 128 MiB layer peaked at {peak_mib:.0f} MiB RSS"
