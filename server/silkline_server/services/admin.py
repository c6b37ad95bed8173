"""AdminService: who the caller is, and rules reloads."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import grpc
import structlog
from google.protobuf.timestamp_pb2 import Timestamp

from silkline.policy.rules import RulesError
from silkline.v1 import admin_pb2, admin_pb2_grpc
from silkline_server.access import AccessControl
from silkline_server.caller import current_caller
from silkline_server.services.context import Context

log = structlog.get_logger("silkline.admin")


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):
    def __init__(self, access: AccessControl) -> None:
        self._access = access

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
        identity = current_caller().identity
        # Roles for authorisation come from the rules file, not the certificate.
        if "admin" not in self._access.roles(identity):
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"{identity.agency_path} has no admin role in the rules in force",
            )
        try:
            rules = await asyncio.to_thread(self._access.reload)
        except RulesError as exc:
            log.warning("new rules refused; the rules in force stay", problems=str(exc))
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"the new rules file was refused; the rules in force stay:\n{exc}",
            )
        loaded_at = Timestamp()
        loaded_at.FromDatetime(datetime.now(UTC))
        return admin_pb2.ReloadRulesResponse(rules_sha256=rules.sha256, loaded_at=loaded_at)
