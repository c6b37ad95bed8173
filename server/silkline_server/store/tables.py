"""The store's SQLModel tables: `records` and their `disclosures`, the access log
(`access_events`, `rules_versions`), and the tamper-evident log over all of them:
`log_leaves`, `log_nodes`, `checkpoints` and `cosignatures`.

Schema changes go through an Alembic revision in `store/migrations/versions/`;
a test compares the migrated schema with these definitions on both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import registry
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import Field, SQLModel

# Explicit constraint names make the migration and the metadata agree on both
# backends, and let a later migration drop a constraint by name (SQLite batch mode).
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

store_metadata = MetaData(naming_convention=NAMING_CONVENTION)
"""The metadata of the store's tables only, so that Alembic and its comparison
test see exactly what `store/migrations` manages."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that goes in as aware UTC and comes back as aware UTC on every backend.

    PostgreSQL keeps the zone (timestamptz); SQLite has no zone, so the value is
    stored as naive UTC text, which also keeps its lexical order equal to time order.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"refusing naive datetime {value.isoformat()}: give it a time zone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# SQLite only auto-assigns a primary key declared exactly INTEGER; PostgreSQL gets BIGSERIAL.
_SURROGATE_KEY = BigInteger().with_variant(Integer(), "sqlite")


class StoreTable(SQLModel, registry=registry(metadata=store_metadata)):
    """Base of the store's tables; keeps them out of the global SQLModel metadata."""


class RecordRow(StoreTable, table=True):
    """One accepted record. `log_index` is the index of its leaf in the log (`log_leaves`),
    which it shares with access events and rules versions: assigned in commit order,
    never reused."""

    __tablename__ = "records"
    __table_args__ = (Index(None, "originator_participant", "originator_agency"),)

    log_index: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    record_id: str = Field(sa_column=Column(String(36), nullable=False, unique=True))
    record_type: str = Field(sa_column=Column(String(), nullable=False, index=True))
    originator_participant: str = Field(sa_column=Column(String(), nullable=False))
    originator_agency: str = Field(sa_column=Column(String(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    accepted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    envelope: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    envelope_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    signer_certificate: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    tlp: str = Field(sa_column=Column(String(), nullable=False))
    handling: str = Field(sa_column=Column(String(), nullable=False))


class DisclosureRow(StoreTable, table=True):
    """One selective-disclosure of a record's field (RFC 9901). Kept apart from the
    envelope so a retention purge can erase it without touching the log."""

    __tablename__ = "disclosures"

    id: int | None = Field(
        default=None,
        sa_column=Column(_SURROGATE_KEY, primary_key=True, autoincrement=True),
    )
    record_id: str = Field(
        sa_column=Column(String(36), ForeignKey("records.record_id"), nullable=False, index=True)
    )
    field_class: str = Field(sa_column=Column(String(), nullable=False))
    disclosure: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class AccessEventRow(StoreTable, table=True):
    """One read, delivery or denial of a record. `sequence` increases in commit order.

    `record_id` is deliberately not a foreign key: a denial may name an id that
    was never stored, and it is logged exactly like a denial of one that was.
    """

    __tablename__ = "access_events"
    __table_args__ = (Index(None, "reader_participant", "reader_agency"),)

    sequence: int | None = Field(
        default=None,
        sa_column=Column(_SURROGATE_KEY, primary_key=True, autoincrement=True),
    )
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    reader_participant: str = Field(sa_column=Column(String(), nullable=False))
    reader_agency: str = Field(sa_column=Column(String(), nullable=False))
    reader_client: str = Field(sa_column=Column(String(), nullable=False))
    record_id: str = Field(sa_column=Column(String(36), nullable=False, index=True))
    action: str = Field(sa_column=Column(String(), nullable=False))
    allowed: bool = Field(sa_column=Column(Boolean(), nullable=False))
    view: str = Field(sa_column=Column(String(), nullable=False))
    # The evaluator's JSON array of {"cite", "text"}, byte for byte.
    reasons: str = Field(sa_column=Column(Text(), nullable=False))
    # Field-class names, comma-separated; "" for none.
    disclosed: str = Field(sa_column=Column(String(), nullable=False))
    withheld: str = Field(sa_column=Column(String(), nullable=False))
    rules_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    # The index of this event's leaf in the log.
    log_index: int = Field(sa_column=Column(BigInteger(), nullable=False, unique=True))


class RulesVersionRow(StoreTable, table=True):
    """A rules file that was in force, by SHA-256; the first replica to load it sets the row."""

    __tablename__ = "rules_versions"

    sha256: str = Field(sa_column=Column(String(64), primary_key=True))
    first_loaded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    source: str = Field(sa_column=Column(String(), nullable=False))
    # The index of this version's leaf in the log.
    log_index: int = Field(sa_column=Column(BigInteger(), nullable=False, unique=True))


class LogLeafRow(StoreTable, table=True):
    """One entry of the log: the exact leaf bytes (silkline.formats.log_entry) and
    their RFC 6962 leaf hash. Indices are contiguous from 0."""

    __tablename__ = "log_leaves"

    leaf_index: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    leaf: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))


class LogNodeRow(StoreTable, table=True):
    """The hash of one complete (perfect) subtree of 2**level leaves, level >= 1, starting
    at leaf node_index * 2**level. Written when its last leaf is appended, so a proof
    reads O(log n) rows and never rehashes leaves."""

    __tablename__ = "log_nodes"
    __table_args__ = (PrimaryKeyConstraint("level", "node_index"),)

    level: int = Field(sa_column=Column(Integer(), nullable=False, autoincrement=False))
    node_index: int = Field(sa_column=Column(BigInteger(), nullable=False, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))


class CheckpointRow(StoreTable, table=True):
    """A checkpoint the log signed: the C2SP signed note exactly as signed (log signature only)."""

    __tablename__ = "checkpoints"

    tree_size: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    note: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class CosignatureRow(StoreTable, table=True):
    """A witness's verified C2SP tlog-cosignature/v1 line over one checkpoint."""

    __tablename__ = "cosignatures"
    __table_args__ = (
        PrimaryKeyConstraint("tree_size", "cosigner", "key_id"),
        ForeignKeyConstraint(["tree_size"], ["checkpoints.tree_size"]),
    )

    tree_size: int = Field(sa_column=Column(BigInteger(), nullable=False, autoincrement=False))
    cosigner: str = Field(sa_column=Column(String(), nullable=False))
    key_id: int = Field(sa_column=Column(BigInteger(), nullable=False, autoincrement=False))
    # The signature line, with its final newline, exactly as the witness sent it.
    line: str = Field(sa_column=Column(Text(), nullable=False))
    # Seconds since the epoch, as the cosignature states it.
    timestamp: int = Field(sa_column=Column(BigInteger(), nullable=False))


def _table(name: str) -> Table:
    return store_metadata.tables[name]


records_table: Table = _table("records")
"""Core view of `RecordRow`, for set-based queries and bulk inserts."""

disclosures_table: Table = _table("disclosures")
"""Core view of `DisclosureRow`."""

access_events_table: Table = _table("access_events")
"""Core view of `AccessEventRow`."""

rules_versions_table: Table = _table("rules_versions")
"""Core view of `RulesVersionRow`."""

log_leaves_table: Table = _table("log_leaves")
"""Core view of `LogLeafRow`."""

log_nodes_table: Table = _table("log_nodes")
"""Core view of `LogNodeRow`."""

checkpoints_table: Table = _table("checkpoints")
"""Core view of `CheckpointRow`."""

cosignatures_table: Table = _table("cosignatures")
"""Core view of `CosignatureRow`."""
