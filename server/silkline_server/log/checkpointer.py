"""The checkpointer: a new signed checkpoint after commits, at most once per interval.

One owner task, started with the server and awaited when it stops. The store
tells it (from whichever thread committed) that the log grew; it then signs a
checkpoint of the whole tree, waiting first if the previous one is younger
than the interval, so a burst of commits costs one signature a second. On
stop it publishes what is still pending, so every acknowledged entry is in a
checkpoint before the server exits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import Self

import structlog

from silkline_server.log.checkpoints import CheckpointPublisher
from silkline_server.store import Store, StoreError

log = structlog.get_logger("silkline.log")


class Checkpointer:
    """Owns the task that publishes checkpoints; `start()` and `stop()` bracket its life."""

    def __init__(
        self, store: Store, publisher: CheckpointPublisher, *, min_interval_s: float = 1.0
    ) -> None:
        if min_interval_s < 0:
            raise ValueError(f"min_interval_s must not be negative, got {min_interval_s}")
        self._store = store
        self._publisher = publisher
        self._min_interval_s = min_interval_s
        self._grew = asyncio.Event()
        self._stopping = asyncio.Event()
        self._owner: asyncio.Task[None] | None = None
        self._remove_listener: Callable[[], None] | None = None
        self._last_published = float("-inf")
        self._published = 0

    @property
    def published(self) -> int:
        """How many checkpoints this checkpointer has signed."""
        return self._published

    async def start(self) -> None:
        """Publish a checkpoint of the log as it is, then follow its growth.

        The first publication is awaited, so a server that is serving always
        has a checkpoint covering what it found at start-up.
        """
        if self._owner is not None:
            raise RuntimeError("Checkpointer.start() called twice")
        loop = asyncio.get_running_loop()
        await self._publish()

        def grew(_size: int) -> None:
            # Called on the committing thread, possibly while the loop shuts down.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._grew.set)

        self._remove_listener = self._store.add_append_listener(grew)
        self._owner = asyncio.create_task(self._run(), name="silkline-checkpointer")

    async def stop(self) -> None:
        """Stop following the log, publish what is pending, and wait for the owner task."""
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        if self._owner is None:
            return
        self._stopping.set()
        # As with GroupCommitter.stop: a cancelled owner is stopped; other errors surface.
        await asyncio.wait([self._owner])
        if not self._owner.cancelled():
            self._owner.result()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            while not self._stopping.is_set():
                grew = asyncio.ensure_future(self._grew.wait())
                await asyncio.wait([grew, stopping], return_when=asyncio.FIRST_COMPLETED)
                grew.cancel()
                if self._stopping.is_set():
                    break
                delay = self._last_published + self._min_interval_s - loop.time()
                if delay > 0:
                    # Wait out the interval, or until stop() asks for the last one now.
                    await asyncio.wait([stopping], timeout=delay)
                self._grew.clear()
                await self._publish()
            if self._grew.is_set():
                self._grew.clear()
                await self._publish()
        finally:
            stopping.cancel()

    async def _publish(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            size = await asyncio.to_thread(self._publisher.publish)
        except StoreError as exc:
            # The entries are committed; the next commit (or stop) tries again.
            log.error("checkpoint not signed; retrying after the next commit", error=str(exc))
            self._grew.set()
            size = None
        self._last_published = loop.time()
        if size is not None:
            self._published += 1
