"""Tampering with the server's database, each caught by `silkline audit verify`, index named.

Each test runs its own server on SQLite, lets agencies publish and read, then
changes the database behind the server's back the way an operator with
access to the file could, exports the log as an auditor would, and verifies
the export offline.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import grpc
import pytest

from silkline.formats.log_entry import RecordEntry, encode_record_entry, parse_entry
from silkline.formats.merkle import leaf_hash
from silkline.formats.merkle_frontier import MerkleFrontier
from silkline.v1 import records_pb2, records_pb2_grpc

from ..conftest import EXAMPLE, ServerProcess, agency_files, channel_for
from .conftest import (
    Cli,
    Witness,
    checkpoint_size,
    leaf_count,
    make_witness,
    publish,
    start_log_server,
    stop,
    wait_for_checkpoint,
)

TRUST = str(EXAMPLE)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server whose log holds: the rules version, 4 records, a denied read, 2 records."""
    witness: Witness = make_witness(tmp_path / "keys", "witness.example")
    running = start_log_server(tmp_path / "hub", [witness])
    publish(running, "IN", "ncb", 2)
    ((kz_record, _),) = publish(running, "KZ", "mvd")
    publish(running, "UZ", "ncdc")
    with (
        channel_for(running.target, *agency_files("TM", "mvd")) as channel,
        pytest.raises(grpc.RpcError),
    ):
        records_pb2_grpc.RecordsServiceStub(channel).Get(  # type: ignore[no-untyped-call]
            records_pb2.GetRequest(record_id=kz_record.record_id), timeout=30
        )
    publish(running, "IN", "dri", 2)
    wait_for_checkpoint(running, 8)
    yield running
    stop(running)


@pytest.fixture
def auditor(silkline: Cli, hub: ServerProcess) -> Cli:
    silkline.add_profile("auditor", hub)
    return silkline


def database(server: ServerProcess) -> sqlite3.Connection:
    return closing(sqlite3.connect(server.database_path))  # type: ignore[return-value]


def leaf(server: ServerProcess, index: int) -> bytes:
    with database(server) as db:
        (value,) = db.execute(
            "SELECT leaf FROM log_leaves WHERE leaf_index = ?", (index,)
        ).fetchone()
    return bytes(value)


def kinds(server: ServerProcess) -> list[str]:
    with database(server) as db:
        rows = db.execute("SELECT leaf FROM log_leaves ORDER BY leaf_index").fetchall()
    return [json.loads(row[0])["type"] for row in rows]


def export_and_verify(auditor: Cli, tmp_path: Path, *extra: str) -> tuple[int, str]:
    export = tmp_path / "export"
    exported = auditor("audit", "export", "--out", str(export), "--trust", TRUST)
    assert exported.exit_code == 0, exported.output
    result = auditor("audit", "verify", str(export), *extra)
    return result.exit_code, result.output


def test_the_untouched_log_verifies(hub: ServerProcess, auditor: Cli, tmp_path: Path) -> None:
    assert kinds(hub) == ["rules", "record", "record", "record", "record", "access", "record",
                          "record"]  # fmt: skip
    code, output = export_and_verify(auditor, tmp_path)
    assert code == 0, output


def test_one_byte_of_a_stored_envelope_changed(
    hub: ServerProcess, auditor: Cli, tmp_path: Path
) -> None:
    original = leaf(hub, 3)
    entry = parse_entry(original)
    assert isinstance(entry, RecordEntry)
    position = original.index(b'"envelope":"') + len(b'"envelope":"') + 120
    changed = bytearray(original)
    changed[position] = ord("B") if changed[position] != ord("B") else ord("C")
    with database(hub) as db, db:
        db.execute("UPDATE log_leaves SET leaf = ? WHERE leaf_index = 3", (bytes(changed),))

    code, output = export_and_verify(auditor, tmp_path)

    assert code == 5
    assert "entry 3: record" in output


def test_an_entry_deleted(hub: ServerProcess, auditor: Cli, tmp_path: Path) -> None:
    with database(hub) as db, db:
        db.execute("DELETE FROM log_leaves WHERE leaf_index = 5")

    code, output = export_and_verify(auditor, tmp_path)

    assert code == 5
    assert "entry 5: missing entry" in output


def test_two_entries_swapped(hub: ServerProcess, auditor: Cli, tmp_path: Path) -> None:
    first, second = leaf(hub, 2), leaf(hub, 6)
    with database(hub) as db, db:
        db.execute("UPDATE log_leaves SET leaf = ? WHERE leaf_index = 2", (second,))
        db.execute("UPDATE log_leaves SET leaf = ? WHERE leaf_index = 6", (first,))

    code, output = export_and_verify(auditor, tmp_path)

    assert code == 5
    assert "entry 2: entry position" in output


def test_the_log_truncated(hub: ServerProcess, auditor: Cli, tmp_path: Path) -> None:
    with database(hub) as db, db:
        db.execute("DELETE FROM log_leaves WHERE leaf_index >= 4")

    code, output = export_and_verify(auditor, tmp_path)

    assert code == 5
    assert "entry 4: missing entries" in output


def test_the_log_truncated_with_its_later_checkpoints_is_caught_by_an_earlier_one(
    hub: ServerProcess, auditor: Cli, tmp_path: Path
) -> None:
    kept = tmp_path / "kept.checkpoint"
    assert auditor("audit", "checkpoint", "--trust", TRUST, "--out", str(kept)).exit_code == 0
    with database(hub) as db, db:
        (smallest,) = db.execute("SELECT min(tree_size) FROM checkpoints").fetchone()
        # The cover-up: later entries, their nodes and every checkpoint naming them go.
        db.execute("DELETE FROM cosignatures")
        db.execute("DELETE FROM checkpoints WHERE tree_size > ?", (smallest,))
        db.execute("DELETE FROM log_leaves WHERE leaf_index >= ?", (smallest,))
        db.execute("DELETE FROM log_nodes WHERE (node_index + 1) << level > ?", (smallest,))

    alone, _ = export_and_verify(auditor, tmp_path / "alone")
    assert alone == 0  # a truncated log is still a log...
    code, output = export_and_verify(auditor, tmp_path, "--previous", str(kept))

    # ...but not the one the auditor saw before.
    assert code == 5
    assert f"entry {smallest}: truncation" in output


def test_a_leaf_appended_behind_the_servers_back(
    hub: ServerProcess, auditor: Cli, tmp_path: Path
) -> None:
    """A record entry is inserted after the last leaf with every hash the server expects;
    the server then signs it into its next checkpoint. The replay is still named."""
    size = leaf_count(hub.database_path)
    replayed = parse_entry(leaf(hub, 1))
    assert isinstance(replayed, RecordEntry)
    with database(hub) as db, db:
        hashes = [bytes(row[0]) for row in
                  db.execute("SELECT leaf_hash FROM log_leaves ORDER BY leaf_index")]  # fmt: skip
        forged = encode_record_entry(
            size,
            hashes[-1],
            record_id=replayed.record_id,
            accepted_at=replayed.accepted_at,
            envelope=replayed.envelope,
            signer_certificate=replayed.signer_certificate,
        )
        frontier = MerkleFrontier()
        for hashed in hashes:
            frontier.append(hashed)
        _, *nodes = frontier.append(leaf_hash(forged))
        db.execute(
            "INSERT INTO log_leaves (leaf_index, leaf, leaf_hash) VALUES (?, ?, ?)",
            (size, forged, leaf_hash(forged)),
        )
        db.executemany("INSERT INTO log_nodes (level, node_index, hash) VALUES (?, ?, ?)", nodes)
    ((_, receipt),) = publish(hub, "KZ", "mvd")
    assert receipt.log_index == size + 1
    assert checkpoint_size(wait_for_checkpoint(hub, size + 2)) == size + 2

    code, output = export_and_verify(auditor, tmp_path)

    assert code == 5
    assert f"entry {size}: duplicate record" in output
    assert "already logged as entry 1" in output
