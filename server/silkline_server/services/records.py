"""RecordsService: publishing and reading signed records, one by one or as streams."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import grpc
import structlog
from google.protobuf.timestamp_pb2 import Timestamp

from silkline.identity import Identity
from silkline.record_checks import RecordRefusedError, SignerRefusedError
from silkline.records import Violation
from silkline.v1 import records_pb2, records_pb2_grpc
from silkline_server import metrics
from silkline_server.access import AccessControl, RecordAccess
from silkline_server.admission import Admission, OriginatorMismatchError
from silkline_server.caller import current_caller
from silkline_server.fanout import RecordFanout, Subscription
from silkline_server.receipts import ReceiptSigner
from silkline_server.services.context import Context
from silkline_server.services.status import abort_with_violations
from silkline_server.store import (
    Appended,
    Conflict,
    GroupCommitter,
    NewAccessEvent,
    Store,
    StoredRecord,
    StoreError,
)

log = structlog.get_logger("silkline.records")

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
NOT_FOUND_MESSAGE = "no such record"
SCAN_PAGES = 10

RESUME_CURSOR_KEY: Final = "silkline-resume-cursor"
"""Trailing metadata of an ended Subscribe: the cursor to pass to the next Subscribe."""

LOG_SIZE_KEY: Final = "silkline-log-size"
"""Initial metadata of PublishStream: the log's size when the stream opened. A receipt
with a lower log index is of a record accepted before: the item was already present."""

MAX_STREAM_ITEMS_IN_FLIGHT: Final = 1024
"""Items of one PublishStream being admitted or committed at once, whatever window the
client chose: past it the server stops reading the stream and HTTP/2 flow control
holds the client back."""


@dataclass(frozen=True)
class StreamSettings:
    """How Subscribe treats idle and slow subscribers."""

    heartbeat_interval_s: float = 15.0
    # A subscriber whose gRPC write has not completed in this time is not reading.
    write_timeout_s: float = 10.0
    # Records read from the store per query while catching up.
    page_size: int = 256
    # A live subscriber reads the store at most this often (batching deliveries).
    read_interval_s: float = 0.02


class PublishRefusedError(Exception):
    """Why one record was not accepted: the gRPC status code, a message, the fields."""

    def __init__(
        self, code: grpc.StatusCode, message: str, violations: Iterable[Violation] = ()
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.violations = tuple(violations)


@dataclass(frozen=True)
class RecordSelection:
    """A RecordFilter, checked: what List and Subscribe pass to the store."""

    record_types: list[str]
    originators: list[str]
    since: datetime | None


class _EndOfItems:
    """Queued by PublishStream's reader once every item read has been answered."""


_END_OF_ITEMS: Final = _EndOfItems()


class RecordsServicer(records_pb2_grpc.RecordsServiceServicer):
    def __init__(
        self,
        admission: Admission,
        committer: GroupCommitter,
        store: Store,
        receipts: ReceiptSigner,
        access: AccessControl,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        fanout: RecordFanout | None = None,
        streams: StreamSettings | None = None,
    ) -> None:
        self._admission = admission
        self._committer = committer
        self._store = store
        self._receipts = receipts
        self._access = access
        self._clock = clock
        self._fanout = fanout or RecordFanout()
        self._streams = streams or StreamSettings()

    async def Publish(
        self, request: records_pb2.PublishRequest, context: Context
    ) -> records_pb2.PublishResponse:
        try:
            receipt = await self._accept(current_caller().identity, request.record)
        except PublishRefusedError as exc:
            await abort_with_violations(context, exc.code, exc.message, exc.violations)
        return records_pb2.PublishResponse(receipt=receipt)

    async def _accept(
        self, caller: Identity, signed: records_pb2.SignedRecord
    ) -> records_pb2.Receipt:
        """Admit and commit one record; its receipt once its transaction has committed.

        The one path of Publish and of each PublishStream item. Raises
        PublishRefusedError with the status a unary call answers.
        """
        started = metrics.publish_started()
        try:
            admitted = self._admission.admit(
                caller,
                signed.envelope,
                list(signed.disclosures),
                signed.signer_certificate,
                self._clock(),
            )
        except RecordRefusedError as exc:
            code = (
                grpc.StatusCode.PERMISSION_DENIED
                if isinstance(exc, SignerRefusedError | OriginatorMismatchError)
                else grpc.StatusCode.INVALID_ARGUMENT
            )
            log.warning("record refused", reason=type(exc).__name__, detail=str(exc)[:500])
            metrics.count_refusal(exc)
            raise PublishRefusedError(code, str(exc), exc.violations) from exc
        try:
            outcome = await self._committer.submit(admitted)
        except StoreError as exc:
            log.error("record not stored", record_id=admitted.record_id, error=str(exc))
            raise PublishRefusedError(
                grpc.StatusCode.UNAVAILABLE, "the record could not be stored; retry"
            ) from exc
        if isinstance(outcome, Conflict):
            message = (
                f"record {admitted.record_id} already exists with different bytes; "
                "a new record needs a new id"
            )
            raise PublishRefusedError(
                grpc.StatusCode.ALREADY_EXISTS, message, [Violation("/id", message)]
            )
        stored = outcome.record
        if isinstance(outcome, Appended):
            self._fanout.committed(stored.log_index)
        log.info(
            "record accepted" if isinstance(outcome, Appended) else "record already present",
            record_id=stored.record_id,
            log_index=stored.log_index,
            record_type=stored.record_type,
        )
        metrics.observe_publish(started)
        return self._receipts.receipt(stored)

    async def PublishStream(
        self,
        request_iterator: AsyncIterator[records_pb2.PublishStreamRequest],
        context: Context,
    ) -> AsyncIterator[records_pb2.PublishStreamResponse]:
        """Each item admitted and committed as by Publish, concurrently, so that one
        stream's window fills a group-commit batch; each answered once committed, in
        the order answers are ready, under the client's sequence number.

        On drain the server stops reading items, answers those in flight and ends
        the stream with UNAVAILABLE: the client resends what was not answered.
        """
        caller = current_caller().identity
        try:
            log_size = await asyncio.to_thread(self._store.tree_size)
        except StoreError as exc:
            log.error("log unavailable; refusing the stream", error=str(exc))
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the log is unavailable; retry")
        await context.send_initial_metadata(((LOG_SIZE_KEY, str(log_size)),))
        answers: asyncio.Queue[records_pb2.PublishStreamResponse | _EndOfItems] = asyncio.Queue()
        slots = asyncio.Semaphore(MAX_STREAM_ITEMS_IN_FLIGHT)
        in_flight: set[asyncio.Task[None]] = set()

        async def answer(item: records_pb2.PublishStreamRequest) -> None:
            try:
                answers.put_nowait(await self._answer_item(caller, item))
            finally:
                slots.release()

        async def read_items() -> None:
            try:
                async for item in request_iterator:
                    await slots.acquire()
                    task = asyncio.create_task(answer(item))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
            finally:
                # Also when cancelled by a drain: the items read are answered first.
                if in_flight:
                    await asyncio.wait(set(in_flight))
                answers.put_nowait(_END_OF_ITEMS)

        reader = asyncio.create_task(read_items(), name="silkline-publish-stream-reader")

        def stop_reading(_: asyncio.Future[None]) -> None:
            reader.cancel()

        draining = self._fanout.closed
        draining.add_done_callback(stop_reading)
        try:
            while not isinstance(reply := await answers.get(), _EndOfItems):
                yield reply
        finally:
            draining.remove_done_callback(stop_reading)
            reader.cancel()
            for task in in_flight:
                task.cancel()
            await asyncio.wait([reader, *in_flight])
        if self._fanout.is_closed:
            context.set_code(grpc.StatusCode.UNAVAILABLE)
            context.set_details(
                "the server is shutting down: every item read was answered; "
                "resend the others to another replica or after the restart"
            )
        elif not reader.cancelled() and reader.exception() is not None:
            log.warning("publish stream ended by the client", error=repr(reader.exception()))

    async def _answer_item(
        self, caller: Identity, item: records_pb2.PublishStreamRequest
    ) -> records_pb2.PublishStreamResponse:
        try:
            receipt = await self._accept(caller, item.record)
        except PublishRefusedError as exc:
            return records_pb2.PublishStreamResponse(
                sequence=item.sequence, error=_item_error(exc.code, exc.message, exc.violations)
            )
        except Exception as exc:
            # One item never ends the stream, not even by a fault of ours.
            log.exception("publish stream item failed", sequence=item.sequence)
            return records_pb2.PublishStreamResponse(
                sequence=item.sequence,
                error=_item_error(
                    grpc.StatusCode.INTERNAL,
                    f"the server failed on this item ({type(exc).__name__}); resubmit it",
                    (),
                ),
            )
        return records_pb2.PublishStreamResponse(sequence=item.sequence, receipt=receipt)

    async def Get(
        self, request: records_pb2.GetRequest, context: Context
    ) -> records_pb2.GetResponse:
        caller = current_caller().identity
        now = self._clock()
        if not _is_record_id(request.record_id):
            message = "record_id must be a record's UUID (lower-case, canonical form)"
            await abort_with_violations(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                message,
                [Violation("record_id", message)],
            )
        stored = await asyncio.to_thread(self._store.get_record, request.record_id)
        access = None
        if stored is not None:
            disclosures = await asyncio.to_thread(self._store.get_disclosures, stored.record_id)
            access = self._access.decide(caller, stored, disclosures, now)
        event = self._access.event(
            caller, request.record_id, "get", access.decision if access else None, now
        )
        await self._log_access(context, [event])
        # A record the caller may not see answers exactly like one that does not exist.
        if access is None or not access.decision.allowed:
            await context.abort(grpc.StatusCode.NOT_FOUND, NOT_FOUND_MESSAGE)
        return records_pb2.GetResponse(record=self._view(access))

    async def List(
        self, request: records_pb2.ListRequest, context: Context
    ) -> records_pb2.ListResponse:
        caller = current_caller().identity
        page_size = request.page_size or DEFAULT_PAGE_SIZE
        if page_size < 0 or page_size > MAX_PAGE_SIZE:
            message = f"page_size must be between 1 and {MAX_PAGE_SIZE}"
            await abort_with_violations(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                message,
                [Violation("page_size", message)],
            )
        after_index = -1
        if request.page_token:
            if not request.page_token.isdigit():
                message = "page_token must be a token returned by a previous List"
                await abort_with_violations(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    message,
                    [Violation("page_token", message)],
                )
            after_index = int(request.page_token)
        selection = await _selection(request.filter, context)
        now = self._clock()
        visible, last_scanned, exhausted = await asyncio.to_thread(
            self._scan_visible, caller, after_index, page_size, selection, now
        )
        events = [
            self._access.event(caller, a.record.record_id, "list", a.decision, now) for a in visible
        ]
        if events:
            await self._log_access(context, events)
        next_token = "" if exhausted else str(last_scanned)
        return records_pb2.ListResponse(
            records=[self._view(a) for a in visible], next_page_token=next_token
        )

    def _scan_visible(
        self,
        caller: Identity,
        after_index: int,
        page_size: int,
        selection: RecordSelection,
        now: datetime,
    ) -> tuple[list[RecordAccess], int, bool]:
        """Records the caller may see after `after_index`, at most page_size of them.

        Scans at most SCAN_PAGES batches so that a reader who may see little
        cannot make one call read the whole log; the token lets it go on.
        """
        visible: list[RecordAccess] = []
        cursor = after_index
        for _ in range(SCAN_PAGES):
            batch = self._store.list_records(
                after_index=cursor,
                limit=page_size,
                record_types=selection.record_types,
                originators=selection.originators,
                since=selection.since,
            )
            # The decisions need each record's disclosures: one query for the batch.
            disclosures = self._store.get_disclosures_of([s.record_id for s in batch])
            for stored in batch:
                cursor = stored.log_index
                access = self._access.decide(caller, stored, disclosures[stored.record_id], now)
                if access.decision.allowed:
                    visible.append(access)
                    if len(visible) == page_size:
                        return visible, cursor, False
            if len(batch) < page_size:
                return visible, cursor, True
        return visible, cursor, False

    async def _log_access(self, context: Context, events: list[NewAccessEvent]) -> None:
        try:
            await asyncio.to_thread(self._store.record_access_events, events)
        except StoreError as exc:
            # No read without its record in the access log.
            log.error("access log unavailable; refusing the read", error=str(exc))
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the access log is unavailable; retry")

    async def Subscribe(self, request: records_pb2.SubscribeRequest, context: Context) -> None:
        """Every record the caller may see from the cursor on, in log order: catch-up
        from the store, then live; a heartbeat when idle.

        Written with `context.write` rather than as a generator so that each write
        can be timed: a subscriber that stops reading ends with RESOURCE_EXHAUSTED,
        and a drain ends every stream with UNAVAILABLE, both carrying the cursor
        to resume from (status message and trailing metadata).
        """
        caller = current_caller().identity
        selection = await _selection(request.filter, context)
        with self._fanout.subscribe(request.cursor) as subscription:
            log.info("subscribed", cursor=request.cursor, subscribers=self._fanout.subscribers)
            code, reason = await self._follow(caller, selection, subscription, context)
        cursor = subscription.cursor
        log.info("subscription ended", code=code.name, reason=reason, resume_cursor=cursor)
        context.set_trailing_metadata(((RESUME_CURSOR_KEY, str(cursor)),))
        context.set_code(code)
        context.set_details(f"{reason}; resume from cursor {cursor}")

    async def _follow(
        self,
        caller: Identity,
        selection: RecordSelection,
        subscription: Subscription,
        context: Context,
    ) -> tuple[grpc.StatusCode, str]:
        """Deliver until the stream must end; return its status code and the reason."""
        loop = asyncio.get_running_loop()
        settings = self._streams
        last_sent = loop.time()
        while True:
            if self._fanout.is_closed:
                return grpc.StatusCode.UNAVAILABLE, "the server is shutting down"
            if subscription.overflowed.done():
                return grpc.StatusCode.RESOURCE_EXHAUSTED, self._lag_reason()
            # Cleared before reading: a commit during the read wakes us again.
            subscription.woken.clear()
            last_read = loop.time()
            head = self._fanout.head
            now = self._clock()
            try:
                visible, last_scanned, exhausted = await asyncio.to_thread(
                    self._scan_visible,
                    caller,
                    subscription.cursor - 1,
                    settings.page_size,
                    selection,
                    now,
                )
            except StoreError as exc:
                log.error("store unavailable; ending the subscription", error=str(exc))
                return grpc.StatusCode.UNAVAILABLE, "the store is unavailable"
            if visible:
                events = [
                    self._access.event(caller, a.record.record_id, "deliver", a.decision, now)
                    for a in visible
                ]
                try:
                    await asyncio.to_thread(self._store.record_access_events, events)
                except StoreError as exc:
                    # No delivery without its record in the access log.
                    log.error("access log unavailable; ending the subscription", error=str(exc))
                    return grpc.StatusCode.UNAVAILABLE, "the access log is unavailable"
                for access in visible:
                    following = access.record.log_index + 1
                    # A write once started reaches the client before any status does,
                    # so the resume cursor moves as the write starts.
                    subscription.advance(following)
                    ending = await self._write(
                        context,
                        subscription,
                        records_pb2.SubscribeResponse(
                            record=self._view(access), next_cursor=following
                        ),
                    )
                    if ending is not None:
                        return ending
                last_sent = loop.time()
            # Records scanned but not visible to this caller are passed silently.
            subscription.advance(last_scanned + 1)
            if not exhausted:
                continue
            # Caught up with everything committed before the read began.
            subscription.advance(head + 1)
            idle = loop.time() - last_sent
            if idle >= settings.heartbeat_interval_s:
                heartbeat = records_pb2.Heartbeat()
                heartbeat.at.FromDatetime(now)
                ending = await self._write(
                    context,
                    subscription,
                    records_pb2.SubscribeResponse(
                        heartbeat=heartbeat, next_cursor=subscription.cursor
                    ),
                )
                if ending is not None:
                    return ending
                last_sent = loop.time()
                idle = 0.0
            # Woken by a commit here or (LISTEN/NOTIFY) on another replica, by a drain,
            # or at the next heartbeat: then the store is read again. The heartbeat's
            # read also finds whatever a lost notification would have announced.
            woken: asyncio.Future[Any] = asyncio.ensure_future(subscription.woken.wait())
            try:
                await asyncio.wait(
                    [woken, subscription.overflowed, self._fanout.closed],
                    timeout=settings.heartbeat_interval_s - idle,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                woken.cancel()
            # Under a stream of commits, read at most once per read_interval_s: each
            # read costs a query and an access-log transaction whatever it finds.
            since_read = loop.time() - last_read
            if woken.done() and since_read < settings.read_interval_s:
                await asyncio.sleep(settings.read_interval_s - since_read)

    async def _write(
        self,
        context: Context,
        subscription: Subscription,
        message: records_pb2.SubscribeResponse,
    ) -> tuple[grpc.StatusCode, str] | None:
        """Write one message; None once written, else why the stream must end now."""
        write = asyncio.ensure_future(context.write(message))
        done, _ = await asyncio.wait(
            [write, subscription.overflowed, self._fanout.closed],
            timeout=self._streams.write_timeout_s,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if write in done:
            write.result()
            return None
        # The message is left to the transport: it is sent before the status.
        write.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await write
        if self._fanout.is_closed:
            return grpc.StatusCode.UNAVAILABLE, "the server is shutting down"
        if subscription.overflowed.done():
            return grpc.StatusCode.RESOURCE_EXHAUSTED, self._lag_reason()
        return grpc.StatusCode.RESOURCE_EXHAUSTED, (
            f"the subscriber has not read for {self._streams.write_timeout_s:g} s"
        )

    def _lag_reason(self) -> str:
        return f"the subscriber fell more than {self._fanout.max_lag} records behind"

    def _view(self, access: RecordAccess) -> records_pb2.RecordView:
        stored = access.record
        view = records_pb2.RecordView(
            header=_header(stored),
            receipt=self._receipts.receipt(stored),
            withheld_classes=list(access.withheld),
            erased_classes=list(access.erased),
        )
        if access.decision.view == "full":
            view.record.CopyFrom(
                records_pb2.SignedRecord(
                    envelope=stored.envelope,
                    disclosures=list(access.disclosures),
                    signer_certificate=stored.signer_certificate,
                )
            )
        return view


async def _selection(record_filter: records_pb2.RecordFilter, context: Context) -> RecordSelection:
    """The filter as the store takes it; INVALID_ARGUMENT naming each malformed originator."""
    violations = [
        Violation(
            f"filter.originators[{position}]",
            f"{originator!r} must be a participant or participant/agency, e.g. 'IN' or 'IN/NCB'",
        )
        for position, originator in enumerate(record_filter.originators)
        if not _is_party(originator)
    ]
    if violations:
        await abort_with_violations(
            context, grpc.StatusCode.INVALID_ARGUMENT, violations[0].message, violations
        )
    since = record_filter.since.ToDatetime(UTC) if record_filter.HasField("since") else None
    return RecordSelection(
        record_types=list(record_filter.record_types),
        originators=list(record_filter.originators),
        since=since,
    )


def _is_party(text: str) -> bool:
    participant, slash, agency = text.partition("/")
    return bool(participant) and (not slash or bool(agency)) and "/" not in agency


def _item_error(
    code: grpc.StatusCode, message: str, violations: Sequence[Violation]
) -> records_pb2.ItemError:
    """A refused stream item, as the unary call's status would have said it."""
    number: int = code.value[0]
    return records_pb2.ItemError(
        code=number,
        message=message,
        field_violations=[
            records_pb2.FieldViolation(field=v.pointer, description=v.message) for v in violations
        ],
    )


def _is_record_id(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _header(stored: StoredRecord) -> records_pb2.RecordHeader:
    created_at, accepted_at = Timestamp(), Timestamp()
    created_at.FromDatetime(stored.created_at)
    accepted_at.FromDatetime(stored.accepted_at)
    return records_pb2.RecordHeader(
        record_id=stored.record_id,
        record_type=stored.record_type,
        originator_participant=stored.originator_participant,
        originator_agency=stored.originator_agency,
        created_at=created_at,
        accepted_at=accepted_at,
        log_index=stored.log_index,
        envelope_sha256=stored.envelope_sha256,
        tlp=stored.tlp,
        handling=[h for h in stored.handling.split(",") if h],
    )
