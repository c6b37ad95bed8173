"""What goes into the store and what comes out of it: plain frozen values, not ORM rows.

Callers never see SQLModel objects, so a row can change shape without the
layers above noticing, and a value handed out cannot be mutated into the session.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime


def require_aware_utc(value: datetime, name: str) -> datetime:
    """Return `value` converted to UTC; refuse a naive datetime.

    A naive datetime is ambiguous across the six time zones of the network, so
    the store refuses it rather than guess.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {value.isoformat()})")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class NewDisclosure:
    """One RFC 9901 disclosure to store with its record, and the field class it belongs to."""

    field_class: str
    disclosure: str


@dataclass(frozen=True, slots=True)
class NewRecord:
    """An admitted record, ready to be appended to the log.

    Construction checks the invariants the store relies on: `record_id` is a
    canonical UUID (the idempotency key), `envelope_sha256` really is the hash
    of `envelope` (it decides "retry" versus "conflict"), and `created_at` is
    timezone-aware.
    """

    record_id: str
    record_type: str
    originator_participant: str
    originator_agency: str
    created_at: datetime
    envelope: bytes
    envelope_sha256: str
    signer_certificate: bytes
    tlp: str
    handling: str
    disclosures: tuple[NewDisclosure, ...] = ()

    def __post_init__(self) -> None:
        try:
            canonical = str(uuid.UUID(self.record_id))
        except ValueError:
            canonical = ""
        if canonical != self.record_id:
            raise ValueError(
                f"record_id must be a canonical lower-case UUID such as "
                f"'{uuid.UUID(int=0)}', got {self.record_id!r}"
            )
        actual = hashlib.sha256(self.envelope).hexdigest()
        if self.envelope_sha256 != actual:
            raise ValueError(
                f"envelope_sha256 of record {self.record_id} is {self.envelope_sha256!r} "
                f"but the envelope bytes hash to {actual!r}"
            )
        object.__setattr__(self, "created_at", require_aware_utc(self.created_at, "created_at"))


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as committed to the log, with the index and time the store gave it."""

    log_index: int
    record_id: str
    record_type: str
    originator_participant: str
    originator_agency: str
    created_at: datetime
    accepted_at: datetime
    envelope: bytes
    envelope_sha256: str
    signer_certificate: bytes
    tlp: str
    handling: str


@dataclass(frozen=True, slots=True)
class StoredDisclosure:
    """A stored disclosure. After a retention purge `disclosure` may be None and
    `erased_at` says when the purge decided to erase it."""

    record_id: str
    field_class: str
    disclosure: str | None
    erased_at: datetime | None


@dataclass(frozen=True, slots=True)
class HeldDisclosure:
    """A disclosure still held, with the record facts a retention rule is judged on."""

    disclosure_id: int
    record_id: str
    field_class: str
    originator_participant: str
    created_at: datetime
