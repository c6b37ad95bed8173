"""UUID version 7 (RFC 9562 §5.7): record identifiers that sort by creation time.

Layout, most significant bit first::

    unix_ts_ms (48) | ver = 0b0111 (4) | rand_a (12) | var = 0b10 (2) | rand_b (62)

silkline writes them in the canonical lower-case hyphenated form (RFC 9562 §4),
which is also what ``schemas/record/v1.json`` accepts for a record's ``id``.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid

__all__ = ["is_uuid7", "uuid7", "uuid7_unix_ms"]

_MAX_UNIX_MS = (1 << 48) - 1

# Canonical lower-case form with version nibble 7 and variant bits 10 (hex 8, 9, a or b).
_CANONICAL_UUID7 = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
)


def uuid7(now_ms: int | None = None) -> uuid.UUID:
    """A new UUIDv7 for the Unix time ``now_ms`` in milliseconds (default: now).

    rand_a and rand_b come from :mod:`secrets`, so identifiers created in the
    same millisecond are unordered among themselves but collide with
    negligible probability (74 random bits). Raises ValueError when ``now_ms``
    does not fit the 48-bit timestamp field.
    """
    if now_ms is None:
        now_ms = time.time_ns() // 1_000_000
    if isinstance(now_ms, bool) or not 0 <= now_ms <= _MAX_UNIX_MS:
        raise ValueError(f"UUIDv7 timestamp must be 0..2**48-1 milliseconds, got {now_ms!r}")
    rand_a = secrets.randbits(12)
    rand_b = secrets.randbits(62)
    value = (now_ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return uuid.UUID(int=value)


def is_uuid7(text: str) -> bool:
    """True when ``text`` is a UUIDv7 in canonical lower-case hyphenated form.

    Upper-case, braced, URN and hyphen-less spellings are refused: a record id
    has exactly one spelling, so that two agencies never disagree on whether
    two ids are the same.
    """
    return isinstance(text, str) and _CANONICAL_UUID7.fullmatch(text) is not None


def uuid7_unix_ms(value: uuid.UUID | str) -> int:
    """The Unix time in milliseconds carried by a UUIDv7; ValueError for other UUIDs."""
    parsed = value if isinstance(value, uuid.UUID) else uuid.UUID(value)
    if parsed.version != 7 or parsed.variant != uuid.RFC_4122:
        raise ValueError(f"{str(parsed)!r} is not a UUIDv7")
    return parsed.int >> 80
