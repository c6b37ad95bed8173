"""Log entries: the exact bytes of each leaf of silkline's tamper-evident log.

Every accepted record, every access event (read, delivery, denial) and every
rules version in force is one entry. An entry is a UTF-8 JSON object, written
once at append time with sorted keys and no insignificant whitespace; the
log stores and hashes (RFC 6962 §2.1) exactly those bytes, and verifiers hash
the bytes they receive, never a re-serialisation.

Members common to every entry:

- ``type``: ``"record"``, ``"access"`` or ``"rules"``;
- ``index``: the entry's own leaf index, so a leaf moved to another position
  (entries swapped, deleted, inserted) names itself;
- ``previous``: standard base64 of the RFC 6962 leaf hash of entry
  ``index - 1`` (absent in entry 0), so a changed entry is named by the one
  after it even when nothing else inside it is signed.

A record entry adds ``record_id``, ``accepted_at``, ``envelope`` (base64 of the
DSSE envelope bytes exactly as signed) and ``signer_certificate`` (base64 of
its DER). Its disclosures are never in the log: erasing one under retention
changes no leaf. Times are RFC 3339 UTC with microseconds and ``Z``.

Pure functions, no I/O.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from silkline.formats.canonical_base64 import decode_canonical
from silkline.formats.merkle import HASH_SIZE

__all__ = [
    "ENTRY_TYPES",
    "AccessEntry",
    "LogEntry",
    "LogEntryError",
    "MalformedLogEntryError",
    "Reason",
    "RecordEntry",
    "RulesEntry",
    "encode_access_entry",
    "encode_record_entry",
    "encode_rules_entry",
    "format_time",
    "parse_entry",
    "parse_time",
]

ENTRY_TYPES: Final = ("record", "access", "rules")
"""The values of an entry's ``type`` member."""

_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%fZ"
_TIME: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")
_COMMON: Final = frozenset({"type", "index", "previous"})
_MEMBERS: Final = {
    "record": frozenset({"record_id", "accepted_at", "envelope", "signer_certificate"}),
    "access": frozenset(
        {
            "sequence",
            "at",
            "reader_participant",
            "reader_agency",
            "reader_client",
            "record_id",
            "action",
            "allowed",
            "view",
            "reasons",
            "disclosed",
            "withheld",
            "rules_sha256",
        }
    ),
    "rules": frozenset({"sha256", "source", "loaded_at"}),
}


class LogEntryError(ValueError):
    """Base class of the log-entry errors."""


class MalformedLogEntryError(LogEntryError):
    """The bytes are not a log entry as this module defines it; the message says why."""


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds and ``Z``; refuses a naive datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise LogEntryError(f"refusing naive time {moment.isoformat()}: give it a time zone")
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(text: str, what: str = "time") -> datetime:
    """The aware UTC datetime of a time written by ``format_time``; nothing else is accepted."""
    if not isinstance(text, str) or not _TIME.fullmatch(text):
        raise MalformedLogEntryError(
            f"{what} {text!r} is not RFC 3339 UTC with microseconds, e.g. "
            "2025-03-01T08:30:00.000000Z"
        )
    try:
        # The pattern above fixed the layout; fromisoformat reads it (and "Z") quickly.
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise MalformedLogEntryError(f"{what} {text!r} is not a valid time: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason of an access decision: what it cites and what it says."""

    cite: str
    text: str


@dataclass(frozen=True, slots=True)
class RecordEntry:
    """An accepted record: its DSSE envelope as signed and its signer certificate (DER)."""

    index: int
    previous: bytes | None
    record_id: str
    accepted_at: datetime
    envelope: bytes
    signer_certificate: bytes


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One read, delivery or denial, as the access log recorded it."""

    index: int
    previous: bytes | None
    sequence: int
    at: datetime
    reader_participant: str
    reader_agency: str
    reader_client: str
    record_id: str
    action: str
    allowed: bool
    view: str
    reasons: tuple[Reason, ...]
    disclosed: tuple[str, ...]
    withheld: tuple[str, ...]
    rules_sha256: str


@dataclass(frozen=True, slots=True)
class RulesEntry:
    """A rules file that came into force, by SHA-256."""

    index: int
    previous: bytes | None
    sha256: str
    source: str
    loaded_at: datetime


LogEntry = RecordEntry | AccessEntry | RulesEntry
"""Any parsed log entry."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _encode(entry_type: str, index: int, previous: bytes | None, members: dict[str, Any]) -> bytes:
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise LogEntryError(f"index must be an int >= 0, got {index!r}")
    if (index == 0) != (previous is None):
        raise LogEntryError(
            "entry 0 has no previous leaf hash and every later entry has one; "
            f"got index {index} with previous {previous!r}"
        )
    document: dict[str, Any] = {"type": entry_type, "index": index, **members}
    if previous is not None:
        if len(previous) != HASH_SIZE:
            raise LogEntryError(f"previous must be a {HASH_SIZE}-byte leaf hash")
        document["previous"] = _b64(previous)
    # Written once; the log hashes these bytes and never writes them again.
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def encode_record_entry(
    index: int,
    previous: bytes | None,
    *,
    record_id: str,
    accepted_at: datetime,
    envelope: bytes,
    signer_certificate: bytes,
) -> bytes:
    """The leaf bytes of an accepted record."""
    return _encode(
        "record",
        index,
        previous,
        {
            "record_id": record_id,
            "accepted_at": format_time(accepted_at),
            "envelope": _b64(envelope),
            "signer_certificate": _b64(signer_certificate),
        },
    )


def encode_access_entry(
    index: int,
    previous: bytes | None,
    *,
    sequence: int,
    at: datetime,
    reader_participant: str,
    reader_agency: str,
    reader_client: str,
    record_id: str,
    action: str,
    allowed: bool,
    view: str,
    reasons: Sequence[Reason],
    disclosed: Sequence[str],
    withheld: Sequence[str],
    rules_sha256: str,
) -> bytes:
    """The leaf bytes of an access event (field classes by name, never values)."""
    return _encode(
        "access",
        index,
        previous,
        {
            "sequence": sequence,
            "at": format_time(at),
            "reader_participant": reader_participant,
            "reader_agency": reader_agency,
            "reader_client": reader_client,
            "record_id": record_id,
            "action": action,
            "allowed": allowed,
            "view": view,
            "reasons": [{"cite": r.cite, "text": r.text} for r in reasons],
            "disclosed": list(disclosed),
            "withheld": list(withheld),
            "rules_sha256": rules_sha256,
        },
    )


def encode_rules_entry(
    index: int, previous: bytes | None, *, sha256: str, source: str, loaded_at: datetime
) -> bytes:
    """The leaf bytes of a rules version that came into force."""
    return _encode(
        "rules",
        index,
        previous,
        {"sha256": sha256, "source": source, "loaded_at": format_time(loaded_at)},
    )


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Parsers disagree on which duplicate wins; an entry must read one way only.
    document = dict(pairs)
    if len(document) != len(pairs):
        keys = [key for key, _ in pairs]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        raise MalformedLogEntryError(f"entry repeats member(s) {duplicates}")
    return document


# Made once: json.loads with a hook builds a new decoder on every call.
_DECODER: Final = json.JSONDecoder(object_pairs_hook=_refuse_duplicates)


def _text(document: dict[str, Any], key: str) -> str:
    value = document[key]
    if not isinstance(value, str) or not value:
        raise MalformedLogEntryError(f"member {key!r} must be a non-empty string, got {value!r}")
    return value


def _int(document: dict[str, Any], key: str) -> int:
    value = document[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedLogEntryError(f"member {key!r} must be an integer >= 0, got {value!r}")
    return value


def _base64(document: dict[str, Any], key: str) -> bytes:
    value = document[key]
    if not isinstance(value, str):
        raise MalformedLogEntryError(f"member {key!r} must be a base64 string")
    decoded = decode_canonical(value)
    if decoded is not None:
        return decoded
    # Not canonical standard base64: find out what is wrong with it.
    try:
        decoded = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise MalformedLogEntryError(f"member {key!r} is not standard base64: {exc}") from exc
    if _b64(decoded) != value:
        raise MalformedLogEntryError(f"member {key!r} is not canonical base64")
    return decoded


def _names(document: dict[str, Any], key: str) -> tuple[str, ...]:
    value = document[key]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise MalformedLogEntryError(f"member {key!r} must be a list of field-class names")
    return tuple(value)


def _reasons(document: dict[str, Any]) -> tuple[Reason, ...]:
    value = document["reasons"]
    if not isinstance(value, list) or not value:
        raise MalformedLogEntryError("member 'reasons' must be a non-empty list")
    reasons = []
    for position, reason in enumerate(value):
        if (
            not isinstance(reason, dict)
            or set(reason) != {"cite", "text"}
            or not all(isinstance(v, str) for v in reason.values())
        ):
            raise MalformedLogEntryError(
                f"reasons[{position}] must be an object with exactly the strings 'cite' and 'text'"
            )
        reasons.append(Reason(reason["cite"], reason["text"]))
    return tuple(reasons)


def parse_entry(leaf: bytes) -> LogEntry:
    """Parse the exact bytes of a leaf, strictly: known type, exactly its members, right types.

    Raises MalformedLogEntryError saying what is wrong. Whether ``index`` and
    ``previous`` agree with the leaf's position is the caller's check.
    """
    try:
        document = _DECODER.decode(leaf.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MalformedLogEntryError(f"entry is not UTF-8: {exc.reason}") from exc
    except json.JSONDecodeError as exc:
        raise MalformedLogEntryError(f"entry is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise MalformedLogEntryError("entry must be a JSON object")
    entry_type = document.get("type")
    if entry_type not in _MEMBERS:
        raise MalformedLogEntryError(
            f"entry type {entry_type!r} is not one of {', '.join(ENTRY_TYPES)}"
        )
    expected = _COMMON | _MEMBERS[entry_type]
    index = document.get("index")
    if index == 0:
        expected = expected - {"previous"}
    if set(document) != expected:
        missing = sorted(expected - set(document))
        unexpected = sorted(set(document) - expected)
        raise MalformedLogEntryError(
            f"{entry_type} entry: missing member(s) {missing}, unexpected member(s) {unexpected}"
        )
    index = _int(document, "index")
    previous = _base64(document, "previous") if index > 0 else None
    if previous is not None and len(previous) != HASH_SIZE:
        raise MalformedLogEntryError(f"member 'previous' must be a {HASH_SIZE}-byte leaf hash")
    if entry_type == "record":
        return RecordEntry(
            index=index,
            previous=previous,
            record_id=_text(document, "record_id"),
            accepted_at=parse_time(document["accepted_at"], "accepted_at"),
            envelope=_base64(document, "envelope"),
            signer_certificate=_base64(document, "signer_certificate"),
        )
    if entry_type == "access":
        allowed = document["allowed"]
        if not isinstance(allowed, bool):
            raise MalformedLogEntryError(f"member 'allowed' must be true or false, not {allowed!r}")
        rules_sha256 = _text(document, "rules_sha256")
        if not _SHA256_HEX.fullmatch(rules_sha256):
            raise MalformedLogEntryError("member 'rules_sha256' must be 64 lower-case hex digits")
        return AccessEntry(
            index=index,
            previous=previous,
            sequence=_int(document, "sequence"),
            at=parse_time(document["at"], "at"),
            reader_participant=_text(document, "reader_participant"),
            reader_agency=_text(document, "reader_agency"),
            reader_client=_text(document, "reader_client"),
            record_id=_text(document, "record_id"),
            action=_text(document, "action"),
            allowed=allowed,
            view=_text(document, "view"),
            reasons=_reasons(document),
            disclosed=_names(document, "disclosed"),
            withheld=_names(document, "withheld"),
            rules_sha256=rules_sha256,
        )
    sha256 = _text(document, "sha256")
    if not _SHA256_HEX.fullmatch(sha256):
        raise MalformedLogEntryError("member 'sha256' must be 64 lower-case hex digits")
    return RulesEntry(
        index=index,
        previous=previous,
        sha256=sha256,
        source=_text(document, "source"),
        loaded_at=parse_time(document["loaded_at"], "loaded_at"),
    )
