"""Wake-ups across replicas: PostgreSQL LISTEN/NOTIFY on one channel.

Every transaction that appends records NOTIFYs `RECORDS_CHANNEL` with the
highest log index it appended (`notify_records_appended`, called inside that
transaction). PostgreSQL delivers a notification only once its transaction
has committed, and only to sessions listening at that moment. Each replica
holds one dedicated connection that LISTENs (`RecordsAppendedListener`) and
hands each index to a callback on the event loop: the fan-out, which wakes
its subscribers.

A notification is a hint, never the truth. It is lost while the listener is
reconnecting (PostgreSQL restarted, the network dropped); subscribers still
find every record by reading the log from their cursor, at the latest at
their next heartbeat. So the listener reconnects by itself, and after each
(re)connection calls back once with None: "something may have been missed".

SQLite has no notifications and needs none: one process holds the file.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import psycopg
import structlog
from sqlalchemy import Connection, func, select

if TYPE_CHECKING:
    from silkline_server.store.repository import Store

log = structlog.get_logger("silkline.notifications")

RECORDS_CHANNEL: Final = "silkline_records_appended"
"""The channel; each payload is the decimal log index of the highest record appended."""

RecordsAppendedCallback = Callable[[int | None], None]
"""Called on the event loop with a notified log index, or None after a (re)connection."""


def notify_records_appended(connection: Connection, highest_log_index: int) -> None:
    """Inside the appending transaction: tell every listening replica, once it commits.

    A no-op on SQLite. PostgreSQL folds identical notifications of one
    transaction into one, and drops them all if it rolls back.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_notify(RECORDS_CHANNEL, str(highest_log_index))))


class RecordsAppendedListener:
    """One dedicated PostgreSQL connection that LISTENs and calls back per notification.

    One owner task, started by `start()` and awaited by `stop()`. It
    reconnects with backoff after any error, and checks an idle connection
    with a query every `idle_check_s` so that a silently dead one is replaced.
    """

    def __init__(
        self,
        store: Store,
        on_appended: RecordsAppendedCallback,
        *,
        retry_min_s: float = 0.1,
        retry_max_s: float = 2.0,
        idle_check_s: float = 10.0,
        connect_timeout_s: int = 5,
    ) -> None:
        if store.backend != "postgresql":
            raise ValueError(f"LISTEN/NOTIFY needs PostgreSQL, not {store.backend}")
        if not 0 < retry_min_s <= retry_max_s:
            raise ValueError("retries need 0 < retry_min_s <= retry_max_s")
        engine = store.engine
        # The engine's own translation of its URL, so both connect alike.
        _, params = engine.dialect.create_connect_args(engine.url)
        params.pop("context", None)  # SQLAlchemy's adapters, not ours
        params["connect_timeout"] = connect_timeout_s
        self._params: dict[str, Any] = dict(params)
        self._on_appended = on_appended
        self._retry_min_s = retry_min_s
        self._retry_max_s = retry_max_s
        self._idle_check_s = idle_check_s
        self._owner: asyncio.Task[None] | None = None
        self._listening = False
        self._connections = 0

    @property
    def listening(self) -> bool:
        """Whether the connection is up and LISTENing right now."""
        return self._listening

    @property
    def connections(self) -> int:
        """How many times the listener has connected and started listening."""
        return self._connections

    async def start(self) -> None:
        """Start the owner task; it connects in the background."""
        if self._owner is not None:
            raise RuntimeError("RecordsAppendedListener.start() called twice")
        self._owner = asyncio.create_task(self._run(), name="silkline-records-listener")

    async def stop(self) -> None:
        """Close the connection and wait for the owner task to end."""
        if self._owner is None:
            return
        self._owner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._owner

    async def _run(self) -> None:
        delay = self._retry_min_s
        failures = 0
        while True:
            try:
                connection = await psycopg.AsyncConnection.connect(autocommit=True, **self._params)
                async with connection:
                    await connection.execute(f"LISTEN {RECORDS_CHANNEL}")
                    self._listening = True
                    self._connections += 1
                    log.info(
                        "listening for records appended by every replica",
                        reconnected=self._connections > 1,
                    )
                    delay, failures = self._retry_min_s, 0
                    # Whatever was notified while we were not listening is lost: look.
                    self._call_back(None)
                    await self._receive(connection)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                # Said once per outage, not at every retry; the reconnection is logged.
                report = log.warning if self._listening or failures == 0 else log.debug
                failures += 1
                report(
                    "records notifications interrupted; other replicas' records reach "
                    "subscribers at their next heartbeat until reconnected",
                    error=" ".join(str(exc).split())[:300],
                    retry_in_s=delay,
                )
            finally:
                self._listening = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_max_s)

    def _call_back(self, log_index: int | None) -> None:
        try:
            self._on_appended(log_index)
        except Exception:
            # A fault of the callback must not end the wake-ups of every later commit.
            log.exception("records notification callback failed", log_index=log_index)

    async def _receive(self, connection: psycopg.AsyncConnection[Any]) -> None:
        while True:
            async for notification in connection.notifies(timeout=self._idle_check_s):
                self._call_back(_log_index(notification.payload))
            # Nothing for a while: a dead peer sends nothing either, so ask.
            async with asyncio.timeout(self._idle_check_s):
                await connection.execute("SELECT 1")


def _log_index(payload: str) -> int | None:
    try:
        return int(payload)
    except ValueError:
        log.warning("unexpected records notification payload", payload=payload[:100])
        return None
