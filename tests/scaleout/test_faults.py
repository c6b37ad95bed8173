"""Faults of a replica and of the database: nothing acknowledged is lost, nothing is
delivered twice, and replicas recover by themselves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
import pytest

from silkline.authoring import SealedRecord
from silkline.v1 import records_pb2

from ..realtime.conftest import (
    Delivery,
    aio_channel,
    assert_each_once_in_order,
    delivery,
    publish_stream,
    sample_records,
    stub,
)
from ..records.conftest import as_signed_record
from .conftest import (
    Replicas,
    postgres_control_unavailable,
    start_postgres,
    stop_postgres,
    wait_for_health,
)

pytestmark = pytest.mark.postgres

FEED_RECORDS = 1000
KILL_AFTER_ANSWERS = 250


class FailoverSubscriber:
    """KZ/MVD following the log from cursor 0 on the first replica; when its stream
    breaks, it resumes on the next replica from the last `next_cursor` it received."""

    def __init__(self, targets: Sequence[str]) -> None:
        self.targets = list(targets)
        self.deliveries: list[Delivery] = []
        self.cursor = 0
        self.failovers: list[str] = []
        self.live = asyncio.Event()

    async def run(self, count: int) -> None:
        position = 0
        while len(self.deliveries) < count:
            target = self.targets[position]
            async with aio_channel(target, "KZ", "mvd") as channel:
                call: Any = stub(channel).Subscribe(
                    records_pb2.SubscribeRequest(cursor=self.cursor)
                )
                try:
                    async for response in call:
                        self.cursor = max(self.cursor, response.next_cursor)
                        if response.HasField("record"):
                            self.deliveries.append(delivery(response))
                            self.live.set()
                            if len(self.deliveries) == count:
                                return
                except grpc.aio.AioRpcError as exc:
                    assert exc.code() == grpc.StatusCode.UNAVAILABLE, exc
                    self.failovers.append(f"{target}: {exc.code().name}")
                finally:
                    call.cancel()
            position = min(position + 1, len(self.targets) - 1)
            await asyncio.sleep(0.1)


def _requests(
    records: Sequence[SealedRecord],
) -> AsyncIterator[records_pb2.PublishStreamRequest]:
    async def generate() -> AsyncIterator[records_pb2.PublishStreamRequest]:
        for sequence, sealed in enumerate(records):
            yield records_pb2.PublishStreamRequest(
                sequence=sequence, record=as_signed_record(sealed)
            )

    return generate()


async def test_kill_9_of_a_replica_mid_feed_loses_nothing_and_its_subscriber_resumes_elsewhere(
    replicas: Replicas,
) -> None:
    records = sample_records(FEED_RECORDS, seed=2001)
    record_ids = [r.record_id for r in records]
    on_a_then_b = FailoverSubscriber([replicas.a.target, replicas.b.target])
    on_b = FailoverSubscriber([replicas.b.target])
    subscribers = [asyncio.create_task(s.run(FEED_RECORDS)) for s in (on_a_then_b, on_b)]
    acknowledged: dict[int, records_pb2.PublishStreamResponse] = {}
    async with aio_channel(replicas.a.target, "IN", "ncb") as ncb_on_a:
        call: Any = stub(ncb_on_a).PublishStream(_requests(records))
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            async for answer in call:
                acknowledged[answer.sequence] = answer
                if len(acknowledged) == KILL_AFTER_ANSWERS:
                    replicas.a.process.kill()
    assert ended.value.code() == grpc.StatusCode.UNAVAILABLE
    assert replicas.a.process.wait(timeout=10) == -9
    assert all(a.HasField("receipt") for a in acknowledged.values())
    assert KILL_AFTER_ANSWERS <= len(acknowledged) < FEED_RECORDS

    # The feed resends everything through the surviving replica.
    async with aio_channel(replicas.b.target, "IN", "ncb") as ncb_on_b:
        resent = await publish_stream(stub(ncb_on_b), records)
    assert all(a.HasField("receipt") for a in resent.values())
    for sequence, answer in acknowledged.items():
        # Acknowledged by the killed replica: stored once, under the same log index.
        assert resent[sequence].receipt.log_index == answer.receipt.log_index
    indices = sorted(a.receipt.log_index for a in resent.values())
    assert len(set(indices)) == FEED_RECORDS

    async with asyncio.timeout(30):
        await asyncio.gather(*subscribers)
    assert on_a_then_b.failovers, "the subscriber on the killed replica had to resume"
    for subscriber in (on_a_then_b, on_b):
        assert_each_once_in_order(subscriber.deliveries, record_ids)
        assert [d.log_index for d in subscriber.deliveries] == indices


async def test_postgresql_restart_not_serving_refused_writes_then_recovery(
    replicas: Replicas,
) -> None:
    if (reason := postgres_control_unavailable()) is not None:
        pytest.skip(reason)
    warm_up, refused, after = sample_records(3, seed=2002)
    subscriber = FailoverSubscriber([replicas.b.target])
    following = asyncio.create_task(subscriber.run(2))
    try:
        async with (
            aio_channel(replicas.a.target, "IN", "ncb") as ncb_on_a,
            aio_channel(replicas.b.target, "KZ", "mvd") as kz_on_b,
        ):
            await stub(ncb_on_a).Publish(
                records_pb2.PublishRequest(record=as_signed_record(warm_up))
            )
            async with asyncio.timeout(10):
                await subscriber.live.wait()
            try:
                stop_postgres()
                # The probe notices within a second or two.
                await asyncio.to_thread(wait_for_health, list(replicas), "NOT_SERVING", within_s=10)
                for replica in replicas:
                    async with aio_channel(replica.target, "IN", "ncb") as ncb:
                        with pytest.raises(grpc.aio.AioRpcError) as refusal:
                            await stub(ncb).Publish(
                                records_pb2.PublishRequest(record=as_signed_record(refused)),
                                timeout=15,
                            )
                    assert refusal.value.code() == grpc.StatusCode.UNAVAILABLE
                    # Reads say so too, so that clients retry (not UNKNOWN).
                    async with aio_channel(replica.target, "KZ", "mvd") as kz:
                        with pytest.raises(grpc.aio.AioRpcError) as unreadable:
                            await stub(kz).Get(
                                records_pb2.GetRequest(record_id=warm_up.record_id), timeout=15
                            )
                    assert unreadable.value.code() == grpc.StatusCode.UNAVAILABLE
                    assert unreadable.value.details() == "the database is unavailable; retry"
            finally:
                start_postgres()
            recovered_in = await asyncio.to_thread(
                wait_for_health, list(replicas), "SERVING", within_s=15
            )
            print(f"\nreplicas SERVING {recovered_in:.1f} s after PostgreSQL accepted connections")
            # Refused means not stored: neither replica has it.
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await stub(kz_on_b).Get(records_pb2.GetRequest(record_id=refused.record_id))
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
            # Writes are accepted again, and the subscriber on B hears of A's record.
            await stub(ncb_on_a).Publish(records_pb2.PublishRequest(record=as_signed_record(after)))
            async with asyncio.timeout(10):
                await following
    finally:
        following.cancel()
    assert_each_once_in_order(subscriber.deliveries, [warm_up.record_id, after.record_id])
