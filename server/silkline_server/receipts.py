"""Signing receipts with the log key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.timestamp_pb2 import Timestamp

from silkline.formats.note import NoteSigner
from silkline.formats.receipt import Receipt, sign_receipt
from silkline.v1 import records_pb2
from silkline_server.store import StoredRecord


class LogKeyError(Exception):
    """The log's signing key cannot be loaded; the server refuses to start."""


def load_log_signer(origin: str, key_path: Path) -> NoteSigner:
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise LogKeyError(f"cannot load the log key {key_path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise LogKeyError(f"the log key {key_path} must be an Ed25519 private key")
    return NoteSigner(origin, key)


@dataclass(frozen=True)
class ReceiptSigner:
    signer: NoteSigner

    def receipt(self, stored: StoredRecord) -> records_pb2.Receipt:
        """The signed receipt of a stored record.

        Ed25519 signatures are deterministic, so a retry gets the same bytes.
        """
        note = sign_receipt(
            Receipt(
                origin=self.signer.name,
                record_id=stored.record_id,
                envelope_sha256=stored.envelope_sha256,
                log_index=stored.log_index,
                accepted_at=stored.accepted_at,
            ),
            self.signer,
        )
        accepted_at = Timestamp()
        accepted_at.FromDatetime(stored.accepted_at)
        return records_pb2.Receipt(
            record_id=stored.record_id,
            envelope_sha256=stored.envelope_sha256,
            log_index=stored.log_index,
            accepted_at=accepted_at,
            signed_receipt=note,
        )
