"""Deterministic identity of fed records: same input, same bytes; valid UUIDv7 ids."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from silkline.authoring import seal_record
from silkline.feeds.identity import (
    FeedIdentityError,
    SaltDeriver,
    feed_created_at,
    feed_record_id,
    salt_seed_from_signing_key,
)
from silkline.feeds.sample import sample_seizures
from silkline.feeds.sources import Distribution, feed_payload, record_from_json_line
from silkline.formats import disclosure as sd
from silkline.uuid7 import is_uuid7, uuid7_unix_ms

from ..records.conftest import signing_identity

SEIZED = datetime(2024, 2, 27, 6, 0, 0, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30)))


def test_a_record_id_is_a_uuid7_carrying_the_records_own_time() -> None:
    record_id = feed_record_id("IN/FEED", "port-scanners", "MUN/2024/0001", SEIZED)
    assert is_uuid7(record_id)
    assert uuid7_unix_ms(record_id) == int(SEIZED.timestamp() * 1000)


def test_the_same_key_gives_the_same_id_and_any_other_input_another() -> None:
    same = feed_record_id("IN/FEED", "port-scanners", "MUN/2024/0001", SEIZED)
    assert same == feed_record_id("IN/FEED", "port-scanners", "MUN/2024/0001", SEIZED)
    others = {
        feed_record_id("IN/FEED", "port-scanners", "MUN/2024/0002", SEIZED),
        feed_record_id("IN/FEED", "coast-guard", "MUN/2024/0001", SEIZED),
        feed_record_id("IN/NCB", "port-scanners", "MUN/2024/0001", SEIZED),
        # The parts are length-delimited: shifting a character between them is another name.
        feed_record_id("IN/FEED", "port-scanners/", "MUN/2024/0001"[1:], SEIZED),
    }
    assert same not in others and len(others) == 4


@given(
    st.text(min_size=1, max_size=40),
    st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
    ),
)
def test_every_key_and_time_gives_a_valid_uuid7(key: str, at: datetime) -> None:
    record_id = feed_record_id("IN/FEED", "source", key, at)
    assert is_uuid7(record_id)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert uuid7_unix_ms(record_id) == (at - epoch) // timedelta(milliseconds=1)


def test_a_time_without_offset_is_refused() -> None:
    with pytest.raises(FeedIdentityError, match="no UTC offset"):
        feed_record_id("IN/FEED", "s", "k", datetime(2024, 1, 1))


def test_created_at_is_the_time_in_utc_to_the_millisecond() -> None:
    assert feed_created_at(SEIZED) == datetime(2024, 2, 27, 0, 30, 0, 123000, tzinfo=UTC)


def test_salts_are_128_bits_fixed_by_seed_record_and_field() -> None:
    salts = SaltDeriver(b"s" * 32)
    salt = salts.for_record("r-1")(("body", "suspects"))
    assert len(base64.urlsafe_b64decode(salt + "==")) == 16
    assert salt == SaltDeriver(b"s" * 32).for_record("r-1")(("body", "suspects"))
    assert salt != salts.for_record("r-2")(("body", "suspects"))
    assert salt != salts.for_record("r-1")(("body", "location", "coordinates"))
    assert salt != SaltDeriver(b"t" * 32).for_record("r-1")(("body", "suspects"))


def test_a_short_seed_is_refused() -> None:
    with pytest.raises(FeedIdentityError, match="at least 32"):
        SaltDeriver(b"too short")


def test_the_seed_from_a_signing_key_is_stable_and_is_not_the_key() -> None:
    key = signing_identity("IN", "feed").private_key
    seed = salt_seed_from_signing_key(key)
    assert seed == salt_seed_from_signing_key(key) and len(seed) == 32
    assert seed != salt_seed_from_signing_key(signing_identity("IN", "ncb").private_key)
    assert hashlib.sha256(seed).digest() != seed


def test_sealing_an_input_line_twice_gives_byte_identical_envelopes_and_disclosures() -> None:
    signer = signing_identity("IN", "feed")
    salts = SaltDeriver(salt_seed_from_signing_key(signer.private_key))
    body = next(b for b in sample_seizures(50, seed=3, until=datetime.now(UTC)) if "suspects" in b)
    line = json.dumps(body)

    def seal_once() -> tuple[bytes, tuple[str, ...]]:
        payload = feed_payload(
            record_from_json_line(line),
            originator=signer.identity,
            source="port-scanners",
            distribution=Distribution(tlp="AMBER", recipients=("KZ",)),
        )
        sealed = seal_record(payload, signer, salt_for=salts.for_record(payload["id"]))
        return sealed.envelope, sealed.disclosures

    first, second = seal_once(), seal_once()
    assert first == second
    assert first[1], "the suspects travel as a disclosure"
    # And the disclosures are real RFC 9901 disclosures of the signed digests.
    assert sd.parse_disclosure(first[1][0]).name in {"suspects", "coordinates"}
