"""RecordsService: publishing and reading signed records."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import grpc
import structlog
from google.protobuf.timestamp_pb2 import Timestamp

from silkline.identity import Identity
from silkline.record_checks import RecordRefusedError, SignerRefusedError
from silkline.records import Violation
from silkline.v1 import records_pb2, records_pb2_grpc
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
    Store,
    StoredRecord,
    StoreError,
)

log = structlog.get_logger("silkline.records")

REAL_TIME = "the real-time issue"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
NOT_FOUND_MESSAGE = "no such record"


class RecordsServicer(records_pb2_grpc.RecordsServiceServicer):
    def __init__(
        self,
        admission: Admission,
        committer: GroupCommitter,
        store: Store,
        receipts: ReceiptSigner,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._admission = admission
        self._committer = committer
        self._store = store
        self._receipts = receipts
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
        stored = await asyncio.to_thread(self._store.get_record, request.record_id)
        # Until the access rules land, a record is visible only inside its
        # originator's participant: closed by default, never open. A record the
        # caller may not see answers exactly like one that does not exist.
        if stored is None or not _may_read(caller, stored):
            await context.abort(grpc.StatusCode.NOT_FOUND, NOT_FOUND_MESSAGE)
        return records_pb2.GetResponse(record=await self._view(stored))

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
        originators = _visible_originators(caller, list(request.filter.originators))
        if originators is None:
            return records_pb2.ListResponse()
        since = request.filter.since.ToDatetime(UTC) if request.filter.HasField("since") else None
        stored = await asyncio.to_thread(
            lambda: self._store.list_records(
                after_index=after_index,
                limit=page_size,
                record_types=list(request.filter.record_types),
                originators=originators,
                since=since,
            )
        )
        views = [await self._view(s) for s in stored]
        next_token = str(stored[-1].log_index) if len(stored) == page_size else ""
        return records_pb2.ListResponse(records=views, next_page_token=next_token)

    async def Subscribe(
        self, request: records_pb2.SubscribeRequest, context: Context
    ) -> AsyncIterator[records_pb2.SubscribeResponse]:
        await not_yet(context, "Subscribe", REAL_TIME)
        yield records_pb2.SubscribeResponse()  # pragma: no cover - makes this a stream

    async def _view(self, stored: StoredRecord) -> records_pb2.RecordView:
        disclosures = await asyncio.to_thread(self._store.get_disclosures, stored.record_id)
        erased = sorted({d.field_class for d in disclosures if d.disclosure is None})
        return records_pb2.RecordView(
            header=_header(stored),
            record=records_pb2.SignedRecord(
                envelope=stored.envelope,
                disclosures=[d.disclosure for d in disclosures if d.disclosure is not None],
                signer_certificate=stored.signer_certificate,
            ),
            receipt=self._receipts.receipt(stored),
            erased_classes=erased,
        )


def _may_read(caller: Identity, stored: StoredRecord) -> bool:
    return caller.participant == stored.originator_participant


def _visible_originators(caller: Identity, requested: list[str]) -> list[str] | None:
    """The originator filter narrowed to what the caller may see; None when nothing is."""
    if not requested:
        return [caller.participant]
    visible = [o for o in requested if o.split("/", 1)[0] == caller.participant]
    return visible or None


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
