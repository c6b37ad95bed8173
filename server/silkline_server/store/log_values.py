"""What the log part of the store hands out and takes in: plain frozen values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class StoredLeaf:
    """One entry of the log: its index and the exact leaf bytes that were hashed."""

    index: int
    leaf: bytes


@dataclass(frozen=True, slots=True)
class NewCosignature:
    """A witness cosignature/v1 line, already verified against the checkpoint it names."""

    cosigner: str
    key_id: int
    line: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class StoredCosignature:
    """A cosignature held for a checkpoint; `line` ends with its newline."""

    cosigner: str
    key_id: int
    line: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A checkpoint the log signed, its note exactly as signed, and the cosignatures held."""

    tree_size: int
    note: bytes
    created_at: datetime
    cosignatures: tuple[StoredCosignature, ...] = ()
