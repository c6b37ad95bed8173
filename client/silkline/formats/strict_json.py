"""JSON read strictly: what two parsers could read differently is refused.

A repeated key lets two parsers pick different values from the same bytes,
and NaN or Infinity are not JSON at all (RFC 8259 §4 and §6); signed bytes
must mean one thing to every verifier.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn


class StrictJSONError(ValueError):
    """The text is not strict JSON; the message says why, without the document's values."""


def loads_strict(text: str) -> Any:
    """Parse `text`, refusing repeated keys, non-JSON constants and runaway nesting."""
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise StrictJSONError(f"is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise StrictJSONError("is nested too deeply") from exc


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise StrictJSONError(f"repeats the key {key!r}")
        document[key] = value
    return document


def _refuse_constant(name: str) -> NoReturn:
    raise StrictJSONError(f"contains {name}, which is not JSON (RFC 8259)")


# Made once: json.loads with a hook builds a new decoder on every call.
_DECODER = json.JSONDecoder(
    object_pairs_hook=_refuse_duplicate_keys, parse_constant=_refuse_constant
)
