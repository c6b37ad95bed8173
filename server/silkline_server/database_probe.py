"""Readiness follows the database: NOT_SERVING on gRPC health while it does not answer.

A replica whose database is unreachable can store nothing and read nothing,
so balancers and Kubernetes readiness probes should send calls elsewhere. It
is still alive (`healthcheck --liveness` accepts NOT_SERVING: restarting it
would not bring the database back), and it turns SERVING again by itself as
soon as the database answers. The probe only reports: calls that reach the
replica meanwhile fail on their own, writes with UNAVAILABLE, and nothing is
acknowledged that was not stored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import structlog
from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer

from silkline_server.store import Store

log = structlog.get_logger("silkline.server")

DEFAULT_INTERVAL_S = 1.0
DEFAULT_TIMEOUT_S = 3.0


class DatabaseProbe:
    """Pings the database every `interval_s` and sets the health of `services` to match.

    One owner task, started by `start()` and awaited by `stop()`. A ping that
    has not answered within `timeout_s` (a host that drops packets rather than
    refusing) counts as a failure; it is left to finish in its thread and no
    second one is started meanwhile.
    """

    def __init__(
        self,
        store: Store,
        health: HealthServicer,
        services: Sequence[str],
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if interval_s <= 0 or timeout_s <= 0:
            raise ValueError("interval_s and timeout_s must be positive")
        self._store = store
        self._health = health
        self._services = tuple(services)
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._serving = True
        self._ping: asyncio.Future[bool] | None = None
        self._owner: asyncio.Task[None] | None = None

    @property
    def serving(self) -> bool:
        """Whether the last ping answered (the server was SERVING when the probe started)."""
        return self._serving

    async def start(self) -> None:
        if self._owner is not None:
            raise RuntimeError("DatabaseProbe.start() called twice")
        self._owner = asyncio.create_task(self._run(), name="silkline-database-probe")

    async def stop(self) -> None:
        """Stop probing; the health statuses stay as they are (a drain sets its own)."""
        if self._owner is None:
            return
        self._owner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._owner

    async def _run(self) -> None:
        while True:
            answered = await self._answers()
            if answered != self._serving:
                self._serving = answered
                if answered:
                    log.info("database answers again; SERVING")
                else:
                    log.error(
                        "database unreachable; NOT_SERVING until it answers "
                        "(writes are refused with UNAVAILABLE)"
                    )
                status = (
                    health_pb2.HealthCheckResponse.SERVING
                    if answered
                    else health_pb2.HealthCheckResponse.NOT_SERVING
                )
                for service in self._services:
                    await self._health.set(service, status)
            await asyncio.sleep(self._interval_s)

    async def _answers(self) -> bool:
        if self._ping is None or self._ping.done():
            self._ping = asyncio.get_running_loop().run_in_executor(None, self._store.ping)
        done, _ = await asyncio.wait([self._ping], timeout=self._timeout_s)
        return bool(done) and self._ping.result()
