"""Claims about what an image ships with: files' owner and mode, BuildKit's attestation manifests, and
signatures verified where the image is published and after a named copy (issues 20 and 21).

The loader's new bad inputs (exit 2, the field named), the plan (which cells, which verifiers, which
roots the run must start), the reading of attestations from a layout, and the suite's judgement of
them and of owners and modes, on a layout written here."""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from suite_modules import load_suite_module

from ocimatrix.claims import attested
from ocimatrix.claims.catalog import Selection
from ocimatrix.claims.here import Here
from ocimatrix.claims.html import index_html
from ocimatrix.claims.imagefs import load_platform, ownership_problems
from ocimatrix.claims.load import load_claims
from ocimatrix.claims.plan import all_claims, matrix_document, plan_document
from ocimatrix.claims.probe_image import _Layout
from ocimatrix.claims.record import image_attestations
from ocimatrix.errors import ImplementationFailure, UsageError
from ocimatrix.matrix import load_matrix
from ocimatrix.oci import attestations as att
from ocimatrix.oci import mediatypes as mt
from ocimatrix.resources import SUITES_DIR
from ocimatrix.results import Record, Results, Run

EXAMPLES = Path(__file__).resolve().parent.parent / "claims" / "examples"
SIGNED_EXAMPLE = EXAMPLES / "signed" / "signed-image.yaml"
SLSA = "https://slsa.dev/provenance/v0.2"


supply = load_suite_module("ocimatrix_claims_supply_chain", SUITES_DIR / "claims" / "test_supply_chain.py")
claims_conftest = load_suite_module("ocimatrix_claims_conftest", SUITES_DIR / "claims" / "conftest.py")


def _key_and_certificate(directory: Path) -> None:
    """A public key (cosign.pub) and a self-signed certificate (notation.crt), as the example names them."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (directory / "cosign.pub").write_bytes(public)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example vendor")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (directory / "notation.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


@pytest.fixture
def signed_example(tmp_path: Path) -> Path:
    """The signed example beside a key and a certificate made here (the example's own are made per run)."""
    path = tmp_path / "signed-image.yaml"
    shutil.copyfile(SIGNED_EXAMPLE, path)
    _key_and_certificate(tmp_path / "keys")
    return path


def test_the_signed_example_loads(signed_example):
    claims = load_claims(signed_example)
    image = claims.image
    assert set(image.signed) == {"cosign", "notation"}
    assert Path(image.signed["cosign"]).name == "cosign.pub" and Path(image.signed["cosign"]).is_absolute()
    assert image.attestations == ("provenance",)
    assert image.after_copy == {"copier": "skopeo", "to": "embedded"}


def test_the_buildkit_example_loads_with_owner_and_mode():
    image = load_claims(EXAMPLES / "buildkit-image.yaml").image
    assert {"path": "/tmp", "owner": "0:0", "mode": "1777"} in image.checks["files"]["present"]
    assert image.attestations == ("provenance",)


def _error(path: Path, old: str, new: str) -> str:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))
    with pytest.raises(UsageError) as info:
        load_claims(path)
    assert info.value.exit_code == 2
    return str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ("keys/cosign.pub", "keys/missing.pub", "image.signed.cosign.key", "no such file"),
        ("keys/cosign.pub", "keys/notation.crt", "image.signed.cosign.key", "not a PEM public key"),
        ("keys/notation.crt", "keys/cosign.pub", "image.signed.notation.certificate", "not an X.509 certificate"),
        ("keys/cosign.pub", "keys", "image.signed.cosign.key", "cannot read it"),
        ("cosign: {key:", "cosine: {key:", "image.signed.cosine", "unknown key 'cosine'"),
        ("notation: {certificate:", "notation: {key:", "image.signed.notation", "'certificate' is required"),
        ("copier: skopeo", "copier: skopio", "image.after_copy.copier", "unknown copier 'skopio'"),
        ("to: embedded", "to: registry.example.test:5000", "image.after_copy.to", "on loopback"),
        ("attestations: [provenance]", "attestations: [provenence]", "image.attestations.0", "is not one of"),
    ],
)
def test_bad_signatures_and_copies_name_the_field(signed_example, old, new, field, words):
    message = _error(signed_example, old, new)
    assert f": field '{field}': " in message, message
    assert words in message, message
    assert str(signed_example) in message


def test_a_key_that_does_not_parse_is_bad_input(signed_example):
    (signed_example.parent / "keys" / "cosign.pub").write_text("-----BEGIN PUBLIC KEY-----\nnot base64\n")
    message = _error(signed_example, "claims: 1", "claims: 1")
    assert "field 'image.signed.cosign.key'" in message and "not a PEM public key" in message


def test_signatures_need_a_registry_reference(signed_example, tmp_path):
    layout = tmp_path / "layout"
    _Layout(layout)
    (layout / "index.json").write_text('{"schemaVersion": 2, "manifests": []}')
    message = _error(signed_example, "reference: 127.0.0.1:5055/vendor/app:1.0", "layout: layout")
    assert "field 'image.signed'" in message and "source.reference" in message


def test_a_copy_needs_something_to_verify(signed_example):
    text = signed_example.read_text()
    start = text.index("  signed:")
    signed_example.write_text(text[:start] + "  after_copy: {copier: skopeo, to: embedded}\n")
    with pytest.raises(UsageError, match=r"field 'image.after_copy': nothing to verify after the copy"):
        load_claims(signed_example)


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ('{path: /bin/busybox, mode: "0999"}', "image.checks.files.present.0"),
        ("{path: /bin/busybox, owner: root}", "image.checks.files.present.0"),
        ("{path: bin/busybox}", "image.checks.files.present.0"),
        ("{path: /bin/busybox, colour: red}", "image.checks.files.present.0"),
    ],
)
def test_bad_owner_or_mode_is_bad_input(tmp_path, entry, field):
    path = tmp_path / "claims.yaml"
    text = (EXAMPLES / "buildkit-image.yaml").read_text()
    path.write_text(text.replace('{path: /bin/busybox, owner: "0:0", mode: "0755"}', entry))
    with pytest.raises(UsageError) as info:
        load_claims(path)
    assert f"field '{field}'" in str(info.value)


def test_attestations_need_an_index(tmp_path):
    path = tmp_path / "claims.yaml"
    (tmp_path / "app.tar").write_bytes(b"")
    text = (EXAMPLES / "buildkit-image.yaml").read_text()
    path.write_text(text.replace("reference: 127.0.0.1:5055/vendor/app:1.0", "archive: app.tar"))
    with pytest.raises(UsageError, match=r"field 'image.attestations': a docker save archive holds no image index"):
        load_claims(path)


# --- the plan ------------------------------------------------------------------------------------

HERE = Here(
    {"docker": "20.10.24", "cosign@trixie": "2.5.0-2", "cosign@sid": "3.1.1-2", "notation@sid": "1.3.2-2"},
    host="debian-12",
)


def test_each_signer_and_kind_is_a_claim_at_the_source_and_after_the_copy(signed_example):
    claims_file = load_claims(signed_example)
    claims = {c.id: c for c in all_claims(claims_file, HERE)}
    assert {
        "image.signed.cosign",
        "image.signed.notation",
        "image.attestations.provenance",
        "image.signed.cosign.after-copy",
        "image.signed.notation.after-copy",
        "image.attestations.provenance.after-copy",
    } <= set(claims)
    cosign = claims["image.signed.cosign"]
    assert cosign.tools == ("cosign@trixie 2.5.0-2", "cosign@sid 3.1.1-2")
    assert not cosign.unverifiable
    test = "suites/claims/test_supply_chain.py::test_signed_at_source"
    assert cosign.selects(f"{test}[cosign]", {}) and not cosign.selects(f"{test}[notation]", {})
    assert claims["image.signed.notation.after-copy"].selects(
        test.replace("at_source", "after_copy") + "[notation]", {}
    )
    plan = plan_document(claims_file, list(claims.values()))
    assert plan["image"]["signed"]["cosign"]["verifiers"] == ["cosign@trixie", "cosign@sid"]
    assert plan["image"]["after_copy"] == {"copier": "skopeo", "to": "embedded"}
    assert {
        "path": "suites/claims/test_supply_chain.py",
        "tests": ["test_signed_at_source"],
        "ids": ["cosign"],
    }.items() <= (
        next(s for s in plan["select"] if s["tests"] == ["test_signed_at_source"] and s["ids"] == ["cosign"]).items()
    )
    # The run starts the roots its verifiers come from: a cell of each names that generation.
    document = matrix_document(claims_file, list(claims.values()), "linux/amd64")
    path = signed_example.parent / "matrix.yaml"
    path.write_text(yaml.safe_dump(document))
    assert load_matrix(path).generations(("claims",)) == ("sid", "trixie")


def test_a_signer_with_no_verifier_here_is_unverifiable_before_the_run(signed_example):
    here = Here({"cosign@trixie": "2.5.0-2"}, missing_roots={"sid": "its root is not prepared here"})
    claims = {c.id: c for c in all_claims(load_claims(signed_example), here)}
    assert "no notation here" in claims["image.signed.notation"].unverifiable
    assert "sid: its root is not prepared here" in claims["image.signed.notation"].unverifiable
    assert not claims["image.signed.cosign"].unverifiable


def test_a_copier_of_a_root_not_here_makes_the_copy_claims_unverifiable(signed_example):
    text = signed_example.read_text().replace("copier: skopeo", "copier: crane@sid")
    signed_example.write_text(text)
    here = Here({"cosign@trixie": "2.5.0-2"}, missing_roots={"sid": "its root is not prepared here"})
    claims = {c.id: c for c in all_claims(load_claims(signed_example), here)}
    assert "crane@sid can't copy here" in claims["image.attestations.provenance.after-copy"].unverifiable
    assert not claims["image.attestations.provenance"].unverifiable


def test_a_selection_by_parameter_id_in_the_suite_s_own_filter():
    selection = Selection("suites/claims/test_supply_chain.py", ("test_signed_at_source",), ids=("cosign",))
    as_json = {"path": selection.path, "tests": list(selection.tests), "ids": ["cosign"]}
    for nodeid, kept in (
        ("suites/claims/test_supply_chain.py::test_signed_at_source[cosign]", True),
        ("suites/claims/test_supply_chain.py::test_signed_at_source[notation]", False),
        ("suites/claims/test_supply_chain.py::test_signed_after_copy[cosign]", False),
    ):
        assert selection.selects(nodeid) is kept
        assert claims_conftest.selected(as_json, nodeid, {}) is kept


# --- a layout with an attestation, written here ----------------------------------------------------


def _layer(entries: list[tarfile.TarInfo], data: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info in entries:
            payload = data.get(info.name)
            if payload is not None:
                info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return out.getvalue()


def _info(name: str, kind: bytes = tarfile.REGTYPE, *, uid: int = 0, gid: int = 0, mode: int = 0o644, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.uid, info.gid, info.mode, info.linkname = kind, uid, gid, mode, link
    return info


def _image_layout(root: Path, *, predicate: str = SLSA, subject_in_index: bool = True) -> tuple[Path, str]:
    layout = _Layout(root)
    layer = _layer(
        [
            _info("bin", tarfile.DIRTYPE, mode=0o755),
            _info("bin/tool", uid=0, gid=0, mode=0o4755),
            _info("data", tarfile.DIRTYPE, uid=70000, gid=70001, mode=0o1777),
            _info("data/file", uid=70000, gid=70001, mode=0o640),
            _info("data/link", tarfile.LNKTYPE, uid=5, gid=5, mode=0o777, link="data/file"),
        ],
        {"bin/tool": b"#!/bin/sh\n", "data/file": b"x"},
    )
    config = layout.json_blob(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}, mt.OCI_CONFIG
    )
    manifest = layout.json_blob(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": config,
            "layers": [layout.blob(layer, mt.OCI_LAYER_TAR)],
        },
        mt.OCI_MANIFEST,
        platform={"architecture": "amd64", "os": "linux"},
    )
    subject = manifest["digest"] if subject_in_index else "sha256:" + "0" * 64
    statement = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": predicate,
        "subject": [{"name": "x", "digest": {"sha256": subject.removeprefix("sha256:")}}],
        "predicate": {},
    }
    in_toto = layout.json_blob(statement, att.IN_TOTO, annotations={att.PREDICATE_TYPE: predicate})
    empty = layout.json_blob({"architecture": "unknown", "os": "unknown"}, mt.OCI_CONFIG)
    attestation = layout.json_blob(
        {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": empty, "layers": [in_toto]},
        mt.OCI_MANIFEST,
        platform={"architecture": "unknown", "os": "unknown"},
        annotations={att.REFERENCE_TYPE: att.ATTESTATION_MANIFEST, att.REFERENCE_DIGEST: subject},
    )
    index = layout.json_blob(
        {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [manifest, attestation]}, mt.OCI_INDEX
    )
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [index]}))
    return root, manifest["digest"]


class _Recorder:
    def __init__(self) -> None:
        self.evidence: dict = {}

    def add(self, key, value) -> None:
        self.evidence[key] = value


def test_attestations_are_read_from_a_layout(tmp_path):
    root, manifest = _image_layout(tmp_path / "layout")
    found = attested.from_layout(root)
    assert found.images == {manifest: "linux/amd64"}
    [one] = found.attestations
    assert (one.subject, one.subject_platform, one.predicate_types, one.problems) == (
        manifest,
        "linux/amd64",
        [SLSA],
        [],
    )
    recorder = _Recorder()
    supply._judge_attestations("provenance", found, ["linux/amd64"], "at the layout", recorder)
    assert recorder.evidence["attestations"]["found"][0]["subject"] == manifest


def test_a_missing_kind_or_a_stray_subject_contradicts_the_claim(tmp_path):
    found = attested.from_layout(_image_layout(tmp_path / "a")[0])
    with pytest.raises(ImplementationFailure) as info:
        supply._judge_attestations("sbom", found, ["linux/amd64"], "at the layout", _Recorder())
    assert "no sbom attestation" in str(info.value) and SLSA in str(info.value)
    assert json.loads(info.value.answer)["attestations"][0]["predicate_types"] == [SLSA]
    stray = attested.from_layout(_image_layout(tmp_path / "b", subject_in_index=False)[0])
    assert stray.attestations[0].subject_platform == ""
    with pytest.raises(ImplementationFailure, match="attestation.subject-missing"):
        supply._judge_attestations("provenance", stray, ["linux/amd64"], "at the layout", _Recorder())
    with pytest.raises(ImplementationFailure, match="linux/arm64: the index has no image for it"):
        supply._judge_attestations("provenance", found, ["linux/arm64"], "at the layout", _Recorder())


def test_a_hostile_statement_is_unreadable_not_a_crash(tmp_path):
    root, _ = _image_layout(tmp_path / "layout")
    for blob in (root / "blobs" / "sha256").iterdir():
        if blob.read_bytes().startswith(b'{"_type"'):
            blob.write_bytes(b"[1, 2")
    with pytest.raises(attested.Unreadable, match="is not JSON"):
        attested.from_layout(root)


def test_owner_and_mode_are_the_layers_and_a_hardlink_is_its_file(tmp_path):
    root, _ = _image_layout(tmp_path / "layout")
    image = load_platform(root, "linux/amd64")
    seen: dict = {}
    claims = [
        {"path": "/bin/tool", "owner": "0:0", "mode": "4755"},
        {"path": "/data", "owner": "70000:70001", "mode": "1777"},
        {"path": "/data/link", "owner": "70000", "mode": "0640"},
    ]
    assert [p for c in claims for p in ownership_problems(image, c["path"], c, seen)] == []
    assert seen["/data/link"] == {"owner": "70000:70001", "mode": "0640", "layer": 0}
    wrong = ownership_problems(image, "/bin/tool", {"owner": "0:1", "mode": "0755"}, {})
    assert wrong == ["/bin/tool is owned by 0:0, claimed 0:1", "/bin/tool has mode 4755, claimed 0755"]


def test_the_report_lists_the_attestations_once(tmp_path):
    root, manifest = _image_layout(tmp_path / "layout")
    found = attested.from_layout(root)
    seen = {"where": "the image as pulled", "index": found.digest, "found": [a.to_json() for a in found.attestations]}
    records = [
        Record(test=f"t{i}", suite="claims", outcome="passed", evidence={"attestations": seen}) for i in range(2)
    ]
    listed = image_attestations(Results(run=Run(), results=records))
    assert len(listed) == 1 and listed[0]["subject"] == manifest and listed[0]["predicate_types"] == [SLSA]
    report = {
        "counts": {},
        "fingerprint": {"sha256": "0" * 64, "claims_file": "", "images": [], "ocimatrix": ""},
        "run": {"host": "", "arch": "", "kernel": "", "started": "", "finished": "", "tools": {}},
        "subjects": {},
        "claims_file": "c.yaml",
        "vendor": "V",
        "product": "P",
        "claims": [],
        "attestations": listed,
    }
    page = index_html(report, None)
    assert "<h2>Attestations</h2>" in page and manifest in page and hashlib.sha256(b"").hexdigest() not in page
