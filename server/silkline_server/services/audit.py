"""AuditService: checkpoints, proofs, entries, cosignatures and access events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from silkline.v1 import audit_pb2, audit_pb2_grpc
from silkline_server.access import AccessControl
from silkline_server.caller import current_caller
from silkline_server.services.context import Context
from silkline_server.services.unimplemented import not_yet
from silkline_server.store import Store, StoredAccessEvent

LOG = "the tamper-evident-log issue"
MAX_PAGE_SIZE = 1000


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, store: Store, access: AccessControl) -> None:
        self._store = store
        self._access = access

    async def _require_auditor(self, context: Context) -> None:
        identity = current_caller().identity
        if "auditor" not in self._access.roles(identity):
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"{identity.agency_path} has no auditor role in the rules in force",
            )

    async def GetCheckpoint(
        self, request: audit_pb2.GetCheckpointRequest, context: Context
    ) -> audit_pb2.GetCheckpointResponse:
        await not_yet(context, "GetCheckpoint", LOG)

    async def GetInclusionProof(
        self, request: audit_pb2.GetInclusionProofRequest, context: Context
    ) -> audit_pb2.GetInclusionProofResponse:
        await not_yet(context, "GetInclusionProof", LOG)

    async def GetConsistencyProof(
        self, request: audit_pb2.GetConsistencyProofRequest, context: Context
    ) -> audit_pb2.GetConsistencyProofResponse:
        await not_yet(context, "GetConsistencyProof", LOG)

    async def ListEntries(
        self, request: audit_pb2.ListEntriesRequest, context: Context
    ) -> AsyncIterator[audit_pb2.ListEntriesResponse]:
        await not_yet(context, "ListEntries", LOG)
        yield audit_pb2.ListEntriesResponse()  # pragma: no cover - makes this a stream

    async def AddCosignature(
        self, request: audit_pb2.AddCosignatureRequest, context: Context
    ) -> audit_pb2.AddCosignatureResponse:
        await not_yet(context, "AddCosignature", LOG)

    async def ListAccessEvents(
        self, request: audit_pb2.ListAccessEventsRequest, context: Context
    ) -> audit_pb2.ListAccessEventsResponse:
        await self._require_auditor(context)
        page_size = request.page_size or 100
        if not 0 < page_size <= MAX_PAGE_SIZE or (
            request.page_token and not request.page_token.isdigit()
        ):
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"page_size must be 1..{MAX_PAGE_SIZE}; page_token one returned by this call",
            )
        since = request.since.ToDatetime(UTC) if request.HasField("since") else None
        events = await asyncio.to_thread(
            lambda: self._store.list_access_events(
                record_id=request.record_id or None,
                reader=request.reader or None,
                since=since,
                after_sequence=int(request.page_token or 0),
                limit=page_size,
            )
        )
        return audit_pb2.ListAccessEventsResponse(
            events=[_event(e) for e in events],
            next_page_token=str(events[-1].sequence) if len(events) == page_size else "",
        )


def _event(event: StoredAccessEvent) -> audit_pb2.AccessEvent:
    at = Timestamp()
    at.FromDatetime(event.at)
    return audit_pb2.AccessEvent(
        sequence=event.sequence,
        at=at,
        reader_participant=event.reader_participant,
        reader_agency=event.reader_agency,
        reader_client=event.reader_client,
        record_id=event.record_id,
        action=event.action,
        decision=audit_pb2.ACCESS_DECISION_ALLOWED
        if event.allowed
        else audit_pb2.ACCESS_DECISION_DENIED,
        reasons=[f"{r['cite']}: {r['text']}" for r in json.loads(event.reasons)],
        disclosed_classes=[c for c in event.disclosed.split(",") if c],
        withheld_classes=[c for c in event.withheld.split(",") if c],
        rules_sha256=event.rules_sha256,
    )
