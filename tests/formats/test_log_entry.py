"""Log entries: the exact leaf bytes of records, access events and rules versions."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from silkline.formats.log_entry import (
    AccessEntry,
    LogEntryError,
    MalformedLogEntryError,
    Reason,
    RecordEntry,
    RulesEntry,
    encode_access_entry,
    encode_record_entry,
    encode_rules_entry,
    parse_entry,
)
from silkline.formats.merkle import leaf_hash

AT = datetime(2025, 3, 1, 8, 30, 0, 250_000, tzinfo=UTC)
PREVIOUS = hashlib.sha256(b"entry 6").digest()
RULES = hashlib.sha256(b"rules").hexdigest()


def record_leaf(index: int = 7, previous: bytes | None = PREVIOUS) -> bytes:
    return encode_record_entry(
        index,
        previous,
        record_id="01a21503-5656-769c-abcd-66f215bd752d",
        accepted_at=AT,
        envelope=b'{"payloadType":"x","payload":"e30=","signatures":[]}',
        signer_certificate=b"0\x82 DER",
    )


def access_leaf(**changes: Any) -> bytes:
    fields: dict[str, Any] = {
        "sequence": 12,
        "at": AT,
        "reader_participant": "KZ",
        "reader_agency": "MVD",
        "reader_client": "ops-desk-1",
        "record_id": "01a21503-5656-769c-abcd-66f215bd752d",
        "action": "get",
        "allowed": True,
        "view": "full",
        "reasons": [Reason("agreements.multilateral-2019", "covers seizure-alert, in Ўзбек too")],
        "disclosed": [],
        "withheld": ["personal_data"],
        "rules_sha256": RULES,
    }
    fields.update(changes)
    return encode_access_entry(8, PREVIOUS, **fields)


def test_a_record_entry_is_compact_sorted_json_with_the_envelope_as_signed() -> None:
    leaf = record_leaf()
    previous = base64.b64encode(PREVIOUS).decode()
    assert (
        leaf
        == (
            '{"accepted_at":"2025-03-01T08:30:00.250000Z",'
            '"envelope":"eyJwYXlsb2FkVHlwZSI6IngiLCJwYXlsb2FkIjoiZTMwPSIsInNpZ25hdHVyZXMiOltdfQ==",'
            f'"index":7,"previous":"{previous}",'
            '"record_id":"01a21503-5656-769c-abcd-66f215bd752d",'
            '"signer_certificate":"MIIgREVS","type":"record"}'
        ).encode()
    )
    entry = parse_entry(leaf)
    assert entry == RecordEntry(
        index=7,
        previous=PREVIOUS,
        record_id="01a21503-5656-769c-abcd-66f215bd752d",
        accepted_at=AT,
        envelope=b'{"payloadType":"x","payload":"e30=","signatures":[]}',
        signer_certificate=b"0\x82 DER",
    )


def test_entry_zero_has_no_previous_member_and_every_later_one_has_one() -> None:
    first = json.loads(record_leaf(0, None))
    assert "previous" not in first and first["index"] == 0
    with pytest.raises(LogEntryError, match="entry 0 has no previous"):
        record_leaf(0, PREVIOUS)
    with pytest.raises(LogEntryError, match="every later entry has one"):
        record_leaf(3, None)


def test_an_access_entry_round_trips_in_utf8() -> None:
    leaf = access_leaf()
    assert "Ўзбек".encode() in leaf
    entry = parse_entry(leaf)
    assert isinstance(entry, AccessEntry)
    assert entry.reasons == (
        Reason("agreements.multilateral-2019", "covers seizure-alert, in Ўзбек too"),
    )
    assert (entry.sequence, entry.allowed, entry.withheld) == (12, True, ("personal_data",))


def test_a_rules_entry_round_trips() -> None:
    leaf = encode_rules_entry(
        0, None, sha256=RULES, source="deploy/rules/network.toml", loaded_at=AT
    )
    assert parse_entry(leaf) == RulesEntry(0, None, RULES, "deploy/rules/network.toml", AT)


def test_times_are_written_in_utc_whatever_the_zone_given() -> None:
    ist = AT.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert json.loads(access_leaf(at=ist))["at"] == "2025-03-01T08:30:00.250000Z"
    with pytest.raises(LogEntryError, match="naive"):
        access_leaf(at=AT.replace(tzinfo=None))


def _edited(leaf: bytes, **changes: Any) -> bytes:
    document = json.loads(leaf)
    for key, value in changes.items():
        if value is _DROP:
            del document[key]
        else:
            document[key] = value
    return json.dumps(document).encode()


_DROP = object()


@pytest.mark.parametrize(
    ("leaf", "message"),
    [
        (b"\xff", "not UTF-8"),
        (b"[1]", "must be a JSON object"),
        (b'{"type":"record","type":"access"}', "repeats member"),
        (_edited(record_leaf(), type="audit"), "type 'audit' is not one of"),
        (_edited(record_leaf(), extra=1), r"unexpected member\(s\) \['extra'\]"),
        (_edited(record_leaf(), envelope=_DROP), r"missing member\(s\) \['envelope'\]"),
        (_edited(record_leaf(), index=-1), "'index' must be an integer >= 0"),
        (_edited(record_leaf(), index=True), "'index' must be an integer >= 0"),
        (_edited(record_leaf(), envelope="not base64!"), "'envelope' is not standard base64"),
        (_edited(record_leaf(), signer_certificate="MIIgREVS\n"), "not standard base64"),
        (_edited(record_leaf(), previous="AAAA"), "32-byte leaf hash"),
        (_edited(record_leaf(), accepted_at="2025-03-01T08:30:00Z"), "with microseconds"),
        (_edited(record_leaf(), record_id=""), "'record_id' must be a non-empty string"),
        (_edited(access_leaf(), allowed="yes"), "'allowed' must be true or false"),
        (_edited(access_leaf(), reasons=[]), "'reasons' must be a non-empty list"),
        (_edited(access_leaf(), reasons=[{"cite": "a"}]), r"reasons\[0\] must be an object"),
        (_edited(access_leaf(), withheld=[""]), "list of field-class names"),
        (_edited(access_leaf(), rules_sha256=RULES.upper()), "64 lower-case hex"),
    ],
)
def test_malformed_entries_are_refused_with_the_reason(leaf: bytes, message: str) -> None:
    with pytest.raises(MalformedLogEntryError, match=message):
        parse_entry(leaf)


@given(
    index=st.integers(0, 2**40),
    envelope=st.binary(max_size=300),
    certificate=st.binary(min_size=1, max_size=100),
    seconds=st.integers(0, 10**9),
)
def test_record_entries_round_trip_and_hash_their_exact_bytes(
    index: int, envelope: bytes, certificate: bytes, seconds: int
) -> None:
    previous = leaf_hash(str(index).encode()) if index else None
    accepted = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=seconds)
    leaf = encode_record_entry(
        index,
        previous,
        record_id="r",
        accepted_at=accepted,
        envelope=envelope,
        signer_certificate=certificate,
    )
    assert parse_entry(leaf) == RecordEntry(index, previous, "r", accepted, envelope, certificate)
