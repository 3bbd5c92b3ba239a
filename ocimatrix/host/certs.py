"""Throwaway keys and certificates for the harness's own registries, made fresh at every start.

- ``make_ca(dir)``: a CA for 127.0.0.1 only, and a server certificate it signs (TLS of the
  basic-auth registry); the CA file is what a client trusts (``tls_verify: <ca path>``).
- ``make_signing_cert(dir)``: an EC P-256 key and a self-signed certificate for it; the token
  server signs JWTs with the key and distribution trusts the certificate (``rootcertbundle``).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=2)


@dataclass(frozen=True)
class ServerTLS:
    ca: Path
    certificate: Path
    key: Path


@dataclass(frozen=True)
class SigningCert:
    certificate: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_bytes(pem)
    os.chmod(path, 0o600)


def _builder(subject: str, issuer: str, public_key, now: datetime.datetime) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
    )


def make_ca(directory: Path) -> ServerTLS:
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        _builder("ocimatrix test CA", "ocimatrix test CA", ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        _builder("127.0.0.1", "ocimatrix test CA", server_key.public_key(), now)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    tls = ServerTLS(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    tls.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    tls.certificate.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    _write_key(tls.key, server_key)
    return tls


def make_signing_cert(directory: Path, common_name: str = "ocimatrix token signer") -> SigningCert:
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(common_name, common_name, key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, False, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    signing = SigningCert(directory / "token-signer.pem", directory / "token-signer-key.pem")
    signing.certificate.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(signing.key, key)
    return signing
