"""AuditService: checkpoints, proofs, entries, cosignatures and access events."""

from __future__ import annotations

from collections.abc import AsyncIterator

from silkline.v1 import audit_pb2, audit_pb2_grpc
from silkline_server.services.context import Context
from silkline_server.services.unimplemented import not_yet

LOG = "the tamper-evident-log issue"
ACCESS_RULES = "the access-rules issue"


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
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
        await not_yet(context, "ListAccessEvents", ACCESS_RULES)
