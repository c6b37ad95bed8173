"""DatabaseProbe: gRPC health follows whether the database answers, both ways, by itself."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer

from silkline_server.database_probe import DatabaseProbe

SERVICES = ("", "silkline.v1.RecordsService")
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class FlakyDatabase:
    """Stands in for a Store: `ping` answers as told, or hangs until released."""

    def __init__(self) -> None:
        self.up = True
        self.hang = threading.Event()
        self.release = threading.Event()
        self.pings = 0

    def ping(self) -> bool:
        self.pings += 1
        if self.hang.is_set():
            self.release.wait(10)
        return self.up


async def statuses(health: HealthServicer) -> set[int]:
    return {
        (await health.Check(health_pb2.HealthCheckRequest(service=s), None)).status
        for s in SERVICES
    }


async def until(health: HealthServicer, status: int, within_s: float = 3.0) -> None:
    for _ in range(int(within_s / 0.01)):
        if await statuses(health) == {status}:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"health not {status} within {within_s} s: {await statuses(health)}")


async def serving_health() -> HealthServicer:
    health = HealthServicer()
    for service in SERVICES:
        await health.set(service, SERVING)
    return health


async def test_not_serving_while_the_database_is_down_and_serving_once_it_answers() -> None:
    database = FlakyDatabase()
    health = await serving_health()
    probe = DatabaseProbe(database, health, SERVICES, interval_s=0.02)  # type: ignore[arg-type]
    await probe.start()
    try:
        database.up = False
        await until(health, NOT_SERVING)
        assert not probe.serving
        database.up = True
        await until(health, SERVING)
        assert probe.serving
    finally:
        await probe.stop()


async def test_a_ping_that_hangs_counts_as_down_and_is_not_stacked() -> None:
    database = FlakyDatabase()
    health = await serving_health()
    probe = DatabaseProbe(
        database,  # type: ignore[arg-type]
        health,
        SERVICES,
        interval_s=0.02,
        timeout_s=0.1,
    )
    database.hang.set()
    await probe.start()
    try:
        await until(health, NOT_SERVING)
        await asyncio.sleep(0.3)
        assert database.pings == 1, "no second ping while the first hangs"
        database.hang.clear()
        database.release.set()
        await until(health, SERVING)
    finally:
        await probe.stop()


async def test_a_drain_keeps_not_serving_whatever_the_probe_found() -> None:
    database = FlakyDatabase()
    health = await serving_health()
    probe = DatabaseProbe(database, health, SERVICES, interval_s=0.02)  # type: ignore[arg-type]
    await probe.start()
    database.up = False
    await until(health, NOT_SERVING)
    await health.enter_graceful_shutdown()
    database.up = True
    await asyncio.sleep(0.1)
    assert await statuses(health) == {NOT_SERVING}
    await probe.stop()


@pytest.mark.parametrize("interval_s, timeout_s", [(0, 1), (1, 0)])
def test_interval_and_timeout_must_be_positive(interval_s: float, timeout_s: float) -> None:
    kwargs: dict[str, Any] = {"interval_s": interval_s, "timeout_s": timeout_s}
    with pytest.raises(ValueError, match="positive"):
        DatabaseProbe(FlakyDatabase(), HealthServicer(), SERVICES, **kwargs)  # type: ignore[arg-type]
