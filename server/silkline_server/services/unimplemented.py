"""A clear UNIMPLEMENTED for RPCs whose issue has not landed yet."""

from __future__ import annotations

from typing import NoReturn

import grpc

from silkline_server.services.context import Context


async def not_yet(context: Context, rpc: str, lands_with: str) -> NoReturn:
    await context.abort(
        grpc.StatusCode.UNIMPLEMENTED, f"{rpc} is not available yet: it lands with {lands_with}"
    )
    raise AssertionError("context.abort returned")
