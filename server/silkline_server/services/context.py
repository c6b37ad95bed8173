"""The servicer context type, spelt once."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc

# grpc-stubs makes the context generic in request and response; servicers here
# handle several message types, so they take it unparametrised.
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
