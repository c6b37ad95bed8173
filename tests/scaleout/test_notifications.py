"""LISTEN/NOTIFY: an append notifies its highest log index on commit, and each replica's
listener passes it on, reconnecting by itself when its connection is lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from silkline_server.store import Appended, Store
from silkline_server.store.notifications import (
    RECORDS_CHANNEL,
    RecordsAppendedListener,
    notify_records_appended,
)

from ..store.sample_records import sample_record

ACCEPTED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def postgres_store(database_url: str) -> Iterator[Store]:
    store = Store.open(database_url)
    store.migrate()
    try:
        yield store
    finally:
        store.close()


def conninfo(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


class Heard:
    """What a listener called back with, awaitable."""

    def __init__(self) -> None:
        self.calls: list[int | None] = []
        self._changed = asyncio.Event()

    def __call__(self, log_index: int | None) -> None:
        self.calls.append(log_index)
        self._changed.set()

    async def until(self, count: int, within_s: float = 10.0) -> list[int | None]:
        async with asyncio.timeout(within_s):
            while len(self.calls) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.calls


@pytest.fixture
async def listening(postgres_store: Store) -> AsyncIterator[tuple[RecordsAppendedListener, Heard]]:
    heard = Heard()
    listener = RecordsAppendedListener(postgres_store, heard, retry_min_s=0.05, retry_max_s=0.2)
    await listener.start()
    try:
        # Connected: the first call back says "look", with no index.
        assert await heard.until(1) == [None]
        yield listener, heard
    finally:
        await listener.stop()


pytestmark = pytest.mark.postgres


async def test_an_append_notifies_its_highest_log_index_once_committed(
    postgres_store: Store, database_url: str
) -> None:
    async with await psycopg.AsyncConnection.connect(
        conninfo(database_url), autocommit=True
    ) as other_replica:
        await other_replica.execute(f"LISTEN {RECORDS_CHANNEL}")
        records = [sample_record() for _ in range(3)]
        outcomes = await asyncio.to_thread(postgres_store.append_records, records, ACCEPTED)
        highest = max(o.record.log_index for o in outcomes if isinstance(o, Appended))
        payloads = [n.payload async for n in other_replica.notifies(timeout=5, stop_after=1)]
        assert payloads == [str(highest)]
        # Resubmitting what is stored appends nothing and notifies nothing.
        await asyncio.to_thread(postgres_store.append_records, records, ACCEPTED)
        assert [n async for n in other_replica.notifies(timeout=0.3)] == []


async def test_a_rolled_back_append_notifies_nobody(
    postgres_store: Store, database_url: str
) -> None:
    async with await psycopg.AsyncConnection.connect(
        conninfo(database_url), autocommit=True
    ) as other_replica:
        await other_replica.execute(f"LISTEN {RECORDS_CHANNEL}")
        with postgres_store.engine.connect() as connection:
            transaction = connection.begin()
            notify_records_appended(connection, 99)
            transaction.rollback()
        assert [n async for n in other_replica.notifies(timeout=0.5)] == []


async def test_the_listener_calls_back_with_each_index_appended_by_any_replica(
    postgres_store: Store, database_url: str, listening: tuple[RecordsAppendedListener, Heard]
) -> None:
    _, heard = listening
    other_replica = Store.open(database_url)
    try:
        for store in (postgres_store, other_replica):
            await asyncio.to_thread(store.append_records, [sample_record()], ACCEPTED)
    finally:
        other_replica.close()
    assert await heard.until(3) == [None, 0, 1]


async def test_the_listener_reconnects_by_itself_when_its_connection_is_killed(
    postgres_store: Store, database_url: str, listening: tuple[RecordsAppendedListener, Heard]
) -> None:
    listener, heard = listening
    # What a PostgreSQL restart does to every session, to this one only.
    async with await psycopg.AsyncConnection.connect(
        conninfo(database_url), autocommit=True
    ) as admin:
        cursor = await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query = %s",
            (f"LISTEN {RECORDS_CHANNEL}",),
        )
        assert await cursor.fetchall() == [(True,)]
    # Back, and telling subscribers to look for what they may have missed.
    assert await heard.until(2) == [None, None]
    assert listener.listening and listener.connections == 2
    await asyncio.to_thread(postgres_store.append_records, [sample_record()], ACCEPTED)
    assert await heard.until(3) == [None, None, 0]


def test_sqlite_has_no_listener_and_notifies_nothing(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'silkline.db'}") as store:
        store.migrate()
        with pytest.raises(ValueError, match="needs PostgreSQL"):
            RecordsAppendedListener(store, lambda _: None)
        with store.engine.connect() as connection:
            notify_records_appended(connection, 1)  # a no-op, not an error
        assert store.append_records([sample_record()], ACCEPTED)[0].record.log_index == 0
