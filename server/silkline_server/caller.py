"""Authentication of every call, in one interceptor, before any servicer runs.

Each handler is wrapped so that the peer certificate from the TLS handshake
is judged by CallerAuthenticator first; the caller's identity is then
available to servicers through `current_caller()` and bound to every log line
of the call.
"""

from __future__ import annotations

import contextvars
import inspect
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import structlog

from silkline_server.authentication import (
    AuthenticatedCaller,
    AuthenticationError,
    CallerAuthenticator,
)
from silkline_server.services.context import Context

log = structlog.get_logger("silkline.rpc")

_caller: contextvars.ContextVar[AuthenticatedCaller] = contextvars.ContextVar("silkline_caller")

Behavior = Callable[..., Any]


def current_caller() -> AuthenticatedCaller:
    """The authenticated caller of the call being served."""
    return _caller.get()


class AuthenticatingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Refuses with UNAUTHENTICATED any call whose certificate fails CallerAuthenticator."""

    def __init__(self, authenticator: CallerAuthenticator) -> None:
        self._authenticator = authenticator

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method: str = handler_call_details.method
        kinds: list[tuple[str, Callable[..., grpc.RpcMethodHandler[Any, Any]]]] = [
            ("unary_unary", grpc.unary_unary_rpc_method_handler),
            ("unary_stream", grpc.unary_stream_rpc_method_handler),
            ("stream_unary", grpc.stream_unary_rpc_method_handler),
            ("stream_stream", grpc.stream_stream_rpc_method_handler),
        ]
        for attribute, factory in kinds:
            behavior = getattr(handler, attribute)
            if behavior is not None:
                return factory(
                    self._wrap(behavior, method),
                    request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer,
                )
        return handler

    def _wrap(self, behavior: Behavior, method: str) -> Behavior:
        if inspect.isasyncgenfunction(behavior):

            async def streaming(request: Any, context: Context) -> AsyncIterator[Any]:
                started = await self._admit(context, method)
                try:
                    async for response in behavior(request, context):
                        yield response
                finally:
                    _log_done(context, started)

            return streaming

        async def awaiting(request: Any, context: Context) -> Any:
            started = await self._admit(context, method)
            try:
                return await behavior(request, context)
            finally:
                _log_done(context, started)

        return awaiting

    async def _admit(self, context: Context, method: str) -> float:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=uuid.uuid4().hex[:16], method=method, peer=context.peer()
        )
        pem = _peer_certificate(context)
        try:
            caller = self._authenticator.authenticate(pem)
        except AuthenticationError as exc:
            log.warning("client certificate refused", reason=type(exc).__name__, detail=str(exc))
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED, f"client certificate refused: {exc}"
            )
            raise  # abort raises; this keeps type checkers and readers certain
        _caller.set(caller)
        identity = caller.identity
        structlog.contextvars.bind_contextvars(
            participant=identity.participant, agency=identity.agency, client=identity.client
        )
        return time.perf_counter()


def _peer_certificate(context: Context) -> bytes | None:
    values = list(context.auth_context().get("x509_pem_cert") or [])
    return values[0] if values else None


def _log_done(context: Context, started: float) -> None:
    code = context.code()
    log.info(
        "rpc done",
        code=code.name
        if isinstance(code, grpc.StatusCode)
        else ("OK" if code is None else str(code)),
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )
