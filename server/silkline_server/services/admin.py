"""AdminService: who the caller is, and rules reloads."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from silkline.v1 import admin_pb2, admin_pb2_grpc
from silkline_server.caller import current_caller
from silkline_server.services.context import Context
from silkline_server.services.unimplemented import not_yet


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):
    async def WhoAmI(
        self, request: admin_pb2.WhoAmIRequest, context: Context
    ) -> admin_pb2.WhoAmIResponse:
        caller = current_caller()
        identity = caller.identity
        not_after = Timestamp()
        not_after.FromDatetime(caller.certificate_not_after)
        return admin_pb2.WhoAmIResponse(
            participant=identity.participant,
            agency=identity.agency,
            client_name=identity.client,
            roles=list(identity.roles),
            identity_uri=identity.uri,
            certificate_sha256=caller.certificate_sha256,
            certificate_not_after=not_after,
        )

    async def ReloadRules(
        self, request: admin_pb2.ReloadRulesRequest, context: Context
    ) -> admin_pb2.ReloadRulesResponse:
        await not_yet(context, "ReloadRules", "the access-rules issue")
