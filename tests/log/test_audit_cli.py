"""`silkline audit checkpoint | prove | export | verify` and `silkline witness` against a server."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

from silkline.formats.checkpoint import open_checkpoint
from silkline.formats.log_entry import RecordEntry, parse_entry
from silkline.formats.merkle import leaf_hash, verify_inclusion
from silkline.formats.note import parse_verifier_key
from silkline.formats.tlog_proof import parse_tlog_proof, verify_tlog_proof

from ..conftest import EXAMPLE, ServerProcess
from .conftest import (
    LOG_VKEY,
    Cli,
    Witness,
    checkpoint_size,
    leaf_count,
    publish,
    start_log_server,
    stop,
    wait_for_checkpoint,
)

TRUST = str(EXAMPLE)


def test_checkpoint_prove_export_and_verify(
    log_server: ServerProcess, silkline: Cli, tmp_path: Path
) -> None:
    silkline.add_profile("auditor", log_server)
    ((sealed, receipt),) = publish(log_server, "IN", "ncb")
    earlier = tmp_path / "earlier.checkpoint"

    shown = silkline("--json", "audit", "checkpoint", "--trust", TRUST, "--out", str(earlier))
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["origin"] == "silkline.example/log"

    proof_file = tmp_path / "record.tlog-proof"
    proved = silkline(
        "--json", "audit", "prove", sealed.record_id, "--trust", TRUST, "--out", str(proof_file)
    )
    assert proved.exit_code == 0, proved.output
    assert json.loads(proved.output)["log_index"] == receipt.log_index
    # The tlog-proof file stands alone: leaf bytes, path and signed checkpoint.
    proof = parse_tlog_proof(proof_file.read_bytes())
    assert proof.extra is not None
    entry = parse_entry(proof.extra)
    assert isinstance(entry, RecordEntry) and entry.envelope == sealed.envelope
    checkpoint = open_checkpoint(
        proof.checkpoint, [parse_verifier_key(LOG_VKEY.read_text().strip())]
    ).checkpoint
    verify_inclusion(
        leaf_hash(proof.extra), proof.index, checkpoint.size, proof.hashes, checkpoint.root_hash
    )

    publish(log_server, "KZ", "mvd", 2)
    wait_for_checkpoint(log_server, checkpoint_size(earlier.read_bytes()) + 2)
    export = tmp_path / "export"
    exported = silkline("audit", "export", "--out", str(export), "--trust", TRUST)
    assert exported.exit_code == 0, exported.output
    assert sorted(p.name for p in export.iterdir()) == [
        "checkpoint",
        "entries.jsonl",
        "log.vkey",
        "trust",
    ]
    # Each participant's CA and its revocation list.
    assert sorted(p.name for p in (export / "trust").iterdir()) == [
        f"{p}.{kind}"
        for p in ("CARICC", "IN", "KG", "KZ", "TJ", "TM", "UNODC", "UZ")
        for kind in ("crl", "crt")
    ]
    assert (export / "trust" / "IN.crl").read_bytes() == (EXAMPLE / "IN" / "crl.pem").read_bytes()
    assert (export / "log.vkey").read_text() == LOG_VKEY.read_text()

    verified = silkline("audit", "verify", str(export), "--previous", str(earlier))
    assert verified.exit_code == 0, verified.output
    assert "consistent with the previous checkpoint" in verified.output
    report = json.loads(silkline("--json", "audit", "verify", str(export), "--jobs", "2").output)
    assert report["verified"] is True
    assert report["records"] >= 3
    assert report["tree_size"] == len((export / "entries.jsonl").read_text().splitlines())


def test_prove_of_an_unknown_record_exits_4(log_server: ServerProcess, silkline: Cli) -> None:
    silkline.add_profile("auditor", log_server)
    result = silkline(
        "audit", "prove", "01a21503-5656-769c-abcd-66f215bd752d", "--log-key", str(LOG_VKEY)
    )
    assert result.exit_code == 4
    assert "NOT_FOUND" in result.output


def test_a_publisher_saves_the_proof_of_a_record_it_just_posted(
    log_server: ServerProcess, silkline: Cli, tmp_path: Path
) -> None:
    silkline.add_profile("publisher", log_server, "KG", "sbnon")
    ((sealed, receipt),) = publish(log_server, "KG", "sbnon")
    proof_file = tmp_path / "receipt.tlog-proof"

    # Right after the receipt: the command waits for the checkpoint that covers it.
    result = silkline(
        "--profile", "publisher", "--json", "receipt", sealed.record_id, "--trust", TRUST,
        "--out", str(proof_file),
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["log_index"] == receipt.log_index and shown["verified"] is True
    verified = verify_tlog_proof(
        proof_file.read_bytes(), parse_verifier_key(LOG_VKEY.read_text().strip())
    )
    assert verified.index == receipt.log_index
    entry = parse_entry(verified.leaf)
    assert isinstance(entry, RecordEntry) and entry.envelope == sealed.envelope


def test_a_receipt_proof_of_another_agencys_record_exits_4_and_writes_nothing(
    log_server: ServerProcess, silkline: Cli, tmp_path: Path
) -> None:
    silkline.add_profile("reader", log_server, "KZ", "mvd")
    ((sealed, receipt),) = publish(log_server, "IN", "ncb")
    wait_for_checkpoint(log_server, receipt.log_index + 1)
    proof_file = tmp_path / "receipt.tlog-proof"
    result = silkline(
        "--profile", "reader", "receipt", sealed.record_id, "--trust", TRUST,
        "--out", str(proof_file),
    )  # fmt: skip
    assert result.exit_code == 4
    assert "NOT_FOUND" in result.output
    assert not proof_file.exists()


def test_audit_commands_need_the_log_key_from_the_auditor_not_the_server(
    log_server: ServerProcess, silkline: Cli
) -> None:
    silkline.add_profile("auditor", log_server)
    result = silkline("audit", "checkpoint")
    assert result.exit_code == 2
    assert "--log-key FILE or --trust DIR" in result.output


def test_a_checkpoint_checked_with_the_wrong_log_key_is_refused(
    log_server: ServerProcess, silkline: Cli, tmp_path: Path, witness_uz: Witness
) -> None:
    silkline.add_profile("auditor", log_server)
    result = silkline("audit", "checkpoint", "--log-key", str(witness_uz.vkey_path))
    assert result.exit_code == 5
    assert "checkpoint from the server" in result.output


def test_a_retention_purge_of_disclosures_leaves_the_log_verifiable(
    log_server: ServerProcess, silkline: Cli, tmp_path: Path
) -> None:
    silkline.add_profile("auditor", log_server)
    ((sealed, receipt),) = publish(log_server, "IN", "ncb")
    wait_for_checkpoint(log_server, receipt.log_index + 1)
    # What the retention purge does to a record's personal data: the disclosure goes.
    with closing(sqlite3.connect(log_server.database_path)) as db, db:
        erased = db.execute(
            "UPDATE disclosures SET disclosure = NULL, erased_at = '2026-01-01 00:00:00' "
            "WHERE record_id = ?",
            (sealed.record_id,),
        ).rowcount
    assert erased == 2

    export = tmp_path / "export"
    assert silkline("audit", "export", "--out", str(export), "--trust", TRUST).exit_code == 0
    verified = silkline("audit", "verify", str(export))
    assert verified.exit_code == 0, verified.output


def test_the_log_goes_on_consistently_across_a_restart(
    tmp_path: Path, silkline: Cli, witness_uz: Witness
) -> None:
    first_run = start_log_server(tmp_path / "run", [witness_uz])
    try:
        publish(first_run, "IN", "ncb", 2)
        silkline.add_profile("first", first_run)
        wait_for_checkpoint(first_run, 3)
        before = tmp_path / "before.checkpoint"
        assert silkline("--profile", "first", "audit", "checkpoint", "--trust", TRUST,
                        "--out", str(before)).exit_code == 0  # fmt: skip
    finally:
        stop(first_run)
    # The server signed a last checkpoint of everything it committed before exiting.
    with closing(sqlite3.connect(first_run.database_path)) as db:
        (kept,) = db.execute("SELECT max(tree_size) FROM checkpoints").fetchone()
    assert kept == leaf_count(first_run.database_path)

    (tmp_path / "run" / "port").unlink()
    second_run = start_log_server(tmp_path / "run", [witness_uz])
    try:
        published = publish(second_run, "KZ", "mvd", 2)
        assert published[0][1].log_index == kept
        silkline.add_profile("second", second_run)
        wait_for_checkpoint(second_run, kept + 2)
        export = tmp_path / "export"
        assert silkline("--profile", "second", "audit", "export", "--out", str(export),
                        "--trust", TRUST).exit_code == 0  # fmt: skip
        verified = silkline("audit", "verify", str(export), "--previous", str(before))
        assert verified.exit_code == 0, verified.output
    finally:
        stop(second_run)
