"""Alembic environment for the store.

`Store.migrate()` hands over an open connection (already inside a transaction
that holds the migration lock) through `config.attributes["connection"]`.
Running the `alembic` command line against a URL works too, for operators.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from silkline_server.store.engine import create_store_engine, parse_database_url
from silkline_server.store.tables import store_metadata


def _run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=store_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    supplied = context.config.attributes.get("connection")
    if isinstance(supplied, Connection):
        _run_on(supplied)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url, or run migrations through Store.migrate()")
    engine = create_store_engine(parse_database_url(url))
    try:
        with engine.connect() as connection:
            _run_on(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; run them against a database")
_run_online()
