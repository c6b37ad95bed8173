"""Streaming publish throughput and publish-to-subscriber delivery latency (issues 7, 8).

    .venv/bin/python bench/realtime.py [--records 3000] [--rate 1000] [--duration 10]
                                       [--raw-messages 20000] [--backend sqlite|postgresql]
                                       [--no-sustainable] [--json OUT]

One run, on this machine, against a silkline-server subprocess on a fresh
SQLite file (synchronous=FULL: every acknowledged record is on disk), or a
fresh PostgreSQL database with --backend postgresql:

1. stream_publish_per_s: `--records` pre-signed seizure alerts (IN/FEED)
   through PublishStream with a window of 64. Each is verified (certificate
   chain, signature), validated (schema, disclosures), committed and logged
   (a leaf of the Merkle log) before its receipt comes back.
2. delivery_p50_ms / delivery_p99_ms: records published at `--rate` per second
   for `--duration` seconds while KZ/MVD subscribes from its own process; the
   latency of a record is from the moment it is written to the publishing
   stream to the moment the subscriber receives it (both read CLOCK_MONOTONIC,
   one clock machine-wide); `receipt_*` is the publish's own share. If the server
   cannot take `--rate`, the achieved rate is reported and the latencies
   include the queue that builds up; the same is then measured at a quarter of
   the streaming throughput (`sustainable_*`): records arriving one by one
   commit in smaller batches than a full window, so half would already queue.
3. raw_bidi_per_s: a plain grpc.aio bidirectional echo over the same mutual
   TLS certificates (bench/harness/echo_server.py), `--raw-messages` messages
   of the same size, window 64, in its own process, median of 3: what gRPC and
   TLS alone cost here. ratio = stream_publish_per_s / raw_bidi_per_s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
from harness.load import WINDOW, echo_server, raw_bidi
from harness.publish import feed_channel, stream_publish
from harness.records import record_id, signed_records
from harness.report import percentile, write_results
from harness.servers import BACKENDS, credentials, fresh_database, silkline_servers

from silkline.realtime import StreamPublisher
from silkline.v1 import records_pb2, records_pb2_grpc

# ------------------------------------------------------------------ measurements


async def publish_throughput(
    target: str, records: list[records_pb2.SignedRecord]
) -> tuple[float, int]:
    """Records per second through PublishStream with a window of 64; and the cursor after them."""
    async with feed_channel(target) as channel:
        await channel.channel_ready()
        started = time.perf_counter()
        cursor = await stream_publish(channel, records)
        elapsed = time.perf_counter() - started
    return len(records) / elapsed, cursor


async def _subscribe(
    target: str, cursor: int, wanted: set[str], ready: Any
) -> tuple[dict[str, float], int]:
    """KZ/MVD's subscription from `cursor` until every id of `wanted` arrived; the
    CLOCK_MONOTONIC time each arrived at, and the cursor after the last."""
    received: dict[str, float] = {}
    cursor_after = cursor
    async with grpc.aio.secure_channel(target, credentials("KZ", "mvd")) as kz_channel:
        kz = records_pb2_grpc.RecordsServiceStub(kz_channel)  # type: ignore[no-untyped-call]
        subscription: Any = kz.Subscribe(
            records_pb2.SubscribeRequest(
                filter=records_pb2.RecordFilter(originators=["IN/FEED"]), cursor=cursor
            )
        )
        await subscription.wait_for_connection()
        ready.set()
        async with asyncio.timeout(120):
            async for response in subscription:
                cursor_after = max(cursor_after, response.next_cursor)
                if response.HasField("record"):
                    got = response.record.header.record_id
                    if got in wanted:
                        received[got] = time.monotonic()
                        if len(received) == len(wanted):
                            break
        subscription.cancel()
    return received, cursor_after


def _subscriber_process(target: str, cursor: int, wanted: list[str], ready: Any, out: Any) -> None:
    # Its own process, as a subscribing agency would be: the publisher's client
    # and the subscriber's do not share one event loop and one core.
    out.send(asyncio.run(_subscribe(target, cursor, set(wanted), ready)))


async def delivery_latency(
    target: str,
    records: list[records_pb2.SignedRecord],
    rate: float,
    duration: float,
    cursor: int,
) -> tuple[dict[str, float], int]:
    """Publish at `rate` for `duration` s while KZ/MVD subscribes from `cursor` in another
    process; latencies in ms, and the cursor after the records published.

    Both processes read CLOCK_MONOTONIC (time.monotonic), which is one clock machine-wide.
    """
    count = min(len(records), int(rate * duration))
    records = records[:count]
    ids = [record_id(r) for r in records]
    sent: dict[str, float] = {}
    acknowledged: dict[str, float] = {}

    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    receiving, out = context.Pipe(duplex=False)
    subscriber = context.Process(
        target=_subscriber_process, args=(target, cursor, ids, ready, out), daemon=True
    )
    subscriber.start()
    try:
        if not await asyncio.to_thread(ready.wait, 60):
            raise RuntimeError("the subscriber process did not connect within 60 s")
        await asyncio.sleep(0.5)  # the subscription is open on the server

        async with feed_channel(target) as publishing:
            feed = records_pb2_grpc.RecordsServiceStub(publishing)  # type: ignore[no-untyped-call]
            started = time.monotonic()

            async def paced() -> AsyncIterator[tuple[int, records_pb2.SignedRecord]]:
                for number, record in enumerate(records):
                    delay = started + number / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    sent[ids[number]] = time.monotonic()
                    yield number, record

            def acknowledge(number: int, _answer: object) -> None:
                acknowledged[ids[number]] = time.monotonic()

            publisher: StreamPublisher[int] = StreamPublisher(feed, window=WINDOW)
            await publisher.publish(paced(), acknowledge)
            published = time.monotonic()
        if not await asyncio.to_thread(receiving.poll, 150):
            raise RuntimeError("the subscriber process did not report within 150 s")
        received, cursor_after = receiving.recv()
    finally:
        subscriber.join(timeout=10)
        if subscriber.is_alive():
            subscriber.kill()
    latencies = [(received[i] - sent[i]) * 1000 for i in ids if i in received]
    # The receipt's share of the delivery: what the publish itself took.
    receipts = [(acknowledged[i] - sent[i]) * 1000 for i in ids if i in acknowledged]
    return {
        "offered_per_s": rate,
        "achieved_per_s": round(count / (published - started), 1),
        "records": count,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "receipt_p50_ms": round(percentile(receipts, 50), 1),
        "receipt_p99_ms": round(percentile(receipts, 99), 1),
    }, cursor_after


# ------------------------------------------------------------------ the run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=3000, help="records for the throughput")
    parser.add_argument("--rate", type=float, default=1000.0, help="records/s for the latency")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of the latency run")
    parser.add_argument(
        "--raw-messages", type=int, default=20_000, help="messages of each raw bidi run"
    )
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument(
        "--no-sustainable",
        dest="sustainable",
        action="store_false",
        help="skip the latency run at a quarter of the throughput",
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    latency_count = int(args.rate * args.duration)
    with tempfile.TemporaryDirectory(prefix="silkline-bench-") as work:
        folder = Path(work)
        print(f"signing {args.records} + {latency_count} records ...", flush=True)
        throughput_records = list(signed_records(args.records, seed=1))
        latency_records = list(signed_records(latency_count, seed=2))
        sustainable_records = (
            list(signed_records(latency_count, seed=3)) if args.sustainable else []
        )
        size = throughput_records[0].ByteSize()

        with (
            fresh_database(args.backend, folder) as database,
            silkline_servers(folder, database) as (server,),
            echo_server(folder) as echo,
        ):
            target = server.target
            print("streaming publish ...", flush=True)
            publish_per_s, cursor = asyncio.run(publish_throughput(target, throughput_records))
            print(f"  {publish_per_s:.0f} records/s", flush=True)
            print(f"delivery at {args.rate:.0f} records/s for {args.duration:g} s ...", flush=True)
            offered, cursor = asyncio.run(
                delivery_latency(target, latency_records, args.rate, args.duration, cursor)
            )
            print(f"  {offered}", flush=True)
            sustainable: dict[str, float] = {}
            sustainable_rate = max(1, round(publish_per_s / 4))
            if args.sustainable:
                print(f"delivery at {sustainable_rate} records/s ...", flush=True)
                sustainable, _ = asyncio.run(
                    delivery_latency(
                        target, sustainable_records, sustainable_rate, args.duration, cursor
                    )
                )
                print(f"  {sustainable}", flush=True)
            print("raw bidi echo ...", flush=True)
            raw_per_s = statistics.median(
                asyncio.run(raw_bidi(echo.target, size, args.raw_messages)) for _ in range(3)
            )
            print(f"  {raw_per_s:.0f} messages/s", flush=True)

    results: dict[str, Any] = {
        "stream_publish_per_s": round(publish_per_s, 1),
        "delivery_p50_ms": offered["p50_ms"],
        "delivery_p99_ms": offered["p99_ms"],
        "delivery_offered_per_s": offered["offered_per_s"],
        "delivery_achieved_per_s": offered["achieved_per_s"],
        "raw_bidi_per_s": round(raw_per_s, 1),
        "ratio_publish_to_raw_bidi": round(publish_per_s / raw_per_s, 4),
        "message_bytes": size,
        "window": WINDOW,
        "records": args.records,
        "backend": args.backend,
    }
    if sustainable:
        results |= {
            "sustainable_rate_per_s": sustainable_rate,
            "sustainable_delivery_p50_ms": sustainable["p50_ms"],
            "sustainable_delivery_p99_ms": sustainable["p99_ms"],
        }
    write_results(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
