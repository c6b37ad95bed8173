"""Envelopes silkline seals verify with an independent DSSE implementation (Node.js crypto)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from silkline.authoring import SealedRecord, build_payload, seal_record
from silkline.formats import dsse

from ..conftest import REPO
from .conftest import seizure_body, signing_identity

DSSE_VERIFY_JS = REPO / "tests" / "node" / "dsse_verify.js"
pytestmark = pytest.mark.node


def node_verify(tmp_path: Path, envelope: bytes, certificate_der: bytes) -> dict[str, Any]:
    """What tests/node/dsse_verify.js says of `envelope` and its signer certificate."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the independent DSSE check: node is not installed")
        pytest.skip("Node.js is not installed: the independent DSSE check cannot run")
    envelope_path = tmp_path / "envelope.json"
    envelope_path.write_bytes(envelope)
    certificate_path = tmp_path / "signer.pem"
    certificate_path.write_bytes(
        x509.load_der_x509_certificate(certificate_der).public_bytes(serialization.Encoding.PEM)
    )
    result = subprocess.run(
        [node, str(DSSE_VERIFY_JS), str(envelope_path), str(certificate_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    reply: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return reply


@pytest.fixture(scope="module")
def sealed() -> SealedRecord:
    """IN/NCB's seizure alert, sealed by silkline with its Ed25519 signing key."""
    ncb = signing_identity("IN", "ncb")
    payload = build_payload("seizure-alert", seizure_body(), originator=ncb.identity, tlp="AMBER")
    return seal_record(payload, ncb)


def test_node_verifies_a_record_envelope_signed_with_ed25519(
    tmp_path: Path, sealed: SealedRecord
) -> None:
    envelope = dsse.parse_envelope(sealed.envelope)

    reply = node_verify(tmp_path, sealed.envelope, sealed.signer_certificate_der)

    assert reply["verified"] is True
    assert reply["key_type"] == "ed25519"
    assert reply["payload_type"] == "application/vnd.silkline.record+json; version=1"
    assert reply["keyid"] == envelope.signatures[0].keyid
    assert (
        reply["pae_sha256"]
        == hashlib.sha256(dsse.pae(envelope.payload_type, envelope.payload)).hexdigest()
    )


def test_node_refuses_the_envelope_once_its_payload_is_changed(
    tmp_path: Path, sealed: SealedRecord
) -> None:
    envelope = dsse.parse_envelope(sealed.envelope)
    changed = envelope.payload.replace(b'"tlp":"AMBER"', b'"tlp":"CLEAR"')
    assert changed != envelope.payload
    tampered = dsse.encode_envelope(
        dsse.Envelope(envelope.payload_type, changed, envelope.signatures)
    )

    reply = node_verify(tmp_path, tampered, sealed.signer_certificate_der)

    assert reply["verified"] is False
    assert reply["signatures"] == [{"keyid": reply["keyid"], "verifies": False}]


def test_node_verifies_an_envelope_signed_with_ecdsa_p256(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "P-256 record signer")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    payload = json.dumps({"record_type": "seizure-alert"}).encode()
    envelope = dsse.encode_envelope(
        dsse.sign(dsse.RECORD_PAYLOAD_TYPE, payload, key, dsse.key_id_for_certificate(der))
    )

    reply = node_verify(tmp_path, envelope, der)

    assert reply["verified"] is True
    assert reply["key_type"] == "ec"
    assert reply["keyid"] == dsse.key_id_for_certificate(der)
