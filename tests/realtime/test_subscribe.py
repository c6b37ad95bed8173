"""Subscribe: every record a reader may see, in log order, from a cursor, across restarts."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from silkline.realtime import follow, resume_cursor
from silkline.v1 import records_pb2

from ..conftest import ServerProcess
from .conftest import (
    Delivery,
    aio_channel,
    assert_each_once_in_order,
    collect,
    delivery,
    publish_stream,
    query,
    restart,
    sample_records,
    start,
    stop,
    stub,
)


def log_size(server: ServerProcess) -> int:
    """The cursor of whatever is committed next."""
    ((leaves,),) = query(server.database_path, "SELECT count(*) FROM log_leaves")
    return int(leaves)


async def until_passed(
    call: Any, past_index: int, *, within_s: float = 20.0
) -> tuple[list[Delivery], int]:
    """Records delivered until a message's next_cursor passes `past_index`; and that cursor.

    A heartbeat past the last record published shows the server scanned the
    records in between: what was not delivered by then never will be.
    """
    got: list[Delivery] = []
    async with asyncio.timeout(within_s):
        async for response in call:
            if response.HasField("record"):
                got.append(delivery(response))
            if response.next_cursor > past_index:
                return got, response.next_cursor
    raise AssertionError("the subscription ended")


async def test_catch_up_then_live_without_gap_or_duplicate(stream_server: ServerProcess) -> None:
    cursor = log_size(stream_server)
    before, during = sample_records(40, seed=201), sample_records(80, seed=202)
    async with (
        aio_channel(stream_server.target, "IN", "ncb") as ncb,
        aio_channel(stream_server.target, "KZ", "mvd") as kz,
    ):
        await publish_stream(stub(ncb), before)
        subscriber = asyncio.create_task(collect(stub(kz), count=120, cursor=cursor))
        for start_at in range(0, 80, 20):
            # The subscriber switches from catch-up to live somewhere in here.
            await publish_stream(stub(ncb), during[start_at : start_at + 20])
            await asyncio.sleep(0.05)
        deliveries = await subscriber
    assert_each_once_in_order(deliveries, [r.record_id for r in before + during])
    assert all(d.next_cursor == d.log_index + 1 for d in deliveries)


async def test_each_subscriber_gets_what_the_rules_let_it_see_and_each_delivery_is_logged(
    stream_server: ServerProcess,
) -> None:
    cursor = log_size(stream_server)
    to_kz = sample_records(5, seed=211, recipients=["KZ"])
    to_uz = sample_records(5, seed=212, recipients=["UZ"])
    green = sample_records(3, seed=213, tlp="GREEN", recipients=[])
    async with (
        aio_channel(stream_server.target, "IN", "ncb") as ncb,
        aio_channel(stream_server.target, "KZ", "mvd") as kz,
        aio_channel(stream_server.target, "TM", "mvd") as tm,
    ):
        answers = await publish_stream(stub(ncb), to_kz + to_uz + green)
        last = max(a.receipt.log_index for a in answers.values())
        kz_call: Any = stub(kz).Subscribe(records_pb2.SubscribeRequest(cursor=cursor))
        tm_call: Any = stub(tm).Subscribe(records_pb2.SubscribeRequest(cursor=cursor))
        (kz_got, _), (tm_got, _) = await asyncio.gather(
            until_passed(kz_call, last), until_passed(tm_call, last)
        )
        kz_call.cancel()
        tm_call.cancel()
    assert_each_once_in_order(kz_got, [r.record_id for r in to_kz + green])
    assert_each_once_in_order(tm_got, [r.record_id for r in green])
    delivered = query(
        stream_server.database_path,
        "SELECT record_id, view, withheld FROM access_events "
        "WHERE action = 'deliver' AND reader_participant = 'KZ' AND log_index > ?",
        cursor,
    )
    assert sorted(row[0] for row in delivered) == sorted(d.record_id for d in kz_got)
    # KZ is party to no agreement covering personal data or precise locations.
    withheld = {c for row in delivered for c in row[2].split(",") if c}
    assert withheld <= {"location_precise", "personal_data"}
    assert withheld, "some sample records carry suspects or coordinates"


async def test_a_subscriber_sees_only_the_record_types_originators_and_times_it_asked_for(
    stream_server: ServerProcess,
) -> None:
    cursor = log_size(stream_server)
    ncb_records = sample_records(4, seed=221)
    dri_records = sample_records(4, seed=222, agency="dri")
    async with (
        aio_channel(stream_server.target, "IN", "ncb") as ncb,
        aio_channel(stream_server.target, "IN", "dri") as dri,
        aio_channel(stream_server.target, "KZ", "mvd") as kz,
    ):
        await publish_stream(stub(ncb), ncb_records[:2])
        await asyncio.sleep(0.05)
        since = Timestamp()
        since.GetCurrentTime()
        await publish_stream(stub(ncb), ncb_records[2:])
        answers = await publish_stream(stub(dri), dri_records)
        last = max(a.receipt.log_index for a in answers.values())
        filters = {
            "dri": records_pb2.RecordFilter(originators=["IN/DRI"]),
            "since": records_pb2.RecordFilter(originators=["IN/NCB"], since=since),
            "arrests": records_pb2.RecordFilter(record_types=["arrest"]),
        }
        got = {}
        for name, record_filter in filters.items():
            call: Any = stub(kz).Subscribe(
                records_pb2.SubscribeRequest(filter=record_filter, cursor=cursor)
            )
            got[name], _ = await until_passed(call, last)
            call.cancel()
        bad: Any = stub(kz).Subscribe(
            records_pb2.SubscribeRequest(filter=records_pb2.RecordFilter(originators=["IN/"]))
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await bad.read()
    assert_each_once_in_order(got["dri"], [r.record_id for r in dri_records])
    assert_each_once_in_order(got["since"], [r.record_id for r in ncb_records[2:]])
    assert got["arrests"] == []
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_an_idle_subscription_gets_heartbeats_that_move_its_cursor(
    stream_server: ServerProcess,
) -> None:
    ((last_record,),) = query(stream_server.database_path, "SELECT max(log_index) FROM records")
    async with aio_channel(stream_server.target, "KZ", "mvd") as kz:
        call: Any = stub(kz).Subscribe(
            records_pb2.SubscribeRequest(
                filter=records_pb2.RecordFilter(record_types=["training"]), cursor=0
            )
        )
        started = time.monotonic()
        first = await asyncio.wait_for(call.read(), timeout=5)
        call.cancel()
    assert first.HasField("heartbeat")
    assert time.monotonic() - started < 3  # heartbeat_interval_s is 0.5 s here
    # No record up to the last one matched: resuming past it skips nothing.
    assert first.next_cursor == last_record + 1


async def test_a_subscriber_stopped_and_restarted_from_its_cursor_misses_nothing(
    stream_server: ServerProcess,
) -> None:
    cursor = log_size(stream_server)
    first, second = sample_records(60, seed=231), sample_records(40, seed=232)
    async with (
        aio_channel(stream_server.target, "IN", "ncb") as ncb,
        aio_channel(stream_server.target, "KZ", "mvd") as kz,
    ):
        await publish_stream(stub(ncb), first)
        before_stop = await collect(stub(kz), count=25, cursor=cursor)
        await publish_stream(stub(ncb), second)
        after_restart = await collect(stub(kz), count=75, cursor=before_stop[-1].next_cursor)
    assert_each_once_in_order(before_stop + after_restart, [r.record_id for r in first + second])


async def test_a_subscriber_follows_its_server_through_a_restart(tmp_path: Any) -> None:
    folder = tmp_path / "server"
    server = start(folder)
    first, second = sample_records(30, seed=241), sample_records(30, seed=242)
    reconnects: list[grpc.StatusCode] = []
    got: list[Delivery] = []
    first_half = asyncio.Event()
    try:
        async with aio_channel(server.target, "KZ", "mvd") as kz:

            async def follower() -> None:
                events = follow(
                    stub(kz),
                    records_pb2.RecordFilter(),
                    0,
                    on_reconnect=lambda code, _d, _s: reconnects.append(code),
                )
                async for response in events:
                    if response.HasField("record"):
                        got.append(delivery(response))
                        if len(got) == 30:
                            first_half.set()
                        if len(got) == 60:
                            await events.aclose()
                            return

            following = asyncio.create_task(follower())
            async with aio_channel(server.target, "IN", "ncb") as ncb:
                await publish_stream(stub(ncb), first)
            await asyncio.wait_for(first_half.wait(), timeout=30)
            stopping = time.monotonic()
            assert await asyncio.to_thread(server.stop, signal.SIGTERM) == 0
            # Open subscriptions end at once with their cursor: no wait for the grace period.
            assert time.monotonic() - stopping < 5
            server = await asyncio.to_thread(restart, server, folder)
            async with aio_channel(server.target, "IN", "ncb") as ncb:
                await publish_stream(stub(ncb), second)
            await asyncio.wait_for(following, timeout=30)
    finally:
        stop(server)
    assert grpc.StatusCode.UNAVAILABLE in reconnects
    assert_each_once_in_order(got, [r.record_id for r in first + second])


async def test_a_slow_consumer_is_ended_with_its_cursor_and_slows_no_one(tmp_path: Any) -> None:
    server = start(tmp_path / "server", subscriber_write_timeout_s=2)
    before, during = sample_records(300, seed=251), sample_records(500, seed=252)
    everything = before + during
    try:
        async with (
            aio_channel(server.target, "IN", "ncb") as ncb,
            aio_channel(server.target, "KZ", "mvd") as kz,
            # Without BDP probing the client's window stays at 64 KiB: the server's
            # writes to a subscriber that stops reading block after a few records.
            aio_channel(server.target, "KZ", "mvd", ("grpc.http2.bdp_probe", 0)) as slow_kz,
        ):
            cursor = log_size(server)
            fast = asyncio.create_task(collect(stub(kz), count=800, cursor=cursor, within_s=90))
            started = time.monotonic()
            await publish_stream(stub(ncb), before)
            rate_before = len(before) / (time.monotonic() - started)

            slow: Any = stub(slow_kz).Subscribe(records_pb2.SubscribeRequest(cursor=cursor))
            first = await slow.read()
            slow_got = [delivery(first)] if first.HasField("record") else []
            # From here on the slow subscriber reads nothing until publishing is over.
            started = time.monotonic()
            await publish_stream(stub(ncb), during)
            published = time.monotonic()
            rate_during = len(during) / (published - started)
            fast_got = await fast
            fast_done = time.monotonic()

            # Publishing may finish before the server's write timeout runs out: the
            # slow one keeps still until the server has ended its stream.
            await asyncio.to_thread(
                server.wait_for_log, '"code": "RESOURCE_EXHAUSTED"', timeout=30
            )
            # The slow one reads again: what the transport held, then the end of its stream.
            with pytest.raises(grpc.aio.AioRpcError) as ended:
                async with asyncio.timeout(30):
                    while (response := await slow.read()) is not grpc.aio.EOF:  # type: ignore[attr-defined]
                        if response.HasField("record"):
                            slow_got.append(delivery(response))
            cursor_named = resume_cursor(ended.value.trailing_metadata())
            resumed = await collect(
                stub(kz), count=len(everything) - len(slow_got), cursor=cursor_named or 0
            )
    finally:
        stop(server)
    # Publishing and the other subscriber went on at their pace while the slow one stalled.
    assert rate_during > 0.6 * rate_before, (rate_before, rate_during)
    assert_each_once_in_order(fast_got, [r.record_id for r in everything])
    assert fast_done - published < 10
    assert ended.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert len(slow_got) < len(everything), "the slow subscriber was cut off"
    # The cursor it is told to resume from follows the last record it received.
    assert cursor_named == slow_got[-1].next_cursor
    assert f"resume from cursor {cursor_named}" in (ended.value.details() or "")
    assert_each_once_in_order(slow_got + resumed, [r.record_id for r in everything])
