"""Store: the access log (reads, deliveries, denials) and the rules versions in force."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, inspect, text

from silkline_server.store import (
    ConstraintViolationError,
    NewAccessEvent,
    Store,
    StoredAccessEvent,
    StoredRulesVersion,
)
from silkline_server.store.repository import MIGRATIONS

from .sample_records import sample_record

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
IST = timezone(timedelta(hours=5, minutes=30))
RULES_SHA256 = hashlib.sha256(b"network.toml, version 1").hexdigest()
OTHER_RULES_SHA256 = hashlib.sha256(b"network.toml, version 2").hexdigest()
ALLOWED_REASONS = (
    '[{"cite": "agreements.multilateral-2019", "text": "covers seizure_alert"}, '
    '{"cite": "agreements.multilateral-2019.classes", "text": "personal_data not covered"}]'
)
DENIED_REASONS = '[{"cite": "record.distribution.tlp", "text": "AMBER: TM is not a recipient"}]'


def sample_event(**changes: Any) -> NewAccessEvent:
    """KZ/MVD's Get of a fresh record id, allowed without personal_data; change any field."""
    fields: dict[str, Any] = {
        "at": AT,
        "reader_participant": "KZ",
        "reader_agency": "MVD",
        "reader_client": "analyst-07",
        "record_id": str(uuid.uuid4()),
        "action": "get",
        "allowed": True,
        "view": "full",
        "reasons": ALLOWED_REASONS,
        "disclosed": "vessel",
        "withheld": "personal_data",
        "rules_sha256": RULES_SHA256,
    }
    fields.update(changes)
    return NewAccessEvent(**fields)


def denial(**changes: Any) -> NewAccessEvent:
    """TM/MVD refused a record: nothing shown, nothing disclosed."""
    fields: dict[str, Any] = {
        "reader_participant": "TM",
        "allowed": False,
        "view": "none",
        "reasons": DENIED_REASONS,
        "disclosed": "",
        "withheld": "",
    }
    fields.update(changes)
    return sample_event(**fields)


def _new(stored: StoredAccessEvent) -> NewAccessEvent:
    fields = dataclasses.asdict(stored)
    del fields["sequence"], fields["log_index"]
    return NewAccessEvent(**fields)


def _sequences(events: list[StoredAccessEvent]) -> list[int]:
    return [e.sequence for e in events]


def test_migrate_creates_the_access_log_tables_and_indices(store: Store) -> None:
    inspector = inspect(store.engine)
    assert {"access_events", "rules_versions"} <= set(inspector.get_table_names())
    # PostgreSQL also lists the index behind each unique constraint; those are checked below.
    indices = {
        ix["name"]: ix["column_names"]
        for ix in inspector.get_indexes("access_events")
        if not ix.get("duplicates_constraint")
    }
    assert indices == {
        "ix_access_events_at": ["at"],
        "ix_access_events_reader_participant_reader_agency": [
            "reader_participant",
            "reader_agency",
        ],
        "ix_access_events_record_id": ["record_id"],
    }
    unique = {
        u["name"]: u["column_names"] for u in inspector.get_unique_constraints("access_events")
    }
    assert unique == {"uq_access_events_log_index": ["log_index"]}
    assert inspector.get_foreign_keys("access_events") == []


def test_downgrade_to_0001_drops_only_the_access_log_and_upgrade_restores_it(
    store: Store,
) -> None:
    record = sample_record()
    store.append_records([record], AT)
    store.record_access_events([sample_event(record_id=record.record_id)])

    def migrate(connection: Connection, revision: str) -> None:
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        config.attributes["connection"] = connection
        if revision == "head":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)

    with store.engine.begin() as connection:
        migrate(connection, "0001")
        assert (
            connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"
        )
    tables = set(inspect(store.engine).get_table_names())
    assert {"access_events", "rules_versions"}.isdisjoint(tables)
    assert store.get_record(record.record_id) is not None

    store.migrate()
    assert store.list_access_events(limit=10) == []
    assert store.record_access_events([sample_event()])[0].sequence >= 1


def test_recorded_event_reads_back_exactly_with_aware_utc_time(store: Store) -> None:
    at = datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=IST)
    # Non-ASCII text and unusual spacing: the reasons are kept byte for byte.
    reasons = '[ {"text":"भारत उज़्बेकिस्तान समझौता, अनुच्छेद 5","cite":"agreements.in-uz-2018"} ]'
    new = sample_event(at=at, reasons=reasons, disclosed="vessel,route", withheld="")

    (stored,) = store.record_access_events([new])
    (listed,) = store.list_access_events(limit=10)

    assert listed == stored
    assert _new(listed) == new
    assert listed.sequence >= 1
    assert listed.at == at
    assert listed.at.utcoffset() == timedelta(0)
    assert listed.at.isoformat() == "2024-02-29T18:29:59.999999+00:00"
    assert listed.reasons == reasons
    assert listed.allowed is True
    assert (listed.disclosed, listed.withheld) == ("vessel,route", "")


def test_a_denial_of_an_id_never_stored_is_recorded(store: Store) -> None:
    unknown = str(uuid.uuid4())
    not_a_uuid = "x" * 36

    stored = store.record_access_events([denial(record_id=unknown), denial(record_id=not_a_uuid)])

    assert store.get_record(unknown) is None
    assert [(e.record_id, e.allowed, e.view) for e in stored] == [
        (unknown, False, "none"),
        (not_a_uuid, False, "none"),
    ]
    assert store.list_access_events(limit=10) == stored


def test_sequences_increase_in_item_order_and_across_calls(store: Store) -> None:
    first = store.record_access_events([sample_event() for _ in range(3)])
    second = store.record_access_events([sample_event() for _ in range(2)])

    sequences = _sequences(first + second)
    assert sequences == sorted(sequences)
    assert len(set(sequences)) == 5
    assert store.list_access_events(limit=10) == first + second


def test_a_batch_of_100_events_is_recorded_in_one_transaction(store: Store) -> None:
    # A List call decides on many records at once and records them together.
    events = [sample_event(action="list", record_id=str(uuid.uuid4())) for _ in range(100)]
    commits = 0

    def count_commit(_connection: Connection) -> None:
        nonlocal commits
        commits += 1

    event.listen(store.engine, "commit", count_commit)
    try:
        stored = store.record_access_events(events)
    finally:
        event.remove(store.engine, "commit", count_commit)

    assert commits == 1
    assert [_new(e) for e in stored] == events
    assert _sequences(stored) == sorted(set(_sequences(stored)))
    assert store.list_access_events(limit=1000) == stored


def test_a_failing_batch_records_nothing(store: Store) -> None:
    store.record_access_events([sample_event()])
    good = [sample_event() for _ in range(99)]
    # NOT NULL violation in the last event: raised by the database mid-transaction.
    bad = sample_event(reader_client=None)

    with pytest.raises(ConstraintViolationError, match="nothing was stored"):
        store.record_access_events([*good, bad])

    assert len(store.list_access_events(limit=1000)) == 1


def test_recording_nothing_is_a_no_op(store: Store) -> None:
    assert store.record_access_events([]) == []
    assert store.list_access_events(limit=10) == []


def test_list_filters_by_record_id(store: Store) -> None:
    record_id = str(uuid.uuid4())
    read, refused, other = store.record_access_events(
        [sample_event(record_id=record_id), denial(record_id=record_id), sample_event()]
    )

    assert store.list_access_events(record_id=record_id, limit=10) == [read, refused]
    assert store.list_access_events(record_id=other.record_id, limit=10) == [other]
    assert store.list_access_events(record_id=str(uuid.uuid4()), limit=10) == []


def test_list_filters_by_reader_participant_and_by_participant_agency(store: Store) -> None:
    kz_mvd, kz_kns, uz_ncdc, tm_mvd = store.record_access_events(
        [
            sample_event(reader_participant="KZ", reader_agency="MVD"),
            sample_event(reader_participant="KZ", reader_agency="KNS"),
            sample_event(reader_participant="UZ", reader_agency="NCDC"),
            denial(reader_participant="TM", reader_agency="MVD"),
        ]
    )

    def listed(reader: str) -> list[StoredAccessEvent]:
        return store.list_access_events(reader=reader, limit=10)

    assert listed("KZ") == [kz_mvd, kz_kns]
    assert listed("KZ/MVD") == [kz_mvd]
    assert listed("MVD") == []
    assert listed("TM/MVD") == [tm_mvd]
    assert listed("UZ") == [uz_ncdc]
    assert listed("IN") == []


@pytest.mark.parametrize("reader", ["", "/MVD", "KZ/", "KZ/MVD/x"])
def test_list_refuses_a_malformed_reader(store: Store, reader: str) -> None:
    with pytest.raises(ValueError, match=r"participant/agency, e\.g\. 'KZ' or 'KZ/MVD'"):
        store.list_access_events(reader=reader, limit=10)


def test_list_since_keeps_events_at_or_after(store: Store) -> None:
    early, on_time, late = store.record_access_events(
        [
            sample_event(at=AT - timedelta(seconds=1)),
            sample_event(at=AT),
            sample_event(at=AT + timedelta(microseconds=1)),
        ]
    )

    listed = store.list_access_events(since=AT, limit=10)

    assert listed == [on_time, late]
    # The same instant written in India Standard Time.
    assert store.list_access_events(since=AT.astimezone(IST), limit=10) == listed
    assert early not in listed


def test_list_orders_by_sequence_not_by_time(store: Store) -> None:
    # Replicas' clocks differ: the log's order is the order events were recorded.
    later, earlier = store.record_access_events(
        [sample_event(at=AT + timedelta(hours=1)), sample_event(at=AT)]
    )
    assert store.list_access_events(limit=10) == [later, earlier]


def test_list_pages_with_after_sequence_and_limit(store: Store) -> None:
    stored = store.record_access_events([sample_event() for _ in range(7)])

    pages: list[list[int]] = []
    after = 0
    while page := store.list_access_events(after_sequence=after, limit=3):
        pages.append(_sequences(page))
        after = page[-1].sequence

    all_sequences = _sequences(stored)
    assert pages == [all_sequences[0:3], all_sequences[3:6], all_sequences[6:7]]


def test_list_combines_filters_with_and(store: Store) -> None:
    record_id = str(uuid.uuid4())
    events = store.record_access_events(
        [
            sample_event(record_id=record_id, at=AT),
            sample_event(record_id=record_id, at=AT + timedelta(minutes=1)),
            sample_event(record_id=record_id, reader_agency="KNS", at=AT + timedelta(minutes=2)),
            sample_event(at=AT + timedelta(minutes=3)),
            denial(record_id=record_id, at=AT + timedelta(minutes=4)),
            sample_event(record_id=record_id, at=AT + timedelta(minutes=5)),
        ]
    )

    listed = store.list_access_events(
        record_id=record_id,
        reader="KZ/MVD",
        since=AT + timedelta(seconds=30),
        after_sequence=events[0].sequence,
        limit=1,
    )

    assert listed == [events[1]]
    assert store.list_access_events(
        record_id=record_id, reader="KZ/MVD", after_sequence=events[1].sequence, limit=10
    ) == [events[5]]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"limit": 0}, "limit must be at least 1"),
        ({"limit": 10, "after_sequence": -1}, "after_sequence must be 0"),
        ({"limit": 10, "since": datetime(2025, 1, 1)}, "timezone-aware"),
    ],
)
def test_list_refuses_nonsense_arguments(
    store: Store, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        store.list_access_events(**arguments)


def test_concurrent_writers_on_separate_stores_never_share_a_sequence(store_url: str) -> None:
    # Two Store objects on one database stand in for two replicas.
    writers, batches, batch_size = 2, 10, 5
    stores = [Store.open(store_url) for _ in range(writers)]
    stores[0].migrate()
    errors: list[BaseException] = []
    recorded: list[list[StoredAccessEvent]] = [[] for _ in range(writers)]
    start = threading.Barrier(writers)

    def write(replica: int) -> None:
        try:
            start.wait()
            for _ in range(batches):
                batch = [
                    sample_event(reader_client=f"replica-{replica}") for _ in range(batch_size)
                ]
                recorded[replica] += stores[replica].record_access_events(batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        listed = stores[0].list_access_events(limit=1000)
        assert sorted(_sequences(listed)) == sorted(e.sequence for batch in recorded for e in batch)
        assert len(set(_sequences(listed))) == writers * batches * batch_size
    finally:
        for s in stores:
            s.close()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"at": datetime(2025, 3, 1, 9, 0)}, "at must be timezone-aware"),
        ({"reader_participant": ""}, "reader_participant must be non-empty"),
        ({"reader_agency": "MVD/x"}, "reader_agency must be non-empty and without '/'"),
        ({"record_id": ""}, "record_id must be 1 to 36 characters"),
        ({"record_id": "x" * 37}, "record_id must be 1 to 36 characters"),
        ({"action": "read"}, "action must be one of get, list, deliver, export, indicators"),
        ({"view": "partial"}, "view must be one of full, metadata, none"),
        ({"allowed": False}, "view 'full' must have allowed=True"),
        ({"view": "none", "disclosed": ""}, "view 'none' must have allowed=False"),
        ({"view": "metadata"}, "view 'metadata' discloses no field class"),
        ({"withheld": "personal_data,vessel"}, r"\['vessel'\] are both disclosed and withheld"),
        ({"disclosed": "vessel,"}, "disclosed must be field-class names joined by commas"),
        ({"withheld": "vessel, route"}, "withheld must be field-class names joined by commas"),
        ({"disclosed": "vessel,vessel"}, "disclosed names a field class more than once"),
        ({"reasons": "not json"}, "reasons must be a JSON array"),
        ({"reasons": "[]"}, "non-empty JSON array"),
        ({"reasons": '{"cite": "a", "text": "b"}'}, "non-empty JSON array"),
        ({"reasons": '[{"cite": "a"}]'}, r"reasons\[0\] must be an object with exactly"),
        ({"reasons": '[{"cite": "a", "text": "b", "x": 1}]'}, "exactly the string members"),
        ({"reasons": '[{"cite": "a", "text": 5}]'}, "exactly the string members"),
        ({"reasons": '[{"cite": "a", "cite": "b", "text": "c"}]'}, "duplicate key"),
        ({"rules_sha256": RULES_SHA256.upper()}, "rules_sha256 must be 64 lower-case hex"),
        ({"rules_sha256": RULES_SHA256[:63]}, "rules_sha256 must be 64 lower-case hex"),
    ],
)
def test_an_event_that_contradicts_itself_or_the_columns_is_refused(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        sample_event(**changes)


def test_allowed_metadata_view_withholds_without_disclosing() -> None:
    auditor = sample_event(
        reader_participant="UNODC",
        reader_agency="AUDIT",
        view="metadata",
        disclosed="",
        withheld="personal_data,vessel",
    )
    assert (auditor.allowed, auditor.view) == (True, "metadata")


def test_a_new_rules_version_is_recorded_once_and_then_left_untouched(store: Store) -> None:
    first_load = datetime(2025, 3, 1, 14, 30, tzinfo=IST)

    assert store.record_rules_version(RULES_SHA256, "deploy/rules/network.toml", first_load)
    assert not store.record_rules_version(
        RULES_SHA256, "/etc/silkline/rules.toml", first_load + timedelta(hours=2)
    )
    assert not store.record_rules_version(
        RULES_SHA256, "Admin.ReloadRules", first_load - timedelta(days=1)
    )

    (version,) = store.list_rules_versions()
    assert version == StoredRulesVersion(RULES_SHA256, first_load, "deploy/rules/network.toml")
    assert version.first_loaded_at.utcoffset() == timedelta(0)


def test_rules_versions_are_listed_by_first_load_time(store: Store) -> None:
    store.record_rules_version(OTHER_RULES_SHA256, "reload", AT + timedelta(days=7))
    store.record_rules_version(RULES_SHA256, "start-up", AT)

    assert store.list_rules_versions() == [
        StoredRulesVersion(RULES_SHA256, AT, "start-up"),
        StoredRulesVersion(OTHER_RULES_SHA256, AT + timedelta(days=7), "reload"),
    ]


def test_replicas_loading_the_same_rules_at_once_record_them_once(store_url: str) -> None:
    replicas = 4
    stores = [Store.open(store_url) for _ in range(replicas)]
    stores[0].migrate()
    results: list[bool] = []
    errors: list[BaseException] = []
    start = threading.Barrier(replicas)

    def load(replica: int) -> None:
        try:
            start.wait()
            loaded_at = AT + timedelta(seconds=replica)
            results.append(
                stores[replica].record_rules_version(RULES_SHA256, f"replica-{replica}", loaded_at)
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(i,)) for i in range(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert sorted(results) == [False] * (replicas - 1) + [True]
        assert len(stores[0].list_rules_versions()) == 1
    finally:
        for s in stores:
            s.close()


@pytest.mark.parametrize(
    ("sha256", "source", "loaded_at", "message"),
    [
        (RULES_SHA256[:10], "file", AT, "sha256 must be 64 lower-case hex"),
        (RULES_SHA256, "", AT, "source must name where the rules came from"),
        (RULES_SHA256, "file", datetime(2025, 3, 1), "loaded_at must be timezone-aware"),
    ],
)
def test_a_malformed_rules_version_is_refused_and_nothing_is_recorded(
    store: Store, sha256: str, source: str, loaded_at: datetime, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        store.record_rules_version(sha256, source, loaded_at)
    assert store.list_rules_versions() == []
