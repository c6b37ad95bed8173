"""Group commit: many concurrent submissions, one transaction per batch.

A durable commit costs an fsync (SQLite with synchronous=FULL) or a WAL flush
and round trip (PostgreSQL), so one transaction per record caps near 1k
records/s. Batching the records that arrive within a couple of milliseconds
into one transaction pays that cost once per batch instead of once per record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Final, Self

from silkline_server.store.errors import CommitOutcomeUnknownError, GroupCommitterNotRunningError
from silkline_server.store.outcomes import AppendOutcome
from silkline_server.store.records import NewRecord
from silkline_server.store.repository import Store


@dataclass(frozen=True, slots=True)
class _Pending:
    item: NewRecord
    outcome: asyncio.Future[AppendOutcome]


class _StopSignal:
    """Queued by `stop()` behind every pending submission, so they drain first."""


_STOP: Final = _StopSignal()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class GroupCommitter:
    """Batches concurrent `submit()` calls into `Store.append_records` transactions.

    One owner task, started by `start()` and awaited by `stop()`, takes the
    first waiting record, gathers more for up to `max_delay_s` or until
    `max_batch`, and commits them in a worker thread so the event loop never
    blocks. It lingers only while records come in company: after a batch of
    one, a lone record is committed at once, so a caller publishing one at a
    time does not wait for others who are not coming. A submitter's future
    resolves only after its batch committed; if the batch fails, every future
    of that batch gets the error.
    """

    def __init__(
        self,
        store: Store,
        *,
        max_batch: int = 256,
        max_delay_s: float = 0.002,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        """`clock` gives each batch's accepted_at; it must return aware datetimes."""
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        if max_delay_s < 0:
            raise ValueError(f"max_delay_s must not be negative, got {max_delay_s}")
        self._store = store
        self._max_batch = max_batch
        self._max_delay_s = max_delay_s
        self._clock = clock
        self._queue: asyncio.Queue[_Pending | _StopSignal] = asyncio.Queue()
        self._owner: asyncio.Task[None] | None = None
        self._accepting = False
        self._batches_committed = 0
        self._last_batch_size = 0

    @property
    def batches_committed(self) -> int:
        """How many batch transactions have committed so far."""
        return self._batches_committed

    async def start(self) -> None:
        """Start the owner task; submissions are accepted from now until `stop()`."""
        if self._owner is not None:
            raise RuntimeError("GroupCommitter.start() called twice")
        self._accepting = True
        self._owner = asyncio.create_task(self._run(), name="silkline-group-commit")

    async def stop(self) -> None:
        """Refuse new submissions, commit every pending one, then wait for the owner task."""
        self._accepting = False
        if self._owner is None:
            return
        self._queue.put_nowait(_STOP)
        # asyncio.wait, not await: if the owner was cancelled (loop shutdown),
        # stopping is still a success; any other error of the owner is re-raised.
        await asyncio.wait([self._owner])
        if not self._owner.cancelled():
            self._owner.result()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def submit(self, item: NewRecord) -> AppendOutcome:
        """Append `item` with the next batch; return its outcome once that batch committed.

        Raises what the batch's transaction raised (`StoreError` subclasses). If
        the caller is cancelled, the record may still be committed with its batch.
        """
        if not self._accepting:
            raise GroupCommitterNotRunningError(
                f"cannot submit record {item.record_id}: the group committer is not running"
            )
        outcome: asyncio.Future[AppendOutcome] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(item, outcome))
        return await outcome

    async def _run(self) -> None:
        # Owned here, not in _gather_batch, so that on cancellation the finally
        # clause still sees the submissions already taken off the queue.
        batch: list[_Pending] = []
        try:
            stopping = False
            while not stopping:
                stopping = await self._gather_batch(batch)
                if batch:
                    await self._commit(batch)
                batch = []
        finally:
            self._accepting = False
            # Reached with work left only if this task was cancelled: the batch
            # in flight may have committed, so tell its submitters just that.
            for pending in batch + self._drain_queue():
                _fail(
                    pending,
                    CommitOutcomeUnknownError(
                        f"record {pending.item.record_id}: the group committer was cancelled "
                        f"before reporting whether it committed; resubmit it"
                    ),
                )

    async def _gather_batch(self, batch: list[_Pending]) -> bool:
        """Wait for a first submission, then add more to `batch` until it is full or
        `max_delay_s` has passed. Return whether `stop()` was seen."""
        first = await self._queue.get()
        if isinstance(first, _StopSignal):
            return True
        batch.append(first)
        loop = asyncio.get_running_loop()
        lone = self._last_batch_size <= 1 and self._queue.empty()
        deadline = loop.time() + (0.0 if lone else self._max_delay_s)
        while len(batch) < self._max_batch:
            try:
                entry = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    async with asyncio.timeout(remaining):
                        entry = await self._queue.get()
                except TimeoutError:
                    break
            if isinstance(entry, _StopSignal):
                return True
            batch.append(entry)
        return False

    async def _commit(self, batch: list[_Pending]) -> None:
        self._last_batch_size = len(batch)
        items = [pending.item for pending in batch]
        try:
            outcomes = await asyncio.to_thread(self._store.append_records, items, self._clock())
        except Exception as exc:
            # The failure belongs to this batch's submitters; the committer keeps serving.
            for pending in batch:
                _fail(pending, exc)
            return
        self._batches_committed += 1
        for pending, result in zip(batch, outcomes, strict=True):
            if not pending.outcome.done():
                pending.outcome.set_result(result)

    def _drain_queue(self) -> list[_Pending]:
        drained: list[_Pending] = []
        while True:
            try:
                entry = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return drained
            if isinstance(entry, _Pending):
                drained.append(entry)


def _fail(pending: _Pending, error: BaseException) -> None:
    # A submitter that was cancelled has a done future; nobody is waiting on it.
    if not pending.outcome.done():
        pending.outcome.set_exception(error)
