"""The record bundle: the portable form for `show --bundle`, exports and offline checks.

    {"mediaType": "application/vnd.silkline.bundle+json; version=1",
     "envelope": {DSSE envelope},
     "certificates": ["<signer certificate PEM>"],
     "disclosures": ["<RFC 9901 disclosure>", ...],
     "receipt": {"record_id", "envelope_sha256", "log_index", "accepted_at", "note"}}

The envelope is carried as a JSON object; its exact bytes are those of its
canonical encoding (silkline.formats.dsse.encode_envelope), which is the only
form the server accepts, so the receipt's envelope_sha256 can be recomputed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from silkline.formats import dsse

BUNDLE_MEDIA_TYPE = "application/vnd.silkline.bundle+json; version=1"


class BundleError(ValueError):
    """The bundle is not well-formed; the message names the field."""


@dataclass(frozen=True)
class ReceiptDocument:
    record_id: str
    envelope_sha256: str
    log_index: int
    accepted_at: str
    note: str

    def to_json(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "envelope_sha256": self.envelope_sha256,
            "log_index": self.log_index,
            "accepted_at": self.accepted_at,
            "note": self.note,
        }


@dataclass(frozen=True)
class Bundle:
    envelope: bytes
    signer_certificate_der: bytes
    disclosures: tuple[str, ...]
    receipt: ReceiptDocument | None

    def to_json(self) -> dict[str, Any]:
        cert = x509.load_der_x509_certificate(self.signer_certificate_der)
        document: dict[str, Any] = {
            "mediaType": BUNDLE_MEDIA_TYPE,
            "envelope": json.loads(self.envelope),
            "certificates": [cert.public_bytes(serialization.Encoding.PEM).decode()],
            "disclosures": list(self.disclosures),
        }
        if self.receipt is not None:
            document["receipt"] = self.receipt.to_json()
        return document


def parse_bundle(document: Any) -> Bundle:
    if not isinstance(document, dict):
        raise BundleError("a bundle is a JSON object")
    if document.get("mediaType") != BUNDLE_MEDIA_TYPE:
        raise BundleError(f"mediaType must be {BUNDLE_MEDIA_TYPE!r}")
    try:
        envelope = dsse.encode_envelope(
            dsse.parse_envelope(json.dumps(document.get("envelope")).encode())
        )
    except dsse.EnvelopeError as exc:
        raise BundleError(f"envelope: {exc}") from exc
    certificates = document.get("certificates")
    if not isinstance(certificates, list) or not certificates:
        raise BundleError("certificates must hold the signer certificate (PEM)")
    try:
        signer = x509.load_pem_x509_certificate(str(certificates[0]).encode())
    except ValueError as exc:
        raise BundleError(f"certificates[0]: {exc}") from exc
    disclosures = document.get("disclosures", [])
    if not isinstance(disclosures, list) or not all(isinstance(d, str) for d in disclosures):
        raise BundleError("disclosures must be a list of strings")
    return Bundle(
        envelope=envelope,
        signer_certificate_der=signer.public_bytes(serialization.Encoding.DER),
        disclosures=tuple(disclosures),
        receipt=_receipt(document.get("receipt")),
    )


def _receipt(value: Any) -> ReceiptDocument | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BundleError("receipt must be an object")
    fields: dict[str, type] = {
        "record_id": str,
        "envelope_sha256": str,
        "log_index": int,
        "accepted_at": str,
        "note": str,
    }
    for name, kind in fields.items():
        if not isinstance(value.get(name), kind) or isinstance(value.get(name), bool):
            raise BundleError(f"receipt.{name} must be a {kind.__name__}")
    return ReceiptDocument(
        value["record_id"],
        value["envelope_sha256"],
        value["log_index"],
        value["accepted_at"],
        value["note"],
    )


def bundle_from_parts(
    envelope: bytes,
    signer_certificate_der: bytes,
    disclosures: Sequence[str],
    receipt: ReceiptDocument | None,
) -> Bundle:
    return Bundle(envelope, signer_certificate_der, tuple(disclosures), receipt)
