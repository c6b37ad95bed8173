"""Store: appending in log order, idempotent retries, conflicts, reads and filters."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from silkline_server.store import (
    AlreadyPresent,
    Appended,
    AppendOutcome,
    Conflict,
    ConstraintViolationError,
    NewDisclosure,
    Store,
    StoredRecord,
    UnsupportedDatabaseURLError,
)

from .sample_records import T0, sample_record

ACCEPTED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def _appended(outcome: AppendOutcome) -> StoredRecord:
    assert isinstance(outcome, Appended), outcome
    return outcome.record


def test_append_assigns_contiguous_indices_from_zero_across_batches(store: Store) -> None:
    first = [sample_record() for _ in range(3)]
    second = [sample_record() for _ in range(4)]

    indices = [_appended(o).log_index for o in store.append_records(first, ACCEPTED)]
    indices += [_appended(o).log_index for o in store.append_records(second, ACCEPTED)]

    assert indices == list(range(7))
    listed = store.list_records(limit=100)
    assert [r.record_id for r in listed] == [r.record_id for r in first + second]
    assert store.count_records() == 7


def test_appended_record_reads_back_byte_for_byte(store: Store) -> None:
    item = sample_record(envelope=b'{"payload":"\x00\xff binary-safe"}')

    (outcome,) = store.append_records([item], ACCEPTED)

    stored = store.get_record(item.record_id)
    assert stored == _appended(outcome)
    assert stored is not None
    assert stored.envelope == item.envelope
    assert stored.signer_certificate == item.signer_certificate
    assert stored.envelope_sha256 == item.envelope_sha256
    assert (stored.tlp, stored.handling) == ("AMBER", "no-onward-sharing")


def test_resubmitted_record_returns_the_original_index_and_time(store: Store) -> None:
    item = sample_record()
    (original,) = store.append_records([item], ACCEPTED)
    store.append_records([sample_record()], ACCEPTED)

    (retry,) = store.append_records([item], ACCEPTED + timedelta(hours=1))

    assert retry == AlreadyPresent(_appended(original))
    assert store.count_records() == 2


def test_same_record_id_with_different_bytes_is_a_conflict_and_stores_nothing(
    store: Store,
) -> None:
    item = sample_record(
        disclosures=(NewDisclosure("personal_data", "WyJzYWx0IiwibmFtZSIsIngiXQ"),)
    )
    (original,) = store.append_records([item], ACCEPTED)
    forged = sample_record(
        record_id=item.record_id,
        envelope=b"different bytes",
        disclosures=(NewDisclosure("personal_data", "WyJvdGhlciJd"),),
    )

    (outcome,) = store.append_records([forged], ACCEPTED + timedelta(hours=1))

    assert outcome == Conflict(_appended(original), forged.envelope_sha256)
    assert store.count_records() == 1
    assert store.get_record(item.record_id) == _appended(original)
    assert [d.disclosure for d in store.get_disclosures(item.record_id)] == [
        "WyJzYWx0IiwibmFtZSIsIngiXQ"
    ]


def test_duplicates_within_one_batch_are_retries_or_conflicts(store: Store) -> None:
    item = sample_record()
    other = sample_record()
    forged = sample_record(record_id=item.record_id, envelope=b"forged")

    outcomes = store.append_records([item, other, item, forged], ACCEPTED)

    first = _appended(outcomes[0])
    assert _appended(outcomes[1]).log_index == 1
    assert outcomes[2] == AlreadyPresent(first)
    assert outcomes[3] == Conflict(first, forged.envelope_sha256)
    assert store.count_records() == 2


def test_failing_batch_stores_nothing_and_consumes_no_index(store: Store) -> None:
    store.append_records([sample_record()], ACCEPTED)
    good = sample_record()
    # NOT NULL violation in the last item: raised by the database mid-transaction.
    bad = sample_record(disclosures=(NewDisclosure(None, "x"),))  # type: ignore[arg-type]

    with pytest.raises(ConstraintViolationError, match="nothing was stored"):
        store.append_records([good, bad], ACCEPTED)

    assert store.count_records() == 1
    assert store.get_record(good.record_id) is None
    assert store.get_disclosures(good.record_id) == []
    (after,) = store.append_records([good], ACCEPTED)
    assert _appended(after).log_index == 1


def test_disclosures_are_kept_in_submission_order(store: Store) -> None:
    disclosures = (
        NewDisclosure("personal_data", "WyJzMSIsIm5hbWUiLCJBIl0"),
        NewDisclosure("personal_data", "WyJzMiIsInBhc3Nwb3J0IiwiQiJd"),
        NewDisclosure("vessel", "WyJzMyIsImltbyIsIjEyMyJd"),
    )
    item = sample_record(disclosures=disclosures)

    store.append_records([item], ACCEPTED)

    stored = store.get_disclosures(item.record_id)
    assert [(d.field_class, d.disclosure, d.erased_at) for d in stored] == [
        (d.field_class, d.disclosure, None) for d in disclosures
    ]
    assert store.get_disclosures(sample_record().record_id) == []


def test_held_disclosures_can_be_read_up_to_a_creation_time(store: Store) -> None:
    old, new = (
        sample_record(
            created_at=T0 + timedelta(days=days),
            disclosures=(NewDisclosure("personal_data", f"WyJzIiwibiIsIntkfSJd{days}"),),
        )
        for days in (0, 30)
    )
    store.append_records([old, new], ACCEPTED)

    assert [h.record_id for h in store.held_disclosures()] == [old.record_id, new.record_id]
    assert [h.record_id for h in store.held_disclosures(T0 + timedelta(days=29))] == [old.record_id]
    assert [h.record_id for h in store.held_disclosures(T0 + timedelta(days=30))] == [
        old.record_id,
        new.record_id,
    ]
    assert store.held_disclosures(T0 - timedelta(seconds=1)) == []


def test_the_disclosures_of_many_records_read_as_one_by_one(store: Store) -> None:
    items = [
        sample_record(
            disclosures=tuple(
                NewDisclosure(f"class{n % 2}", f"WyJzJHtufSIsImEiLCJ7bn0iXQ{n}{k}")
                for k in range(n % 3)
            )
        )
        for n in range(7)
    ]
    store.append_records(items, ACCEPTED)
    unknown = sample_record().record_id
    asked = [item.record_id for item in reversed(items)] + [unknown]

    found = store.get_disclosures_of(asked)

    assert found == {record_id: store.get_disclosures(record_id) for record_id in asked}
    assert found[unknown] == []
    assert sum(len(disclosures) for disclosures in found.values()) == 6
    assert store.get_disclosures_of([]) == {}


def test_list_filters_by_record_type(store: Store) -> None:
    alert, case, other = (
        sample_record(record_type="seizure_alert"),
        sample_record(record_type="case_evidence"),
        sample_record(record_type="training"),
    )
    store.append_records([alert, case, other], ACCEPTED)

    listed = store.list_records(limit=10, record_types=["seizure_alert", "case_evidence"])

    assert [r.record_id for r in listed] == [alert.record_id, case.record_id]


def test_list_filters_by_participant_and_by_participant_agency(store: Store) -> None:
    in_ncb, in_dri, kz_kns, uz = (
        sample_record(originator="IN/NCB"),
        sample_record(originator="IN/DRI"),
        sample_record(originator="KZ/KNS"),
        sample_record(originator="UZ/NCB"),
    )
    store.append_records([in_ncb, in_dri, kz_kns, uz], ACCEPTED)

    def ids(*originators: str) -> list[str]:
        return [r.record_id for r in store.list_records(limit=10, originators=originators)]

    assert ids("IN") == [in_ncb.record_id, in_dri.record_id]
    assert ids("IN/NCB") == [in_ncb.record_id]
    assert ids("IN/DRI", "KZ") == [in_dri.record_id, kz_kns.record_id]
    assert ids("TJ") == []


@pytest.mark.parametrize("originator", ["", "/NCB", "IN/", "IN/NCB/x"])
def test_list_refuses_a_malformed_originator(store: Store, originator: str) -> None:
    with pytest.raises(ValueError, match="participant/agency"):
        store.list_records(limit=10, originators=[originator])


def test_list_since_keeps_records_accepted_at_or_after(store: Store) -> None:
    early, on_time, late = sample_record(), sample_record(), sample_record()
    store.append_records([early], ACCEPTED - timedelta(seconds=1))
    store.append_records([on_time], ACCEPTED)
    store.append_records([late], ACCEPTED + timedelta(microseconds=1))

    listed = store.list_records(limit=10, since=ACCEPTED)
    # The same instant written in India Standard Time.
    in_ist = store.list_records(
        limit=10, since=ACCEPTED.astimezone(timezone(timedelta(hours=5, minutes=30)))
    )

    assert [r.record_id for r in listed] == [on_time.record_id, late.record_id]
    assert in_ist == listed


def test_list_pages_with_after_index_and_limit(store: Store) -> None:
    items = [sample_record() for _ in range(7)]
    store.append_records(items, ACCEPTED)

    pages: list[list[int]] = []
    after = -1
    while page := store.list_records(after_index=after, limit=3):
        pages.append([r.log_index for r in page])
        after = page[-1].log_index

    assert pages == [[0, 1, 2], [3, 4, 5], [6]]


def test_list_combines_filters_with_and(store: Store) -> None:
    match = sample_record(record_type="seizure_alert", originator="KZ/KNS")
    store.append_records(
        [
            sample_record(record_type="seizure_alert", originator="IN/NCB"),
            sample_record(record_type="case_evidence", originator="KZ/KNS"),
            match,
        ],
        ACCEPTED,
    )

    listed = store.list_records(
        after_index=0, limit=5, record_types=["seizure_alert"], originators=["KZ"], since=ACCEPTED
    )

    assert [r.record_id for r in listed] == [match.record_id]


def test_list_refuses_a_limit_below_one(store: Store) -> None:
    with pytest.raises(ValueError, match="limit"):
        store.list_records(limit=0)


def test_datetimes_round_trip_as_aware_utc(store: Store) -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    created = datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=ist)
    accepted = datetime(2024, 3, 1, 4, 0, 0, 123_456, tzinfo=timezone(timedelta(hours=6)))
    item = sample_record(created_at=created)

    store.append_records([item], accepted)

    stored = store.get_record(item.record_id)
    assert stored is not None
    assert stored.created_at == created
    assert stored.accepted_at == accepted
    assert stored.created_at.utcoffset() == timedelta(0)
    assert stored.accepted_at.utcoffset() == timedelta(0)
    assert stored.created_at.isoformat() == "2024-02-29T18:29:59.999999+00:00"


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sample_record(created_at=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        store.append_records([sample_record()], datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        store.list_records(limit=1, since=datetime(2025, 1, 1))
    assert store.count_records() == 0


def test_a_record_whose_hash_does_not_match_its_envelope_is_refused() -> None:
    item = sample_record()
    with pytest.raises(ValueError, match="hash to"):
        dataclasses.replace(item, envelope=b"tampered")


def test_a_record_id_that_is_not_a_canonical_uuid_is_refused() -> None:
    with pytest.raises(ValueError, match="canonical"):
        sample_record(record_id="6F9619FF-8B86-D011-B42D-00C04FC964FF")


def test_reopened_store_sees_everything_committed(store_url: str) -> None:
    items = [sample_record(disclosures=(NewDisclosure("personal_data", "WyJhIl0"),))]
    items += [sample_record() for _ in range(4)]
    with Store.open(store_url) as first:
        first.migrate()
        appended = [_appended(o) for o in first.append_records(items, ACCEPTED)]

    with Store.open(store_url) as reopened:
        reopened.migrate()
        assert reopened.list_records(limit=10) == appended
        assert [d.disclosure for d in reopened.get_disclosures(items[0].record_id)] == ["WyJhIl0"]
        (next_outcome,) = reopened.append_records([sample_record()], ACCEPTED)
        assert _appended(next_outcome).log_index == 5


def test_concurrent_writers_on_separate_stores_never_share_an_index(store_url: str) -> None:
    # Two Store objects on one database stand in for two replicas (or processes).
    writers, batches, batch_size = 2, 10, 5
    stores = [Store.open(store_url) for _ in range(writers)]
    stores[0].migrate()
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(replica: Store) -> None:
        try:
            start.wait()
            for _ in range(batches):
                replica.append_records([sample_record() for _ in range(batch_size)], ACCEPTED)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        listed = stores[0].list_records(limit=1000)
        assert [r.log_index for r in listed] == list(range(writers * batches * batch_size))
    finally:
        for s in stores:
            s.close()


def test_get_record_of_an_unknown_id_is_none(store: Store) -> None:
    assert store.get_record(sample_record().record_id) is None


def test_ping_answers_true_for_a_live_database(store: Store) -> None:
    assert store.ping() is True


def test_ping_answers_false_when_the_database_is_unreachable() -> None:
    with Store.open("postgresql+psycopg://nobody@127.0.0.1:1/none") as unreachable:
        assert unreachable.ping() is False


@pytest.mark.parametrize(
    "url", ["mysql://u@h/db", "sqlite://", "sqlite:///:memory:", "postgresql+asyncpg://u@h/db"]
)
def test_unsupported_database_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsupportedDatabaseURLError):
        Store.open(url)


def test_appending_nothing_is_a_no_op(store: Store) -> None:
    assert store.append_records([], ACCEPTED) == []
    assert store.count_records() == 0


def test_created_at_is_kept_apart_from_accepted_at(store: Store) -> None:
    item = sample_record(created_at=T0)
    (outcome,) = store.append_records([item], ACCEPTED)
    assert (_appended(outcome).created_at, _appended(outcome).accepted_at) == (T0, ACCEPTED)
