"""A witness of the log (c2sp.org/tlog-witness, in silkline's terms): cosign only what extends
what it cosigned before.

The witness keeps, in its state folder, the last checkpoint it cosigned. A new
checkpoint is cosigned (C2SP tlog-cosignature/v1, with a timestamp) only if
it is signed by the log's key for its origin and is consistent with that one:
not smaller, the same root at the same size, and a consistency proof
(RFC 9162 §2.1.4.2) from the old size to the new one. Anything else is a log
showing different histories to different parties: the witness refuses and
keeps both checkpoints as evidence.

The state is written before the cosignature leaves the witness, so it never
cosigns two checkpoints that are not consistent with each other.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from silkline.formats.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from silkline.formats.merkle import ConsistencyProofError, verify_consistency
from silkline.formats.note import NoteError, NoteVerifier

STATE_FILE: Final = "checkpoint"
EVIDENCE_DIR: Final = "evidence"


class WitnessError(Exception):
    """Base class of the witness's refusals."""


class UntrustedCheckpointError(WitnessError):
    """The checkpoint is not signed by the log's key for its origin."""


class InconsistentCheckpointError(WitnessError):
    """The checkpoint does not extend the one the witness cosigned before: a fork, a
    rollback, or a proof that does not verify."""


def open_log_checkpoint(note: bytes, log_key: NoteVerifier, what: str) -> Checkpoint:
    """The checkpoint in a note signed by the log's key, whose origin is the key's name."""
    try:
        checkpoint = open_checkpoint(note, [log_key]).checkpoint
    except (NoteError, CheckpointError) as exc:
        raise UntrustedCheckpointError(f"{what}: {exc}") from exc
    if checkpoint.origin != log_key.name:
        raise UntrustedCheckpointError(
            f"{what} is for origin {checkpoint.origin!r}, not for log {log_key.name!r}"
        )
    return checkpoint


def needs_proof(previous: Checkpoint | None, offered: Checkpoint) -> bool:
    """Whether a consistency proof from `previous` to `offered` must be fetched."""
    return previous is not None and 0 < previous.size < offered.size


def check_extends(
    previous: Checkpoint | None, offered: Checkpoint, proof: Sequence[bytes] = ()
) -> None:
    """Refuse `offered` unless it extends `previous` (None: the first checkpoint seen, which
    the witness takes on first use)."""
    if previous is None:
        return
    if offered.origin != previous.origin:
        raise InconsistentCheckpointError(
            f"offered checkpoint is of log {offered.origin!r}; this witness follows "
            f"{previous.origin!r}"
        )
    if offered.size < previous.size:
        raise InconsistentCheckpointError(
            f"offered checkpoint has {offered.size} entries, fewer than the {previous.size} "
            "this witness already cosigned: the log was rolled back"
        )
    if offered.size == previous.size:
        if offered.root_hash != previous.root_hash:
            raise InconsistentCheckpointError(
                f"two different trees of {offered.size} entries: root "
                f"{offered.root_hash.hex()} offered, {previous.root_hash.hex()} cosigned before"
            )
        return
    if previous.size == 0:
        return
    try:
        verify_consistency(
            previous.size, offered.size, proof, previous.root_hash, offered.root_hash
        )
    except ConsistencyProofError as exc:
        raise InconsistentCheckpointError(
            f"the tree of {offered.size} entries does not extend the tree of {previous.size} "
            f"this witness cosigned: {exc}"
        ) from exc


@dataclass(frozen=True)
class WitnessState:
    """The witness's folder: the last checkpoint it cosigned, and evidence of refusals."""

    folder: Path

    def last_cosigned(self) -> bytes | None:
        """The note last cosigned, exactly as it was served; None before the first."""
        path = self.folder / STATE_FILE
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def save_cosigned(self, note: bytes) -> None:
        """Remember `note` as the last cosigned checkpoint, durably, before cosigning it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / STATE_FILE
        temporary = path.with_name(path.name + ".tmp")
        with temporary.open("wb") as file:
            file.write(note)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)

    def save_evidence(
        self, cosigned: bytes, offered: bytes, reason: str, proof: Sequence[bytes] = ()
    ) -> Path:
        """Keep both checkpoints and the reason in DIR/evidence/<UTC time>/; return that folder."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        folder = self.folder / EVIDENCE_DIR / stamp
        folder.mkdir(parents=True, exist_ok=False)
        (folder / "cosigned.checkpoint").write_bytes(cosigned)
        (folder / "offered.checkpoint").write_bytes(offered)
        lines = [reason, "", "consistency proof as served (hex, one hash a line):"]
        lines += [element.hex() for element in proof] or ["(none)"]
        (folder / "reason.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return folder
