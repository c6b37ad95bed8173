"""`Store`: the repository over the log of records, their disclosures and the access log.

Synchronous on purpose: callers on the event loop go through `GroupCommitter`
or `asyncio.to_thread`, so no query ever blocks the loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Self

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
    MigrationError,
    StoreError,
    StoreUnavailableError,
)
from silkline_server.store.outcomes import AlreadyPresent, Appended, AppendOutcome, Conflict
from silkline_server.store.records import (
    NewRecord,
    StoredDisclosure,
    StoredRecord,
    require_aware_utc,
)
from silkline_server.store.tables import (
    access_events_table,
    disclosures_table,
    records_table,
    rules_versions_table,
)

MIGRATIONS: Final = "silkline_server.store:migrations"
"""Alembic script location as a package resource, so it works from an installed wheel."""

# pg_advisory_xact_lock keys; the values are "silkline" and "silkmigr" in ASCII.
# Every append takes APPEND_LOCK_KEY first, which serialises appends across all
# replicas sharing the database: each reads max(log_index) only after the
# previous writer committed, so indices stay contiguous and never collide.
APPEND_LOCK_KEY: Final = 0x73696C6B6C696E65
MIGRATION_LOCK_KEY: Final = 0x73696C6B6D696772
# "silkaccs": taken by every access-log write. PostgreSQL draws sequence numbers
# when a row is inserted, not when it commits; serialising the writers makes
# commit order equal sequence order, so a reader paging by `after_sequence`
# never skips an event that commits after it looked. Apart from APPEND_LOCK_KEY
# so that logging a read never waits for record appends.
ACCESS_LOG_LOCK_KEY: Final = 0x73696C6B61636373

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

_ACCESS_EVENT_COLUMNS: Final = tuple(access_events_table.c)


class Store:
    """The log of accepted records and their disclosures, and the access log, in SQLite
    or PostgreSQL.

    Thread-safe: each call takes its own pooled connection and transaction.
    """

    def __init__(self, engine: Engine) -> None:
        """Wrap an engine made by `create_store_engine`; most callers want `Store.open`."""
        self._engine = engine
        self._display_url = engine.url.render_as_string(hide_password=True)

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

        New records get contiguous log indices in item order, after every record
        already committed. A record_id already stored (or earlier in `items`)
        with the same envelope hash is `AlreadyPresent` (the original comes back);
        with a different hash it is a `Conflict` and nothing is stored for it.
        If the transaction fails, nothing from `items` is stored and the error is
        raised: `ConstraintViolationError`, `StoreUnavailableError` or `StoreError`.
        """
        accepted_at = require_aware_utc(accepted_at, "accepted_at")
        if not items:
            return []
        try:
            with self._write_transaction(lock_key=APPEND_LOCK_KEY) as connection:
                return _append_locked(connection, items, accepted_at)
        except sa_exc.SQLAlchemyError as exc:
            raise self._translate(exc, f"append {len(items)} record(s)") from exc

    def get_record(self, record_id: str) -> StoredRecord | None:
        """The record stored under `record_id`, or None."""
        with self._read_transaction("read a record") as connection:
            found = _records_by_id(connection, [record_id])
        return found.get(record_id)

    def get_disclosures(self, record_id: str) -> list[StoredDisclosure]:
        """The disclosures of a record, in the order they were submitted; [] if none."""
        query = (
            select(
                disclosures_table.c.record_id,
                disclosures_table.c.field_class,
                disclosures_table.c.disclosure,
                disclosures_table.c.erased_at,
            )
            .where(disclosures_table.c.record_id == record_id)
            .order_by(disclosures_table.c.id)
        )
        with self._read_transaction("read disclosures") as connection:
            rows = connection.execute(query).all()
        return [
            StoredDisclosure(
                record_id=row.record_id,
                field_class=row.field_class,
                disclosure=row.disclosure,
                erased_at=row.erased_at,
            )
            for row in rows
        ]

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
        every replica. If the transaction fails nothing is recorded and the
        error is raised: `ConstraintViolationError`, `StoreUnavailableError`
        or `StoreError`.
        """
        if not events:
            return []
        rows = [_access_event_row(event) for event in events]
        # RETURNING with sort_by_parameter_order hands back each row's sequence
        # in the order of `rows`, including when the driver batches the insert.
        statement = insert(access_events_table).returning(
            access_events_table.c.sequence, sort_by_parameter_order=True
        )
        try:
            with self._write_transaction(lock_key=ACCESS_LOG_LOCK_KEY) as connection:
                sequences = connection.execute(statement, rows).scalars().all()
        except sa_exc.SQLAlchemyError as exc:
            raise self._translate(exc, f"record {len(events)} access event(s)") from exc
        return [
            _stored_access_event({**row, "sequence": sequence})
            for row, sequence in zip(rows, sequences, strict=True)
        ]

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
        one of them gets True.
        """
        if not source:
            raise ValueError("source must name where the rules came from, e.g. a file path")
        row = {
            "sha256": require_sha256_hex(sha256, "sha256"),
            "first_loaded_at": require_aware_utc(loaded_at, "loaded_at"),
            "source": source,
        }
        try:
            with self._write_transaction(lock_key=ACCESS_LOG_LOCK_KEY) as connection:
                # ON CONFLICT DO NOTHING (PostgreSQL and SQLite alike) decides
                # atomically, whatever the isolation level. RETURNING says which
                # way it went: psycopg reports no rowcount for this statement.
                dialect_insert = (
                    postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
                )
                statement = (
                    dialect_insert(rules_versions_table)
                    .on_conflict_do_nothing(index_elements=[rules_versions_table.c.sha256])
                    .returning(rules_versions_table.c.sha256)
                )
                inserted = connection.execute(statement, row).first()
        except sa_exc.SQLAlchemyError as exc:
            raise self._translate(exc, f"record rules version {sha256}") from exc
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

    @contextmanager
    def _write_transaction(self, *, lock_key: int) -> Iterator[Connection]:
        with self._engine.connect() as connection:
            connection.execution_options(**{WRITE_TRANSACTION: True})
            with connection.begin():
                if connection.dialect.name == "postgresql":
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


def _append_locked(
    connection: Connection, items: Sequence[NewRecord], accepted_at: datetime
) -> list[AppendOutcome]:
    """The body of `append_records`, run while holding the database's append lock."""
    next_index: int = connection.execute(
        select(func.coalesce(func.max(records_table.c.log_index), -1) + 1)
    ).scalar_one()
    known = _records_by_id(connection, {item.record_id for item in items})
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
        stored = _stored_from_new(item, next_index, accepted_at)
        next_index += 1
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


def _stored_record(row: RowMapping) -> StoredRecord:
    return StoredRecord(**{column.name: row[column.name] for column in _RECORD_COLUMNS})


def _access_event_row(event: NewAccessEvent) -> dict[str, Any]:
    return {
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


def _stored_access_event(row: RowMapping | dict[str, Any]) -> StoredAccessEvent:
    return StoredAccessEvent(
        sequence=row["sequence"],
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
