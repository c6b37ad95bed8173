"""The baseline server: a plain grpc.aio echo over silkline's own mutual TLS.

    python bench/harness/echo_server.py PORT_FILE

Unary (`/silkline.bench.Echo/Call`) and bidirectional (`/silkline.bench.Echo/Stream`)
echoes of raw bytes, with the hub's server certificate, requiring a client
certificate from one of the participants' CAs, and silkline-server's message
size limits: what gRPC and TLS alone cost on this machine. It imports nothing
of silkline, so the baseline carries none of its work.
"""

from __future__ import annotations

import asyncio
import sys
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc

DEV_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "dev" / "server.toml"
SERVICE = "silkline.bench.Echo"


async def call(request: bytes, _context: Any) -> bytes:
    return request


async def stream(requests: AsyncIterator[bytes], _context: Any) -> AsyncIterator[bytes]:
    async for request in requests:
        yield request


async def serve(port_file: Path) -> None:
    raw = tomllib.loads(DEV_CONFIG.read_text())
    base = DEV_CONFIG.parent
    roots = b"".join(
        (base / entry["ca"]).resolve().read_bytes() for entry in raw["participants"].values()
    )
    server_credentials = grpc.ssl_server_credentials(
        [
            (
                (base / raw["tls"]["private_key"]).resolve().read_bytes(),
                (base / raw["tls"]["certificate"]).resolve().read_bytes(),
            )
        ],
        root_certificates=roots,
        require_client_auth=True,
    )
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", raw["max_message_bytes"]),
            ("grpc.max_send_message_length", raw["max_message_bytes"]),
            ("grpc.so_reuseport", 0),
        ]
    )
    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Call": grpc.unary_unary_rpc_method_handler(call),
            "Stream": grpc.stream_stream_rpc_method_handler(stream),
        },
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_secure_port("127.0.0.1:0", server_credentials)
    await server.start()
    partial = port_file.with_suffix(".partial")
    partial.write_text(str(port))
    partial.replace(port_file)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
