"""Logs built without a server: real signed records, the log's example key, an export folder.

What the server would write, written here directly, so each offline check can
be shown on a small log and each kind of tampering on a copy of its export.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from silkline.authoring import build_payload, seal_record
from silkline.formats.checkpoint import Checkpoint, encode_checkpoint
from silkline.formats.log_entry import (
    Reason,
    encode_access_entry,
    encode_record_entry,
    encode_rules_entry,
)
from silkline.formats.merkle import leaf_hash
from silkline.formats.merkle_frontier import MerkleFrontier
from silkline.formats.note import NoteSigner, sign_note
from silkline.log_export import ENTRIES_FILE, ExportWriter, participant_cas, participant_crls
from silkline_server.receipts import load_log_signer

from ..conftest import EXAMPLE
from ..records.conftest import seizure_body, signing_identity

LOG_ORIGIN = "silkline.example/log"
ACCEPTED = datetime.now(UTC).replace(microsecond=0)
RULES_SHA256 = hashlib.sha256(b"deploy/rules/network.toml").hexdigest()


def log_signer() -> NoteSigner:
    """The example log key, certs/example/hub/log.key."""
    return load_log_signer(LOG_ORIGIN, EXAMPLE / "hub" / "log.key")


Encoder = Callable[[int, bytes | None], bytes]


@dataclass
class LogBuilder:
    """Leaves appended as the server appends them: each names its index and the hash before it."""

    leaves: list[bytes] = field(default_factory=list)
    frontier: MerkleFrontier = field(default_factory=MerkleFrontier)

    @classmethod
    def of(cls, leaves: Sequence[bytes]) -> LogBuilder:
        """A log holding these exact leaves (which may or may not chain)."""
        log = cls()
        for leaf in leaves:
            log.leaves.append(leaf)
            log.frontier.append(leaf_hash(leaf))
        return log

    def add(self, encode: Encoder) -> int:
        index = len(self.leaves)
        previous = leaf_hash(self.leaves[-1]) if self.leaves else None
        leaf = encode(index, previous)
        self.leaves.append(leaf)
        self.frontier.append(leaf_hash(leaf))
        return index

    def rules(self) -> int:
        return self.add(
            lambda i, p: encode_rules_entry(
                i, p, sha256=RULES_SHA256, source="deploy/rules/network.toml", loaded_at=ACCEPTED
            )
        )

    def record(
        self,
        participant: str = "IN",
        name: str = "ncb",
        *,
        accepted_at: datetime = ACCEPTED,
        signer_of: tuple[str, str] | None = None,
    ) -> int:
        """A seizure alert originated by participant/name; `signer_of` signs it with another
        agency's key and certificate (a forgery)."""
        originator = signing_identity(participant, name)
        signer = signing_identity(*signer_of) if signer_of else originator
        payload = build_payload(
            "seizure-alert",
            seizure_body(),
            originator=originator.identity,
            tlp="AMBER",
            recipients=[participant],
        )
        sealed = seal_record(payload, signer)
        return self.record_leaf(
            sealed.record_id, sealed.envelope, sealed.signer_certificate_der, accepted_at
        )

    def record_leaf(
        self, record_id: str, envelope: bytes, certificate: bytes, accepted_at: datetime = ACCEPTED
    ) -> int:
        return self.add(
            lambda i, p: encode_record_entry(
                i,
                p,
                record_id=record_id,
                accepted_at=accepted_at,
                envelope=envelope,
                signer_certificate=certificate,
            )
        )

    def access(self, sequence: int, record_id: str = "01a21503-5656-769c-abcd-66f215bd752d") -> int:
        return self.add(
            lambda i, p: encode_access_entry(
                i,
                p,
                sequence=sequence,
                at=ACCEPTED + timedelta(seconds=sequence),
                reader_participant="KZ",
                reader_agency="MVD",
                reader_client="ops-desk-1",
                record_id=record_id,
                action="get",
                allowed=False,
                view="none",
                reasons=[Reason("record.distribution.tlp", "AMBER: KZ is not a recipient")],
                disclosed=[],
                withheld=[],
                rules_sha256=RULES_SHA256,
            )
        )

    def checkpoint(self, size: int | None = None, signer: NoteSigner | None = None) -> bytes:
        """The signed checkpoint of the first `size` leaves (default: all)."""
        count = len(self.leaves) if size is None else size
        frontier = MerkleFrontier()
        for leaf in self.leaves[:count]:
            frontier.append(leaf_hash(leaf))
        body = encode_checkpoint(Checkpoint(LOG_ORIGIN, count, frontier.root()))
        return sign_note(body, [signer or log_signer()])


def sample_log() -> LogBuilder:
    """Rules version, records of IN/NCB, KZ/MVD and IN/DRI, two access events: 8 entries."""
    log = LogBuilder()
    log.rules()
    log.record("IN", "ncb")
    log.record("KZ", "mvd")
    log.access(1)
    log.record("IN", "dri")
    log.access(2)
    log.record("IN", "ncb")
    log.record("UZ", "ncdc")
    return log


def write_export(folder: Path, leaves: Sequence[tuple[int, bytes]], checkpoint: bytes) -> Path:
    """An export folder as `silkline audit export` writes it."""
    writer = ExportWriter(folder)
    writer.write_checkpoint(checkpoint)
    writer.write_log_key(log_signer().verifier)
    for participant, path in participant_cas(EXAMPLE).items():
        writer.write_participant_ca(participant, path.read_bytes())
    for participant, path in participant_crls(EXAMPLE).items():
        writer.write_participant_crl(participant, path.read_bytes())
    for index, leaf in leaves:
        writer.add_entry(index, leaf)
    writer.close()
    return folder


def export_of(folder: Path, log: LogBuilder, checkpoint: bytes | None = None) -> Path:
    return write_export(folder, list(enumerate(log.leaves)), checkpoint or log.checkpoint())


def entry_lines(folder: Path) -> list[str]:
    return (folder / ENTRIES_FILE).read_text().splitlines(keepends=True)


def rewrite_lines(folder: Path, lines: Sequence[str]) -> None:
    (folder / ENTRIES_FILE).write_text("".join(lines))


def leaf_of(line: str) -> bytes:
    return base64.b64decode(json.loads(line)["leaf"])


def line_of(index: int, leaf: bytes) -> str:
    return json.dumps({"index": index, "leaf": base64.b64encode(leaf).decode()}) + "\n"


def other_key() -> NoteSigner:
    """A key that is not the log's, under the log's name."""
    return NoteSigner(LOG_ORIGIN, Ed25519PrivateKey.generate())
