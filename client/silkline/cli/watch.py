"""`silkline watch`: records printed as they are accepted, resuming where this profile stopped."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from datetime import UTC, datetime
from typing import Any, Final

import click
import grpc

from silkline.cli.exit_codes import for_status
from silkline.cli.output import stderr, wants_json
from silkline.cli.records import record_document
from silkline.cli.session import selected_profile
from silkline.connection import open_aio_channel
from silkline.cursors import CursorBook, filter_key
from silkline.realtime import follow
from silkline.records import RECORD_TYPES
from silkline.v1 import records_pb2, records_pb2_grpc

# The remembered cursor is written at most this often while records arrive, and
# on exit: a watch killed with SIGKILL may print again up to this much.
SAVE_EVERY_S: Final = 0.5
_COLUMNS: Final = (
    ("log_index", 9),
    ("accepted_at", 20),
    ("record_type", 15),
    ("originator", 14),
    ("tlp", 12),
    ("record_id", 36),
)


@click.command()
@click.option("--type", "record_types", multiple=True, type=click.Choice(RECORD_TYPES))
@click.option("--originator", "originators", multiple=True, help="P or P/AGENCY; repeatable.")
@click.option("--since", type=click.DateTime(), help="Only records accepted at or after (UTC).")
@click.option(
    "--from",
    "from_cursor",
    type=click.IntRange(min=0),
    help="Start at this cursor (a log index) instead of where this profile stopped.",
)
@click.option("--stop-after", type=click.IntRange(min=1), help="Exit after this many records.")
@click.option(
    "--duration", type=click.FloatRange(min=0, min_open=True), help="Exit after this many seconds."
)
@click.option("--forget", is_flag=True, help="Neither read nor remember the cursor.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document per line.")
def watch(
    record_types: tuple[str, ...],
    originators: tuple[str, ...],
    since: datetime | None,
    from_cursor: int | None,
    stop_after: int | None,
    duration: float | None,
    forget: bool,
    as_json: bool,
) -> None:
    """Print the records this agency may see as they are accepted (Ctrl-C to stop).

    Starts where this profile's last watch with the same filter stopped (the
    cursor is remembered in cursors.toml), or at --from, or at the start of the
    log. Reconnects by itself when the server restarts or ends the stream.
    """
    profile = selected_profile()
    since_utc = since.replace(tzinfo=UTC) if since is not None else None
    key = filter_key(record_types, originators, since_utc)
    book = CursorBook.load()
    cursor = from_cursor
    if cursor is None:
        cursor = 0 if forget else (book.get(profile.name, key) or 0)
    record_filter = records_pb2.RecordFilter(record_types=record_types, originators=originators)
    if since_utc is not None:
        record_filter.since.FromDatetime(since_utc)
    watcher = _Watcher(
        book=None if forget else book,
        profile=profile.name,
        key=key,
        cursor=cursor,
        as_json=wants_json(as_json),
        stop_after=stop_after,
    )
    stderr.print(f"watching from cursor {cursor} ({key}); Ctrl-C to stop", highlight=False)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with open_aio_channel(profile) as channel:
            stub = records_pb2_grpc.RecordsServiceStub(channel)  # type: ignore[no-untyped-call]
            following = asyncio.create_task(watcher.run(stub, record_filter))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait(
                [following, stopping], timeout=duration, return_when=asyncio.FIRST_COMPLETED
            )
            for task in (following, stopping):
                task.cancel()
            await asyncio.wait([following, stopping])
            if not following.cancelled() and following.exception() is not None:
                raise following.exception()  # type: ignore[misc]

    failure: grpc.aio.AioRpcError | None = None
    try:
        asyncio.run(main())
    except grpc.aio.AioRpcError as exc:
        # Not worth retrying (refused certificate, bad filter): say why and stop.
        failure = exc
    finally:
        watcher.save()
    stderr.print(
        f"stopped after {watcher.delivered} record(s); resume from cursor {watcher.cursor}",
        highlight=False,
    )
    if failure is not None:
        stderr.print(
            f"[red]error[/red] {failure.code().name}: {failure.details()}", highlight=False
        )
        sys.exit(for_status(failure.code()))


class _Watcher:
    def __init__(
        self,
        *,
        book: CursorBook | None,
        profile: str,
        key: str,
        cursor: int,
        as_json: bool,
        stop_after: int | None,
    ) -> None:
        self._book = book
        self._profile = profile
        self._key = key
        self.cursor = cursor
        self._as_json = as_json
        self._stop_after = stop_after
        self.delivered = 0
        self._saved_at = 0.0
        self._header_printed = False

    async def run(
        self, stub: records_pb2_grpc.RecordsServiceStub, record_filter: records_pb2.RecordFilter
    ) -> None:
        events = follow(stub, record_filter, self.cursor, on_reconnect=_reconnecting)
        try:
            async for response in events:
                if response.HasField("record"):
                    self._print(response.record, response.next_cursor)
                    self.delivered += 1
                self.cursor = max(self.cursor, response.next_cursor)
                if time.monotonic() - self._saved_at >= SAVE_EVERY_S:
                    self.save()
                if self._stop_after is not None and self.delivered >= self._stop_after:
                    return
        finally:
            await events.aclose()

    def save(self) -> None:
        if self._book is not None:
            self._book.set(self._profile, self._key, self.cursor)
            self._book.save()
        self._saved_at = time.monotonic()

    def _print(self, view: records_pb2.RecordView, next_cursor: int) -> None:
        document = record_document(view)
        if self._as_json:
            line: dict[str, Any] = {"cursor": next_cursor, **document}
            sys.stdout.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
        else:
            if not self._header_printed:
                sys.stdout.write(_row({name: name for name, _ in _COLUMNS}) + "  withheld\n")
                self._header_printed = True
            header = document["header"]
            withheld = ", ".join(document["withheld_classes"]) or "-"
            sys.stdout.write(_row(header) + f"  {withheld}\n")
        sys.stdout.flush()


def _row(values: dict[str, Any]) -> str:
    return "  ".join(str(values[name]).ljust(width) for name, width in _COLUMNS)


def _reconnecting(code: grpc.StatusCode, details: str, delay_s: float) -> None:
    stderr.print(
        f"stream ended ({code.name}: {details}); again in {delay_s:.1f} s", highlight=False
    )
