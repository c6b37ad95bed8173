"""The checkpointer: one owner task, a checkpoint after commits, at most once per interval."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from silkline.formats.checkpoint import open_checkpoint
from silkline_server.log.checkpointer import Checkpointer
from silkline_server.log.checkpoints import CheckpointPublisher, served_note
from silkline_server.store import NewCosignature, Store, StoreError

from ..store.sample_records import sample_record
from .builders import log_signer

AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'log.db'}")
    opened.migrate()
    yield opened
    opened.close()


def append(store: Store, count: int = 1) -> None:
    store.append_records([sample_record() for _ in range(count)], AT)


def kept_sizes(store: Store) -> list[int]:
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT tree_size FROM checkpoints ORDER BY tree_size")
        return [row[0] for row in rows]


async def wait_for(condition: Callable[[], bool]) -> None:
    # The condition is the database's state, which no event announces: poll it.
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def test_a_checkpoint_is_the_signed_note_of_the_stored_tree(store: Store) -> None:
    append(store, 5)
    publisher = CheckpointPublisher(store, log_signer(), clock=lambda: AT)

    assert publisher.publish() == 5
    assert publisher.publish() is None  # nothing new

    latest = store.latest_checkpoint()
    assert latest is not None and latest.created_at == AT
    checkpoint = open_checkpoint(latest.note, [log_signer().verifier]).checkpoint
    assert (checkpoint.origin, checkpoint.size) == ("silkline.example/log", 5)
    assert checkpoint.root_hash == store.root_at(5)


def test_an_empty_log_gets_the_checkpoint_of_the_empty_tree(store: Store) -> None:
    assert CheckpointPublisher(store, log_signer()).publish() == 0
    assert kept_sizes(store) == [0]


def test_served_notes_carry_the_cosignatures_after_the_log_signature(store: Store) -> None:
    append(store)
    CheckpointPublisher(store, log_signer()).publish()
    store.add_cosignatures(1, [NewCosignature("w", 7, "\u2014 w AAAAB3c=\n", 1)])
    latest = store.latest_checkpoint()
    assert latest is not None
    assert served_note(latest) == latest.note + "\u2014 w AAAAB3c=\n".encode()


async def test_start_publishes_then_each_burst_of_commits_gets_one_checkpoint(
    store: Store,
) -> None:
    append(store, 2)
    checkpointer = Checkpointer(store, CheckpointPublisher(store, log_signer()),
                                min_interval_s=0.4)  # fmt: skip
    await checkpointer.start()
    try:
        assert kept_sizes(store) == [2]
        for _ in range(5):
            await asyncio.to_thread(append, store)
        await wait_for(lambda: kept_sizes(store)[-1] == 7)
        # One checkpoint for the burst, signed once the interval had passed.
        assert kept_sizes(store) == [2, 7]
    finally:
        await checkpointer.stop()
    assert checkpointer.published == 2


async def test_checkpoints_are_no_closer_than_the_interval(store: Store) -> None:
    loop = asyncio.get_running_loop()
    times: list[float] = []
    publisher = CheckpointPublisher(store, log_signer())
    original = publisher.publish

    def timed() -> int | None:
        size = original()
        if size is not None:
            times.append(loop.time())
        return size

    publisher.publish = timed  # type: ignore[method-assign]
    async with Checkpointer(store, publisher, min_interval_s=0.3):
        for _ in range(8):
            await asyncio.to_thread(append, store)
            await asyncio.sleep(0.1)
        await wait_for(lambda: kept_sizes(store)[-1] == 8)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(times) >= 3
    assert min(gaps) >= 0.29, gaps


async def test_stop_signs_what_is_still_pending(store: Store) -> None:
    checkpointer = Checkpointer(store, CheckpointPublisher(store, log_signer()),
                                min_interval_s=60)  # fmt: skip
    await checkpointer.start()
    await asyncio.to_thread(append, store, 3)
    await checkpointer.stop()
    assert kept_sizes(store) == [0, 3]


async def test_a_failed_signing_is_retried_after_the_interval(store: Store) -> None:
    publisher = CheckpointPublisher(store, log_signer())
    original = publisher.publish
    failures = [StoreError("database locked")]

    def flaky() -> int | None:
        if failures and kept_sizes(store):
            raise failures.pop()
        return original()

    publisher.publish = flaky  # type: ignore[method-assign]
    async with Checkpointer(store, publisher, min_interval_s=0.1):
        await asyncio.to_thread(append, store, 2)
        await wait_for(lambda: kept_sizes(store)[-1] == 2)
    assert failures == []


async def test_commits_of_other_stores_on_the_same_database_are_not_its_to_sign(
    store: Store, tmp_path: Path
) -> None:
    # Another replica appends through its own Store: its own checkpointer signs for it.
    other = Store.open(f"sqlite:///{tmp_path / 'log.db'}")
    try:
        async with Checkpointer(store, CheckpointPublisher(store, log_signer()),
                                min_interval_s=0.05):  # fmt: skip
            await asyncio.to_thread(other.append_records, [sample_record()], AT)
            await asyncio.sleep(0.3)
            assert kept_sizes(store) == [0]
    finally:
        other.close()
