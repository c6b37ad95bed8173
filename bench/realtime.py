"""Streaming publish throughput and publish-to-subscriber delivery latency, against SQLite.

    .venv/bin/python bench/realtime.py [--records 3000] [--rate 1000] [--duration 10] [--json OUT]

One run, on this machine, against a silkline-server subprocess on a fresh
SQLite file (synchronous=FULL: every acknowledged record is on disk):

1. stream_publish_per_s: `--records` pre-signed seizure alerts (IN/FEED)
   through PublishStream with a window of 64. Each is verified (certificate
   chain, signature), validated (schema, disclosures), committed and logged
   (a leaf of the Merkle log) before its receipt comes back.
2. delivery_p50_ms / delivery_p99_ms: records published at `--rate` per second
   for `--duration` seconds while KZ/MVD subscribes; the latency of a record is
   from the moment it is written to the publishing stream to the moment the
   subscriber receives it (both clocks are this process's). If the server
   cannot take `--rate`, the achieved rate is reported and the latencies
   include the queue that builds up; the same is then measured at a quarter of
   the streaming throughput (`sustainable_*`): records arriving one by one
   commit in smaller batches than a full window, so half would already queue.
3. raw_bidi_per_s: a plain grpc.aio bidirectional echo over the same mutual
   TLS certificates, messages of the same size, window 64, in its own process:
   what gRPC and TLS alone cost here. ratio = stream_publish_per_s / raw_bidi_per_s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import grpc
import tomli_w

from silkline.authoring import build_payload, load_signing_identity, seal_record
from silkline.feeds.sample import sample_seizures
from silkline.realtime import ItemAnswer, StreamPublisher
from silkline.v1 import records_pb2, records_pb2_grpc

REPO = Path(__file__).resolve().parents[1]
CERTS = REPO / "certs" / "example"
DEV_CONFIG = REPO / "deploy" / "dev" / "server.toml"
WINDOW: Final = 64
ECHO_METHOD: Final = "/silkline.bench.Echo/Stream"


# ------------------------------------------------------------------ processes


def server_config(folder: Path) -> Path:
    raw = tomllib.loads(DEV_CONFIG.read_text())
    base = DEV_CONFIG.parent

    def absolute(value: str) -> str:
        return str((base / value).resolve())

    raw["rules"] = absolute(raw["rules"])
    raw["tls"] = {key: absolute(value) for key, value in raw["tls"].items()}
    raw["log"]["private_key"] = absolute(raw["log"]["private_key"])
    for entry in raw["participants"].values():
        entry["ca"] = absolute(entry["ca"])
        entry["crl"] = absolute(entry["crl"])
    path = folder / "server.toml"
    path.write_text(tomli_w.dumps(raw))
    return path


def start(command: list[str], port_file: Path, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"{command[0]} did not start; see {log}")
        time.sleep(0.05)
    return process, int(port_file.read_text())


def credentials(participant: str, agency: str) -> grpc.ChannelCredentials:
    folder = CERTS / participant
    return grpc.ssl_channel_credentials(
        root_certificates=(CERTS / "hub" / "ca.crt").read_bytes(),
        private_key=(folder / f"{agency}.key").read_bytes(),
        certificate_chain=(folder / f"{agency}.crt").read_bytes(),
    )


# ------------------------------------------------------------------ records


def signed_records(count: int, seed: int) -> list[records_pb2.SignedRecord]:
    signer = load_signing_identity(
        CERTS / "IN" / "feed.signing.key", CERTS / "IN" / "feed.signing.crt"
    )
    records = []
    for body in sample_seizures(count, seed, until=datetime.now(UTC)):
        payload = build_payload(
            "seizure-alert", body, originator=signer.identity, tlp="AMBER", recipients=["KZ"]
        )
        sealed = seal_record(payload, signer)
        records.append(
            records_pb2.SignedRecord(
                envelope=sealed.envelope,
                disclosures=list(sealed.disclosures),
                signer_certificate=sealed.signer_certificate_der,
            )
        )
    return records


def record_id(record: records_pb2.SignedRecord) -> str:
    payload = json.loads(base64.b64decode(json.loads(record.envelope)["payload"]))
    return str(payload["id"])


# ------------------------------------------------------------------ measurements


async def stream_publish(target: str, records: list[records_pb2.SignedRecord]) -> tuple[float, int]:
    """Records per second through PublishStream with a window of 64; and the cursor after them."""
    refused: list[str] = []
    cursor = [0]

    def answered(_: int, answer: ItemAnswer) -> None:
        if answer.error is not None:
            refused.append(answer.error.message)
        elif answer.receipt is not None:
            cursor[0] = max(cursor[0], answer.receipt.log_index + 1)

    async def items() -> AsyncIterator[tuple[int, records_pb2.SignedRecord]]:
        for number, record in enumerate(records):
            yield number, record

    async with grpc.aio.secure_channel(target, credentials("IN", "feed")) as channel:
        stub = records_pb2_grpc.RecordsServiceStub(channel)  # type: ignore[no-untyped-call]
        publisher: StreamPublisher[int] = StreamPublisher(stub, window=WINDOW)
        started = time.perf_counter()
        await publisher.publish(items(), answered)
        elapsed = time.perf_counter() - started
    if refused:
        raise SystemExit(f"{len(refused)} record(s) refused, e.g. {refused[0]}")
    return len(records) / elapsed, cursor[0]


async def delivery_latency(
    target: str,
    records: list[records_pb2.SignedRecord],
    rate: float,
    duration: float,
    cursor: int,
) -> tuple[dict[str, float], int]:
    """Publish at `rate` for `duration` s while KZ/MVD subscribes from `cursor`; latencies in
    ms, and the cursor after the records published."""
    count = min(len(records), int(rate * duration))
    records = records[:count]
    ids = [record_id(r) for r in records]
    sent: dict[str, float] = {}
    received: dict[str, float] = {}
    all_received = asyncio.Event()
    cursor_after = [cursor]

    async with (
        grpc.aio.secure_channel(target, credentials("IN", "feed")) as feed_channel,
        grpc.aio.secure_channel(target, credentials("KZ", "mvd")) as kz_channel,
    ):
        kz = records_pb2_grpc.RecordsServiceStub(kz_channel)  # type: ignore[no-untyped-call]
        subscription: Any = kz.Subscribe(
            records_pb2.SubscribeRequest(
                filter=records_pb2.RecordFilter(originators=["IN/FEED"]), cursor=cursor
            )
        )
        wanted = set(ids)

        async def subscribe() -> None:
            async for response in subscription:
                cursor_after[0] = max(cursor_after[0], response.next_cursor)
                if response.HasField("record"):
                    got = response.record.header.record_id
                    if got in wanted:
                        received[got] = time.perf_counter()
                        if len(received) == len(wanted):
                            all_received.set()
                            return

        subscriber = asyncio.create_task(subscribe())
        await asyncio.sleep(0.5)  # the subscription is open

        feed = records_pb2_grpc.RecordsServiceStub(feed_channel)  # type: ignore[no-untyped-call]
        started = time.perf_counter()

        async def paced() -> AsyncIterator[tuple[int, records_pb2.SignedRecord]]:
            for number, record in enumerate(records):
                delay = started + number / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                sent[ids[number]] = time.perf_counter()
                yield number, record

        publisher: StreamPublisher[int] = StreamPublisher(feed, window=WINDOW)
        await publisher.publish(paced(), lambda _n, _a: None)
        published = time.perf_counter()
        try:
            await asyncio.wait_for(all_received.wait(), timeout=120)
        finally:
            subscriber.cancel()
            subscription.cancel()
            await asyncio.wait([subscriber])
    latencies = sorted((received[i] - sent[i]) * 1000 for i in ids if i in received)
    return {
        "offered_per_s": rate,
        "achieved_per_s": round(count / (published - started), 1),
        "records": count,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
    }, cursor_after[0]


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    rank = max(0, min(len(values) - 1, round(pct / 100 * len(values)) - 1))
    return values[rank]


async def raw_bidi(target: str, size: int, count: int) -> float:
    """Echoes per second over grpc.aio bidi with the same mTLS, window 64."""
    payload = os.urandom(size)
    async with grpc.aio.secure_channel(target, credentials("IN", "feed")) as channel:
        echo: Any = channel.stream_stream(ECHO_METHOD)  # type: ignore[call-arg]
        call: Any = echo()
        window = asyncio.Semaphore(WINDOW)

        async def send() -> None:
            for _ in range(count):
                await window.acquire()
                await call.write(payload)
            await call.done_writing()

        started = time.perf_counter()
        sender = asyncio.create_task(send())
        answered = 0
        async for _ in call:
            window.release()
            answered += 1
        await sender
        elapsed = time.perf_counter() - started
    assert answered == count
    return count / elapsed


# ------------------------------------------------------------------ the echo server


def echo_server(port_file: Path) -> None:
    """A plain bidi echo over the hub's TLS certificate, requiring participants' client certs."""

    async def echo(requests: AsyncIterator[bytes], _context: Any) -> AsyncIterator[bytes]:
        async for request in requests:
            yield request

    async def main() -> None:
        raw = tomllib.loads(DEV_CONFIG.read_text())
        base = DEV_CONFIG.parent
        roots = b"".join(
            (base / entry["ca"]).resolve().read_bytes() for entry in raw["participants"].values()
        )
        server_credentials = grpc.ssl_server_credentials(
            [
                (
                    (base / raw["tls"]["private_key"]).resolve().read_bytes(),
                    (base / raw["tls"]["certificate"]).resolve().read_bytes(),
                )
            ],
            root_certificates=roots,
            require_client_auth=True,
        )
        server = grpc.aio.server()
        handler = grpc.method_handlers_generic_handler(
            "silkline.bench.Echo", {"Stream": grpc.stream_stream_rpc_method_handler(echo)}
        )
        server.add_generic_rpc_handlers((handler,))
        port = server.add_secure_port("127.0.0.1:0", server_credentials)
        await server.start()
        await asyncio.to_thread(port_file.write_text, str(port))
        await server.wait_for_termination()

    asyncio.run(main())


# ------------------------------------------------------------------ the run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=3000, help="records for the throughput")
    parser.add_argument("--rate", type=float, default=1000.0, help="records/s for the latency")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of the latency run")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--echo-server", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_server:
        echo_server(args.echo_server)
        return 0

    with tempfile.TemporaryDirectory(prefix="silkline-bench-") as work:
        folder = Path(work)
        print(f"signing {args.records} + {int(args.rate * args.duration)} records ...", flush=True)
        throughput_records = signed_records(args.records, seed=1)
        latency_records = signed_records(int(args.rate * args.duration), seed=2)
        sustainable_records = signed_records(int(args.rate * args.duration), seed=3)
        size = throughput_records[0].ByteSize()

        server, port = start(
            [
                str(Path(sys.executable).parent / "silkline-server"),
                "--config",
                str(server_config(folder)),
                "--listen",
                "127.0.0.1:0",
                "--database",
                f"sqlite:///{folder / 'bench.db'}",
                "--port-file",
                str(folder / "port"),
                "--log-format",
                "json",
            ],
            folder / "port",
            folder / "server.log",
        )
        echo, echo_port = start(
            [sys.executable, __file__, "--echo-server", str(folder / "echo-port")],
            folder / "echo-port",
            folder / "echo.log",
        )
        try:
            target = f"127.0.0.1:{port}"
            print("streaming publish ...", flush=True)
            publish_per_s, cursor = asyncio.run(stream_publish(target, throughput_records))
            print(f"  {publish_per_s:.0f} records/s", flush=True)
            print(f"delivery at {args.rate:.0f} records/s for {args.duration:g} s ...", flush=True)
            offered, cursor = asyncio.run(
                delivery_latency(target, latency_records, args.rate, args.duration, cursor)
            )
            print(f"  {offered}", flush=True)
            sustainable_rate = round(publish_per_s / 4)
            print(f"delivery at {sustainable_rate} records/s ...", flush=True)
            sustainable, _ = asyncio.run(
                delivery_latency(
                    target, sustainable_records, sustainable_rate, args.duration, cursor
                )
            )
            print(f"  {sustainable}", flush=True)
            print("raw bidi echo ...", flush=True)
            raw_per_s = statistics.median(
                asyncio.run(raw_bidi(f"127.0.0.1:{echo_port}", size, 20_000)) for _ in range(3)
            )
            print(f"  {raw_per_s:.0f} messages/s", flush=True)
        finally:
            for process in (server, echo):
                process.terminate()
                process.wait(timeout=30)

    results = {
        "stream_publish_per_s": round(publish_per_s, 1),
        "delivery_p50_ms": offered["p50_ms"],
        "delivery_p99_ms": offered["p99_ms"],
        "delivery_offered_per_s": offered["offered_per_s"],
        "delivery_achieved_per_s": offered["achieved_per_s"],
        "sustainable_rate_per_s": sustainable_rate,
        "sustainable_delivery_p50_ms": sustainable["p50_ms"],
        "sustainable_delivery_p99_ms": sustainable["p99_ms"],
        "raw_bidi_per_s": round(raw_per_s, 1),
        "ratio_publish_to_raw_bidi": round(publish_per_s / raw_per_s, 4),
        "message_bytes": size,
        "window": WINDOW,
        "records": args.records,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
    }
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
