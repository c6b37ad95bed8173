"""Deterministic identity of fed records: the same source item always becomes the same bytes.

A feed that crashes and runs again must send byte-identical envelopes, so that
the server answers each resubmission as an idempotent retry (the original
receipt) and never as a conflict (same id, different bytes). Everything that
would otherwise be fresh is derived from the source instead:

- **Record id.** The record schema requires a UUIDv7 (RFC 9562 §5.7), so the
  name-based versions (§5.5 UUIDv5, §5.8 UUIDv8) are not an option. The id is
  a valid UUIDv7 whose 48-bit ``unix_ts_ms`` is the record's own time (for a
  seizure, ``seized_at``), so ids still sort by when things happened, and whose
  74 bits that §5.7 calls ``rand_a`` and ``rand_b`` are the first bits of
  SHA-256 over the originator, the source system's id and its key for the item.
  What is given up is unguessability (§6.9): record ids are identifiers, not
  secrets. Two different keys collide only if 74 bits of SHA-256 do within the
  same millisecond.
- **created_at**: the record's own time, to the millisecond, in UTC.
- **Disclosure salts**: HMAC-SHA256 keyed with a per-feed secret seed over the
  record id and the field's JSON pointer, truncated to 128 bits (the minimum of
  RFC 9901 §9.3). Without the seed they are as unpredictable as random salts;
  with it a re-run reproduces them. The seed is a file of the feed's own
  (``--salt-seed-file``) or, by default, derived from the agency's signing key
  with HKDF-SHA256 (RFC 5869) under a label of its own, so that a feed needs
  no extra secret to guard and a re-run on another host gives the same bytes.
- **Signature**: Ed25519 is deterministic (RFC 8032 §5.1.6); ECDSA P-256 keys
  sign with RFC 6979 nonces where OpenSSL offers them (silkline.formats.dsse).

A local journal of sealed envelopes would give the same guarantee, but it is
state that must itself survive the crash it protects against, grows with
every record and stays behind on one machine; derivation needs only the
input and the seed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Final

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "MIN_SEED_BYTES",
    "FeedIdentityError",
    "SaltDeriver",
    "feed_created_at",
    "feed_record_id",
    "salt_seed_from_signing_key",
]

MIN_SEED_BYTES: Final = 32
_MAX_UNIX_MS: Final = (1 << 48) - 1
_SALT_LABEL: Final = b"silkline feed disclosure salt v1"
_SEED_LABEL: Final = b"silkline/feed/disclosure-salt-seed/v1"


class FeedIdentityError(ValueError):
    """A record's time or the salt seed cannot give a deterministic identity."""


def feed_record_id(originator: str, source: str, key: str, at: datetime) -> str:
    """The UUIDv7 of the item `key` of source system `source`, fed by `originator` (P/AGENCY).

    `at` is the record's own time; it must be timezone-aware.
    """
    unix_ms = _unix_ms(at)
    name = json.dumps([originator, source, key], ensure_ascii=False, separators=(",", ":"))
    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:10], "big")  # 80 bits
    rand_a = digest >> 68  # 12 bits
    rand_b = digest & ((1 << 62) - 1)  # 62 bits
    value = (unix_ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return str(uuid.UUID(int=value))


def feed_created_at(at: datetime) -> datetime:
    """The record's creation time: its own time in UTC, truncated to the millisecond
    (payloads carry milliseconds, so nothing finer may differ between runs)."""
    return datetime.fromtimestamp(_unix_ms(at) / 1000, tz=UTC)


class SaltDeriver:
    """Disclosure salts as HMAC-SHA256(seed, label || record id || pointer), 128 bits."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) < MIN_SEED_BYTES:
            raise FeedIdentityError(
                f"the salt seed has {len(seed)} bytes; it needs at least {MIN_SEED_BYTES} "
                "random bytes (e.g. `head -c 32 /dev/urandom > seed`)"
            )
        self._seed = seed

    def for_record(self, record_id: str) -> _RecordSalts:
        """The salt function `seal_record(..., salt_for=...)` takes, for one record."""
        return _RecordSalts(self._seed, record_id)


class _RecordSalts:
    def __init__(self, seed: bytes, record_id: str) -> None:
        self._seed = seed
        self._record_id = record_id

    def __call__(self, path: tuple[str, ...]) -> str:
        pointer = "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in path)
        message = b"\0".join((_SALT_LABEL, self._record_id.encode(), pointer.encode()))
        tag = hmac.new(self._seed, message, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(tag).rstrip(b"=").decode()


def salt_seed_from_signing_key(key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    """A salt seed derived from the agency's record-signing key (HKDF-SHA256, own label).

    The label separates it from every use of the key itself: knowing salts or
    the seed reveals nothing about the signing key.
    """
    if isinstance(key, Ed25519PrivateKey):
        material = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    else:
        material = key.private_numbers().private_value.to_bytes(32, "big")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEED_LABEL).derive(material)


def _unix_ms(at: datetime) -> int:
    if at.tzinfo is None or at.utcoffset() is None:
        raise FeedIdentityError(f"the record's time {at.isoformat()} has no UTC offset")
    # Integer arithmetic: timestamp() is a float and may round a millisecond up.
    delta = at.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    unix_ms = (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    if not 0 <= unix_ms <= _MAX_UNIX_MS:
        raise FeedIdentityError(f"the record's time {at.isoformat()} is outside UUIDv7's range")
    return unix_ms
