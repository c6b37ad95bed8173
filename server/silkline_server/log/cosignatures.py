"""Judging a witness's cosigned checkpoint (AddCosignature), in one place.

A witness returns the checkpoint it was served, its C2SP tlog-cosignature/v1
line added (c2sp.org/tlog-cosignature). The server keeps a cosignature only
when all of this holds, checked in this order:

1. the note is a well-formed signed note whose log signature verifies;
2. its text is a checkpoint of this log (origin line);
3. the log signed and kept exactly this checkpoint text for that tree size;
4. at least one line is by a witness configured on the server (name and key
   ID of a cosignature/v1 verifier key), and every such line verifies.

Lines by keys the server does not know are ignored, as signed-note asks; a
note carrying only such lines is refused, since the server cannot tell a
witness from anybody holding an Ed25519 key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from silkline.formats.checkpoint import (
    Checkpoint,
    CheckpointError,
    parse_checkpoint,
    verify_cosignature,
)
from silkline.formats.note import NoteError, NoteVerifier, open_note
from silkline_server.store import NewCosignature, StoredCheckpoint


class CosignatureRefusedError(Exception):
    """A cosigned checkpoint is refused; the message tells the witness why."""


class MalformedCosignedCheckpointError(CosignatureRefusedError):
    """Not a signed checkpoint of this log, or the log's signature does not verify."""


class UnknownCheckpointError(CosignatureRefusedError):
    """The log never signed a checkpoint of that tree size."""


class ForeignCheckpointError(CosignatureRefusedError):
    """The log's key signed this text, but it is not the checkpoint the log kept for that
    size: two histories under one key. Logged loudly by the caller."""


class UnknownWitnessError(CosignatureRefusedError):
    """No line is by a witness configured on the server."""


class InvalidWitnessCosignatureError(CosignatureRefusedError):
    """A line names a configured witness but does not verify over this checkpoint."""


@dataclass(frozen=True)
class CosignedCheckpoint:
    """A cosigned checkpoint as sent, opened: the checkpoint, its text, the known cosignatures."""

    checkpoint: Checkpoint
    text: str
    cosignatures: tuple[NewCosignature, ...]


def open_cosigned_checkpoint(
    cosigned: bytes, log_verifier: NoteVerifier, witnesses: Iterable[NoteVerifier]
) -> CosignedCheckpoint:
    """Steps 1, 2 and 4: open the note and verify the lines of configured witnesses."""
    try:
        note = open_note(cosigned, [log_verifier])
        checkpoint = parse_checkpoint(note.text)
    except (NoteError, CheckpointError) as exc:
        raise MalformedCosignedCheckpointError(
            f"not a checkpoint signed by this log ({log_verifier.name}): {exc}"
        ) from exc
    if checkpoint.origin != log_verifier.name:
        raise MalformedCosignedCheckpointError(
            f"checkpoint of origin {checkpoint.origin!r}, but this log is {log_verifier.name!r}"
        )
    known = {(w.name, w.key_id): w for w in witnesses}
    cosignatures: list[NewCosignature] = []
    for line in note.unverified_lines:
        witness = known.get((line.name, line.key_id))
        if witness is None:
            continue
        try:
            timestamp = verify_cosignature(note.text, line, witness)
        except CheckpointError as exc:
            raise InvalidWitnessCosignatureError(
                f"cosignature of witness {line.name!r} refused: {exc}"
            ) from exc
        cosignatures.append(NewCosignature(line.name, line.key_id, line.to_line(), timestamp))
    if not cosignatures:
        names = ", ".join(f"{line.name} ({line.key_id:08x})" for line in note.unverified_lines)
        raise UnknownWitnessError(
            "no cosignature by a witness this server is configured to accept"
            + (f"; lines by: {names}" if names else "; the note carries no cosignature line")
        )
    return CosignedCheckpoint(checkpoint, note.text, tuple(cosignatures))


def check_against_kept(
    cosigned: CosignedCheckpoint, kept: StoredCheckpoint | None, log_verifier: NoteVerifier
) -> None:
    """Step 3: the checkpoint is the one the log kept for its tree size, byte for byte."""
    size = cosigned.checkpoint.size
    if kept is None:
        raise UnknownCheckpointError(f"this log kept no checkpoint of tree size {size}")
    try:
        kept_text = open_note(kept.note, [log_verifier]).text
    except NoteError as exc:
        raise ForeignCheckpointError(
            f"the kept checkpoint of size {size} does not verify with the log's key: {exc}"
        ) from exc
    if kept_text != cosigned.text:
        raise ForeignCheckpointError(
            f"the log's key signed a checkpoint of size {size} that is not the one it kept: "
            "two histories under one key; refused and reported"
        )
