"""RecordsService: publishing and reading signed records."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import grpc
import structlog
from google.protobuf.timestamp_pb2 import Timestamp

from silkline.identity import Identity
from silkline.record_checks import RecordRefusedError, SignerRefusedError
from silkline.records import Violation
from silkline.v1 import records_pb2, records_pb2_grpc
from silkline_server.access import AccessControl, RecordAccess
from silkline_server.admission import Admission, OriginatorMismatchError
from silkline_server.caller import current_caller
from silkline_server.receipts import ReceiptSigner
from silkline_server.services.context import Context
from silkline_server.services.status import abort_with_violations
from silkline_server.services.unimplemented import not_yet
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

REAL_TIME = "the real-time issue"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
NOT_FOUND_MESSAGE = "no such record"
SCAN_PAGES = 10


class RecordsServicer(records_pb2_grpc.RecordsServiceServicer):
    def __init__(
        self,
        admission: Admission,
        committer: GroupCommitter,
        store: Store,
        receipts: ReceiptSigner,
        access: AccessControl,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._admission = admission
        self._committer = committer
        self._store = store
        self._receipts = receipts
        self._access = access
        self._clock = clock

    async def Publish(
        self, request: records_pb2.PublishRequest, context: Context
    ) -> records_pb2.PublishResponse:
        caller = current_caller().identity
        signed = request.record
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
            await abort_with_violations(context, code, str(exc), exc.violations)
        try:
            outcome = await self._committer.submit(admitted)
        except StoreError as exc:
            log.error("record not stored", record_id=admitted.record_id, error=str(exc))
            await context.abort(
                grpc.StatusCode.UNAVAILABLE, "the record could not be stored; retry"
            )
        if isinstance(outcome, Conflict):
            message = (
                f"record {admitted.record_id} already exists with different bytes; "
                "a new record needs a new id"
            )
            await abort_with_violations(
                context, grpc.StatusCode.ALREADY_EXISTS, message, [Violation("/id", message)]
            )
        stored = outcome.record
        log.info(
            "record accepted" if isinstance(outcome, Appended) else "record already present",
            record_id=stored.record_id,
            log_index=stored.log_index,
            record_type=stored.record_type,
        )
        return records_pb2.PublishResponse(receipt=self._receipts.receipt(stored))

    async def PublishStream(
        self,
        request_iterator: AsyncIterator[records_pb2.PublishStreamRequest],
        context: Context,
    ) -> AsyncIterator[records_pb2.PublishStreamResponse]:
        await not_yet(context, "PublishStream", REAL_TIME)
        yield records_pb2.PublishStreamResponse()  # pragma: no cover - makes this a stream

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
        since = request.filter.since.ToDatetime(UTC) if request.filter.HasField("since") else None
        now = self._clock()
        visible, last_scanned, exhausted = await asyncio.to_thread(
            self._scan_visible,
            caller,
            after_index,
            page_size,
            list(request.filter.record_types),
            list(request.filter.originators),
            since,
            now,
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
        record_types: list[str],
        originators: list[str],
        since: datetime | None,
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
                record_types=record_types,
                originators=originators,
                since=since,
            )
            for stored in batch:
                cursor = stored.log_index
                access = self._access.decide(
                    caller, stored, self._store.get_disclosures(stored.record_id), now
                )
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

    async def Subscribe(
        self, request: records_pb2.SubscribeRequest, context: Context
    ) -> AsyncIterator[records_pb2.SubscribeResponse]:
        await not_yet(context, "Subscribe", REAL_TIME)
        yield records_pb2.SubscribeResponse()  # pragma: no cover - makes this a stream

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
