"""C2SP transparency log proofs (c2sp.org/tlog-proof): an offline-verifiable inclusion proof.

    c2sp.org/tlog-proof@v1
    extra <base64 opaque data>          (optional)
    index <leaf index, ASCII decimal>
    <base64 hash>                       (zero or more, leaf's sibling first)
    <empty line>
    <signed checkpoint, verbatim>

silkline puts the exact leaf bytes in ``extra``, so one file holds all that
an auditor needs to recompute the leaf hash; the extra data is not
authenticated by itself, only through the inclusion proof it must satisfy
(``verify_tlog_proof``).

Pure functions, no I/O.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from silkline.formats.checkpoint import CheckpointError, OpenedCheckpoint, open_checkpoint
from silkline.formats.merkle import HASH_SIZE, MerkleError, leaf_hash, verify_inclusion
from silkline.formats.note import NoteError, NoteVerifier

__all__ = [
    "TLOG_PROOF_HEADER",
    "MalformedTlogProofError",
    "TlogProof",
    "TlogProofError",
    "UnprovenTlogProofError",
    "VerifiedTlogProof",
    "encode_tlog_proof",
    "parse_tlog_proof",
    "verify_tlog_proof",
]

TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
"""The first line of every proof (tlog-proof "Format")."""

_INDEX = re.compile(r"0|[1-9][0-9]*")


class TlogProofError(ValueError):
    """Base class of the tlog-proof errors."""


class MalformedTlogProofError(TlogProofError):
    """The bytes are not a c2sp.org/tlog-proof@v1 proof."""


class UnprovenTlogProofError(TlogProofError):
    """A well-formed proof that proves nothing: checkpoint not signed by the log, no leaf
    bytes, or an audit path that does not lead from the leaf to the checkpoint's root."""


@dataclass(frozen=True)
class TlogProof:
    """An index, its RFC 6962 audit path, the signed checkpoint it leads to, optional extra data."""

    index: int
    hashes: tuple[bytes, ...]
    checkpoint: bytes
    extra: bytes | None = None


def _b64decode(text: str, what: str) -> bytes:
    try:
        decoded = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise MalformedTlogProofError(f"{what} is not standard base64: {exc}") from exc
    if base64.b64encode(decoded).decode("ascii") != text:
        raise MalformedTlogProofError(f"{what} is not canonical base64")
    return decoded


def encode_tlog_proof(proof: TlogProof) -> bytes:
    """The proof file: header, optional extra, index, hashes, blank line, checkpoint verbatim."""
    if proof.index < 0:
        raise MalformedTlogProofError(f"index must be >= 0, got {proof.index}")
    lines = [TLOG_PROOF_HEADER]
    if proof.extra is not None:
        lines.append("extra " + base64.b64encode(proof.extra).decode("ascii"))
    lines.append(f"index {proof.index}")
    for position, element in enumerate(proof.hashes):
        if len(element) != HASH_SIZE:
            raise MalformedTlogProofError(f"proof hash #{position} is not {HASH_SIZE} bytes")
        lines.append(base64.b64encode(element).decode("ascii"))
    head = "".join(line + "\n" for line in lines) + "\n"
    return head.encode("ascii") + proof.checkpoint


def parse_tlog_proof(data: bytes) -> TlogProof:
    """Parse a proof strictly; the checkpoint is returned as bytes, unverified."""
    head, separator, checkpoint = data.partition(b"\n\n")
    if not separator or not checkpoint:
        raise MalformedTlogProofError("proof has no empty line followed by a checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError as exc:
        raise MalformedTlogProofError("proof lines before the checkpoint must be ASCII") from exc
    if lines[0] != TLOG_PROOF_HEADER:
        raise MalformedTlogProofError(f"first line must be {TLOG_PROOF_HEADER!r}, got {lines[0]!r}")
    position = 1
    extra = None
    if position < len(lines) and lines[position].startswith("extra "):
        extra = _b64decode(lines[position][len("extra ") :], "extra data")
        position += 1
    if position >= len(lines) or not lines[position].startswith("index "):
        raise MalformedTlogProofError("proof has no 'index N' line")
    index_text = lines[position][len("index ") :]
    if not _INDEX.fullmatch(index_text):
        raise MalformedTlogProofError(
            f"index {index_text!r} is not an ASCII decimal without leading zeroes"
        )
    hashes: list[bytes] = []
    for number, line in enumerate(lines[position + 1 :]):
        element = _b64decode(line, f"proof hash #{number}")
        if len(element) != HASH_SIZE:
            raise MalformedTlogProofError(f"proof hash #{number} is not {HASH_SIZE} bytes")
        hashes.append(element)
    return TlogProof(int(index_text), tuple(hashes), checkpoint, extra)


@dataclass(frozen=True)
class VerifiedTlogProof:
    """A proof that held: the leaf bytes it proves, their audit path, and the checkpoint it
    proves them in."""

    index: int
    leaf: bytes
    hashes: tuple[bytes, ...]
    checkpoint: OpenedCheckpoint


def verify_tlog_proof(data: bytes, log_key: NoteVerifier) -> VerifiedTlogProof:
    """Parse a proof and check it offline: the checkpoint is signed by `log_key` for the
    log the key names, and the extra data (the leaf bytes) is at the proof's index in it
    (RFC 9162 §2.1.3.2). What the leaf says is the caller's to judge."""
    proof = parse_tlog_proof(data)
    try:
        opened = open_checkpoint(proof.checkpoint, [log_key])
    except (NoteError, CheckpointError) as exc:
        raise UnprovenTlogProofError(f"checkpoint: {exc}") from exc
    checkpoint = opened.checkpoint
    if checkpoint.origin != log_key.name:
        raise UnprovenTlogProofError(
            f"checkpoint of origin {checkpoint.origin!r}, not of log {log_key.name!r}"
        )
    if proof.extra is None:
        raise UnprovenTlogProofError("the proof carries no leaf bytes (its 'extra' line)")
    try:
        verify_inclusion(
            leaf_hash(proof.extra), proof.index, checkpoint.size, proof.hashes, checkpoint.root_hash
        )
    except MerkleError as exc:
        raise UnprovenTlogProofError(
            f"entry {proof.index} in the checkpoint of {checkpoint.size} entries: {exc}"
        ) from exc
    return VerifiedTlogProof(proof.index, proof.extra, proof.hashes, opened)
