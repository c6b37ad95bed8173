"""Recompute every value of the worked example in docs/formats.md.

    .venv/bin/python docs/formats_example.py          # the values, one block each
    .venv/bin/python docs/formats_example.py --json   # the same, as one JSON object

EXAMPLE KEYS ONLY, NEVER PRODUCTION. The three Ed25519 keys below are derived
from fixed, published 32-byte seeds so that anyone can recompute the example
byte for byte; anyone can therefore also sign with them. The record id,
created_at, the disclosure salt, the log index and the accepted time are fixed
for the same reason. Everything else is computed by silkline's own format code
(silkline.authoring.build_payload, silkline.formats.*), so the document shows
what silkline produces, and tests/test_docs_formats.py fails when it no longer
matches.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from silkline.authoring import build_payload
from silkline.bundle import ReceiptDocument, bundle_from_parts
from silkline.formats import disclosure as sd
from silkline.formats import dsse
from silkline.formats.note import NoteSigner
from silkline.formats.receipt import Receipt, sign_receipt
from silkline.identity import Identity

# EXAMPLE seeds: public on purpose. Never use these keys for anything real.
SIGNER_SEED = bytes(range(32))  # 00 01 02 ... 1f: IN/NCB's example record-signing key
CA_SEED = bytes(range(32, 64))  # 20 21 22 ... 3f: the example participant CA of IN
LOG_SEED = bytes(range(64, 96))  # 40 41 42 ... 5f: the example log key

PARTICIPANT = "IN"
AGENCY = "NCB"
SIGNER_URI = f"silkline://{PARTICIPANT}/{AGENCY}/ops-desk-1"
RECORD_ID = "01906d6a-4740-75a1-8012-3456789abcde"  # UUIDv7, timestamp = CREATED_AT
CREATED_AT = datetime(2024, 7, 1, 8, 30, tzinfo=UTC)
DISCLOSURE_SALT = "oKGio6SlpqeoqaqrrK2urw"  # base64url of the 16 bytes a0 a1 ... af
LOG_ORIGIN = "silkline.example/formats-example-log"
LOG_INDEX = 41
ACCEPTED_AT = datetime(2024, 7, 1, 8, 30, 1, 250000, tzinfo=UTC)
CERTIFICATE_VALIDITY = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2044, 1, 1, tzinfo=UTC))
CA_SERIAL = 0x51C0
SIGNER_SERIAL = 0x51C1

BODY: dict[str, Any] = {
    "seized_at": "2024-07-01T11:40:00+05:30",
    "location": {"kind": "border-crossing", "name": "Example crossing", "country": "IN"},
    "conveyance": {"kind": "truck"},
    "concealment": "In a false floor of the cargo bed.",
    "route": {"origin": "AF", "destination": "IN"},
    "items": [{"drug": "heroin", "quantity": {"value": 12, "unit": "kg"}}],
    "suspects": [{"name": "A. Example", "nationality": "IN", "role": "driver"}],
}
"""A small seizure alert; `suspects` is the schema's personal_data field."""


def example_ca() -> tuple[x509.Certificate, Ed25519PrivateKey]:
    """The example participant CA: self-signed, Ed25519, may sign certificates and CRLs."""
    key = Ed25519PrivateKey.from_private_bytes(CA_SEED)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, PARTICIPANT),
            x509.NameAttribute(
                NameOID.ORGANIZATIONAL_UNIT_NAME, "EXAMPLE ONLY - NOT FOR PRODUCTION"
            ),
            x509.NameAttribute(NameOID.COMMON_NAME, f"silkline formats example CA {PARTICIPANT}"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(CA_SERIAL)
        .not_valid_before(CERTIFICATE_VALIDITY[0])
        .not_valid_after(CERTIFICATE_VALIDITY[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(certificate_signing=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, None)  # Ed25519 signatures are deterministic (RFC 8032).
    )
    return certificate, key


def example_signer_certificate(ca: x509.Certificate, ca_key: Ed25519PrivateKey) -> x509.Certificate:
    """IN/NCB's record-signing certificate, shaped like the ones `silkline pki init` issues."""
    public_key = Ed25519PrivateKey.from_private_bytes(SIGNER_SEED).public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"{PARTICIPANT}/{AGENCY}"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "ops-desk-1 signing (EXAMPLE ONLY)"),
                ]
            )
        )
        .issuer_name(ca.subject)
        .public_key(public_key)
        .serial_number(SIGNER_SERIAL)
        .not_valid_before(CERTIFICATE_VALIDITY[0])
        .not_valid_after(CERTIFICATE_VALIDITY[1])
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(certificate_signing=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(SIGNER_URI)]),
            critical=False,
        )
        .sign(ca_key, None)
    )


def example_values() -> dict[str, str]:
    """Every value docs/formats.md quotes, by name, in the order the document uses them."""
    ca, ca_key = example_ca()
    signer_key = Ed25519PrivateKey.from_private_bytes(SIGNER_SEED)
    certificate = example_signer_certificate(ca, ca_key)
    certificate_der = certificate.public_bytes(serialization.Encoding.DER)
    keyid = dsse.key_id_for_certificate(certificate_der)

    # The payload in clear, as `silkline post` builds it.
    clear = build_payload(
        "seizure-alert",
        BODY,
        originator=Identity(PARTICIPANT, AGENCY, "ops-desk-1"),
        tlp="AMBER",
        recipients=["KZ", "UZ"],
        handling=[{"code": "H2"}],
        grading={"source": "B", "information": 2},
        record_id=RECORD_ID,
        created_at=CREATED_AT,
    )
    # What silkline.formats.disclosure.conceal does, with the salt fixed
    # instead of drawn from `secrets`: the property leaves its object, its
    # digest goes into that object's `_sd`, and `_sd_alg` is added at the root.
    disclosure = sd.new_disclosure("suspects", clear["body"]["suspects"], salt=DISCLOSURE_SALT)
    concealed = json.loads(json.dumps(clear))
    del concealed["body"]["suspects"]
    concealed["body"]["_sd"] = [disclosure.digest]
    concealed["_sd_alg"] = sd.SD_ALG
    payload = json.dumps(concealed, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    pae = dsse.pae(dsse.RECORD_PAYLOAD_TYPE, payload)
    envelope = dsse.sign(dsse.RECORD_PAYLOAD_TYPE, payload, signer_key, keyid)
    envelope_bytes = dsse.encode_envelope(envelope)
    envelope_sha256 = hashlib.sha256(envelope_bytes).hexdigest()

    log_key = NoteSigner(LOG_ORIGIN, Ed25519PrivateKey.from_private_bytes(LOG_SEED))
    receipt = Receipt(LOG_ORIGIN, RECORD_ID, envelope_sha256, LOG_INDEX, ACCEPTED_AT)
    receipt_note = sign_receipt(receipt, log_key).decode("utf-8")
    bundle = bundle_from_parts(
        envelope_bytes,
        certificate_der,
        [disclosure.encoded],
        ReceiptDocument(
            record_id=RECORD_ID,
            envelope_sha256=envelope_sha256,
            log_index=LOG_INDEX,
            accepted_at=ACCEPTED_AT.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            note=receipt_note,
        ),
    )

    signer_public = signer_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    pae_prefix = pae[: len(pae) - len(payload)]
    return {
        "signer_seed_hex": SIGNER_SEED.hex(),
        "signer_public_key_hex": signer_public.hex(),
        "ca_certificate_pem": ca.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        "signer_certificate_pem": certificate.public_bytes(serialization.Encoding.PEM).decode(
            "ascii"
        ),
        "keyid": keyid,
        "record_id": RECORD_ID,
        "created_at": clear["created_at"],
        "disclosure_salt": DISCLOSURE_SALT,
        "disclosure_json": base64.urlsafe_b64decode(disclosure.encoded + "==").decode("utf-8"),
        "disclosure": disclosure.encoded,
        "disclosure_digest": disclosure.digest,
        "payload_json": payload.decode("utf-8"),
        "payload_length": str(len(payload)),
        "pae_prefix": pae_prefix.decode("utf-8"),
        "pae_sha256": hashlib.sha256(pae).hexdigest(),
        "payload_base64": base64.b64encode(payload).decode("ascii"),
        "signature_base64": base64.b64encode(envelope.signatures[0].sig).decode("ascii"),
        "envelope": envelope_bytes.decode("utf-8"),
        "envelope_sha256": envelope_sha256,
        "log_vkey": log_key.verifier.vkey,
        "receipt_text": receipt.text(),
        "receipt_note": receipt_note,
        "bundle": json.dumps(bundle.to_json(), indent=2, ensure_ascii=False) + "\n",
    }


def _key_usage(*, certificate_signing: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not certificate_signing,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=certificate_signing,
        crl_sign=certificate_signing,
        encipher_only=False,
        decipher_only=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    arguments = parser.parse_args()
    values = example_values()
    if arguments.json:
        print(json.dumps(values, indent=2, ensure_ascii=False))
        return
    for name, value in values.items():
        print(f"== {name} ==")
        print(value, end="" if value.endswith("\n") else "\n")
        print()


if __name__ == "__main__":
    main()
