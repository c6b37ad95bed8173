"""C2SP checkpoints (c2sp.org/tlog-checkpoint) and cosignatures (c2sp.org/tlog-cosignature).

A checkpoint is the note text ``<origin>\\n<tree size>\\n<base64 root hash>\\n``
plus optional extension lines, signed by the log as a signed note. A witness
cosignature/v1 is a note signature line of type 0x04 whose payload is
key ID (4) || timestamp (8, big-endian) || Ed25519 signature (64) over
``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint text.

Pure functions, no I/O.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from silkline.formats.merkle import HASH_SIZE
from silkline.formats.note import (
    SIGNATURE_TYPE_COSIGNATURE_V1,
    InvalidKeyNameError,
    NoteError,
    NoteSignature,
    NoteVerifier,
    OpenedNote,
    check_key_name,
    open_note,
    parse_signature_line,
)

__all__ = [
    "COSIGNATURE_V1_HEADER",
    "MAX_TIMESTAMP",
    "MAX_TREE_SIZE",
    "Checkpoint",
    "CheckpointError",
    "Cosignature",
    "CosignatureError",
    "CosignerMismatchError",
    "InvalidCosignatureError",
    "MalformedCheckpointError",
    "MalformedCosignatureError",
    "OpenedCheckpoint",
    "cosign",
    "cosignature_message",
    "cosigner_verifier",
    "encode_checkpoint",
    "open_checkpoint",
    "parse_checkpoint",
    "verify_cosignature",
]

COSIGNATURE_V1_HEADER = "cosignature/v1\n"
"""First line of the cosigned message, for domain separation (tlog-cosignature)."""

MAX_TIMESTAMP = 2**63 - 1
"""A cosignature timestamp MUST NOT exceed 2^63 - 1 (tlog-cosignature "Format")."""

MAX_TREE_SIZE = 2**64 - 1
"""Tree sizes are uint64 wherever the C2SP formats give them a binary form."""

_TREE_SIZE = re.compile(r"0|[1-9][0-9]*")
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f]")
_KEY_ID_SIZE = 4
_TIMESTAMP_SIZE = 8
_ED25519_SIGNATURE_SIZE = 64
_COSIGNATURE_V1_SIZE = _KEY_ID_SIZE + _TIMESTAMP_SIZE + _ED25519_SIGNATURE_SIZE


class CheckpointError(ValueError):
    """Base class of the checkpoint and cosignature errors."""


class MalformedCheckpointError(CheckpointError):
    """The text is not a checkpoint body as tlog-checkpoint defines it."""


class CosignatureError(CheckpointError):
    """Base class of the cosignature errors."""


class MalformedCosignatureError(CosignatureError):
    """The signature line is not a cosignature/v1 line."""


class CosignerMismatchError(CosignatureError):
    """The line's key name or key ID is not the given cosigner's."""


class InvalidCosignatureError(CosignatureError):
    """The cosignature does not verify with the cosigner's key over this checkpoint."""


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, tree size, RFC 6962 root hash, extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # tlog-checkpoint "Note text": non-empty origin, decimal size, root hash,
        # non-empty extension lines; and no control characters (signed-note "Format").
        _check_line(self.origin, "origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise MalformedCheckpointError(f"tree size must be an int, got {self.size!r}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedCheckpointError(f"tree size {self.size} is not in 0..2^64-1")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise MalformedCheckpointError(
                f"root hash must be {HASH_SIZE} bytes (SHA-256), got {self.root_hash!r}"
            )
        if not isinstance(self.extensions, tuple):
            raise MalformedCheckpointError("extension lines must be a tuple of strings")
        for position, extension in enumerate(self.extensions):
            _check_line(extension, f"extension line #{position}")


def _check_line(value: object, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise MalformedCheckpointError(f"checkpoint {what} must be a non-empty string")
    match = _CONTROL_CHARACTER.search(value)
    if match:
        raise MalformedCheckpointError(
            f"checkpoint {what} {value!r} contains control character U+{ord(match.group()):04X}"
        )


def encode_checkpoint(checkpoint: Checkpoint) -> str:
    """The checkpoint's note text: origin, size, base64 root hash, extensions, one per line."""
    lines = [
        checkpoint.origin,
        str(checkpoint.size),
        base64.b64encode(checkpoint.root_hash).decode("ascii"),
        *checkpoint.extensions,
    ]
    return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint note text strictly (tlog-checkpoint "Note text").

    At least three non-empty newline-terminated lines; the size in ASCII decimal
    without leading zeroes; the root hash the canonical standard base64 of 32
    bytes. Raises MalformedCheckpointError saying what is wrong.
    """
    if not isinstance(text, str) or not text.endswith("\n"):
        raise MalformedCheckpointError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedCheckpointError(
            f"checkpoint needs origin, tree size and root hash lines, got {len(lines)} line(s)"
        )
    origin, size_line, root_line, *extensions = lines
    if not _TREE_SIZE.fullmatch(size_line):
        raise MalformedCheckpointError(
            f"tree size {size_line!r} is not an ASCII decimal without leading zeroes"
        )
    try:
        root_hash = base64.b64decode(root_line.encode("ascii"), validate=True)
    except ValueError as exc:
        raise MalformedCheckpointError(
            f"root hash {root_line!r} is not standard base64: {exc}"
        ) from exc
    if base64.b64encode(root_hash).decode("ascii") != root_line:
        raise MalformedCheckpointError(f"root hash {root_line!r} is not canonical base64")
    return Checkpoint(origin, int(size_line), root_hash, tuple(extensions))


def cosignature_message(checkpoint_text: str, timestamp: int) -> bytes:
    """The message a cosignature/v1 signs (tlog-cosignature "Ed25519 signed message")."""
    _check_timestamp(timestamp, MalformedCosignatureError)
    return f"{COSIGNATURE_V1_HEADER}time {timestamp}\n{checkpoint_text}".encode()


def _check_timestamp(timestamp: int, error: type[CosignatureError]) -> None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise error(f"cosignature timestamp must be an int, got {timestamp!r}")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise error(f"cosignature timestamp {timestamp} is not in 0..2^63-1")


def cosigner_verifier(name: str, public_key: bytes) -> NoteVerifier:
    """The verifier of a cosignature/v1 cosigner: key type 0x04, its own key ID."""
    return NoteVerifier(name, public_key, SIGNATURE_TYPE_COSIGNATURE_V1)


def cosign(checkpoint_text: str, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> str:
    """A cosignature/v1 signature line (with its newline) over a checkpoint text.

    The line is ``— <name> base64(key ID || u64 timestamp || Ed25519 signature)``,
    the key ID computed with signature type 0x04 (tlog-cosignature "Format").
    Refuses to cosign text that is not a checkpoint.
    """
    parse_checkpoint(checkpoint_text)
    try:
        check_key_name(name)
    except InvalidKeyNameError as exc:
        raise MalformedCosignatureError(f"cosigner name: {exc}") from exc
    _check_timestamp(timestamp, MalformedCosignatureError)
    public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    verifier = cosigner_verifier(name, public_key)
    signature = private_key.sign(cosignature_message(checkpoint_text, timestamp))
    payload = timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + signature
    return NoteSignature(name, verifier.key_id, payload).to_line()


def verify_cosignature(
    checkpoint_text: str, line: str | NoteSignature, verifier: NoteVerifier
) -> int:
    """Verify a cosignature/v1 line by ``verifier`` over ``checkpoint_text``; return its timestamp.

    ``line`` is a signature line (a trailing newline is allowed) or a parsed
    NoteSignature, as ``open_note`` leaves in ``unverified_lines``. Raises
    MalformedCosignatureError, CosignerMismatchError or InvalidCosignatureError.
    """
    if verifier.signature_type != SIGNATURE_TYPE_COSIGNATURE_V1:
        raise CosignerMismatchError(
            f"key {verifier.name!r} has signature type 0x{verifier.signature_type:02x}; "
            "cosignature/v1 keys have type 0x04"
        )
    parse_checkpoint(checkpoint_text)
    if isinstance(line, NoteSignature):
        signature = line
    else:
        try:
            signature = parse_signature_line(line)
        except NoteError as exc:
            raise MalformedCosignatureError(str(exc)) from exc
    if (signature.name, signature.key_id) != (verifier.name, verifier.key_id):
        raise CosignerMismatchError(
            f"line is by {signature.name!r} ({signature.key_id:08x}), not by cosigner "
            f"{verifier.name!r} ({verifier.key_id:08x})"
        )
    payload = signature.signature
    if len(payload) != _COSIGNATURE_V1_SIZE - _KEY_ID_SIZE:
        raise MalformedCosignatureError(
            f"cosignature/v1 of {signature.name!r} must be {_COSIGNATURE_V1_SIZE} bytes "
            f"(key ID, timestamp, Ed25519 signature), got {len(payload) + _KEY_ID_SIZE}"
        )
    timestamp = int.from_bytes(payload[:_TIMESTAMP_SIZE], "big")
    _check_timestamp(timestamp, MalformedCosignatureError)
    message = cosignature_message(checkpoint_text, timestamp)
    if not verifier.verify_signature(message, payload[_TIMESTAMP_SIZE:]):
        raise InvalidCosignatureError(
            f"cosignature by {verifier.name!r} ({verifier.key_id:08x}) at time {timestamp} "
            "does not verify over this checkpoint"
        )
    return timestamp


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature: the cosigner and the time it states."""

    cosigner: NoteVerifier
    timestamp: int


@dataclass(frozen=True)
class OpenedCheckpoint:
    """A checkpoint whose log signature verified, with the cosignatures that verified."""

    checkpoint: Checkpoint
    note: OpenedNote
    cosignatures: tuple[Cosignature, ...]


def open_checkpoint(
    signed_checkpoint: bytes,
    log_verifiers: Iterable[NoteVerifier],
    cosigners: Iterable[NoteVerifier] = (),
) -> OpenedCheckpoint:
    """Open a signed checkpoint: log signature, checkpoint text, known cosignatures.

    The note must verify with a log key (``open_note``). Each line by a known
    cosigner (name and key ID) must verify as a cosignature/v1, else
    InvalidCosignatureError; lines of other keys are ignored. Whether enough
    cosigners signed is the caller's policy.
    """
    note = open_note(signed_checkpoint, log_verifiers)
    checkpoint = parse_checkpoint(note.text)
    known = {(cosigner.name, cosigner.key_id): cosigner for cosigner in cosigners}
    for cosigner in known.values():
        if cosigner.signature_type != SIGNATURE_TYPE_COSIGNATURE_V1:
            raise CosignerMismatchError(
                f"cosigner {cosigner.name!r} has signature type "
                f"0x{cosigner.signature_type:02x}; cosignature/v1 keys have type 0x04"
            )
    cosignatures: list[Cosignature] = []
    for line in note.unverified_lines:
        known_cosigner = known.get((line.name, line.key_id))
        if known_cosigner is not None:
            timestamp = verify_cosignature(note.text, line, known_cosigner)
            cosignatures.append(Cosignature(known_cosigner, timestamp))
    return OpenedCheckpoint(checkpoint, note, tuple(cosignatures))
