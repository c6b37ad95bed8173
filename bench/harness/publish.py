"""Publishing records to silkline: unary Publish and PublishStream, as IN/FEED."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc

from harness.load import WINDOW, Load, in_flight
from harness.servers import credentials
from silkline.realtime import ItemAnswer, StreamPublisher
from silkline.v1 import records_pb2, records_pb2_grpc


def feed_channel(target: str) -> grpc.aio.Channel:
    return grpc.aio.secure_channel(target, credentials("IN", "feed"))


async def stream_publish(
    channel: grpc.aio.Channel, records: Sequence[records_pb2.SignedRecord], window: int = WINDOW
) -> int:
    """Publish `records` through PublishStream, `window` unanswered at most; the log
    index after the last receipt. Any refusal ends the benchmark: it must measure
    admissions."""
    refused: list[str] = []
    cursor = 0

    def answered(_: int, answer: ItemAnswer) -> None:
        nonlocal cursor
        if answer.error is not None:
            refused.append(answer.error.message)
        elif answer.receipt is not None:
            cursor = max(cursor, answer.receipt.log_index + 1)

    async def items() -> AsyncIterator[tuple[int, records_pb2.SignedRecord]]:
        for number, record in enumerate(records):
            yield number, record

    stub = records_pb2_grpc.RecordsServiceStub(channel)  # type: ignore[no-untyped-call]
    publisher: StreamPublisher[int] = StreamPublisher(stub, window=window)
    await publisher.publish(items(), answered)
    if refused:
        raise SystemExit(f"{len(refused)} record(s) refused, e.g. {refused[0]}")
    return cursor


async def unary_publish(
    channels: Sequence[grpc.aio.Channel],
    records: Sequence[records_pb2.SignedRecord],
    concurrency: int,
) -> Load:
    """Publish each record with one unary Publish call, `concurrency` calls in flight,
    the calls taking the channels in turn (one channel per replica)."""
    stubs: list[Any] = [
        records_pb2_grpc.RecordsServiceStub(channel)  # type: ignore[no-untyped-call]
        for channel in channels
    ]

    async def publish(number: int) -> None:
        stub = stubs[number % len(stubs)]
        await stub.Publish(records_pb2.PublishRequest(record=records[number]))

    return await in_flight(len(records), concurrency, publish)
