"""RecordsService: publishing and reading signed records."""

from __future__ import annotations

from collections.abc import AsyncIterator

from silkline.v1 import records_pb2, records_pb2_grpc
from silkline_server.services.context import Context
from silkline_server.services.unimplemented import not_yet

SIGNED_RECORDS = "the signed-records issue"
REAL_TIME = "the real-time issue"


class RecordsServicer(records_pb2_grpc.RecordsServiceServicer):
    async def Publish(
        self, request: records_pb2.PublishRequest, context: Context
    ) -> records_pb2.PublishResponse:
        await not_yet(context, "Publish", SIGNED_RECORDS)

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
        await not_yet(context, "Get", SIGNED_RECORDS)

    async def List(
        self, request: records_pb2.ListRequest, context: Context
    ) -> records_pb2.ListResponse:
        await not_yet(context, "List", SIGNED_RECORDS)

    async def Subscribe(
        self, request: records_pb2.SubscribeRequest, context: Context
    ) -> AsyncIterator[records_pb2.SubscribeResponse]:
        await not_yet(context, "Subscribe", REAL_TIME)
        yield records_pb2.SubscribeResponse()  # pragma: no cover - makes this a stream
