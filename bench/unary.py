"""Unary Publish against a raw unary echo over the same mutual TLS (issue 8).

    .venv/bin/python bench/unary.py [--records 3000] [--single 300] [--raw-messages 10000]
                                    [--backend sqlite|postgresql] [--json OUT]

One run, on this machine:

1. unary64_per_s: `--records` pre-signed seizure alerts (IN/FEED), each in its
   own Publish call, 64 calls in flight on one channel, against a
   silkline-server subprocess on a fresh database. Each record is verified,
   validated, committed and logged before its receipt returns.
   raw_unary64_per_s: a plain grpc.aio unary echo (bench/harness/echo_server.py,
   its own process) of messages of the same size over the same certificates,
   64 in flight, median of 3 runs. unary64_ratio = unary64_per_s / raw_unary64_per_s.
2. unary1_p99_ms and raw_unary1_p99_ms: one caller, one call at a time,
   `--single` calls each (after 20 untimed ones), 99th percentile latency.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness.load import Load, echo_server, raw_unary
from harness.publish import feed_channel, unary_publish
from harness.records import signed_records
from harness.report import percentile, write_results
from harness.servers import BACKENDS, fresh_database, silkline_servers

from silkline.v1 import records_pb2

IN_FLIGHT = 64
WARM_UP = 20


async def silkline_unary(
    target: str, many: list[records_pb2.SignedRecord], single: list[records_pb2.SignedRecord]
) -> tuple[Load, Load]:
    async with feed_channel(target) as channel:
        await channel.channel_ready()
        await unary_publish([channel], single[:WARM_UP], 1)
        in_flight = await unary_publish([channel], many, IN_FLIGHT)
        one_at_a_time = await unary_publish([channel], single[WARM_UP:], 1)
    return in_flight, one_at_a_time


async def raw_single(target: str, size: int, calls: int) -> Load:
    await raw_unary(target, size, WARM_UP, 1)
    return await raw_unary(target, size, calls, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=3000, help="Publish calls, 64 in flight")
    parser.add_argument("--single", type=int, default=300, help="calls of the one-caller runs")
    parser.add_argument("--raw-messages", type=int, default=10_000, help="echoes per raw run")
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    print(f"signing {args.records} + {WARM_UP + args.single} records ...", flush=True)
    many = list(signed_records(args.records, seed=11))
    single = list(signed_records(WARM_UP + args.single, seed=12))
    size = many[0].ByteSize()
    with tempfile.TemporaryDirectory(prefix="silkline-bench-") as work:
        folder = Path(work)
        with (
            fresh_database(args.backend, folder) as database,
            silkline_servers(folder, database) as (server,),
        ):
            print(f"Publish, {IN_FLIGHT} in flight, then one at a time ...", flush=True)
            publish64, publish1 = asyncio.run(silkline_unary(server.target, many, single))
        print(f"  {publish64.per_s:.0f} records/s", flush=True)
        with echo_server(folder) as echo:
            print(f"raw unary echo, {IN_FLIGHT} in flight, then one at a time ...", flush=True)
            raw64 = statistics.median(
                asyncio.run(raw_unary(echo.target, size, args.raw_messages, IN_FLIGHT)).per_s
                for _ in range(3)
            )
            raw1 = asyncio.run(raw_single(echo.target, size, args.single))
        print(f"  {raw64:.0f} messages/s", flush=True)

    results: dict[str, Any] = {
        "raw_unary64_per_s": round(raw64, 1),
        "unary64_per_s": round(publish64.per_s, 1),
        "unary64_ratio": round(publish64.per_s / raw64, 4),
        "raw_unary1_p99_ms": round(percentile(raw1.latencies_ms, 99), 2),
        "unary1_p99_ms": round(percentile(publish1.latencies_ms, 99), 2),
        "raw_unary1_p50_ms": round(percentile(raw1.latencies_ms, 50), 2),
        "unary1_p50_ms": round(percentile(publish1.latencies_ms, 50), 2),
        "unary64_p99_ms": round(percentile(publish64.latencies_ms, 99), 2),
        "message_bytes": size,
        "in_flight": IN_FLIGHT,
        "records": args.records,
        "single_calls": args.single,
        "backend": args.backend,
    }
    write_results(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
