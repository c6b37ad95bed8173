"""The Alembic migrations build exactly the schema the SQLModel tables describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from silkline_server.store import Store
from silkline_server.store.tables import store_metadata


def test_migrate_creates_the_records_and_disclosures_tables(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert {"records", "disclosures", "alembic_version"} <= tables


def test_migrated_schema_matches_the_table_definitions(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, store_metadata)
    assert differences == []


def test_migrate_again_is_a_no_op(store_url: str) -> None:
    with Store.open(store_url) as store:
        store.migrate()
        store.migrate()
        with store.engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    assert [row[0] for row in versions] == ["0003"]


def test_sqlite_connections_use_wal_full_sync_and_foreign_keys(tmp_path: Path) -> None:
    with (
        Store.open(f"sqlite:///{tmp_path / 'silkline.db'}") as store,
        store.engine.connect() as connection,
    ):
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        # 2 is FULL: each commit is fsynced before it is acknowledged.
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() > 0
