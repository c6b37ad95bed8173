"""The CLI's exit codes: a script can tell what went wrong without parsing text."""

from __future__ import annotations

from enum import IntEnum

import grpc


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_PERMITTED = 3
    NOT_FOUND = 4
    INVALID_INPUT = 5
    UNAVAILABLE = 6


HELP = """\b
Exit codes:
  0  ok
  1  other error (the message says which)
  2  usage: bad arguments, or no usable profile
  3  not authenticated or not permitted
  4  not found
  5  invalid input
  6  server unavailable (unreachable, TLS handshake refused, timed out)"""

_BY_STATUS = {
    grpc.StatusCode.UNAUTHENTICATED: ExitCode.NOT_PERMITTED,
    grpc.StatusCode.PERMISSION_DENIED: ExitCode.NOT_PERMITTED,
    grpc.StatusCode.NOT_FOUND: ExitCode.NOT_FOUND,
    grpc.StatusCode.INVALID_ARGUMENT: ExitCode.INVALID_INPUT,
    grpc.StatusCode.ALREADY_EXISTS: ExitCode.INVALID_INPUT,
    grpc.StatusCode.FAILED_PRECONDITION: ExitCode.INVALID_INPUT,
    grpc.StatusCode.OUT_OF_RANGE: ExitCode.INVALID_INPUT,
    grpc.StatusCode.UNAVAILABLE: ExitCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: ExitCode.UNAVAILABLE,
}


def for_status(code: grpc.StatusCode | None) -> ExitCode:
    return _BY_STATUS.get(code, ExitCode.ERROR) if code is not None else ExitCode.ERROR
