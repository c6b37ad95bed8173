"""The three possible results of appending one record.

An append never raises for a record that is already there: a feed that
resubmits after a crash must learn the original log index, and a different
record reusing an id must be reported, not silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from silkline_server.store.records import StoredRecord


@dataclass(frozen=True, slots=True)
class Appended:
    """The record is new and was committed at `record.log_index`."""

    record: StoredRecord


@dataclass(frozen=True, slots=True)
class AlreadyPresent:
    """The same record_id with the same envelope bytes was already stored:
    an idempotent retry. `record` is the original, with its original index and time."""

    record: StoredRecord


@dataclass(frozen=True, slots=True)
class Conflict:
    """The record_id is already stored with different envelope bytes; nothing was stored."""

    existing: StoredRecord
    submitted_envelope_sha256: str


AppendOutcome = Appended | AlreadyPresent | Conflict
