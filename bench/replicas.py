"""Throughput with two silkline-server replicas on one database, against one (issue 8).

    .venv/bin/python bench/replicas.py [--replicas 2] [--records 2000]
                                       [--backend postgresql|sqlite] [--json OUT]

The same client load runs twice, each time on a fresh database: first with
one replica, then with `--replicas` replicas on that one database (the
deployment of deploy/compose: replicas behind a TCP balancer, one
PostgreSQL). The load has one channel per replica slot, `--replicas` of them
either way; with one replica they all reach it, with several each reaches
its own, so only the server side changes:

- unary: `--records` Publish calls, 64 in flight in all, taking the channels
  in turn;
- streaming: `--records` other records split over one PublishStream per
  channel, each with a window of 64, all at once.

Reported: unary64_per_s_replicasN, stream_publish_per_s_replicasN for N = 1
and `--replicas`, and replicas_ratio = streaming with N over streaming with 1
(unary64_replicas_ratio likewise).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from harness.publish import feed_channel, stream_publish, unary_publish
from harness.records import signed_records
from harness.report import write_results
from harness.servers import BACKENDS, fresh_database, silkline_servers

from silkline.v1 import records_pb2

IN_FLIGHT = 64


async def load(
    targets: list[str],
    unary: list[records_pb2.SignedRecord],
    streamed: list[records_pb2.SignedRecord],
) -> tuple[float, float]:
    """(unary Publish per s, streamed records per s) over one channel per target."""
    async with AsyncExitStack() as stack:
        channels = [await stack.enter_async_context(feed_channel(t)) for t in targets]
        for channel in channels:
            await channel.channel_ready()
        unary_per_s = (await unary_publish(channels, unary, IN_FLIGHT)).per_s
        shares = [streamed[number :: len(channels)] for number in range(len(channels))]
        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for channel, share in zip(channels, shares, strict=True):
                group.create_task(stream_publish(channel, share))
        stream_per_s = len(streamed) / (time.perf_counter() - started)
    return unary_per_s, stream_per_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--records", type=int, default=2000, help="records of each load")
    parser.add_argument("--backend", choices=BACKENDS, default="postgresql")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    results: dict[str, Any] = {}
    for seed, replicas in enumerate(sorted({1, args.replicas})):
        print(f"signing 2 x {args.records} records ...", flush=True)
        unary = list(signed_records(args.records, seed=100 + 2 * seed))
        streamed = list(signed_records(args.records, seed=101 + 2 * seed))
        with tempfile.TemporaryDirectory(prefix="silkline-bench-") as work:
            folder = Path(work)
            with (
                fresh_database(args.backend, folder) as database,
                silkline_servers(folder, database, replicas) as servers,
            ):
                slots = [servers[n % replicas].target for n in range(args.replicas)]
                print(f"{replicas} replica(s), {len(slots)} channels ...", flush=True)
                unary_per_s, stream_per_s = asyncio.run(load(slots, unary, streamed))
        print(f"  unary {unary_per_s:.0f}/s, streaming {stream_per_s:.0f}/s", flush=True)
        results[f"unary64_per_s_replicas{replicas}"] = round(unary_per_s, 1)
        results[f"stream_publish_per_s_replicas{replicas}"] = round(stream_per_s, 1)
    n = args.replicas
    stream_n, stream_1 = (results[f"stream_publish_per_s_replicas{r}"] for r in (n, 1))
    unary_n, unary_1 = (results[f"unary64_per_s_replicas{r}"] for r in (n, 1))
    results |= {
        "replicas": n,
        "replicas_ratio": round(stream_n / stream_1, 3),
        "unary64_replicas_ratio": round(unary_n / unary_1, 3),
        "records": args.records,
        "backend": args.backend,
    }
    write_results(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
