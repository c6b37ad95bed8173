"""Database fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL: each test gets a fresh database `silkline_test_<hex>` created
through the admin URL in SILKLINE_TEST_POSTGRES_URL and dropped afterwards.
Unreachable PostgreSQL skips those tests with the reason, except in CI
(CI=true), where it fails: CI must really run them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from silkline_server.store import Store

POSTGRES_URL_ENV = "SILKLINE_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _admin_url() -> URL:
    url = make_url(os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL))
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def _one_line(exc: SQLAlchemyError) -> str:
    return " ".join(str(getattr(exc, "orig", None) or exc).split())


def _fresh_postgres_database() -> Iterator[str]:
    admin_url = _admin_url()
    shown = admin_url.render_as_string(hide_password=True)
    admin = create_engine(
        admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    name = f"silkline_test_{secrets.token_hex(6)}"
    try:
        try:
            connection = admin.connect()
        except SQLAlchemyError as exc:
            reason = (
                f"PostgreSQL not reachable at {shown}: {_one_line(exc)}; set {POSTGRES_URL_ENV}"
            )
            if os.environ.get("CI") == "true":
                pytest.fail(reason)
            pytest.skip(reason)
        # Reachable but unable to create a database is a broken setup, never a skip.
        with connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'silkline.db'}"
    else:
        yield from _fresh_postgres_database()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated store on `store_url`, closed after the test."""
    opened = Store.open(store_url)
    opened.migrate()
    try:
        yield opened
    finally:
        opened.close()
