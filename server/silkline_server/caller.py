"""Authentication of every call, in one interceptor, before any servicer runs.

Each handler is wrapped so that the peer certificate from the TLS handshake
is judged by CallerAuthenticator first; the caller's identity is then
available to servicers through `current_caller()` and bound to every log line
of the call. The interceptor also counts every call's outcome in the server's
metrics, and makes them the metrics of the call (silkline_server.metrics).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn

import grpc
import structlog

from silkline_server.authentication import (
    AuthenticatedCaller,
    AuthenticationError,
    CallerAuthenticator,
)
from silkline_server.metrics import ServerMetrics
from silkline_server.services.context import Context
from silkline_server.store import StoreUnavailableError

log = structlog.get_logger("silkline.rpc")

_caller: contextvars.ContextVar[AuthenticatedCaller] = contextvars.ContextVar("silkline_caller")

Behavior = Callable[..., Any]


def current_caller() -> AuthenticatedCaller:
    """The authenticated caller of the call being served."""
    return _caller.get()


STORE_UNAVAILABLE_MESSAGE = "the database is unavailable; retry"


async def _store_unavailable(context: Context, error: StoreUnavailableError) -> NoReturn:
    """Answer UNAVAILABLE (retry) when the database fails under a handler that did not say so.

    Writes map store errors themselves; reads (Get, List, proofs) would otherwise
    answer UNKNOWN while the database restarts, which clients do not retry.
    """
    log.warning("store unavailable", error=repr(error))
    await context.abort(grpc.StatusCode.UNAVAILABLE, STORE_UNAVAILABLE_MESSAGE)


class AuthenticatingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Refuses with UNAUTHENTICATED any call whose certificate fails CallerAuthenticator."""

    def __init__(
        self, authenticator: CallerAuthenticator, metrics: ServerMetrics | None = None
    ) -> None:
        self._authenticator = authenticator
        self._metrics = metrics or ServerMetrics()

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
                failure: BaseException | None = None
                try:
                    async for response in behavior(request, context):
                        yield response
                except StoreUnavailableError as exc:
                    failure = exc
                    await _store_unavailable(context, exc)
                except BaseException as exc:
                    failure = exc
                    raise
                finally:
                    self._done(context, method, started, failure)

            return streaming

        async def awaiting(request: Any, context: Context) -> Any:
            started = await self._admit(context, method)
            failure: BaseException | None = None
            try:
                return await behavior(request, context)
            except StoreUnavailableError as exc:
                failure = exc
                await _store_unavailable(context, exc)
            except BaseException as exc:
                failure = exc
                raise
            finally:
                self._done(context, method, started, failure)

        return awaiting

    async def _admit(self, context: Context, method: str) -> float:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=uuid.uuid4().hex[:16], method=method, peer=context.peer()
        )
        self._metrics.bind()
        pem = _peer_certificate(context)
        try:
            caller = self._authenticator.authenticate(pem)
        except AuthenticationError as exc:
            log.warning("client certificate refused", reason=type(exc).__name__, detail=str(exc))
            self._metrics.refused("client_certificate")
            self._metrics.rpc_done(method, grpc.StatusCode.UNAUTHENTICATED.name)
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

    def _done(
        self, context: Context, method: str, started: float, failure: BaseException | None
    ) -> None:
        code = _status_name(context, failure)
        self._metrics.rpc_done(method, code)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        log.info("rpc done", code=code, duration_ms=duration_ms)


def _peer_certificate(context: Context) -> bytes | None:
    values = list(context.auth_context().get("x509_pem_cert") or [])
    return values[0] if values else None


def _status_name(context: Context, failure: BaseException | None) -> str:
    """The status the call ends with: set or aborted with, else from how the handler ended."""
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    if code is not None:
        # Some gRPC releases keep the numeric code of a status given as an int.
        number = code.value[0] if hasattr(code, "value") else code
        return next((c.name for c in grpc.StatusCode if c.value[0] == number), str(code))
    if failure is None:
        return grpc.StatusCode.OK.name
    if isinstance(failure, asyncio.CancelledError | GeneratorExit):
        # The client went away (or the server stopped) before the call ended.
        return grpc.StatusCode.CANCELLED.name
    # An exception escaping a servicer: gRPC answers UNKNOWN.
    return grpc.StatusCode.UNKNOWN.name
