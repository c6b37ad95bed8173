"""`make bench-large`: silkline with 1,000,000 records against silkline empty (issue 8).

    .venv/bin/python bench/large.py [--records 1000000] [--sample 3000] [--proofs 200]
                                    [--backend sqlite|postgresql] [--json OUT]

Never run in CI: the fill alone takes a long time (about 10 minutes per
million records on 2 cores). --records 20000 gives a quick try.

1. Empty: a silkline-server on a fresh database takes `--sample` records
   through PublishStream (window 64, as bench/realtime.py): the empty rate.
2. Fill: `--records` further sample seizure alerts, sealed by IN/FEED (schema
   validation skipped while sealing: set-up, in one worker process per core)
   and appended with the store's own Store.append_records in batches of 1,000,
   with the server stopped (the fill is set-up, not what is measured; each
   record's sensitive fields are stored as disclosures of class personal_data).
3. Full: the server starts again on the filled database, is left to finish
   its start-up work (until it uses under 5 % of a core; the wait is
   `startup_settle_s_at_n`), and takes another
   `--sample` records the same way: the rate at N records, and
   `throughput_ratio` = full over empty (goal >= 0.9). Then `--proofs`
   inclusion proofs of random leaves at the full tree size by
   Store.inclusion_proof: `proof_ms_at_n` (median).

The server's resident memory is read from /proc every 0.2 s. `rss_growth` is
(max - min) / min over the samples of the measured run at N after its first
tenth (goal: flat within 10%); `rss_mib_empty_end` is the last sample of the
empty run, `rss_mib_startup_peak_at_n` the highest over the server's whole
life at N, start-up included.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.publish import feed_channel, stream_publish
from harness.records import payload_of, signed_records
from harness.report import write_results
from harness.servers import (
    BACKENDS,
    Server,
    fresh_database,
    rss_bytes,
    settle,
    silkline_servers,
)

from silkline.v1 import records_pb2
from silkline_server.store import NewDisclosure, NewRecord, Store

CHUNK = 1000
SAMPLE_EVERY_S = 0.2


def new_record(record: records_pb2.SignedRecord) -> NewRecord:
    payload = payload_of(record)
    envelope = bytes(record.envelope)
    return NewRecord(
        record_id=payload["id"],
        record_type=payload["record_type"],
        originator_participant=payload["originator"]["participant"],
        originator_agency=payload["originator"]["agency"],
        created_at=datetime.fromisoformat(payload["created_at"]),
        envelope=envelope,
        envelope_sha256=hashlib.sha256(envelope).hexdigest(),
        signer_certificate=bytes(record.signer_certificate),
        tlp=payload["distribution"]["tlp"],
        handling=",".join(payload["distribution"]["handling"]),
        disclosures=tuple(NewDisclosure("personal_data", d) for d in record.disclosures),
    )


def sealed_chunk(seed: int) -> list[NewRecord]:
    """CHUNK records of sample seed `seed`, ready to append (in a worker process)."""
    return [new_record(r) for r in signed_records(CHUNK, seed=seed, validate=False)]


def fill(url: str, count: int) -> float:
    """Append `count` records; the seconds it took."""
    started = time.perf_counter()
    seeds = range(1000, 1000 + (count + CHUNK - 1) // CHUNK)
    appended = 0
    with Store.open(url) as store, ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        for chunk in pool.map(sealed_chunk, seeds):
            chunk = chunk[: count - appended]
            store.append_records(chunk, datetime.now(UTC))
            appended += len(chunk)
            if appended % 50_000 < CHUNK:
                rate = appended / (time.perf_counter() - started)
                print(f"  {appended:,} records ({rate:,.0f}/s)", flush=True)
    return time.perf_counter() - started


@contextmanager
def rss_samples(server: Server) -> Iterator[list[int]]:
    """The server's RSS in bytes, every SAMPLE_EVERY_S, while the block runs."""
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(rss_bytes(server.process.pid))
            done.wait(SAMPLE_EVERY_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield samples
    finally:
        done.set()
        sampler.join()


def publish_rate(server: Server, records: list[records_pb2.SignedRecord]) -> tuple[float, int]:
    async def run() -> tuple[float, int]:
        async with feed_channel(server.target) as channel:
            await channel.channel_ready()
            started = time.perf_counter()
            cursor = await stream_publish(channel, records)
            return len(records) / (time.perf_counter() - started), cursor

    return asyncio.run(run())


def proof_times(url: str, size: int, proofs: int) -> list[float]:
    chooser = random.Random(6962)  # noqa: S311 - reproducible choice of leaves, not secrets
    times = []
    with Store.open(url) as store:
        store.inclusion_proof(0, size)
        for _ in range(proofs):
            index = chooser.randrange(size)
            started = time.perf_counter()
            store.inclusion_proof(index, size)
            times.append((time.perf_counter() - started) * 1000)
    return times


def mib(value: float) -> float:
    return round(value / 2**20, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="records of the fill")
    parser.add_argument("--sample", type=int, default=3000, help="records of each measured run")
    parser.add_argument("--proofs", type=int, default=200)
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    started = time.perf_counter()
    print(f"signing 2 x {args.sample} records for the measured runs ...", flush=True)
    empty_sample = list(signed_records(args.sample, seed=1))
    full_sample = list(signed_records(args.sample, seed=2))
    with tempfile.TemporaryDirectory(prefix="silkline-bench-large-") as work:
        folder = Path(work)
        with fresh_database(args.backend, folder) as url:
            with silkline_servers(folder, url) as (server,), rss_samples(server) as empty_rss:
                settle(server)
                print("empty: streaming publish ...", flush=True)
                empty_per_s, _ = publish_rate(server, empty_sample)
            print(f"  {empty_per_s:.0f} records/s", flush=True)
            print(f"fill: {args.records:,} records ...", flush=True)
            fill_s = fill(url, args.records)
            with silkline_servers(folder, url) as (server,), rss_samples(server) as lifetime_rss:
                settle_s = settle(server, timeout_s=3600)
                print(f"at {args.records:,}: server idle after {settle_s:.0f} s", flush=True)
                print(f"at {args.records:,}: streaming publish ...", flush=True)
                with rss_samples(server) as full_rss:
                    full_per_s, size = publish_rate(server, full_sample)
            print(f"  {full_per_s:.0f} records/s", flush=True)
            proofs = proof_times(url, size, args.proofs)

    steady = full_rss[len(full_rss) // 10 :] or full_rss
    rss_growth = (max(steady) - min(steady)) / min(steady)
    throughput_ratio = full_per_s / empty_per_s
    results: dict[str, Any] = {
        "records": args.records,
        "tree_size": size,
        "stream_publish_per_s_empty": round(empty_per_s, 1),
        "stream_publish_per_s_at_n": round(full_per_s, 1),
        "throughput_ratio": round(throughput_ratio, 3),
        "proof_ms_at_n": round(statistics.median(proofs), 3),
        "proof_p99_ms_at_n": round(sorted(proofs)[int(0.99 * (len(proofs) - 1))], 3),
        "rss_mib_empty_end": mib(empty_rss[-1]),
        "rss_mib_full_start": mib(steady[0]),
        "rss_mib_full_end": mib(steady[-1]),
        "rss_mib_full_max": mib(max(steady)),
        "rss_mib_startup_peak_at_n": mib(max(lifetime_rss)),
        "rss_growth": round(rss_growth, 3),
        "goals": {
            "throughput_ratio": {"goal": ">= 0.9", "met": throughput_ratio >= 0.9},
            "rss_growth": {"goal": "<= 0.10", "met": rss_growth <= 0.10},
        },
        "fill_s": round(fill_s, 1),
        "startup_settle_s_at_n": round(settle_s, 1),
        "sample": args.sample,
        "backend": args.backend,
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_results(args.json, results)
    print(
        "| measurement | empty | at N | ratio | goal |\n|---|---:|---:|---:|---|\n"
        f"| PublishStream, window 64 (/s) | {empty_per_s:,.0f} | {full_per_s:,.0f} | "
        f"{throughput_ratio:.2f} | >= 0.9: {'met' if throughput_ratio >= 0.9 else 'NOT met'} |\n"
        f"| inclusion proof (median ms) | | {results['proof_ms_at_n']} | | |\n"
        f"| server RSS (MiB), N run start / end | {results['rss_mib_empty_end']} | "
        f"{results['rss_mib_full_start']} / {results['rss_mib_full_end']} | "
        f"growth {rss_growth:.1%} | <= 10%: {'met' if rss_growth <= 0.10 else 'NOT met'} |\n"
        f"| server RSS (MiB), peak from start-up at N | | "
        f"{results['rss_mib_startup_peak_at_n']} | | |\n"
        f"| server start-up at N until idle (s) | | {results['startup_settle_s_at_n']} | | |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
