"""`Store`: the repository over the records, their disclosures, the access log, and the
tamper-evident log of all three (leaves, subtree hashes, checkpoints, cosignatures).

Synchronous on purpose: callers on the event loop go through `GroupCommitter`
or `asyncio.to_thread`, so no query ever blocks the loop.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Self, TypeVar

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, RowMapping

from silkline.formats.log_entry import (
    Reason,
    encode_access_entry,
    encode_record_entry,
    encode_rules_entry,
)
from silkline.formats.merkle import (
    MerkleError,
    SubtreeHashes,
    consistency_proof,
    inclusion_proof,
    root_at,
)
from silkline_server.store.access_log import (
    NewAccessEvent,
    StoredAccessEvent,
    StoredRulesVersion,
    require_sha256_hex,
)
from silkline_server.store.engine import (
    WRITE_TRANSACTION,
    create_store_engine,
    parse_database_url,
)
from silkline_server.store.errors import (
    ConstraintViolationError,
    LogIntegrityError,
    MigrationError,
    StoreError,
    StoreUnavailableError,
)
from silkline_server.store.log_values import (
    NewCosignature,
    StoredCheckpoint,
    StoredCosignature,
    StoredLeaf,
)
from silkline_server.store.merkle_log import LogWriter, tree_size, with_stored_hashes
from silkline_server.store.notifications import notify_records_appended
from silkline_server.store.outcomes import AlreadyPresent, Appended, AppendOutcome, Conflict
from silkline_server.store.records import (
    HeldDisclosure,
    NewRecord,
    StoredDisclosure,
    StoredRecord,
    require_aware_utc,
)
from silkline_server.store.tables import (
    access_events_table,
    checkpoints_table,
    cosignatures_table,
    disclosures_table,
    log_leaves_table,
    records_table,
    rules_versions_table,
)

_log = logging.getLogger(__name__)

T = TypeVar("T")

MIGRATIONS: Final = "silkline_server.store:migrations"
"""Alembic script location as a package resource, so it works from an installed wheel."""

# pg_advisory_xact_lock keys; the values are "silkline" and "silkmigr" in ASCII.
# Every write that appends to the log (records, access events, rules versions)
# takes APPEND_LOCK_KEY first, which serialises appends across all replicas
# sharing the database: each reads the tree size and the subtree hashes it
# builds on only after the previous writer committed, so leaf indices stay
# contiguous and never collide. It also makes commit order equal the order of
# access-event sequence numbers (PostgreSQL draws them at insert, not at
# commit), so a reader paging by `after_sequence` never skips a later commit.
# On SQLite, BEGIN IMMEDIATE gives the same serialisation.
APPEND_LOCK_KEY: Final = 0x73696C6B6C696E65
MIGRATION_LOCK_KEY: Final = 0x73696C6B6D696772

# Bound on bind parameters per IN (...) so a large batch stays under driver limits.
_IN_CHUNK: Final = 500

_RECORD_COLUMNS: Final = (
    records_table.c.log_index,
    records_table.c.record_id,
    records_table.c.record_type,
    records_table.c.originator_participant,
    records_table.c.originator_agency,
    records_table.c.created_at,
    records_table.c.accepted_at,
    records_table.c.envelope,
    records_table.c.envelope_sha256,
    records_table.c.signer_certificate,
    records_table.c.tlp,
    records_table.c.handling,
)

_DISCLOSURE_COLUMNS: Final = (
    disclosures_table.c.record_id,
    disclosures_table.c.field_class,
    disclosures_table.c.disclosure,
    disclosures_table.c.erased_at,
)

_ACCESS_EVENT_COLUMNS: Final = tuple(access_events_table.c)

# Leaves per read of `entries`: a page is one short read transaction.
_ENTRIES_PAGE: Final = 512

AppendListener = Callable[[int], None]
"""Called with the new tree size after a transaction that appended to the log committed."""


class Store:
    """The log of accepted records and their disclosures, and the access log, in SQLite
    or PostgreSQL.

    Thread-safe: each call takes its own pooled connection and transaction.
    """

    def __init__(self, engine: Engine) -> None:
        """Wrap an engine made by `create_store_engine`; most callers want `Store.open`."""
        self._engine = engine
        self._display_url = engine.url.render_as_string(hide_password=True)
        self._listeners: list[AppendListener] = []
        self._listeners_lock = threading.Lock()

    @classmethod
    def open(cls, url: str | URL) -> Store:
        """Open the store at `url`: `sqlite:///PATH` or `postgresql+psycopg://...`.

        Does not connect yet; call `migrate()` (or `ping()`) to find out whether
        the database is reachable.
        """
        return cls(create_store_engine(parse_database_url(url)))

    @property
    def engine(self) -> Engine:
        """The underlying engine, for diagnostics and schema tests; not for queries."""
        return self._engine

    @property
    def backend(self) -> str:
        """`"sqlite"` or `"postgresql"`."""
        return self._engine.dialect.name

    def close(self) -> None:
        """Close every pooled connection. The store must not be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (`upgrade head`).

        Safe to call from several replicas at start-up: the upgrade runs in one
        transaction under a lock, and a replica that waited finds nothing to do.
        """
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        try:
            with self._write_transaction(lock_key=MIGRATION_LOCK_KEY) as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except sa_exc.SQLAlchemyError as exc:
            raise self._translate(exc, "migrate the schema") from exc
        except CommandError as exc:
            raise MigrationError(
                f"cannot migrate the schema of {self._display_url}: {exc}"
            ) from exc

    def ping(self) -> bool:
        """Whether the database answers a trivial query: a cheap health probe that never raises."""
        try:
            with self._engine.connect() as connection:
                connection.execute(select(1)).scalar_one()
        except sa_exc.SQLAlchemyError:
            return False
        return True

    def append_records(
        self, items: Sequence[NewRecord], accepted_at: datetime
    ) -> list[AppendOutcome]:
        """Append `items` in one transaction and return one outcome per item, in order.

        New records get contiguous log indices in item order, after every entry
        already committed: each becomes a leaf of the log in this same
        transaction, and its log index is the leaf's index. A record_id already
        stored (or earlier in `items`) with the same envelope hash is
        `AlreadyPresent` (the original comes back); with a different hash it is
        a `Conflict` and nothing is stored for it.
        If the transaction fails, nothing from `items` is stored and the error is
        raised: `ConstraintViolationError`, `StoreUnavailableError` or `StoreError`.
        """
        accepted_at = require_aware_utc(accepted_at, "accepted_at")
        if not items:
            return []
        try:
            with self._write_transaction(lock_key=APPEND_LOCK_KEY) as connection:
                writer = _log_writer(connection)
                outcomes = _append_locked(connection, writer, items, accepted_at)
                size = writer.flush()
                if any(isinstance(outcome, Appended) for outcome in outcomes):
                    # Other replicas' subscribers: delivered only if this commits.
                    notify_records_appended(connection, size - 1)
        except sa_exc.SQLAlchemyError as exc:
            raise self._translate(exc, f"append {len(items)} record(s)") from exc
        if any(isinstance(outcome, Appended) for outcome in outcomes):
            self._appended(size)
        return outcomes

    def get_record(self, record_id: str) -> StoredRecord | None:
        """The record stored under `record_id`, or None."""
        with self._read_transaction("read a record") as connection:
            found = _records_by_id(connection, [record_id])
        return found.get(record_id)

    def get_disclosures(self, record_id: str) -> list[StoredDisclosure]:
        """The disclosures of a record, in the order they were submitted; [] if none."""
        query = (
            select(*_DISCLOSURE_COLUMNS)
            .where(disclosures_table.c.record_id == record_id)
            .order_by(disclosures_table.c.id)
        )
        with self._read_transaction("read disclosures") as connection:
            rows = connection.execute(query).all()
        return [_stored_disclosure(row._mapping) for row in rows]

    def get_disclosures_of(self, record_ids: Sequence[str]) -> dict[str, list[StoredDisclosure]]:
        """The disclosures of each record of `record_ids`, in the order they were submitted.

        Every id asked for is a key ([] for a record without disclosures or an
        unknown id). One query per `_IN_CHUNK` ids, in one read transaction:
        a page of List or Subscribe costs one query, not one per record.
        """
        ids = sorted(set(record_ids))
        found: dict[str, list[StoredDisclosure]] = {record_id: [] for record_id in record_ids}
        if not ids:
            return found
        with self._read_transaction("read disclosures") as connection:
            for start in range(0, len(ids), _IN_CHUNK):
                query = (
                    select(*_DISCLOSURE_COLUMNS)
                    .where(disclosures_table.c.record_id.in_(ids[start : start + _IN_CHUNK]))
                    .order_by(disclosures_table.c.id)
                )
                for row in connection.execute(query):
                    disclosure = _stored_disclosure(row._mapping)
                    found[disclosure.record_id].append(disclosure)
        return found

    def held_disclosures(self, created_by: datetime | None = None) -> list[HeldDisclosure]:
        """Every disclosure not yet erased (of records created at or before `created_by`,
        if given), with what retention needs to judge it."""
        query = (
            select(
                disclosures_table.c.id,
                disclosures_table.c.record_id,
                disclosures_table.c.field_class,
                records_table.c.originator_participant,
                records_table.c.created_at,
            )
            .join(records_table, records_table.c.record_id == disclosures_table.c.record_id)
            .where(disclosures_table.c.disclosure.is_not(None))
            .order_by(disclosures_table.c.id)
        )
        if created_by is not None:
            query = query.where(records_table.c.created_at <= created_by)
        with self._read_transaction("read held disclosures") as connection:
            rows = connection.execute(query).all()
        return [
            HeldDisclosure(
                disclosure_id=row.id,
                record_id=row.record_id,
                field_class=row.field_class,
                originator_participant=row.originator_participant,
                created_at=row.created_at,
            )
            for row in rows
        ]

    def disclosure_recipients(self, record_id: str, field_class: str) -> set[str]:
        """Participants that were given this record's disclosure of `field_class` (access log)."""
        padded = "," + access_events_table.c.disclosed + ","
        query = (
            select(access_events_table.c.reader_participant)
            .where(
                access_events_table.c.record_id == record_id,
                access_events_table.c.allowed.is_(True),
                padded.like(f"%,{field_class},%"),
            )
            .distinct()
        )
        with self._read_transaction("read disclosure recipients") as connection:
            return {row[0] for row in connection.execute(query).all()}

    def erase_disclosures(self, disclosure_ids: Sequence[int], erased_at: datetime) -> int:
        """Erase these disclosures' text (retention); the records, envelopes and log stay."""
        if not disclosure_ids:
            return 0
        statement = (
            disclosures_table.update()
            .where(
                disclosures_table.c.id.in_(list(disclosure_ids)),
                disclosures_table.c.disclosure.is_not(None),
            )
            .values(disclosure=None, erased_at=erased_at)
        )
        try:
            with self._write_transaction(lock_key=None) as connection:
                return connection.execute(statement).rowcount
        except sa_exc.SQLAlchemyError as exc:
            raise self._translate(exc, "erase disclosures") from exc

    def list_records(
        self,
        *,
        after_index: int = -1,
        limit: int,
        record_types: Sequence[str] = (),
        originators: Sequence[str] = (),
        since: datetime | None = None,
    ) -> list[StoredRecord]:
        """Up to `limit` records with log_index > `after_index`, in log order.

        Filters combine with AND; within `record_types` and within `originators`
        any entry matches. An originator is a participant (`"IN"`) or a
        participant and agency (`"IN/NCB"`). `since` keeps records accepted at
        or after that (aware) time. Page by passing the last index seen as
        `after_index`.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if after_index < -1:
            raise ValueError(
                f"after_index must be -1 (from the start) or an index, got {after_index}"
            )
        conditions: list[ColumnElement[bool]] = [records_table.c.log_index > after_index]
        if record_types:
            conditions.append(records_table.c.record_type.in_(list(record_types)))
        if originators:
            conditions.append(or_(*(_originator_condition(o) for o in originators)))
        if since is not None:
            conditions.append(records_table.c.accepted_at >= require_aware_utc(since, "since"))
        query = (
            select(*_RECORD_COLUMNS)
            .where(*conditions)
            .order_by(records_table.c.log_index)
            .limit(limit)
        )
        with self._read_transaction("list records") as connection:
            rows = connection.execute(query).all()
        return [_stored_record(row._mapping) for row in rows]

    def count_records(self) -> int:
        """How many records the log holds."""
        with self._read_transaction("count records") as connection:
            return connection.execute(select(func.count()).select_from(records_table)).scalar_one()

    def record_access_events(self, events: Sequence[NewAccessEvent]) -> list[StoredAccessEvent]:
        """Record `events` in one transaction; return them with their sequence numbers, in order.

        Sequence numbers increase in item order and in commit order across
        every replica. Each event becomes a leaf of the log in the same
        transaction. If the transaction fails nothing is recorded and the
        error is raised: `ConstraintViolationError`, `StoreUnavailableError`
        or `StoreError`.
        """
        if not events:
            return []
        # RETURNING with sort_by_parameter_order hands back each row's sequence
        # in the order of `rows`, including when the driver batches the insert.
        statement = insert(access_events_table).returning(
            access_events_table.c.sequence, sort_by_parameter_order=True
        )
        try:
            with self._write_transaction(lock_key=APPEND_LOCK_KEY) as connection:
                writer = _log_writer(connection)
                rows = [
                    _access_event_row(event, writer.next_index + position)
                    for position, event in enumerate(events)
                ]
                sequences = connection.execute(statement, rows).scalars().all()
                stored = [
                    _stored_access_event({**row, "sequence": sequence})
                    for row, sequence in zip(rows, sequences, strict=True)
                ]
                for event in stored:
                    writer.append(functools.partial(_access_leaf, event))
                size = writer.flush()
        except sa_exc.SQLAlchemyError as exc:
            raise self._translate(exc, f"record {len(events)} access event(s)") from exc
        self._appended(size)
        return stored

    def list_access_events(
        self,
        *,
        record_id: str | None = None,
        reader: str | None = None,
        since: datetime | None = None,
        after_sequence: int = 0,
        limit: int,
    ) -> list[StoredAccessEvent]:
        """Up to `limit` access events with sequence > `after_sequence`, in sequence order.

        Filters combine with AND: `record_id` the id the reader asked for;
        `reader` a participant (`"KZ"`) or a participant and agency
        (`"KZ/MVD"`); `since` events at or after that (aware) time. Page by
        passing the last sequence seen as `after_sequence`.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if after_sequence < 0:
            raise ValueError(
                f"after_sequence must be 0 (from the start) or a sequence, got {after_sequence}"
            )
        table = access_events_table
        conditions: list[ColumnElement[bool]] = [table.c.sequence > after_sequence]
        if record_id is not None:
            conditions.append(table.c.record_id == record_id)
        if reader is not None:
            participant, agency = _party(reader, "reader", "'KZ' or 'KZ/MVD'")
            conditions.append(table.c.reader_participant == participant)
            if agency:
                conditions.append(table.c.reader_agency == agency)
        if since is not None:
            conditions.append(table.c.at >= require_aware_utc(since, "since"))
        query = (
            select(*_ACCESS_EVENT_COLUMNS)
            .where(*conditions)
            .order_by(table.c.sequence)
            .limit(limit)
        )
        with self._read_transaction("list access events") as connection:
            rows = connection.execute(query).all()
        return [_stored_access_event(row._mapping) for row in rows]

    def record_rules_version(self, sha256: str, source: str, loaded_at: datetime) -> bool:
        """Record that the rules file with digest `sha256` came into force.

        True if this call recorded it; False if it was already recorded, in
        which case the existing row (first load time, source) is left as it
        was. Safe when several replicas load the same file at once: exactly
        one of them gets True. A version recorded becomes a leaf of the log in
        the same transaction.
        """
        if not source:
            raise ValueError("source must name where the rules came from, e.g. a file path")
        sha256 = require_sha256_hex(sha256, "sha256")
        loaded_at = require_aware_utc(loaded_at, "loaded_at")
        try:
            with self._write_transaction(lock_key=APPEND_LOCK_KEY) as connection:
                writer = _log_writer(connection)
                row = {
                    "sha256": sha256,
                    "first_loaded_at": loaded_at,
                    "source": source,
                    "log_index": writer.next_index,
                }
                # ON CONFLICT DO NOTHING (PostgreSQL and SQLite alike) decides
                # atomically, whatever the isolation level. RETURNING says which
                # way it went: psycopg reports no rowcount for this statement.
                statement = (
                    _dialect_insert(connection)(rules_versions_table)
                    .on_conflict_do_nothing(index_elements=[rules_versions_table.c.sha256])
                    .returning(rules_versions_table.c.sha256)
                )
                inserted = connection.execute(statement, row).first()
                if inserted is not None:
                    writer.append(
                        functools.partial(
                            _rules_leaf, sha256=sha256, source=source, loaded_at=loaded_at
                        )
                    )
                size = writer.flush()
        except sa_exc.SQLAlchemyError as exc:
            raise self._translate(exc, f"record rules version {sha256}") from exc
        if inserted is not None:
            self._appended(size)
        return inserted is not None

    def list_rules_versions(self) -> list[StoredRulesVersion]:
        """Every rules version recorded, by first load time (then digest, for equal times)."""
        table = rules_versions_table
        query = select(table.c.sha256, table.c.first_loaded_at, table.c.source).order_by(
            table.c.first_loaded_at, table.c.sha256
        )
        with self._read_transaction("list rules versions") as connection:
            rows = connection.execute(query).all()
        return [
            StoredRulesVersion(
                sha256=row.sha256, first_loaded_at=row.first_loaded_at, source=row.source
            )
            for row in rows
        ]

    # ------------------------------------------------------------------ the log

    def add_append_listener(self, listener: AppendListener) -> Callable[[], None]:
        """Call `listener(tree_size)` after each committed transaction that appended leaves.

        It runs on the thread that committed and must return quickly; an error
        it raises is logged, never passed to the appender (whose data is
        committed). Returns a function that removes the listener.
        """
        with self._listeners_lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._listeners_lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def _appended(self, size: int) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(size)
            except Exception:
                _log.exception("log append listener failed")

    def tree_size(self) -> int:
        """The number of entries in the log."""
        with self._read_transaction("read the log's size") as connection:
            return tree_size(connection)

    def root_at(self, size: int) -> bytes:
        """MTH of the first `size` entries (RFC 6962 §2.1), from O(log n) stored hashes."""
        with self._read_transaction(f"compute the root of tree size {size}") as connection:
            _require_size(connection, size)
            return _merkle(connection, lambda hashes: root_at(size, hashes))

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """The audit path of entry `index` in the tree of `size` entries (RFC 9162 §2.1.3.1)."""
        if not 0 <= index < size:
            raise ValueError(f"entry {index} is not in a tree of {size} entries")
        with self._read_transaction(f"prove entry {index} in tree size {size}") as connection:
            _require_size(connection, size)
            return _merkle(connection, lambda hashes: inclusion_proof(index, size, hashes))

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """The proof that tree `size1` is a prefix of tree `size2` (RFC 9162 §2.1.4.1)."""
        if not 0 < size1 <= size2:
            raise ValueError(
                f"no consistency proof from tree size {size1} to {size2}; need 0 < size1 <= size2"
            )
        with self._read_transaction(f"prove consistency {size1} -> {size2}") as connection:
            _require_size(connection, size2)
            return _merkle(connection, lambda hashes: consistency_proof(size1, size2, hashes))

    def leaves(self, start: int, limit: int) -> list[StoredLeaf]:
        """Up to `limit` entries from index `start`, in order (fewer at the end of the log)."""
        if start < 0 or limit < 1:
            raise ValueError(f"start must be >= 0 and limit >= 1, got {start} and {limit}")
        query = (
            select(log_leaves_table.c.leaf_index, log_leaves_table.c.leaf)
            .where(log_leaves_table.c.leaf_index >= start)
            .order_by(log_leaves_table.c.leaf_index)
            .limit(limit)
        )
        with self._read_transaction("read log entries") as connection:
            rows = connection.execute(query).all()
        return [StoredLeaf(row.leaf_index, bytes(row.leaf)) for row in rows]

    def entries(self, start: int, end: int) -> Iterator[StoredLeaf]:
        """Every entry with start <= index < end, in order, read a page at a time.

        Each page is its own short read; the iterator holds no connection
        between pages. Stops early if the log has fewer entries.
        """
        if not 0 <= start <= end:
            raise ValueError(f"need 0 <= start <= end, got {start} and {end}")
        position = start
        while position < end:
            page = self.leaves(position, min(_ENTRIES_PAGE, end - position))
            for leaf in page:
                if leaf.index >= end:
                    return
                yield leaf
            if not page:
                return
            position = page[-1].index + 1

    def add_checkpoint(self, tree_size: int, note: bytes, created_at: datetime) -> bool:
        """Keep a signed checkpoint; False if one of this tree size is already kept (unchanged)."""
        row = {
            "tree_size": tree_size,
            "note": note,
            "created_at": require_aware_utc(created_at, "created_at"),
        }
        try:
            with self._write_transaction(lock_key=None) as connection:
                statement = (
                    _dialect_insert(connection)(checkpoints_table)
                    .on_conflict_do_nothing(index_elements=[checkpoints_table.c.tree_size])
                    .returning(checkpoints_table.c.tree_size)
                )
                inserted = connection.execute(statement, row).first()
        except sa_exc.SQLAlchemyError as exc:
            raise self._translate(exc, f"keep the checkpoint of tree size {tree_size}") from exc
        return inserted is not None

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The checkpoint of the largest tree size, with its cosignatures; None before the first."""
        query = select(checkpoints_table).order_by(checkpoints_table.c.tree_size.desc()).limit(1)
        with self._read_transaction("read the latest checkpoint") as connection:
            row = connection.execute(query).first()
            return None if row is None else _stored_checkpoint(connection, row._mapping)

    def checkpoint(self, tree_size: int) -> StoredCheckpoint | None:
        """The checkpoint of exactly `tree_size`, with its cosignatures, or None."""
        query = select(checkpoints_table).where(checkpoints_table.c.tree_size == tree_size)
        with self._read_transaction(f"read the checkpoint of size {tree_size}") as connection:
            row = connection.execute(query).first()
            return None if row is None else _stored_checkpoint(connection, row._mapping)

    def add_cosignatures(self, tree_size: int, cosignatures: Sequence[NewCosignature]) -> int:
        """Keep verified cosignatures of the checkpoint of `tree_size`; return how many were new.

        A cosigner (name and key ID) already held for that checkpoint keeps its
        first cosignature. The checkpoint must be kept, else
        `ConstraintViolationError`.
        """
        if not cosignatures:
            return 0
        rows = [
            {
                "tree_size": tree_size,
                "cosigner": c.cosigner,
                "key_id": c.key_id,
                "line": c.line,
                "timestamp": c.timestamp,
            }
            for c in cosignatures
        ]
        table = cosignatures_table
        try:
            with self._write_transaction(lock_key=None) as connection:
                statement = (
                    _dialect_insert(connection)(table)
                    .on_conflict_do_nothing(
                        index_elements=[table.c.tree_size, table.c.cosigner, table.c.key_id]
                    )
                    .returning(table.c.cosigner)
                )
                added = sum(connection.execute(statement, row).first() is not None for row in rows)
        except sa_exc.SQLAlchemyError as exc:
            raise self._translate(exc, f"keep cosignatures of tree size {tree_size}") from exc
        return added

    @contextmanager
    def _write_transaction(self, *, lock_key: int | None) -> Iterator[Connection]:
        with self._engine.connect() as connection:
            connection.execution_options(**{WRITE_TRANSACTION: True})
            with connection.begin():
                if lock_key is not None and connection.dialect.name == "postgresql":
                    connection.execute(select(func.pg_advisory_xact_lock(lock_key)))
                yield connection

    @contextmanager
    def _read_transaction(self, action: str) -> Iterator[Connection]:
        try:
            with self._engine.connect() as connection, connection.begin():
                yield connection
        except sa_exc.SQLAlchemyError as exc:
            raise self._translate(exc, action) from exc

    def _translate(self, exc: sa_exc.SQLAlchemyError, action: str) -> StoreError:
        reason = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
        if isinstance(exc, sa_exc.IntegrityError):
            return ConstraintViolationError(
                f"cannot {action}: the database refused it and nothing was stored: {reason}"
            )
        unavailable = isinstance(
            exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError
        ) or (isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated)
        if unavailable:
            return StoreUnavailableError(
                f"cannot {action}: database {self._display_url} unavailable: {reason}"
            )
        return StoreError(f"cannot {action} in {self._display_url}: {reason}")


def _dialect_insert(connection: Connection) -> Any:
    """INSERT with ON CONFLICT DO NOTHING: the same statement on PostgreSQL and SQLite."""
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


def _log_writer(connection: Connection) -> LogWriter:
    try:
        return LogWriter(connection)
    except MerkleError as exc:
        raise LogIntegrityError(str(exc)) from exc


def _require_size(connection: Connection, size: int) -> None:
    current = tree_size(connection)
    if not 0 <= size <= current:
        raise ValueError(f"tree size {size} is not in 0..{current}, the entries the log holds")


def _merkle(connection: Connection, compute: Callable[[SubtreeHashes], T]) -> T:
    try:
        return with_stored_hashes(connection, compute)
    except MerkleError as exc:
        raise LogIntegrityError(f"the log's stored hashes are incomplete: {exc}") from exc


def _stored_checkpoint(connection: Connection, row: RowMapping) -> StoredCheckpoint:
    table = cosignatures_table
    cosignatures = connection.execute(
        select(table.c.cosigner, table.c.key_id, table.c.line, table.c.timestamp)
        .where(table.c.tree_size == row["tree_size"])
        .order_by(table.c.cosigner, table.c.key_id)
    ).all()
    return StoredCheckpoint(
        tree_size=row["tree_size"],
        note=bytes(row["note"]),
        created_at=row["created_at"],
        cosignatures=tuple(
            StoredCosignature(c.cosigner, c.key_id, c.line, c.timestamp) for c in cosignatures
        ),
    )


def _append_locked(
    connection: Connection, writer: LogWriter, items: Sequence[NewRecord], accepted_at: datetime
) -> list[AppendOutcome]:
    """The body of `append_records`, run while holding the log's lock."""
    # Retries are rare: ask only which ids exist (plain SQL, one column), and
    # read the full rows of those alone.
    known = _records_by_id(connection, _existing_record_ids(connection, items))
    outcomes: list[AppendOutcome] = []
    record_rows: list[dict[str, Any]] = []
    disclosure_rows: list[dict[str, Any]] = []
    for item in items:
        existing = known.get(item.record_id)
        if existing is not None:
            if existing.envelope_sha256 == item.envelope_sha256:
                outcomes.append(AlreadyPresent(existing))
            else:
                outcomes.append(Conflict(existing, item.envelope_sha256))
            continue
        stored = _stored_from_new(item, writer.next_index, accepted_at)
        writer.append(functools.partial(_record_leaf, stored))
        known[item.record_id] = stored
        outcomes.append(Appended(stored))
        record_rows.append(_record_row(stored))
        disclosure_rows.extend(
            {
                "record_id": item.record_id,
                "field_class": d.field_class,
                "disclosure": d.disclosure,
                "erased_at": None,
            }
            for d in item.disclosures
        )
    if record_rows:
        connection.execute(insert(records_table), record_rows)
    if disclosure_rows:
        connection.execute(insert(disclosures_table), disclosure_rows)
    return outcomes


def _existing_record_ids(connection: Connection, items: Sequence[NewRecord]) -> set[str]:
    """Which of the items' record ids are stored already.

    Plain SQL through the driver, as `merkle_log.fetch_hashes`: it runs in
    every appending transaction, and building it as a SQLAlchemy expression
    cost more than running it.
    """
    ids = sorted({item.record_id for item in items})
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    found: set[str] = set()
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        marks = ", ".join([mark] * len(chunk))
        rows = connection.exec_driver_sql(
            f"SELECT record_id FROM records WHERE record_id IN ({marks})",  # noqa: S608 - placeholders only
            tuple(chunk),
        ).all()
        found.update(str(row[0]) for row in rows)
    return found


def _records_by_id(connection: Connection, record_ids: Iterable[str]) -> dict[str, StoredRecord]:
    ids = sorted(set(record_ids))
    found: dict[str, StoredRecord] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        rows = connection.execute(
            select(*_RECORD_COLUMNS).where(records_table.c.record_id.in_(chunk))
        ).all()
        for row in rows:
            record = _stored_record(row._mapping)
            found[record.record_id] = record
    return found


def _party(text: str, role: str, example: str) -> tuple[str, str]:
    """Split `"P"` or `"P/AGENCY"` into (participant, agency); agency is "" for a participant."""
    participant, slash, agency = text.partition("/")
    if not participant or (slash and not agency) or "/" in agency:
        raise ValueError(
            f"{role} {text!r} must be a participant or participant/agency, e.g. {example}"
        )
    return participant, agency


def _originator_condition(originator: str) -> ColumnElement[bool]:
    participant, agency = _party(originator, "originator", "'IN' or 'IN/NCB'")
    condition = records_table.c.originator_participant == participant
    if agency:
        return and_(condition, records_table.c.originator_agency == agency)
    return condition


def _stored_from_new(item: NewRecord, log_index: int, accepted_at: datetime) -> StoredRecord:
    return StoredRecord(
        log_index=log_index,
        record_id=item.record_id,
        record_type=item.record_type,
        originator_participant=item.originator_participant,
        originator_agency=item.originator_agency,
        created_at=item.created_at,
        accepted_at=accepted_at,
        envelope=item.envelope,
        envelope_sha256=item.envelope_sha256,
        signer_certificate=item.signer_certificate,
        tlp=item.tlp,
        handling=item.handling,
    )


def _record_row(record: StoredRecord) -> dict[str, Any]:
    return {column.name: getattr(record, column.name) for column in _RECORD_COLUMNS}


def _stored_disclosure(row: RowMapping) -> StoredDisclosure:
    return StoredDisclosure(
        record_id=row["record_id"],
        field_class=row["field_class"],
        disclosure=row["disclosure"],
        erased_at=row["erased_at"],
    )


def _stored_record(row: RowMapping) -> StoredRecord:
    return StoredRecord(**{column.name: row[column.name] for column in _RECORD_COLUMNS})


def _access_event_row(event: NewAccessEvent, log_index: int) -> dict[str, Any]:
    return {
        "log_index": log_index,
        "at": event.at,
        "reader_participant": event.reader_participant,
        "reader_agency": event.reader_agency,
        "reader_client": event.reader_client,
        "record_id": event.record_id,
        "action": event.action,
        "allowed": event.allowed,
        "view": event.view,
        "reasons": event.reasons,
        "disclosed": event.disclosed,
        "withheld": event.withheld,
        "rules_sha256": event.rules_sha256,
    }


def _record_leaf(record: StoredRecord, index: int, previous: bytes | None) -> bytes:
    return encode_record_entry(
        index,
        previous,
        record_id=record.record_id,
        accepted_at=record.accepted_at,
        envelope=record.envelope,
        signer_certificate=record.signer_certificate,
    )


def _rules_leaf(
    index: int, previous: bytes | None, *, sha256: str, source: str, loaded_at: datetime
) -> bytes:
    return encode_rules_entry(index, previous, sha256=sha256, source=source, loaded_at=loaded_at)


def _access_leaf(event: StoredAccessEvent, index: int, previous: bytes | None) -> bytes:
    return encode_access_entry(
        index,
        previous,
        sequence=event.sequence,
        at=event.at,
        reader_participant=event.reader_participant,
        reader_agency=event.reader_agency,
        reader_client=event.reader_client,
        record_id=event.record_id,
        action=event.action,
        allowed=event.allowed,
        view=event.view,
        reasons=[Reason(r["cite"], r["text"]) for r in json.loads(event.reasons)],
        disclosed=[c for c in event.disclosed.split(",") if c],
        withheld=[c for c in event.withheld.split(",") if c],
        rules_sha256=event.rules_sha256,
    )


def _stored_access_event(row: RowMapping | dict[str, Any]) -> StoredAccessEvent:
    return StoredAccessEvent(
        sequence=row["sequence"],
        log_index=row["log_index"],
        at=row["at"],
        reader_participant=row["reader_participant"],
        reader_agency=row["reader_agency"],
        reader_client=row["reader_client"],
        record_id=row["record_id"],
        action=row["action"],
        allowed=row["allowed"],
        view=row["view"],
        reasons=row["reasons"],
        disclosed=row["disclosed"],
        withheld=row["withheld"],
        rules_sha256=row["rules_sha256"],
    )
