"""Recompute every value of the worked example in docs/log-format.md.

    .venv/bin/python docs/log_format_example.py          # the values, one block each
    .venv/bin/python docs/log_format_example.py --json   # the same, as one JSON object

EXAMPLE KEYS ONLY, NEVER PRODUCTION. The log key and the witness key are
derived from fixed, published 32-byte seeds so that anyone can recompute the
example byte for byte; anyone can therefore also sign with them. The record
in the log is the worked example of docs/formats.md (docs/formats_example.py);
every time below is fixed. Everything else is computed by silkline's own code
(silkline.formats.*, silkline.log_export), so the document shows what
silkline produces, and tests/test_docs_log_format.py fails when it no longer
matches.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from silkline.formats.checkpoint import Checkpoint, cosign, cosigner_verifier, encode_checkpoint
from silkline.formats.log_entry import (
    Reason,
    encode_access_entry,
    encode_record_entry,
    encode_rules_entry,
)
from silkline.formats.merkle import MemoryTree, leaf_hash
from silkline.formats.note import NoteSigner, sign_note
from silkline.formats.tlog_proof import TlogProof, encode_tlog_proof
from silkline.log_export import entry_line

ABBREVIATED = ("leaf_1",)
"""Values docs/log-format.md shows shortened (the envelope and certificate elided)."""

# EXAMPLE seeds: public on purpose. Never use these keys for anything real.
LOG_SEED = bytes(range(64, 96))  # 40 41 ... 5f, as in docs/formats_example.py
WITNESS_SEED = bytes(range(96, 128))  # 60 61 ... 7f
LOG_ORIGIN = "silkline.example/log-format-example"
WITNESS_NAME = "witness.example"
COSIGNED_AT = 1719823200  # 2024-07-01T08:40:00Z, seconds since the epoch
RULES_V1 = hashlib.sha256(b"example rules, version 1").hexdigest()
RULES_V2 = hashlib.sha256(b"example rules, version 2").hexdigest()
LOADED_AT = datetime(2024, 7, 1, 8, 0, tzinfo=UTC)
RELOADED_AT = datetime(2024, 7, 1, 8, 35, tzinfo=UTC)
READ_AT = datetime(2024, 7, 1, 8, 31, 15, 500000, tzinfo=UTC)
SECOND_READ_AT = datetime(2024, 7, 1, 8, 32, tzinfo=UTC)
FIRST_CHECKPOINT = 3


def formats_example() -> ModuleType:
    """docs/formats_example.py, whose record this log accepts."""
    path = Path(__file__).with_name("formats_example.py")
    spec = importlib.util.spec_from_file_location("formats_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def example_values() -> dict[str, str]:
    record = formats_example()
    record_values = record.example_values()
    envelope = record_values["envelope"].encode()
    certificate = x509.load_pem_x509_certificate(record_values["signer_certificate_pem"].encode())
    certificate_der = certificate.public_bytes(serialization.Encoding.DER)

    encoders = [
        lambda i, p: encode_rules_entry(
            i, p, sha256=RULES_V1, source="deploy/rules/network.toml", loaded_at=LOADED_AT
        ),
        lambda i, p: encode_record_entry(
            i,
            p,
            record_id=record.RECORD_ID,
            accepted_at=record.ACCEPTED_AT,
            envelope=envelope,
            signer_certificate=certificate_der,
        ),
        lambda i, p: encode_access_entry(
            i,
            p,
            sequence=1,
            at=READ_AT,
            reader_participant="KZ",
            reader_agency="MVD",
            reader_client="ops-desk-1",
            record_id=record.RECORD_ID,
            action="get",
            allowed=False,
            view="none",
            reasons=[Reason("record.distribution.recipients", "KZ is not a recipient")],
            disclosed=[],
            withheld=[],
            rules_sha256=RULES_V1,
        ),
        lambda i, p: encode_access_entry(
            i,
            p,
            sequence=2,
            at=SECOND_READ_AT,
            reader_participant="IN",
            reader_agency="DRI",
            reader_client="ops-desk-1",
            record_id=record.RECORD_ID,
            action="get",
            allowed=True,
            view="full",
            reasons=[Reason("participants.IN", "same participant as the originator")],
            disclosed=["personal_data"],
            withheld=[],
            rules_sha256=RULES_V1,
        ),
        lambda i, p: encode_rules_entry(
            i, p, sha256=RULES_V2, source="deploy/rules/network.toml", loaded_at=RELOADED_AT
        ),
    ]
    leaves: list[bytes] = []
    tree = MemoryTree()
    for index, encode in enumerate(encoders):
        leaf = encode(index, tree.subtree_hash(0, index - 1) if index else None)
        leaves.append(leaf)
        tree.append(leaf_hash(leaf))

    log_key = NoteSigner(LOG_ORIGIN, Ed25519PrivateKey.from_private_bytes(LOG_SEED))
    witness_key = Ed25519PrivateKey.from_private_bytes(WITNESS_SEED)
    witness = cosigner_verifier(
        WITNESS_NAME, witness_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    )  # fmt: skip
    first_text = encode_checkpoint(
        Checkpoint(LOG_ORIGIN, FIRST_CHECKPOINT, tree.root(FIRST_CHECKPOINT))
    )
    text = encode_checkpoint(Checkpoint(LOG_ORIGIN, tree.size, tree.root()))
    note = sign_note(text, [log_key])
    cosignature = cosign(text, WITNESS_NAME, witness_key, COSIGNED_AT)
    cosigned = note + cosignature.encode()
    inclusion = tree.inclusion_proof(1)
    consistency = tree.consistency_proof(FIRST_CHECKPOINT)

    values = {
        "log_vkey": log_key.verifier.vkey,
        "witness_vkey": witness.vkey,
    }
    for index, leaf in enumerate(leaves):
        values[f"leaf_{index}"] = leaf.decode("utf-8")
        values[f"leaf_hash_{index}"] = leaf_hash(leaf).hex()
    values.update(
        {
            "root_3": tree.root(FIRST_CHECKPOINT).hex(),
            "root_5": tree.root().hex(),
            "checkpoint_3": sign_note(first_text, [log_key]).decode("utf-8"),
            "checkpoint_5": note.decode("utf-8"),
            "cosignature_message": (f"cosignature/v1\ntime {COSIGNED_AT}\n{text}"),
            "cosigned_checkpoint_5": cosigned.decode("utf-8"),
            "inclusion_proof_1": "\n".join(b64(h) for h in inclusion) + "\n",
            "consistency_proof_3_5": "\n".join(b64(h) for h in consistency) + "\n",
            "tlog_proof_1_head": encode_tlog_proof(TlogProof(1, tuple(inclusion), cosigned)).decode(
                "utf-8"
            ),
            "entries_jsonl_line_0": entry_line(0, leaves[0]),
        }
    )
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    arguments = parser.parse_args()
    values = example_values()
    if arguments.json:
        print(json.dumps(values, indent=2, ensure_ascii=False))
        return
    for name, value in values.items():
        print(f"== {name} ==")
        print(value, end="" if value.endswith("\n") else "\n")
        print()


if __name__ == "__main__":
    main()
