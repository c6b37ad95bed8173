"""Subscriptions: telling subscribers that the log grew, and spotting the ones left behind.

The store is the truth. A subscriber reads the records it may see from the
store, at its own cursor, on its own; this module holds no records and no
queue. After each commit the servicer calls `RecordFanout.committed`, which
sets every subscriber's wake-up flag. A woken subscriber clears its flag
*before* it reads the store again, so a commit that lands during the read
sets the flag anew: nothing committed is missed at the switch from catch-up
to live, and since every read starts at the subscriber's cursor, nothing is
delivered twice.

Slow consumers are spotted here (their lag, counted in records committed
since they subscribed that they have not yet passed) and in the servicer
(a gRPC write that does not complete in time). Either ends that stream
alone; other subscribers never wait for it, because nothing is shared but
the flags.

Replicas sharing a PostgreSQL database wake each other's subscribers through
LISTEN/NOTIFY (`silkline_server.store.notifications`): each append
transaction notifies the highest log index it appended, and each replica's
listener calls `RecordFanout.appended_elsewhere`. A notification only wakes:
it never moves `head` nor counts towards a subscriber's lag, and losing one
(a reconnecting listener) only delays a record until the subscriber's next
heartbeat, when it reads the store again anyway.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

DEFAULT_MAX_LAG: Final = 10_000


class Subscription:
    """One subscriber's flags and position; made by `RecordFanout.subscribe`."""

    def __init__(self, fanout: RecordFanout, cursor: int) -> None:
        loop = asyncio.get_running_loop()
        self._fanout = fanout
        self._cursor = cursor
        # Records committed before this count were there when the stream opened:
        # catching up on them is reading history, not lagging.
        self._first_counted = fanout.records_committed
        self.woken = asyncio.Event()
        self.overflowed: asyncio.Future[None] = loop.create_future()

    @property
    def cursor(self) -> int:
        """The next log index this subscriber will look at."""
        return self._cursor

    def advance(self, cursor: int) -> None:
        """Move the cursor forward (never back) once records up to `cursor` were handled."""
        self._cursor = max(self._cursor, cursor)

    @property
    def lag(self) -> int:
        """Records committed since this subscription began that are at or past its cursor."""
        return self._fanout.records_pending(self._cursor, self._first_counted)

    def check_lag(self, max_lag: int) -> None:
        if not self.overflowed.done() and self.lag > max_lag:
            self.overflowed.set_result(None)


class RecordFanout:
    """Wakes subscribers after commits and ends their streams when the server drains.

    Lives on the event loop: every method is called from the loop's thread.
    """

    def __init__(self, *, max_lag: int = DEFAULT_MAX_LAG) -> None:
        if max_lag < 1:
            raise ValueError(f"max_lag must be at least 1, got {max_lag}")
        self._max_lag = max_lag
        self._subscriptions: set[Subscription] = set()
        # Log indices of the most recently committed records, ascending; only the
        # last max_lag + 1 matter to a lag check, older ones are dropped in bulk.
        self._recent: list[int] = []
        self._dropped = 0
        self._head = -1
        # The highest log index any wake-up was for, here or on another replica.
        self._announced = -1
        self._remote_wakeups = 0
        self._closed: asyncio.Future[None] | None = None

    @property
    def max_lag(self) -> int:
        return self._max_lag

    @property
    def head(self) -> int:
        """The highest log index of a record committed by this process, -1 before any.

        Commits are serialised under the log's lock, so every index below it
        is committed too: a reader that found nothing up to `head` may move
        its cursor past it.
        """
        return self._head

    @property
    def records_committed(self) -> int:
        """How many records this process has committed since it started."""
        return self._dropped + len(self._recent)

    def records_pending(self, cursor: int, first_counted: int) -> int:
        """Records numbered `first_counted` or later (in commit order) with log index >= cursor."""
        position = bisect.bisect_left(self._recent, cursor)
        # A cursor older than everything remembered counts everything remembered:
        # that is already more than max_lag, which is all a caller needs to know.
        return self.records_committed - max(first_counted, self._dropped + position)

    def committed(self, log_index: int) -> None:
        """A record was committed at `log_index`: wake every subscriber."""
        bisect.insort(self._recent, log_index)
        self._head = max(self._head, log_index)
        self._announced = max(self._announced, log_index)
        if len(self._recent) > 2 * (self._max_lag + 1):
            drop = len(self._recent) - (self._max_lag + 1)
            del self._recent[:drop]
            self._dropped += drop
        for subscription in self._subscriptions:
            subscription.woken.set()
            subscription.check_lag(self._max_lag)

    def appended_elsewhere(self, log_index: int | None) -> None:
        """A replica (maybe this one) committed records up to `log_index`: wake every
        subscriber, unless a wake-up for that index or a later one was already given.

        None means notifications may have been missed (the listener reconnected):
        every subscriber is woken to look.

        Appends are serialised under the log's lock, so everything up to an
        announced index was visible before it: a subscriber woken for it reads
        the store afterwards and finds every earlier record too. That is why an
        older or repeated index (this process's own commits come back as
        notifications) needs no wake-up. Neither `head` nor the lag move: the
        notification says nothing of which records another replica appended,
        and a subscriber finds them in the store.
        """
        if log_index is not None:
            if log_index <= self._announced:
                return
            self._announced = log_index
        self._remote_wakeups += 1
        for subscription in self._subscriptions:
            subscription.woken.set()

    @property
    def remote_wakeups(self) -> int:
        """How many notifications from the database woke this process's subscribers."""
        return self._remote_wakeups

    @contextmanager
    def subscribe(self, cursor: int) -> Iterator[Subscription]:
        """A subscription from `cursor`, registered for wake-ups while the block runs."""
        subscription = Subscription(self, cursor)
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)
            if not subscription.overflowed.done():
                subscription.overflowed.cancel()

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    @property
    def closed(self) -> asyncio.Future[None]:
        """Resolved when the server starts draining: every stream ends soon after."""
        if self._closed is None:
            self._closed = asyncio.get_running_loop().create_future()
        return self._closed

    @property
    def is_closed(self) -> bool:
        return self._closed is not None and self._closed.done()

    def close(self) -> None:
        """The server is draining: streams end (with their resume cursor) instead of
        holding the shutdown for the whole grace period."""
        if not self.closed.done():
            self.closed.set_result(None)
        for subscription in self._subscriptions:
            subscription.woken.set()
