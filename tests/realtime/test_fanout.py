"""RecordFanout: wake-ups after commits, the lag of each subscriber, and the drain."""

from __future__ import annotations

import pytest

from silkline_server.fanout import RecordFanout


async def test_a_commit_wakes_every_subscriber_and_moves_the_head() -> None:
    fanout = RecordFanout()
    with fanout.subscribe(0) as first, fanout.subscribe(0) as second:
        assert fanout.head == -1
        fanout.committed(7)
        assert first.woken.is_set() and second.woken.is_set()
        assert fanout.head == 7
        assert fanout.subscribers == 2
    assert fanout.subscribers == 0


async def test_lag_counts_only_records_committed_since_the_subscription_began() -> None:
    fanout = RecordFanout(max_lag=3)
    for index in range(100):
        fanout.committed(index)
    # Catching up on a long history is not lagging.
    with fanout.subscribe(0) as subscription:
        assert subscription.lag == 0
        for index in (100, 102, 104):
            fanout.committed(index)
        assert subscription.lag == 3
        assert not subscription.overflowed.done()
        subscription.advance(103)
        assert subscription.lag == 1
        for index in (105, 106, 107):
            fanout.committed(index)
        assert subscription.lag == 4
        assert subscription.overflowed.done(), "more than max_lag records behind"


async def test_a_cursor_older_than_what_is_remembered_counts_as_too_far_behind() -> None:
    fanout = RecordFanout(max_lag=2)
    with fanout.subscribe(0) as subscription:
        for index in range(50):
            fanout.committed(index)
        assert fanout.records_committed == 50
        assert subscription.lag > 2
        assert subscription.overflowed.done()


async def test_the_cursor_never_moves_back() -> None:
    fanout = RecordFanout()
    with fanout.subscribe(10) as subscription:
        subscription.advance(5)
        assert subscription.cursor == 10


async def test_closing_wakes_every_subscriber_and_resolves_closed() -> None:
    fanout = RecordFanout()
    with fanout.subscribe(0) as subscription:
        assert not fanout.is_closed
        fanout.close()
        assert subscription.woken.is_set()
        assert fanout.closed.done() and fanout.is_closed


def test_max_lag_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_lag"):
        RecordFanout(max_lag=0)


async def test_a_commit_on_another_replica_wakes_every_subscriber_and_moves_no_count() -> None:
    fanout = RecordFanout(max_lag=1)
    with fanout.subscribe(0) as first, fanout.subscribe(0) as second:
        fanout.appended_elsewhere(40)
        assert first.woken.is_set() and second.woken.is_set()
        # Which records another replica appended, only the store knows.
        assert fanout.head == -1
        assert first.lag == 0 and not first.overflowed.done()
        assert fanout.remote_wakeups == 1


async def test_a_notification_for_an_index_already_announced_wakes_nobody() -> None:
    fanout = RecordFanout()
    with fanout.subscribe(0) as subscription:
        fanout.committed(12)
        subscription.woken.clear()
        # This process's own commit, coming back from the database, and an older one.
        fanout.appended_elsewhere(12)
        fanout.appended_elsewhere(9)
        assert not subscription.woken.is_set()
        fanout.appended_elsewhere(13)
        assert subscription.woken.is_set()
        subscription.woken.clear()
        fanout.appended_elsewhere(13)
        assert not subscription.woken.is_set()


async def test_a_listener_that_reconnected_wakes_everyone_to_look() -> None:
    fanout = RecordFanout()
    fanout.appended_elsewhere(100)
    with fanout.subscribe(0) as subscription:
        # Notifications may have been lost while it was away: no index to compare with.
        fanout.appended_elsewhere(None)
        assert subscription.woken.is_set()
