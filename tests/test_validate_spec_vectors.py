"""ocimatrix validate gives image-spec's verdict on the cases its own schema tests pin down.

opencontainers/image-spec checks its schemas with table tests under ``schema/*_test.go``
(descriptor, manifest, image index, config, image layout, backwards compatibility) and with the
examples in the spec's markdown (``spec_test.go``). Each vector below is written here, with our
own JSON, to test the same property as one of those vectors, which ``mirrors`` names.

``valid`` is image-spec's verdict: a valid document may carry warnings (SHOULD rules, or
inconsistencies the spec does not forbid) but no error; an invalid one must carry ``rule`` as an
error. A valid vector that names a ``rule`` must report it as a warning.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from ocimatrix.cli import main as cli_main
from ocimatrix.oci import mediatypes as mt
from ocimatrix.oci.rules import RULES
from ocimatrix.oci.validate import validate_document


def _digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def _desc(media_type: str, seed: str, size: int = 1234, **extra) -> dict:
    return {"mediaType": media_type, "digest": _digest(seed), "size": size, **extra}


@dataclass(frozen=True)
class Vector:
    mirrors: str  # "<file>: <the upstream vector's comment>"
    kind: str  # what `ocimatrix validate --as KIND` reads it as
    document: object  # a JSON value, or bytes written as they are
    valid: bool  # image-spec's verdict
    rule: str | None = None  # the error an invalid vector raises; a warning a valid one raises

    @property
    def id(self) -> str:
        return self.mirrors.replace(" ", "-")


VECTORS: list[Vector] = []


def vector(mirrors: str, kind: str, document: object, valid: bool, rule: str | None = None) -> None:
    VECTORS.append(Vector(mirrors, kind, document, valid, rule))


# -- descriptor_test.go ------------------------------------------------------------------------------

MANIFEST_DESC = _desc(mt.OCI_MANIFEST, "a manifest somewhere", 2048)


def _descriptor(**changes) -> dict:
    doc = dict(MANIFEST_DESC)
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


_D = "descriptor_test.go"
vector(f"{_D}: valid descriptor", "descriptor", _descriptor(), True)
vector(
    f"{_D}: zero length blob",
    "descriptor",
    {"mediaType": "application/octet-stream", "size": 0, "digest": "sha256:" + hashlib.sha256(b"").hexdigest()},
    True,
)
vector(f"{_D}: mediaType missing", "descriptor", _descriptor(mediaType=None), False, "descriptor.schema")
vector(
    f"{_D}: mediaType without subtype",
    "descriptor",
    _descriptor(mediaType="text"),
    False,
    "descriptor.media-type-format",
)
vector(
    f"{_D}: mediaType with invalid first type character",
    "descriptor",
    _descriptor(mediaType="_vendor/thing"),
    False,
    "descriptor.media-type-format",
)
vector(
    f"{_D}: mediaType with invalid first subtype character",
    "descriptor",
    _descriptor(mediaType="vendor/-thing"),
    False,
    "descriptor.media-type-format",
)
vector(
    f"{_D}: type and subtype as long as possible",
    "descriptor",
    _descriptor(mediaType="t" * 127 + "/" + "s" * 127),
    True,
)
vector(
    f"{_D}: type too long",
    "descriptor",
    _descriptor(mediaType="t" * 128 + "/json"),
    False,
    "descriptor.media-type-format",
)
vector(
    f"{_D}: subtype too long",
    "descriptor",
    _descriptor(mediaType="text/" + "s" * 128),
    False,
    "descriptor.media-type-format",
)
vector(f"{_D}: size missing", "descriptor", _descriptor(size=None), False, "descriptor.schema")
vector(f"{_D}: size is a string", "descriptor", _descriptor(size="2048"), False, "descriptor.size")
vector(f"{_D}: negative size", "descriptor", _descriptor(size=-2048), False, "descriptor.size")
vector(f"{_D}: digest missing", "descriptor", _descriptor(digest=None), False, "descriptor.schema")
vector(
    f"{_D}: digest without algorithm",
    "descriptor",
    _descriptor(digest=":" + hashlib.sha256(b"x").hexdigest()),
    False,
    "digest.format",
)
vector(f"{_D}: digest without encoded part", "descriptor", _descriptor(digest="sha512"), False, "digest.format")
vector(
    f"{_D}: algorithm with uppercase characters",
    "descriptor",
    _descriptor(digest="Sha256:" + hashlib.sha256(b"x").hexdigest()),
    False,
    "digest.format",
)
vector(
    f"{_D}: sha256 encoded part must be lowercase",
    "descriptor",
    _descriptor(digest="sha256:" + hashlib.sha256(b"x").hexdigest().upper()),
    False,
    "digest.format",
)
vector(f"{_D}: valid url entry", "descriptor", _descriptor(urls=["https://mirror.example/blobs/m1"]), True)
vector(
    f"{_D}: url that is not a URI",
    "descriptor",
    _descriptor(urls=["blobs/m1"]),
    False,
    "descriptor.url-format",
)
vector(
    f"{_D}: artifactType is an IANA-style value",
    "descriptor",
    _descriptor(artifactType="application/vnd.example.sbom"),
    True,
)
vector(
    f"{_D}: artifactType with invalid first subtype character",
    "descriptor",
    _descriptor(artifactType="application/+sbom"),
    False,
    "descriptor.media-type-format",
)
_TEXT = b"hello from the ocimatrix spec vectors\n"
vector(
    f"{_D}: data field with base64 content",
    "descriptor",
    {
        "mediaType": "text/plain",
        "size": len(_TEXT),
        "digest": "sha256:" + hashlib.sha256(_TEXT).hexdigest(),
        "data": base64.b64encode(_TEXT).decode(),
    },
    True,
)
vector(
    f"{_D}: data without base64 padding",
    "descriptor",
    {
        "mediaType": "text/plain",
        "size": len(_TEXT),
        "digest": "sha256:" + hashlib.sha256(_TEXT).hexdigest(),
        "data": base64.b64encode(_TEXT).decode().rstrip("="),
    },
    False,
    "descriptor.data-encoding",
)
for algorithm in ("sha512+b64", "blake9+x-y", "sha384.foo-bar"):
    vector(
        f"{_D}: alternate digest algorithm {algorithm}",
        "descriptor",
        _descriptor(mediaType=mt.OCI_CONFIG, digest=f"{algorithm}:{hashlib.md5(algorithm.encode()).hexdigest()}"),
        True,
    )
vector(
    f"{_D}: alternate digest algorithm multihash+base58",
    "descriptor",
    _descriptor(mediaType=mt.OCI_CONFIG, digest="multihash+base58:Qm" + "7Xk2pR9sTb" * 4),
    True,
)
vector(
    f"{_D}: repeated separators in algorithm",
    "descriptor",
    _descriptor(mediaType=mt.OCI_CONFIG, digest="sha384.+x:" + "ab" * 24),
    False,
    "digest.format",
)
_B64U = base64.urlsafe_b64encode(hashlib.sha256(b"b64u").digest()).decode()
vector(
    f"{_D}: alternate digest encoding b64u",
    "descriptor",
    _descriptor(mediaType=mt.OCI_CONFIG, digest="sha256+b64u:" + _B64U.rstrip("=")),
    True,
)
vector(
    f"{_D}: encoded part keeps its padding",
    "descriptor",
    _descriptor(mediaType=mt.OCI_CONFIG, digest="sha256+b64u.padded:" + _B64U),
    True,
)


# -- manifest_test.go --------------------------------------------------------------------------------

CONFIG_DESC = _desc(mt.OCI_CONFIG, "image config", 1502)
LAYERS = [_desc(mt.OCI_LAYER_TAR_GZIP, f"layer {i}", 70000 + i) for i in range(3)]


def _manifest(config: dict | None = None, layers: list | None = None, **extra) -> dict:
    doc = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": config if config is not None else CONFIG_DESC,
        "layers": layers if layers is not None else LAYERS,
    }
    doc.update(extra)
    return doc


_M = "manifest_test.go"
vector(
    f"{_M}: config mediaType does not match the pattern",
    "manifest",
    _manifest(config={**CONFIG_DESC, "mediaType": "config"}),
    False,
    "descriptor.media-type-format",
)
vector(
    f"{_M}: manifest mediaType is not the manifest's",
    "manifest",
    _manifest(mediaType="manifest"),
    False,
    "manifest.media-type",
)
vector(
    f"{_M}: config.size is a string",
    "manifest",
    _manifest(config={**CONFIG_DESC, "size": "1502"}),
    False,
    "descriptor.size",
)
vector(
    f"{_M}: layers size is a string",
    "manifest",
    _manifest(layers=[{**LAYERS[0], "size": "70000"}]),
    False,
    "descriptor.size",
)
vector(
    f"{_M}: config.digest is not hex",
    "manifest",
    _manifest(config={**CONFIG_DESC, "digest": "sha256:" + "xyz" * 21 + "0"}),
    False,
    "digest.format",
)
vector(
    f"{_M}: valid manifest with optional fields",
    "manifest",
    _manifest(annotations={"first": "1", "second": "2"}),
    True,
    "annotation.key-format",
)
vector(f"{_M}: valid manifest with only required fields", "manifest", _manifest(), True)
vector(f"{_M}: empty layers, at least one expected", "manifest", _manifest(layers=[]), False, "manifest.layers-empty")
vector(
    f"{_M}: unrecognized layer media type without strict",
    "manifest",
    _manifest(layers=[_desc("application/vnd.example.blob", "opaque")]),
    True,
    "manifest.layer-media-type",
)
vector(
    f"{_M}: bounds of the algorithm field in digests",
    "manifest",
    _manifest(
        config={**CONFIG_DESC, "digest": "sha512+b64:" + "Zm9v" * 8},
        layers=[
            {**LAYERS[0], "digest": "sha384+a-b:" + "cd" * 24},
            {**LAYERS[1], "digest": "sha384.a-b:" + "ef" * 24},
            {**LAYERS[2], "digest": "multihash+base58:Qm" + "Z9y8X7w6V5" * 4},
        ],
    ),
    True,
)
vector(
    f"{_M}: bounds of the algorithm field pushed too far",
    "manifest",
    _manifest(layers=[{**LAYERS[0], "digest": "sha384+a+-b:" + "cd" * 24}]),
    False,
    "digest.format",
)


# -- imageindex_test.go ------------------------------------------------------------------------------

PPC = _desc(mt.OCI_MANIFEST, "ppc64le image", 7001, platform={"architecture": "ppc64le", "os": "linux"})
AMD = _desc(mt.OCI_MANIFEST, "amd64 image", 7002, platform={"architecture": "amd64", "os": "linux"})


def _index(manifests: list, **extra) -> dict:
    return {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": manifests, **extra}


_I = "imageindex_test.go"
vector(
    f"{_I}: manifest mediaType does not match the pattern",
    "index",
    _index([{**PPC, "mediaType": "manifest"}]),
    False,
    "descriptor.media-type-format",
)
vector(f"{_I}: manifest size is a string", "index", _index([{**AMD, "size": "7002"}]), False, "descriptor.size")
vector(
    f"{_I}: manifest digest is missing",
    "index",
    _index([{k: v for k, v in AMD.items() if k != "digest"}]),
    False,
    "descriptor.schema",
)
vector(
    f"{_I}: platform.architecture is missing",
    "index",
    _index([{**AMD, "platform": {"os": "linux"}}]),
    False,
    "platform.schema",
)
vector(
    f"{_I}: empty manifest media type",
    "index",
    _index([{**AMD, "mediaType": ""}]),
    False,
    "descriptor.media-type-format",
)
vector(
    f"{_I}: valid image index with optional fields",
    "index",
    _index([PPC, AMD], annotations={"org.example.build": "42", "org.example.team": "img"}),
    True,
)
vector(
    f"{_I}: valid image index with required fields only, platform optional",
    "index",
    _index([{k: v for k, v in AMD.items() if k != "platform"}]),
    True,
)
vector(
    f"{_I}: customized media type of a referenced manifest",
    "index",
    _index([{**PPC, "mediaType": "application/vnd.example.manifest+json"}]),
    True,
    "index.manifest-media-type",
)
vector(
    f"{_I}: platform with features (earlier version)",
    "index",
    _index([{**AMD, "platform": {**AMD["platform"], "features": ["avx2"]}}]),
    True,
    "platform.features-reserved",
)


# -- config_test.go ----------------------------------------------------------------------------------

DIFF_IDS = [_digest("uncompressed 1"), _digest("uncompressed 2")]


def _config(**extra) -> dict:
    doc = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": DIFF_IDS[:1]}}
    doc.update(extra)
    return doc


_C = "config_test.go"
vector(f"{_C}: os is a number", "config", _config(os=7), False, "config.schema")
vector(f"{_C}: variant is a number", "config", _config(architecture="arm", variant=7), False, "config.schema")
vector(f"{_C}: config.User is a number", "config", _config(config={"User": 1000}), False, "config.schema")
vector(f"{_C}: history is a string, not an array", "config", _config(history="one step"), False, "config.schema")
vector(f"{_C}: Env entry is a number", "config", _config(config={"Env": [42]}), False, "config.schema")
vector(
    f"{_C}: config.Volumes is an array, not an object",
    "config",
    _config(config={"Volumes": ["/data", "/logs"]}),
    False,
    "config.schema",
)
vector(f"{_C}: invalid JSON", "config", b"not json at all", False, "json.invalid")
vector(
    f"{_C}: valid config with optional fields",
    "config",
    _config(
        created="2024-02-29T12:00:00.123456789Z",
        author="Img Builder <img@example.com>",
        architecture="arm64",
        variant="v8",
        config={
            "User": "1000:1000",
            "ExposedPorts": {"9000/tcp": {}, "53/udp": {}},
            "Env": ["PATH=/bin:/usr/bin", "EMPTY="],
            "Entrypoint": ["/bin/server"],
            "Cmd": ["--listen", ":9000"],
            "Volumes": {"/srv/data": {}},
            "WorkingDir": "/srv",
            "Labels": {"org.example.component": "server"},
            "StopSignal": "SIGTERM",
        },
        rootfs={"type": "layers", "diff_ids": DIFF_IDS},
        # Two layers, one history entry that made a layer: config.md sets no MUST on the count.
        history=[
            {"created": "2024-02-29T11:59:00Z", "created_by": "COPY server /bin/server"},
            {"created": "2024-02-29T11:59:30Z", "created_by": "CMD", "empty_layer": True},
        ],
    ),
    True,
    "config.history-count",
)
vector(f"{_C}: valid config with only required fields", "config", _config(), True)
vector(f"{_C}: Env entry without '='", "config", _config(config={"Env": ["JUSTANAME"]}), False, "config.schema")


# -- imagelayout_test.go -----------------------------------------------------------------------------

_L = "imagelayout_test.go"
vector(
    f"{_L}: imageLayoutVersion unquoted (not JSON)", "layout", b'{"imageLayoutVersion": 1.0.0}', False, "json.invalid"
)
vector(f"{_L}: imageLayoutVersion is a number", "layout", {"imageLayoutVersion": 1.0}, False, "layout.version")
vector(f"{_L}: valid layout", "layout", {"imageLayoutVersion": "1.0.0"}, True)


# -- backwards_compatibility_test.go: Docker documents, as-is and with OCI media types ----------------

_B = "backwards_compatibility_test.go"
_PLATFORMS = [
    {"architecture": "ppc64le", "os": "linux"},
    {"architecture": "amd64", "os": "linux"},
    {"architecture": "s390x", "os": "linux"},
    {"architecture": "arm", "os": "linux", "variant": "v7"},
    {"architecture": "arm64", "os": "linux", "variant": "v8"},
]


def _docker_list(manifest_type: str, list_type: str) -> dict:
    entries = [
        _desc(manifest_type, f"compat {p['architecture']}", 2000 + i, platform=p) for i, p in enumerate(_PLATFORMS)
    ]
    return {"schemaVersion": 2, "mediaType": list_type, "manifests": entries}


def _docker_manifest(manifest_type: str, layer_type: str) -> dict:
    return {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": _desc("application/octet-stream", "compat config", 3100),
        "layers": [_desc(layer_type, f"compat layer {i}", 900000 + i) for i in range(4)],
    }


vector(f"{_B}: image index from a Docker manifest list", "index", _docker_list(mt.OCI_MANIFEST, mt.OCI_INDEX), True)
vector(
    f"{_B}: Docker manifest list as it is",
    "index",
    _docker_list(mt.DOCKER_MANIFEST, mt.DOCKER_MANIFEST_LIST),
    True,
)
vector(
    f"{_B}: manifest from a Docker manifest, config as octet-stream",
    "manifest",
    _docker_manifest(mt.OCI_MANIFEST, mt.OCI_LAYER_TAR_GZIP),
    True,
)
_DOCKER_CONFIG = {
    "architecture": "amd64",
    "os": "linux",
    "created": "2016-11-02T10:00:00.5Z",
    "docker_version": "1.12.3",
    "container": "f" * 64,
    "config": {
        "Hostname": "b1d2",
        "Env": ["PATH=/usr/bin:/bin", "APP_VERSION=3"],
        "Cmd": ["app"],
        "Entrypoint": ["/entry.sh"],
        "Volumes": None,
        "OnBuild": [],
        "Labels": {},
        "Image": _digest("parent"),
    },
    "container_config": {"Cmd": ["/bin/sh", "-c", '#(nop) CMD ["app"]'], "Volumes": None},
    # Three history entries make layers, the rootfs has four: Docker Hub served such configs.
    "history": [
        {"created": "2016-11-01T10:00:00Z", "created_by": "ADD rootfs.tar /"},
        {"created": "2016-11-01T10:01:00Z", "created_by": "RUN install"},
        {"created": "2016-11-01T10:02:00Z", "created_by": "ENV APP_VERSION=3", "empty_layer": True},
        {"created": "2016-11-01T10:03:00Z", "created_by": "COPY entry.sh /"},
        {"created": "2016-11-01T10:04:00Z", "created_by": 'CMD ["app"]', "empty_layer": True},
    ],
    "rootfs": {"type": "layers", "diff_ids": [_digest(f"compat diff {i}") for i in range(4)]},
}
vector(f"{_B}: config pulled from a Docker registry", "config", _DOCKER_CONFIG, True, "config.history-count")
vector(
    f"{_B}: Entrypoint and Cmd may be null",
    "config",
    _config(config={"Env": ["PATH=/bin"], "Cmd": None, "Entrypoint": None, "OnBuild": None, "Volumes": None}),
    True,
)


# -- spec_test.go: the examples in the spec's own markdown pass --------------------------------------

_S = "spec_test.go"
EMPTY = {"mediaType": mt.OCI_EMPTY, "digest": mt.EMPTY_DIGEST, "size": 2}
vector(
    f"{_S}: config.md example, history without a MUST on its count",
    "config",
    _config(
        created="2015-10-31T22:22:56.015925234Z",
        rootfs={"type": "layers", "diff_ids": DIFF_IDS},
        history=[
            {"created": "2015-10-31T22:22:54.690851953Z", "created_by": "ADD file in /"},
            {"created": "2015-10-31T22:22:55.613815829Z", "created_by": "CMD", "empty_layer": True},
        ],
    ),
    True,
    "config.history-count",
)
vector(
    f"{_S}: manifest.md artifact with the empty config",
    "manifest",
    _manifest(config=EMPTY, layers=[EMPTY], artifactType="application/vnd.example.note"),
    True,
)
vector(
    f"{_S}: manifest.md empty descriptor with embedded data",
    "descriptor",
    {**EMPTY, "data": base64.b64encode(mt.EMPTY_JSON).decode()},
    True,
)
vector(
    f"{_S}: image-layout.md index.json example",
    "index",
    {
        "schemaVersion": 2,
        "manifests": [
            _desc(mt.OCI_INDEX, "nested index", 7100, annotations={"org.opencontainers.image.ref.name": "stable"}),
            {**PPC, "annotations": {"org.opencontainers.image.ref.name": "v1.2"}},
            _desc("application/xml", "metainfo", 7300, annotations={"org.example.metainfo.type": "AppStream"}),
        ],
        "annotations": {"org.example.index.revision": "r7"},
    },
    True,
    "index.media-type-missing",
)


# -- the tests -------------------------------------------------------------------------------------


def _write(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "doc.json"
    path.write_bytes(document if isinstance(document, bytes) else json.dumps(document, indent=2).encode())
    return path


def test_vectors_cover_every_upstream_test_file():
    files = {v.mirrors.split(":")[0] for v in VECTORS}
    assert files == {_D, _M, _I, _C, _L, _B, _S}
    assert len({v.mirrors for v in VECTORS}) == len(VECTORS), "each vector names a distinct upstream case"
    assert {v.rule for v in VECTORS if v.rule} <= set(RULES)


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v.id)
def test_validator_agrees_with_image_spec(v: Vector, tmp_path):
    report = validate_document(_write(tmp_path, v.document), as_kind=v.kind)
    errors = sorted({e.rule_id for e in report.errors})
    if v.valid:
        assert errors == [], f"image-spec accepts this ({v.mirrors}); ocimatrix reported {report.errors}"
        if v.rule:
            assert v.rule in {w.rule_id for w in report.warnings}, f"expected warning {v.rule}: {report.violations}"
    else:
        assert v.rule in errors, f"image-spec rejects this ({v.mirrors}) for {v.rule}; ocimatrix reported {errors}"


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v.id)
def test_command_line_exit_status(v: Vector, tmp_path, capsys):
    path = _write(tmp_path, v.document)
    assert cli_main(["validate", str(path), "--as", v.kind]) == (0 if v.valid else 1)
    capsys.readouterr()


def test_schema_and_prose_difference_names_both():
    report = validate_document(
        Path("empty-layers.json"), as_kind="manifest", content=json.dumps(_manifest(layers=[])).encode()
    )
    (violation,) = [v for v in report.violations if v.rule_id == "manifest.layers-empty"]
    assert violation.level == "error"
    assert "schema" in violation.message and "manifest.md" in violation.message and "SHOULD" in violation.message


def test_a_file_that_is_not_json_archive_or_layout_is_unusable_input(tmp_path, capsys):
    for name, raw in {
        "text": b"just some notes\n",
        "cut": b'{"schemaVersion": 2,',
        "binary": bytes(range(256)),
    }.items():
        path = tmp_path / name
        path.write_bytes(raw)
        assert cli_main(["validate", str(path)]) == 2, name
        assert "neither a JSON document, a tar archive nor an OCI layout" in capsys.readouterr().err
        # Told what it is meant to be, the same bytes are a broken document: a violation, exit 1.
        assert cli_main(["validate", str(path), "--as", "manifest"]) == 1, name
        capsys.readouterr()
