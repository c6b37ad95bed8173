"""Streams to and from the server: publishing in a window, following records from a cursor.

Transport only, over grpc.aio: what to send and what to do with an answer
belong to the caller (`silkline feed`, `silkline watch`, the benchmark, tests).

Both sides survive a server restart. `StreamPublisher` resends every item
not yet answered on a new stream (the server treats an identical resubmission
as an idempotent retry); `follow` subscribes again from the last cursor it
was given, or the later one the server's trailing metadata names.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar

import grpc

from silkline.v1 import records_pb2, records_pb2_grpc

__all__ = [
    "LOG_SIZE_KEY",
    "RESUME_CURSOR_KEY",
    "ItemAnswer",
    "ServerUnavailableError",
    "StreamPublisher",
    "follow",
    "resume_cursor",
]

RESUME_CURSOR_KEY: Final = "silkline-resume-cursor"
"""Trailing metadata of an ended Subscribe: the cursor to subscribe from next."""

LOG_SIZE_KEY: Final = "silkline-log-size"
"""Initial metadata of PublishStream: the log's size when the stream opened."""

# Worth another stream: the server is restarting or draining, or ended a slow
# subscriber. Anything else (refused certificate, bad request) is not.
_RETRYABLE: Final = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    }
)
# google.rpc.Code UNAVAILABLE in an ItemError: the server could not store the record.
_NOT_STORED: Final = 14
_FIRST_BACKOFF_S: Final = 0.1
_MAX_BACKOFF_S: Final = 5.0

T = TypeVar("T")
Reconnecting = Callable[[grpc.StatusCode, str, float], None]
"""Told (status code, details, seconds until the next attempt) before each retry."""


class ServerUnavailableError(Exception):
    """The server stayed unreachable longer than the caller allowed."""


@dataclass(frozen=True)
class ItemAnswer:
    """The server's answer to one streamed record: its receipt, or why it was refused."""

    receipt: records_pb2.Receipt | None
    error: records_pb2.ItemError | None
    # The record was accepted before this stream opened: a resubmission.
    already_present: bool = False


@dataclass
class _PumpFailure:
    error: BaseException


@dataclass
class _Stream(Generic[T]):
    """What outlives one PublishStream call: the unanswered items and the sequence counter."""

    pending: dict[int, tuple[T, records_pb2.SignedRecord]] = field(default_factory=dict)
    # Refused with UNAVAILABLE (the server could not store them): sent again on the next stream.
    retry: list[tuple[T, records_pb2.SignedRecord]] = field(default_factory=list)
    next_sequence: int = 0
    exhausted: bool = False
    answered: int = 0


class StreamPublisher(Generic[T]):
    """Publishes records over PublishStream with at most `window` of them unanswered.

    `publish` takes `(item, record)` pairs, where `item` is the caller's own
    handle (an input line, say), and calls `on_answer(item, answer)` as each
    answer arrives (in any order). When the stream breaks on a retryable status
    it opens another and resends the unanswered records first; it gives up with
    ServerUnavailableError after `retry_for_s` seconds without an answer. A
    record refused with UNAVAILABLE (not stored, "retry") is sent again on the
    next stream instead of being answered.
    """

    def __init__(
        self,
        stub: records_pb2_grpc.RecordsServiceStub,
        *,
        window: int = 64,
        retry_for_s: float = 60.0,
        on_reconnect: Reconnecting | None = None,
    ) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1, got {window}")
        self._stub = stub
        self._window = window
        self._retry_for_s = retry_for_s
        self._on_reconnect = on_reconnect

    async def publish(
        self,
        items: AsyncIterator[tuple[T, records_pb2.SignedRecord]],
        on_answer: Callable[[T, ItemAnswer], None],
    ) -> None:
        # The items are pulled by a task of their own into a queue: a stream that
        # breaks never cancels the caller's iterator half-way through an item.
        queue: asyncio.Queue[tuple[T, records_pb2.SignedRecord] | _PumpFailure | None] = (
            asyncio.Queue(maxsize=self._window)
        )
        pump = asyncio.create_task(_pump(items, queue), name="silkline-publish-pump")
        stream: _Stream[T] = _Stream()
        loop = asyncio.get_running_loop()
        backoff = _FIRST_BACKOFF_S
        outage_since: float | None = None
        try:
            while True:
                answered_before = stream.answered
                try:
                    await self._one_stream(queue, stream, on_answer)
                    if not stream.retry:
                        return
                    error = _ended_early(f"{len(stream.retry)} record(s) not stored: resending")
                except grpc.aio.AioRpcError as exc:
                    if exc.code() not in _RETRYABLE:
                        raise
                    error = exc
                if stream.answered > answered_before:
                    backoff, outage_since = _FIRST_BACKOFF_S, None
                outage_since = outage_since if outage_since is not None else loop.time()
                if loop.time() - outage_since > self._retry_for_s:
                    raise ServerUnavailableError(
                        f"no answer from the server for {self._retry_for_s:g} s "
                        f"({error.code().name}: {error.details()})"
                    ) from error
                if self._on_reconnect is not None:
                    self._on_reconnect(error.code(), error.details() or "", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)
        finally:
            pump.cancel()
            await asyncio.wait([pump])

    async def _one_stream(
        self,
        queue: asyncio.Queue[tuple[T, records_pb2.SignedRecord] | _PumpFailure | None],
        stream: _Stream[T],
        on_answer: Callable[[T, ItemAnswer], None],
    ) -> None:
        call: Any = self._stub.PublishStream()
        room = asyncio.Event()
        log_size: list[int] = []

        async def send() -> None:
            # What the last stream left unanswered goes first, in the order it was read.
            for retried in stream.retry:
                stream.pending[stream.next_sequence] = retried
                stream.next_sequence += 1
            stream.retry.clear()
            for sequence, (_, record) in sorted(stream.pending.items()):
                await call.write(records_pb2.PublishStreamRequest(sequence=sequence, record=record))
            while not stream.exhausted:
                while len(stream.pending) >= self._window:
                    room.clear()
                    await room.wait()
                entry = await queue.get()
                if entry is None:
                    stream.exhausted = True
                    break
                if isinstance(entry, _PumpFailure):
                    raise entry.error
                sequence = stream.next_sequence
                stream.next_sequence += 1
                stream.pending[sequence] = entry
                await call.write(
                    records_pb2.PublishStreamRequest(sequence=sequence, record=entry[1])
                )
            await call.done_writing()

        async def receive() -> None:
            metadata = await call.initial_metadata()
            for key, value in metadata or ():
                if key == LOG_SIZE_KEY and str(value).isdigit():
                    log_size.append(int(value))
            async for response in call:
                entry = stream.pending.pop(response.sequence, None)
                if entry is None:
                    continue  # an answer to a sequence already answered: nothing to do
                room.set()
                if response.WhichOneof("result") == "error" and response.error.code == _NOT_STORED:
                    stream.retry.append(entry)
                    continue
                stream.answered += 1
                on_answer(entry[0], _answer(response, log_size[0] if log_size else None))
            if stream.pending or not stream.exhausted:
                # Ended without answering everything: treat it as the server going away.
                raise _ended_early("the stream ended before every record was answered")

        sender = asyncio.create_task(send(), name="silkline-publish-send")
        receiver = asyncio.create_task(receive(), name="silkline-publish-receive")
        try:
            await asyncio.wait([sender, receiver], return_when=asyncio.FIRST_EXCEPTION)
            if sender.done() and sender.exception() is not None and not receiver.done():
                failure = sender.exception()
                if not isinstance(failure, grpc.aio.AioRpcError | asyncio.InvalidStateError):
                    call.cancel()  # an input failure, not the stream's: stop here
                    raise failure  # type: ignore[misc]
                # A write failed because the call ended: the receiver learns the status.
            await receiver
            await sender
        finally:
            for task in (sender, receiver):
                task.cancel()
            await asyncio.wait([sender, receiver])


def _answer(response: records_pb2.PublishStreamResponse, log_size: int | None) -> ItemAnswer:
    if response.HasField("receipt"):
        return ItemAnswer(
            receipt=response.receipt,
            error=None,
            already_present=log_size is not None and response.receipt.log_index < log_size,
        )
    return ItemAnswer(receipt=None, error=response.error)


def _ended_early(details: str) -> grpc.aio.AioRpcError:
    """A stream the server closed with OK too soon, as the UNAVAILABLE it amounts to."""
    return grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(),
        details=details,
        debug_error_string="",
    )


async def _pump(
    items: AsyncIterator[T],
    queue: asyncio.Queue[T | _PumpFailure | None],
) -> None:
    try:
        async for item in items:
            await queue.put(item)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        await queue.put(_PumpFailure(exc))
        return
    await queue.put(None)


async def follow(
    stub: records_pb2_grpc.RecordsServiceStub,
    record_filter: records_pb2.RecordFilter,
    cursor: int,
    *,
    retry_for_s: float | None = None,
    on_reconnect: Reconnecting | None = None,
) -> AsyncGenerator[records_pb2.SubscribeResponse, None]:
    """Every record the caller may see from `cursor` on, and heartbeats, across restarts.

    Each response carries `next_cursor`, the cursor to resume from after it.
    Retries a retryable status with backoff for ever, or for `retry_for_s`
    seconds without a response (then ServerUnavailableError).
    """
    loop = asyncio.get_running_loop()
    backoff = _FIRST_BACKOFF_S
    outage_since: float | None = None
    while True:
        call: Any = stub.Subscribe(
            records_pb2.SubscribeRequest(filter=record_filter, cursor=cursor)
        )
        try:
            async for response in call:
                backoff, outage_since = _FIRST_BACKOFF_S, None
                cursor = max(cursor, response.next_cursor)
                yield response
            error = _ended_early("the subscription ended without a status")
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in _RETRYABLE:
                raise
            error = exc
            cursor = max(cursor, resume_cursor(exc.trailing_metadata()) or 0)
        finally:
            call.cancel()
        outage_since = outage_since if outage_since is not None else loop.time()
        if retry_for_s is not None and loop.time() - outage_since > retry_for_s:
            raise ServerUnavailableError(
                f"no answer from the server for {retry_for_s:g} s "
                f"({error.code().name}: {error.details()})"
            ) from error
        if on_reconnect is not None:
            on_reconnect(error.code(), error.details() or "", backoff)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, _MAX_BACKOFF_S)


def resume_cursor(metadata: Any) -> int | None:
    """The `silkline-resume-cursor` of trailing metadata, if the server sent one."""
    with contextlib.suppress(TypeError, ValueError):
        for key, value in metadata or ():
            if key == RESUME_CURSOR_KEY:
                return int(value)
    return None
