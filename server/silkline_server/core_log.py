"""gRPC core's own log lines, turned into structured log events.

A TLS handshake that fails (no client certificate, unknown CA, expired,
wrong key usage, plaintext on the TLS port) never reaches Python: only gRPC
core sees it, and it says why on stderr at INFO verbosity. To give each such
refusal a log line like every other refusal, the server points file
descriptor 2 at a pipe, reads gRPC core's lines from it and re-emits them
through structlog; our own log lines go to the original stderr.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from typing import TextIO

import structlog

log = structlog.get_logger("silkline.tls")

# absl format: I1125 22:38:01.924129    7798 ssl_transport_security.cc:2563] message
_CORE_LINE = re.compile(r"^([IWEF])\d{4} [\d:.]+\s+\d+ ([\w./-]+:\d+)\] (.*)$")
_HANDSHAKE = re.compile(r"Handshake failed with (?:fatal )?error (\w+): (.*)$")
_LEVELS = {"I": "info", "W": "warning", "E": "error", "F": "critical"}
# Called (on the reader thread) for each refused handshake: the metrics count them.
_handshake_listeners: list[Callable[[], None]] = []


def on_handshake_refused(listener: Callable[[], None]) -> Callable[[], None]:
    """Call `listener()` after each TLS handshake refusal; returns a function removing it."""
    _handshake_listeners.append(listener)
    return lambda: _handshake_listeners.remove(listener)


def capture_grpc_core_log() -> TextIO:
    """Redirect fd 2 into a reader thread; return a stream on the original stderr."""
    # gRPC core reads its verbosity when it initialises; INFO is where it reports
    # handshake failures. An operator's own GRPC_VERBOSITY wins.
    os.environ.setdefault("GRPC_VERBOSITY", "INFO")
    original = os.fdopen(os.dup(2), "w", buffering=1)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    # Daemon: it lives exactly as long as the process's stderr does.
    threading.Thread(
        target=_pump, args=(read_fd, original), name="grpc-core-log", daemon=True
    ).start()
    return original


def _pump(read_fd: int, passthrough: TextIO) -> None:
    with os.fdopen(read_fd, "r", errors="replace") as lines:
        for line in lines:
            if not reemit(line.rstrip("\n")):
                passthrough.write(line)
                passthrough.flush()


def reemit(line: str) -> bool:
    """Log one gRPC core line as a structured event; False if it is not one."""
    match = _CORE_LINE.match(line)
    if match is None:
        return False
    level, source, message = match.groups()
    handshake = _HANDSHAKE.search(message)
    if handshake is not None:
        log.warning(
            "tls handshake refused",
            reason=_reason(handshake.group(2)),
            tls_error=handshake.group(1),
        )
        for listener in list(_handshake_listeners):
            listener()
    elif "is not suitable for production" in message:
        # gRPC warns about INFO verbosity, which we chose on purpose for the line above.
        log.debug("grpc core", message=message, source=source)
    else:
        getattr(log, _LEVELS[level])("grpc core", message=message, source=source)
    return True


def _reason(detail: str) -> str:
    """The readable tail of `error:...:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: <why>`."""
    return detail.split("OPENSSL_internal:", 1)[-1].strip()
