"""Signing checkpoints of the log and serving them with the cosignatures held.

A checkpoint is the C2SP tlog-checkpoint note text (origin, tree size, base64
RFC 6962 root) signed as a C2SP signed note by the log's Ed25519 key: the key
that signs receipts. The note is kept exactly as signed; cosignature lines
are added when it is served, never written into the kept note.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from silkline.formats.checkpoint import Checkpoint, encode_checkpoint
from silkline.formats.note import NoteSigner, sign_note
from silkline_server.store import Store, StoredCheckpoint

log = structlog.get_logger("silkline.log")


def signed_checkpoint(signer: NoteSigner, tree_size: int, root: bytes) -> bytes:
    """The signed note of the checkpoint (origin = the log key's name, size, root)."""
    return sign_note(encode_checkpoint(Checkpoint(signer.name, tree_size, root)), [signer])


def served_note(checkpoint: StoredCheckpoint) -> bytes:
    """The checkpoint as served: the note as signed, then each cosignature line held.

    Signature lines follow the note's text in any order (signed-note
    "Format"); cosignatures come after the log's own, by cosigner name.
    """
    return checkpoint.note + "".join(c.line for c in checkpoint.cosignatures).encode("utf-8")


class CheckpointPublisher:
    """Signs and keeps a checkpoint of the log as it is now, if it grew since the last one."""

    def __init__(
        self,
        store: Store,
        signer: NoteSigner,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._signer = signer
        self._clock = clock

    @property
    def origin(self) -> str:
        """The log's origin line: the name of its key."""
        return self._signer.name

    def publish(self) -> int | None:
        """Sign and keep a checkpoint of the current tree; return its size, or None if the
        latest kept checkpoint already covers every entry. Blocking: call from a thread."""
        size = self._store.tree_size()
        latest = self._store.latest_checkpoint()
        if latest is not None and latest.tree_size >= size:
            return None
        # The root is read after the size, from hashes committed with those leaves:
        # appends that commit in between only add subtrees beyond `size`.
        root = self._store.root_at(size)
        note = signed_checkpoint(self._signer, size, root)
        if self._store.add_checkpoint(size, note, self._clock()):
            log.info("checkpoint signed", tree_size=size, root=root.hex())
        return size
