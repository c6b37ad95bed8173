"""Two replicas, one database: what one accepts, the other serves at once."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from silkline.v1 import records_pb2

from ..conftest import EXAMPLE
from ..log.conftest import Cli, wait_for_checkpoint
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
from .conftest import Replicas

pytestmark = pytest.mark.postgres

LATENCY_RECORDS = 100
PUBLISH_INTERVAL_S = 0.03
RECORDS_PER_REPLICA = 300


async def test_a_record_published_through_one_replica_is_read_through_the_other(
    replicas: Replicas,
) -> None:
    (sealed,) = sample_records(1, seed=1001)
    async with (
        aio_channel(replicas.a.target, "IN", "ncb") as ncb_on_a,
        aio_channel(replicas.b.target, "KZ", "mvd") as kz_on_b,
    ):
        published = await stub(ncb_on_a).Publish(
            records_pb2.PublishRequest(record=as_signed_record(sealed))
        )
        got = await stub(kz_on_b).Get(records_pb2.GetRequest(record_id=sealed.record_id))
        listed = await stub(kz_on_b).List(records_pb2.ListRequest())
    assert got.record.header.record_id == sealed.record_id
    assert got.record.receipt == published.receipt
    assert [v.header.record_id for v in listed.records] == [sealed.record_id]


async def test_a_subscriber_on_one_replica_gets_what_the_other_accepted_within_a_second(
    replicas: Replicas,
) -> None:
    warm_up, *records = sample_records(1 + LATENCY_RECORDS, seed=1002)
    sent_at: dict[str, float] = {}
    deliveries: list[Delivery] = []
    async with (
        aio_channel(replicas.a.target, "IN", "ncb") as ncb_on_a,
        aio_channel(replicas.b.target, "KZ", "mvd") as kz_on_b,
    ):
        call: Any = stub(kz_on_b).Subscribe(records_pb2.SubscribeRequest(cursor=0))
        first_delivered = asyncio.Event()

        async def subscriber() -> None:
            async for response in call:
                if response.HasField("record"):
                    deliveries.append(delivery(response))
                    first_delivered.set()
                    if len(deliveries) == 1 + LATENCY_RECORDS:
                        return

        following = asyncio.create_task(subscriber())
        # Live once the warm-up record arrived: the rest are timed.
        await stub(ncb_on_a).Publish(records_pb2.PublishRequest(record=as_signed_record(warm_up)))
        async with asyncio.timeout(10):
            await first_delivered.wait()
        for sealed in records:
            sent_at[sealed.record_id] = time.monotonic()
            await stub(ncb_on_a).Publish(
                records_pb2.PublishRequest(record=as_signed_record(sealed))
            )
            await asyncio.sleep(PUBLISH_INTERVAL_S)
        try:
            async with asyncio.timeout(10):
                await following
        finally:
            call.cancel()
    assert_each_once_in_order(deliveries, [r.record_id for r in [warm_up, *records]])
    latencies = sorted(d.received_at - sent_at[d.record_id] for d in deliveries[1:])
    p50 = statistics.median(latencies)
    p99 = latencies[int(0.99 * len(latencies)) - 1]
    print(
        f"\ncross-replica delivery over {len(latencies)} records: "
        f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )
    assert p99 < 1.0, f"p99 {p99:.3f} s"


async def test_concurrent_publishing_through_both_keeps_one_gap_free_log_that_audit_verifies(
    replicas: Replicas, tmp_path: Path
) -> None:
    through_a = sample_records(RECORDS_PER_REPLICA, seed=1003)
    through_b = sample_records(RECORDS_PER_REPLICA, seed=1004, agency="dri")
    async with (
        aio_channel(replicas.a.target, "IN", "ncb") as ncb_on_a,
        aio_channel(replicas.b.target, "IN", "dri") as dri_on_b,
    ):
        answers_a, answers_b = await asyncio.gather(
            publish_stream(stub(ncb_on_a), through_a), publish_stream(stub(dri_on_b), through_b)
        )
    receipts = [a.receipt for a in [*answers_a.values(), *answers_b.values()]]
    assert all(a.HasField("receipt") for a in [*answers_a.values(), *answers_b.values()])
    indices = sorted(r.log_index for r in receipts)
    assert len(set(indices)) == 2 * RECORDS_PER_REPLICA, "one log index per record"
    # Both replicas appended in turns: neither wrote its records as one block.
    by_a = {a.receipt.log_index for a in answers_a.values()}
    assert min(by_a) < max(indices) and max(by_a) > min(indices)

    wait_for_checkpoint(replicas.b, indices[-1] + 1)
    silkline = Cli(tmp_path / "xdg")
    silkline.add_profile("auditor", replicas.b)
    export = tmp_path / "export"
    exported = silkline("audit", "export", "--out", str(export), "--trust", str(EXAMPLE))
    assert exported.exit_code == 0, exported.output
    verified = silkline("--json", "audit", "verify", str(export))
    assert verified.exit_code == 0, verified.output
    report = json.loads(verified.output)
    assert report["verified"] is True
    assert report["records"] == 2 * RECORDS_PER_REPLICA
    # Every index of the tree, records and access events alike, exactly once and in order.
    lines = (export / "entries.jsonl").read_text().splitlines()
    assert report["tree_size"] == len(lines) > indices[-1]
