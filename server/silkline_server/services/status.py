"""Refusals as gRPC statuses with google.rpc.BadRequest field violations."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NoReturn

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from silkline.records import Violation
from silkline_server.services.context import Context


async def abort_with_violations(
    context: Context, code: grpc.StatusCode, message: str, violations: Iterable[Violation]
) -> NoReturn:
    """End the call with `code`, `message`, and each violation as a BadRequest field violation."""
    status = status_pb2.Status(code=_CODES[code], message=message)
    field_violations = [
        error_details_pb2.BadRequest.FieldViolation(field=v.pointer, description=v.message)
        for v in violations
    ]
    if field_violations:
        status.details.add().Pack(error_details_pb2.BadRequest(field_violations=field_violations))
    rich = rpc_status.to_status(status)
    await context.abort(rich.code, rich.details, rich.trailing_metadata)
    raise AssertionError("context.abort returned")


_CODES = {
    grpc.StatusCode.INVALID_ARGUMENT: code_pb2.INVALID_ARGUMENT,
    grpc.StatusCode.PERMISSION_DENIED: code_pb2.PERMISSION_DENIED,
    grpc.StatusCode.ALREADY_EXISTS: code_pb2.ALREADY_EXISTS,
    grpc.StatusCode.NOT_FOUND: code_pb2.NOT_FOUND,
    grpc.StatusCode.UNAVAILABLE: code_pb2.UNAVAILABLE,
    grpc.StatusCode.FAILED_PRECONDITION: code_pb2.FAILED_PRECONDITION,
}
