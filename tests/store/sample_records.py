"""Builders of records for the store tests: valid by default, one field changed per test."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from silkline_server.store import NewDisclosure, NewRecord

T0 = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)


def sample_record(
    *,
    record_id: str | None = None,
    record_type: str = "seizure_alert",
    originator: str = "IN/NCB",
    created_at: datetime = T0,
    envelope: bytes | None = None,
    disclosures: tuple[NewDisclosure, ...] = (),
) -> NewRecord:
    """A record with a fresh id; its envelope bytes differ per id unless given."""
    record_id = record_id or str(uuid.uuid4())
    participant, _, agency = originator.partition("/")
    if envelope is None:
        envelope = f'{{"payloadType":"application/vnd.silkline+json","id":"{record_id}"}}'.encode()
    return NewRecord(
        record_id=record_id,
        record_type=record_type,
        originator_participant=participant,
        originator_agency=agency,
        created_at=created_at,
        envelope=envelope,
        envelope_sha256=hashlib.sha256(envelope).hexdigest(),
        signer_certificate=b"0\x82\x01\x00 fake DER " + participant.encode(),
        tlp="AMBER",
        handling="no-onward-sharing",
        disclosures=disclosures,
    )
