"""Turning a database URL into a configured SQLAlchemy engine, per backend.

Two backends: embedded SQLite (one file, the default) and PostgreSQL through
psycopg 3 (shared by stateless replicas). Connection-level settings live here
so that every connection, including Alembic's, gets them.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry

from silkline_server.store.errors import UnsupportedDatabaseURLError

WRITE_TRANSACTION: Final = "silkline_write_transaction"
"""Execution option: on SQLite, begin with BEGIN IMMEDIATE (take the write lock first)."""

SQLITE_BUSY_TIMEOUT_MS: Final = 10_000
POSTGRES_CONNECT_TIMEOUT_S: Final = 10

_PSYCOPG: Final = "postgresql+psycopg"


def parse_database_url(url: str | URL) -> URL:
    """Parse and check a database URL; `postgresql://` means psycopg 3.

    Raises `UnsupportedDatabaseURLError` for other backends, other drivers and
    in-memory SQLite (each pooled connection would see its own empty database).
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UnsupportedDatabaseURLError(f"cannot parse database URL: {exc}") from exc
    if parsed.drivername in ("postgresql", "postgres", _PSYCOPG):
        return parsed.set(drivername=_PSYCOPG)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        if parsed.database in (None, "", ":memory:"):
            raise UnsupportedDatabaseURLError(
                "in-memory SQLite is not supported: give a file, e.g. sqlite:///var/silkline.db"
            )
        return parsed
    raise UnsupportedDatabaseURLError(
        f"unsupported database URL scheme {parsed.drivername!r}: use "
        f"sqlite:///PATH or {_PSYCOPG}://USER@HOST/DB"
    )


def create_store_engine(url: URL) -> Engine:
    """Create the engine for a URL accepted by `parse_database_url`."""
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return _postgres_engine(url)


def _sqlite_engine(url: URL) -> Engine:
    engine = create_engine(
        url,
        # Worker threads (asyncio.to_thread) take turns on pooled connections.
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _configure_connection(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        assert isinstance(dbapi_connection, sqlite3.Connection)
        # Leave BEGIN to us (below): the sqlite3 module's legacy transaction
        # control would otherwise defer it and run reads outside any transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # WAL lets readers run while one writer commits; synchronous=FULL
            # makes a commit durable before we acknowledge it (receipts must
            # survive kill -9 and power loss).
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS:d}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # A deferred BEGIN would let two writers both read max(log_index) and
        # pick the same next index; IMMEDIATE takes the write lock up front.
        if connection.get_execution_options().get(WRITE_TRANSACTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


def _postgres_engine(url: URL) -> Engine:
    return create_engine(
        url,
        # Appends read max(log_index) after taking the advisory lock; that read
        # must see the previous holder's commit, which REPEATABLE READ or
        # SERIALIZABLE (snapshot taken before the lock was granted) would not.
        isolation_level="READ COMMITTED",
        pool_pre_ping=True,
        connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S},
    )
