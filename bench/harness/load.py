"""Client load: N calls in flight, and the raw echo baselines driven the same way."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import grpc

from harness.servers import Server, credentials, running

WINDOW: Final = 64
ECHO_SERVER = Path(__file__).resolve().parent / "echo_server.py"
ECHO_CALL: Final = "/silkline.bench.Echo/Call"
ECHO_STREAM: Final = "/silkline.bench.Echo/Stream"


@dataclass(frozen=True)
class Load:
    """What a run of calls achieved: calls per second and each call's latency (ms)."""

    per_s: float
    latencies_ms: list[float]


async def in_flight(count: int, concurrency: int, call: Callable[[int], Awaitable[object]]) -> Load:
    """`count` calls of `call(number)`, `concurrency` of them in flight at any time."""
    numbers = iter(range(count))
    latencies: list[float] = []

    async def worker() -> None:
        for number in numbers:
            started = time.perf_counter()
            await call(number)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, count)):
            group.create_task(worker())
    return Load(count / (time.perf_counter() - started), latencies)


@contextmanager
def echo_server(folder: Path) -> Iterator[Server]:
    """The raw grpc.aio echo server (harness/echo_server.py) in its own process."""
    with running(
        [sys.executable, str(ECHO_SERVER), str(folder / "echo-port")],
        folder / "echo-port",
        folder / "echo.log",
    ) as server:
        yield server


async def raw_unary(target: str, size: int, count: int, concurrency: int) -> Load:
    """Unary echoes of `size` random bytes over the same mTLS, `concurrency` in flight."""
    payload = os.urandom(size)
    async with grpc.aio.secure_channel(target, credentials("IN", "feed")) as channel:
        echo: Any = channel.unary_unary(ECHO_CALL)  # type: ignore[call-arg]
        await echo(payload)  # the connection and its TLS handshake are not timed
        return await in_flight(count, concurrency, lambda _: echo(payload))


async def raw_bidi(target: str, size: int, count: int, window: int = WINDOW) -> float:
    """Echoes per second of `size` random bytes over one bidi stream, `window` in flight."""
    payload = os.urandom(size)
    async with grpc.aio.secure_channel(target, credentials("IN", "feed")) as channel:
        await channel.unary_unary(ECHO_CALL)(payload)  # type: ignore[call-arg]
        echo: Any = channel.stream_stream(ECHO_STREAM)  # type: ignore[call-arg]
        call: Any = echo()
        slots = asyncio.Semaphore(window)

        async def send() -> None:
            for _ in range(count):
                await slots.acquire()
                await call.write(payload)
            await call.done_writing()

        answered = 0
        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            group.create_task(send())
            async for _ in call:
                slots.release()
                answered += 1
        elapsed = time.perf_counter() - started
    if answered != count:
        raise RuntimeError(f"the echo answered {answered} of {count} messages")
    return count / elapsed
