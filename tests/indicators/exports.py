"""Signed records, and the audit export a log of them makes, written without a server.

The export is laid out as `silkline audit export` writes it (silkline.log_export)
and signed with the example log key, so `verify_export` accepts it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from silkline.authoring import SealedRecord, build_payload, seal_record
from silkline.bundle import bundle_from_parts
from silkline.formats.checkpoint import Checkpoint, encode_checkpoint
from silkline.formats.log_entry import encode_record_entry
from silkline.formats.merkle import leaf_hash
from silkline.formats.merkle_frontier import MerkleFrontier
from silkline.formats.note import sign_note
from silkline.log_export import ExportWriter, participant_cas
from silkline_server.receipts import load_log_signer

from ..conftest import EXAMPLE
from ..records.conftest import signing_identity

LOG_ORIGIN = "silkline.example/log"


def sealed(
    body: dict[str, Any],
    participant: str = "IN",
    agency: str = "ncb",
    record_type: str = "seizure-alert",
    tlp: str = "GREEN",
    recipients: Sequence[str] = (),
) -> SealedRecord:
    """A record signed by certs/example/<participant>/<agency>.signing.key."""
    signer = signing_identity(participant, agency)
    document = build_payload(
        record_type, body, originator=signer.identity, tlp=tlp, recipients=recipients
    )
    return seal_record(document, signer)


def write_export(folder: Path, records: Sequence[SealedRecord]) -> Path:
    """The export of a log holding exactly these records, in order."""
    accepted = datetime.now(UTC).replace(microsecond=0)
    frontier = MerkleFrontier()
    leaves = []
    previous: bytes | None = None
    for index, record in enumerate(records):
        leaf = encode_record_entry(
            index,
            previous,
            record_id=record.record_id,
            accepted_at=accepted,
            envelope=record.envelope,
            signer_certificate=record.signer_certificate_der,
        )
        leaves.append(leaf)
        previous = leaf_hash(leaf)
        frontier.append(previous)
    signer = load_log_signer(LOG_ORIGIN, EXAMPLE / "hub" / "log.key")
    checkpoint = sign_note(
        encode_checkpoint(Checkpoint(LOG_ORIGIN, len(leaves), frontier.root())), [signer]
    )
    writer = ExportWriter(folder)
    writer.write_checkpoint(checkpoint)
    writer.write_log_key(signer.verifier)
    for participant, path in participant_cas(EXAMPLE).items():
        writer.write_participant_ca(participant, path.read_bytes())
    for index, leaf in enumerate(leaves):
        writer.add_entry(index, leaf)
    writer.close()
    return folder


def write_bundles(folder: Path, records: Sequence[SealedRecord]) -> Path:
    """Each record as `silkline show --bundle` writes it, disclosures included."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, record in enumerate(records):
        bundle = bundle_from_parts(
            record.envelope, record.signer_certificate_der, record.disclosures, None
        )
        (folder / f"record-{number:03d}.json").write_text(json.dumps(bundle.to_json(), indent=2))
    return folder
