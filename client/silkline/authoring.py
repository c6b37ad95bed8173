"""Writing a record as its originator: payload, selective disclosures, signature.

The client validates locally with the same schemas the server uses, moves each
sensitive field into a disclosure, and signs the exact payload bytes once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from silkline.formats import disclosure as sd
from silkline.formats import dsse
from silkline.identity import Identity, identity_from_certificate
from silkline.records import sensitive_fields, validate_payload
from silkline.uuid7 import uuid7

SigningKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey


class SigningSetupError(Exception):
    """The signing key or certificate cannot be used; the message says why."""


@dataclass(frozen=True)
class SigningIdentity:
    """An agency's record-signing key and the certificate that names it."""

    private_key: SigningKey
    certificate_der: bytes
    identity: Identity

    @property
    def keyid(self) -> str:
        return dsse.key_id_for_certificate(self.certificate_der)


@dataclass(frozen=True)
class SealedRecord:
    """What travels: the envelope's exact bytes, the disclosures, the signer certificate."""

    record_id: str
    envelope: bytes
    disclosures: tuple[str, ...]
    signer_certificate_der: bytes

    @property
    def envelope_sha256(self) -> str:
        return hashlib.sha256(self.envelope).hexdigest()


def load_signing_identity(key_path: Path, cert_path: Path) -> SigningIdentity:
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise SigningSetupError(f"cannot load signing key {key_path} / {cert_path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise SigningSetupError(f"{key_path}: signing keys are Ed25519 or ECDSA P-256")
    public = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    own = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if public != own:
        raise SigningSetupError(f"{key_path} is not the key of certificate {cert_path}")
    return SigningIdentity(
        key, cert.public_bytes(serialization.Encoding.DER), identity_from_certificate(cert)
    )


def build_payload(
    record_type: str,
    body: Mapping[str, Any],
    *,
    originator: Identity,
    tlp: str,
    recipients: Sequence[str] = (),
    handling: Sequence[Mapping[str, str]] = (),
    grading: Mapping[str, Any] | None = None,
    record_id: str | None = None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """A record payload in clear, with a fresh UUIDv7 and the current time unless given."""
    created = (created_at or datetime.now(UTC)).astimezone(UTC)
    return {
        "record_type": record_type,
        "schema_version": 1,
        "id": record_id or str(uuid7()),
        "originator": {"participant": originator.participant, "agency": originator.agency},
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "distribution": {
            "tlp": tlp,
            "recipients": list(recipients),
            "handling": [dict(h) for h in handling],
        },
        "grading": dict(grading or {"source": "B", "information": 2}),
        "body": dict(body),
    }


def seal_record(
    payload: Mapping[str, Any],
    signer: SigningIdentity,
    *,
    salt_for: Callable[[tuple[str, ...]], str] | None = None,
) -> SealedRecord:
    """Validate, conceal the sensitive fields, serialise once and sign those bytes.

    Disclosure salts are random unless `salt_for` derives them (feeds do, so that
    sealing the same payload again gives the same bytes).
    """
    document = dict(payload)
    validate_payload(document)
    pointers = sensitive_fields(document["record_type"], document["schema_version"])
    paths = [tuple(p.lstrip("/").split("/")) for p in pointers]
    concealed, disclosures = sd.conceal(document, paths, salt_for=salt_for)
    payload_bytes = json.dumps(concealed, ensure_ascii=False, separators=(",", ":")).encode()
    envelope = dsse.sign(dsse.RECORD_PAYLOAD_TYPE, payload_bytes, signer.private_key, signer.keyid)
    return SealedRecord(
        record_id=document["id"],
        envelope=dsse.encode_envelope(envelope),
        disclosures=tuple(d.encoded for d in disclosures),
        signer_certificate_der=signer.certificate_der,
    )
