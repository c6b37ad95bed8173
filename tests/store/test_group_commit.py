"""GroupCommitter: concurrent submissions share transactions, and none is lost."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from silkline_server.store import (
    AlreadyPresent,
    Appended,
    AppendOutcome,
    CommitOutcomeUnknownError,
    ConstraintViolationError,
    GroupCommitter,
    GroupCommitterNotRunningError,
    NewDisclosure,
    NewRecord,
    Store,
    StoredRecord,
)

from .sample_records import sample_record


def _appended(outcome: AppendOutcome) -> StoredRecord:
    assert isinstance(outcome, Appended), outcome
    return outcome.record


async def test_500_concurrent_submits_get_contiguous_indices_in_fewer_transactions(
    store: Store, store_url: str
) -> None:
    items = [sample_record() for _ in range(500)]

    async with GroupCommitter(store) as committer:
        outcomes = await asyncio.gather(*(committer.submit(item) for item in items))

    indices = sorted(_appended(o).log_index for o in outcomes)
    assert indices == list(range(500))
    assert [_appended(o).record_id for o in outcomes] == [i.record_id for i in items]
    assert 2 <= committer.batches_committed < 500
    # Resolved futures mean committed: a fresh store on the same database sees them all.
    with Store.open(store_url) as reopened:
        assert reopened.count_records() == 500


async def test_a_lone_record_is_committed_at_once_and_company_still_shares_a_batch(
    store: Store,
) -> None:
    # A linger of a minute: waiting out any of it would fail the timeouts below.
    async with GroupCommitter(store, max_delay_s=60, max_batch=2) as committer:
        for _ in range(3):
            await asyncio.wait_for(committer.submit(sample_record()), timeout=10)
        assert committer.batches_committed == 3
        # Two at once: the second is already queued when the first is taken, so the
        # committer lingers (until the batch is full) and they share one transaction.
        pair = [sample_record(), sample_record()]
        await asyncio.wait_for(
            asyncio.gather(*(committer.submit(item) for item in pair)), timeout=10
        )
        assert committer.batches_committed == 4


async def test_resolved_submit_is_visible_to_readers(store: Store) -> None:
    item = sample_record()
    async with GroupCommitter(store) as committer:
        outcome = await committer.submit(item)
        assert store.get_record(item.record_id) == _appended(outcome)


async def test_resubmitted_record_comes_back_already_present(store: Store) -> None:
    item = sample_record()
    async with GroupCommitter(store) as committer:
        first = await committer.submit(item)
        again = await committer.submit(item)
    assert again == AlreadyPresent(_appended(first))


async def test_stop_drains_pending_submits(store: Store) -> None:
    # A long delay and a large batch keep everything pending until stop() flushes it.
    committer = GroupCommitter(store, max_batch=1000, max_delay_s=60.0)
    await committer.start()
    submits = [asyncio.create_task(committer.submit(sample_record())) for _ in range(20)]
    await asyncio.sleep(0.05)
    assert not any(task.done() for task in submits)

    started = time.monotonic()
    await committer.stop()

    assert time.monotonic() - started < 10
    assert all(task.done() for task in submits)
    assert sorted(_appended(task.result()).log_index for task in submits) == list(range(20))
    assert store.count_records() == 20
    assert committer.batches_committed == 1


async def test_a_failing_batch_fails_every_submit_in_it_and_stores_nothing(store: Store) -> None:
    good = [sample_record(), sample_record()]
    bad = sample_record(disclosures=(NewDisclosure(None, "x"),))  # type: ignore[arg-type]

    async with GroupCommitter(store, max_batch=3, max_delay_s=5.0) as committer:
        results = await asyncio.gather(
            *(committer.submit(item) for item in [*good, bad]), return_exceptions=True
        )
        assert all(isinstance(r, ConstraintViolationError) for r in results), results
        assert store.count_records() == 0
        assert committer.batches_committed == 0

        # The committer survives a failed batch and keeps serving.
        retried = await asyncio.gather(
            *(committer.submit(item) for item in [*good, sample_record()])
        )
    assert sorted(_appended(o).log_index for o in retried) == [0, 1, 2]
    assert committer.batches_committed == 1


async def test_submit_is_refused_before_start_and_after_stop(store: Store) -> None:
    committer = GroupCommitter(store)
    with pytest.raises(GroupCommitterNotRunningError):
        await committer.submit(sample_record())
    await committer.start()
    await committer.stop()
    with pytest.raises(GroupCommitterNotRunningError):
        await committer.submit(sample_record())
    assert store.count_records() == 0


async def test_each_batch_is_accepted_at_the_clock_time(store: Store) -> None:
    stamp = datetime(2025, 6, 26, 12, 0, tzinfo=UTC)
    async with GroupCommitter(store, clock=lambda: stamp) as committer:
        outcome = await committer.submit(sample_record())
    assert _appended(outcome).accepted_at == stamp


async def test_the_event_loop_keeps_running_while_a_batch_commits(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_append = store.append_records

    def slow_append(items: Sequence[NewRecord], accepted_at: datetime) -> list[AppendOutcome]:
        time.sleep(0.3)  # a slow disk or a distant database
        return real_append(items, accepted_at)

    monkeypatch.setattr(store, "append_records", slow_append)
    ticks = 0

    async with GroupCommitter(store) as committer:
        submit = asyncio.create_task(committer.submit(sample_record()))
        while not submit.done():
            ticks += 1
            await asyncio.sleep(0.01)
        _appended(submit.result())

    # About 30 ticks if the commit runs in a worker thread; 1 if it blocks the loop.
    assert ticks >= 10


@pytest.mark.parametrize(("max_batch", "max_delay_s"), [(0, 0.002), (1, -1.0)])
def test_nonsense_settings_are_refused(store: Store, max_batch: int, max_delay_s: float) -> None:
    with pytest.raises(ValueError):
        GroupCommitter(store, max_batch=max_batch, max_delay_s=max_delay_s)


async def test_cancelled_committer_tells_waiting_submitters_the_outcome_is_unknown(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_append = store.append_records
    in_flight = threading.Event()
    finished = threading.Event()

    def slow_append(items: Sequence[NewRecord], accepted_at: datetime) -> list[AppendOutcome]:
        in_flight.set()
        try:
            time.sleep(0.3)
            return real_append(items, accepted_at)
        finally:
            finished.set()

    monkeypatch.setattr(store, "append_records", slow_append)
    committer = GroupCommitter(store)
    await committer.start()
    submit = asyncio.create_task(committer.submit(sample_record()))
    await asyncio.to_thread(in_flight.wait, 5)
    # What event-loop shutdown does to a committer nobody stopped.
    assert committer._owner is not None
    committer._owner.cancel()

    with pytest.raises(CommitOutcomeUnknownError, match="resubmit"):
        await submit
    await committer.stop()
    with pytest.raises(GroupCommitterNotRunningError):
        await committer.submit(sample_record())
    await asyncio.to_thread(finished.wait, 5)
