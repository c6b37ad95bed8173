"""Store: the tamper-evident log (leaves, subtree hashes, checkpoints, cosignatures)."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, func, insert, select, text, update

from silkline.formats.log_entry import (
    AccessEntry,
    RecordEntry,
    RulesEntry,
    parse_entry,
)
from silkline.formats.merkle import (
    MemoryTree,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from silkline_server.store import (
    ConstraintViolationError,
    LogIntegrityError,
    NewCosignature,
    Store,
    StoredCosignature,
)
from silkline_server.store.merkle_log import LogWriter
from silkline_server.store.repository import MIGRATIONS
from silkline_server.store.tables import (
    access_events_table,
    log_leaves_table,
    log_nodes_table,
    records_table,
    rules_versions_table,
)

from .sample_records import sample_record
from .test_access_log import RULES_SHA256, sample_event

ACCEPTED = datetime(2025, 3, 1, 8, 45, tzinfo=UTC)


def memory_tree(store: Store) -> MemoryTree:
    """The tree of the store's leaves, rebuilt in memory from the leaf bytes alone."""
    return MemoryTree([leaf_hash(e.leaf) for e in store.entries(0, store.tree_size())])


def append_records(store: Store, count: int, batch_sizes: list[int]) -> None:
    """`count` records, appended in batches of the given sizes (cycled)."""
    appended = 0
    position = 0
    while appended < count:
        size = min(batch_sizes[position % len(batch_sizes)], count - appended)
        store.append_records([sample_record() for _ in range(size)], ACCEPTED)
        appended += size
        position += 1


def test_each_record_is_a_leaf_whose_index_is_its_log_index(store: Store) -> None:
    items = [sample_record() for _ in range(3)]
    store.append_records(items, ACCEPTED)

    leaves = list(store.entries(0, 10))
    assert [leaf.index for leaf in leaves] == [0, 1, 2]
    for item, leaf in zip(items, leaves, strict=True):
        entry = parse_entry(leaf.leaf)
        assert isinstance(entry, RecordEntry)
        assert (entry.index, entry.record_id) == (leaf.index, item.record_id)
        assert entry.envelope == item.envelope
        assert entry.signer_certificate == item.signer_certificate
        assert entry.accepted_at == ACCEPTED
        stored = store.get_record(item.record_id)
        assert stored is not None and stored.log_index == leaf.index


def test_each_leaf_names_the_hash_of_the_one_before_it(store: Store) -> None:
    append_records(store, 5, [2, 1, 2])
    leaves = [e.leaf for e in store.entries(0, 5)]

    entries = [parse_entry(leaf) for leaf in leaves]
    assert entries[0].previous is None
    assert [e.previous for e in entries[1:]] == [leaf_hash(leaf) for leaf in leaves[:-1]]


def test_records_access_events_and_rules_versions_share_one_log(store: Store) -> None:
    first = [sample_record(), sample_record()]
    store.append_records(first, ACCEPTED)
    assert store.record_rules_version(RULES_SHA256, "deploy/rules/network.toml", ACCEPTED)
    events = store.record_access_events([sample_event(), sample_event(allowed=True)])
    (later,) = store.append_records([sample_record()], ACCEPTED)

    kinds = [type(parse_entry(e.leaf)).__name__ for e in store.entries(0, 10)]
    assert kinds == [
        "RecordEntry",
        "RecordEntry",
        "RulesEntry",
        "AccessEntry",
        "AccessEntry",
        "RecordEntry",
    ]
    assert [e.log_index for e in events] == [3, 4]
    assert later.record.log_index == 5  # type: ignore[union-attr]
    assert store.tree_size() == 6


def test_an_access_entry_holds_the_event_as_recorded(store: Store) -> None:
    (event,) = store.record_access_events([sample_event()])

    (leaf,) = store.entries(0, 1)
    entry = parse_entry(leaf.leaf)
    assert isinstance(entry, AccessEntry)
    assert (entry.index, entry.sequence, entry.record_id) == (
        event.log_index,
        event.sequence,
        event.record_id,
    )
    assert (entry.reader_participant, entry.reader_agency, entry.reader_client) == (
        "KZ",
        "MVD",
        "analyst-07",
    )
    assert entry.at == event.at
    assert (entry.allowed, entry.view) == (True, "full")
    assert [r.cite for r in entry.reasons] == [
        "agreements.multilateral-2019",
        "agreements.multilateral-2019.classes",
    ]
    assert (entry.disclosed, entry.withheld) == (("vessel",), ("personal_data",))
    assert entry.rules_sha256 == RULES_SHA256


def test_a_rules_version_already_recorded_adds_no_leaf(store: Store) -> None:
    assert store.record_rules_version(RULES_SHA256, "start-up", ACCEPTED)
    assert not store.record_rules_version(RULES_SHA256, "reload", ACCEPTED + timedelta(hours=1))

    (leaf,) = store.entries(0, 10)
    entry = parse_entry(leaf.leaf)
    assert isinstance(entry, RulesEntry)
    assert (entry.sha256, entry.source, entry.loaded_at) == (RULES_SHA256, "start-up", ACCEPTED)


def test_retries_and_conflicts_add_no_leaf(store: Store) -> None:
    item = sample_record()
    store.append_records([item], ACCEPTED)
    forged = sample_record(record_id=item.record_id, envelope=b"other bytes")

    store.append_records([item, forged], ACCEPTED)

    assert store.tree_size() == 1


def test_a_failing_append_adds_no_leaf_and_consumes_no_index(store: Store) -> None:
    store.append_records([sample_record()], ACCEPTED)
    bad = sample_event(reader_client=None)

    with pytest.raises(ConstraintViolationError):
        store.record_access_events([sample_event(), bad])

    assert store.tree_size() == 1
    (event,) = store.record_access_events([sample_event()])
    assert event.log_index == 1


def test_stored_nodes_are_every_complete_subtree_after_appends_of_any_batch_size(
    store: Store,
) -> None:
    append_records(store, 37, [1, 3, 8, 2, 5])

    tree = memory_tree(store)
    with store.engine.connect() as connection:
        rows = connection.execute(select(log_nodes_table)).all()
    stored = {(row.level, row.node_index): bytes(row.hash) for row in rows}
    expected = {
        (level, index): tree.subtree_hash(level, index)
        for level in range(1, tree.size.bit_length())
        for index in range(tree.size >> level)
    }
    assert stored == expected


def test_leaf_hashes_are_stored_as_computed_from_the_leaf_bytes(store: Store) -> None:
    append_records(store, 4, [4])
    with store.engine.connect() as connection:
        rows = connection.execute(select(log_leaves_table)).all()
    assert all(bytes(row.leaf_hash) == leaf_hash(bytes(row.leaf)) for row in rows)


def test_roots_and_proofs_from_stored_nodes_equal_the_memory_trees(store: Store) -> None:
    append_records(store, 21, [7, 1, 13])
    tree = memory_tree(store)

    for size in range(0, 22):
        assert store.root_at(size) == tree.root(size)
    for size in range(1, 22):
        for index in range(size):
            assert store.inclusion_proof(index, size) == tree.inclusion_proof(index, size)
        for first in range(1, size + 1):
            assert store.consistency_proof(first, size) == tree.consistency_proof(first, size)


def test_a_proof_reads_its_hashes_in_one_query_per_table(store: Store) -> None:
    append_records(store, 100, [100])
    queries: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "log_nodes" in statement or "log_leaves" in statement:
            queries.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        store.inclusion_proof(37, 99)
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    # The tree size, then the leaf hashes and the node hashes the proof needs.
    assert len(queries) == 3


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.inclusion_proof(3, 3), "entry 3 is not in a tree of 3 entries"),
        (lambda s: s.inclusion_proof(0, 9), r"tree size 9 is not in 0..4"),
        (lambda s: s.consistency_proof(0, 2), "need 0 < size1 <= size2"),
        (lambda s: s.consistency_proof(3, 2), "need 0 < size1 <= size2"),
        (lambda s: s.consistency_proof(1, 5), r"tree size 5 is not in 0..4"),
        (lambda s: s.root_at(5), r"tree size 5 is not in 0..4"),
    ],
)
def test_proofs_outside_the_tree_are_refused(store: Store, call: Any, message: str) -> None:
    append_records(store, 4, [4])
    with pytest.raises(ValueError, match=message):
        call(store)


def test_entries_are_read_by_range_across_pages(store: Store) -> None:
    append_records(store, 600, [600])

    assert [e.index for e in store.entries(510, 520)] == list(range(510, 520))
    assert [e.index for e in store.entries(0, 600)] == list(range(600))
    assert [e.index for e in store.entries(590, 700)] == list(range(590, 600))
    assert list(store.entries(5, 5)) == []


def test_a_missing_node_is_an_integrity_error_for_proofs_and_appends(store: Store) -> None:
    append_records(store, 8, [8])
    with store.engine.begin() as connection:
        connection.execute(
            delete(log_nodes_table).where(
                log_nodes_table.c.level == 3, log_nodes_table.c.node_index == 0
            )
        )

    with pytest.raises(LogIntegrityError, match="incomplete"):
        store.root_at(8)
    with pytest.raises(LogIntegrityError, match="altered outside the store"):
        store.append_records([sample_record()], ACCEPTED)
    assert store.tree_size() == 8


def test_listeners_hear_of_each_committed_append_and_can_be_removed(store: Store) -> None:
    heard: list[int] = []
    remove = store.add_append_listener(heard.append)

    store.append_records([sample_record(), sample_record()], ACCEPTED)
    store.record_access_events([sample_event()])
    store.record_rules_version(RULES_SHA256, "start-up", ACCEPTED)
    store.record_rules_version(RULES_SHA256, "again", ACCEPTED)  # nothing appended
    remove()
    store.append_records([sample_record()], ACCEPTED)

    assert heard == [2, 3, 4]


def test_a_failing_listener_does_not_fail_the_committed_append(store: Store) -> None:
    def broken(_size: int) -> None:
        raise RuntimeError("listener bug")

    store.add_append_listener(broken)
    item = sample_record()
    store.append_records([item], ACCEPTED)
    assert store.get_record(item.record_id) is not None


# ------------------------------------------------------------------ checkpoints


def test_a_checkpoint_is_kept_once_per_tree_size(store: Store) -> None:
    assert store.add_checkpoint(1, b"note one\n", ACCEPTED)
    assert not store.add_checkpoint(1, b"another note\n", ACCEPTED)
    assert store.add_checkpoint(3, b"note three\n", ACCEPTED + timedelta(seconds=1))

    latest = store.latest_checkpoint()
    assert latest is not None
    assert (latest.tree_size, latest.note, latest.created_at) == (
        3,
        b"note three\n",
        ACCEPTED + timedelta(seconds=1),
    )
    kept = store.checkpoint(1)
    assert kept is not None and kept.note == b"note one\n"
    assert store.checkpoint(2) is None


def test_no_checkpoint_before_the_first(store: Store) -> None:
    assert store.latest_checkpoint() is None


def test_cosignatures_are_kept_once_per_cosigner_and_served_with_their_checkpoint(
    store: Store,
) -> None:
    store.add_checkpoint(5, b"note\n", ACCEPTED)
    uz = NewCosignature("witness.uz", 0x01020304, "\u2014 witness.uz AAAA\n", 1_700_000_000)
    kz = NewCosignature("witness.kz", 0x0A0B0C0D, "\u2014 witness.kz BBBB\n", 1_700_000_001)

    assert store.add_cosignatures(5, [uz]) == 1
    again = NewCosignature("witness.uz", 0x01020304, "\u2014 witness.uz CCCC\n", 1_700_000_009)
    assert store.add_cosignatures(5, [again, kz]) == 1

    kept = store.checkpoint(5)
    assert kept is not None
    assert kept.cosignatures == (
        StoredCosignature("witness.kz", 0x0A0B0C0D, "\u2014 witness.kz BBBB\n", 1_700_000_001),
        StoredCosignature("witness.uz", 0x01020304, "\u2014 witness.uz AAAA\n", 1_700_000_000),
    )


def test_a_cosignature_of_a_checkpoint_never_kept_is_refused(store: Store) -> None:
    cosignature = NewCosignature("witness.uz", 1, "\u2014 witness.uz AAAA\n", 1)
    with pytest.raises(ConstraintViolationError):
        store.add_cosignatures(9, [cosignature])


# ------------------------------------------------------------------ properties


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_stored_node_proofs_verify_and_equal_memory_tree_proofs(
    filled_store: tuple[Store, MemoryTree], data: st.DataObject
) -> None:
    store, tree = filled_store
    size = data.draw(st.integers(1, tree.size), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    first = data.draw(st.integers(1, size), label="first")

    path = store.inclusion_proof(index, size)
    assert path == tree.inclusion_proof(index, size)
    verify_inclusion(tree.subtree_hash(0, index), index, size, path, store.root_at(size))

    proof = store.consistency_proof(first, size)
    assert proof == tree.consistency_proof(first, size)
    verify_consistency(first, size, proof, store.root_at(first), store.root_at(size))


@pytest.fixture
def filled_store(store: Store) -> tuple[Store, MemoryTree]:
    """A log of 200 records appended in batches of random sizes (seeded)."""
    chooser = random.Random(6962)
    append_records(store, 200, [chooser.randint(1, 17) for _ in range(40)])
    return store, memory_tree(store)


# ------------------------------------------------------------------ migration


def _migrate(store: Store, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_migration_brings_an_existing_database_into_the_log_keeping_record_indices(
    store_url: str,
) -> None:
    with Store.open(store_url) as store:
        _migrate(store, "0002")
        records = [sample_record() for _ in range(3)]
        with store.engine.begin() as connection:
            connection.execute(
                insert(records_table),
                [
                    {
                        "log_index": position,
                        "record_id": r.record_id,
                        "record_type": r.record_type,
                        "originator_participant": r.originator_participant,
                        "originator_agency": r.originator_agency,
                        "created_at": r.created_at,
                        "accepted_at": ACCEPTED,
                        "envelope": r.envelope,
                        "envelope_sha256": r.envelope_sha256,
                        "signer_certificate": r.signer_certificate,
                        "tlp": r.tlp,
                        "handling": r.handling,
                    }
                    for position, r in enumerate(records)
                ],
            )
            connection.execute(
                text(
                    "INSERT INTO rules_versions (sha256, first_loaded_at, source) "
                    "VALUES (:sha, :at, 'start-up')"
                ),
                {"sha": RULES_SHA256, "at": ACCEPTED.replace(tzinfo=None)},
            )
            reasons = sample_event().reasons
            for _ in range(2):
                connection.execute(
                    text(
                        "INSERT INTO access_events (at, reader_participant, reader_agency, "
                        "reader_client, record_id, action, allowed, view, reasons, disclosed, "
                        "withheld, rules_sha256) VALUES (:at, 'KZ', 'MVD', 'analyst-07', :rid, "
                        "'get', :allowed, 'full', :reasons, 'vessel', 'personal_data', :rules)"
                    ),
                    {
                        "at": ACCEPTED.replace(tzinfo=None),
                        "rid": str(uuid.uuid4()),
                        "allowed": True,
                        "reasons": reasons,
                        "rules": RULES_SHA256,
                    },
                )

        store.migrate()

        kinds = [type(parse_entry(e.leaf)).__name__ for e in store.entries(0, 10)]
        assert kinds == ["RecordEntry"] * 3 + ["RulesEntry"] + ["AccessEntry"] * 2
        for position, r in enumerate(records):
            entry = parse_entry(next(iter(store.entries(position, position + 1))).leaf)
            assert isinstance(entry, RecordEntry) and entry.record_id == r.record_id
        assert [e.log_index for e in store.list_access_events(limit=10)] == [4, 5]
        with store.engine.connect() as connection:
            rules_index = connection.execute(select(rules_versions_table.c.log_index)).scalar()
            nodes = connection.execute(select(func.count()).select_from(log_nodes_table))
            assert (rules_index, nodes.scalar()) == (3, 3 + 1)
        tree = memory_tree(store)
        assert store.root_at(6) == tree.root()
        # The log goes on from there.
        (appended,) = store.append_records([sample_record()], ACCEPTED)
        assert appended.record.log_index == 6  # type: ignore[union-attr]
        assert store.root_at(7) == memory_tree(store).root()


def test_migration_refuses_records_whose_indices_have_gaps(store_url: str) -> None:
    with Store.open(store_url) as store:
        _migrate(store, "0001")
        item = sample_record()
        with store.engine.begin() as connection:
            connection.execute(
                insert(records_table),
                {
                    "log_index": 4,
                    "record_id": item.record_id,
                    "record_type": item.record_type,
                    "originator_participant": item.originator_participant,
                    "originator_agency": item.originator_agency,
                    "created_at": item.created_at,
                    "accepted_at": ACCEPTED,
                    "envelope": item.envelope,
                    "envelope_sha256": hashlib.sha256(item.envelope).hexdigest(),
                    "signer_certificate": item.signer_certificate,
                    "tlp": item.tlp,
                    "handling": item.handling,
                },
            )
        with pytest.raises(Exception, match="not contiguous from 0"):
            store.migrate()


def test_access_events_keep_their_leaf_index_column_unique(store: Store) -> None:
    first, second = store.record_access_events([sample_event(), sample_event()])
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), store.engine.begin() as c:
        c.execute(
            update(access_events_table)
            .where(access_events_table.c.sequence == second.sequence)
            .values(log_index=first.log_index)
        )


# ------------------------------------------------------------------ public vectors

RFC6962_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                  "606162636465666768696a6b6c6d6e6f"]  # fmt: skip
MERKLE_VECTORS = (
    Path(__file__).resolve().parents[3] / "shared" / "testvectors" / ("transparency-dev-merkle")
)


def _happy_vectors(kind: str) -> list[dict[str, Any]]:
    """The valid proofs of the numbered folders, which are over the RFC 6962 test tree (the
    `single-entry` and `additional` folders use other trees)."""
    if not MERKLE_VECTORS.exists():
        pytest.skip(f"public test vectors not found at {MERKLE_VECTORS}")
    vectors = [
        json.loads(path.read_text())
        for folder in (MERKLE_VECTORS / kind).iterdir()
        if folder.name.isdigit()
        for path in folder.glob("*.json")
    ]
    return [v for v in vectors if not v["wantErr"]]


def test_stored_proofs_equal_the_transparency_dev_vectors_over_the_rfc6962_tree(
    store: Store,
) -> None:
    """The store holds the RFC 6962 test tree's exact leaves; its proofs are the public ones."""
    with store.engine.begin() as connection:
        writer = LogWriter(connection)
        for data in RFC6962_LEAVES:
            writer.append(lambda _index, _previous, data=data: bytes.fromhex(data))
        writer.flush()

    inclusion = _happy_vectors("inclusion")
    consistency = _happy_vectors("consistency")
    assert inclusion and consistency
    for vector in inclusion:
        size = vector["treeSize"]
        proof = store.inclusion_proof(vector["leafIdx"], size)
        assert [base64.b64encode(h).decode() for h in proof] == (vector["proof"] or [])
        assert base64.b64encode(store.root_at(size)).decode() == vector["root"]
    for vector in consistency:
        size1, size2 = vector["size1"], vector["size2"]
        proof = store.consistency_proof(size1, size2)
        assert [base64.b64encode(h).decode() for h in proof] == (vector["proof"] or [])
        assert base64.b64encode(store.root_at(size2)).decode() == vector["root2"]
