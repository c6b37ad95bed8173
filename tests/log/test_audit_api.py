"""AuditService over mutual TLS: checkpoints, proofs, entries, cosignatures, record proofs."""

from __future__ import annotations

import itertools
import sqlite3
import time
from contextlib import closing
from datetime import datetime
from pathlib import Path

import grpc
import pytest

from silkline.formats.checkpoint import (
    Checkpoint,
    cosign,
    encode_checkpoint,
    open_checkpoint,
    parse_checkpoint,
)
from silkline.formats.log_entry import AccessEntry, RecordEntry, RulesEntry, parse_entry
from silkline.formats.merkle import (
    leaf_hash,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)
from silkline.formats.note import (
    NoteSignature,
    parse_signature_line,
    parse_verifier_key,
    sign_note,
)
from silkline.formats.tlog_proof import parse_tlog_proof, verify_tlog_proof
from silkline.v1 import audit_pb2, records_pb2, records_pb2_grpc
from silkline_server.receipts import load_log_signer

from ..conftest import EXAMPLE, ServerProcess, agency_files, channel_for
from .conftest import (
    LOG_VKEY,
    Auditor,
    Witness,
    checkpoint_size,
    make_witness,
    publish,
    rpc_error,
    wait_for_checkpoint,
)

LOG_KEY = parse_verifier_key(LOG_VKEY.read_text().strip())


def opened(note: bytes) -> Checkpoint:
    return open_checkpoint(note, [LOG_KEY]).checkpoint


def text_of(note: bytes) -> str:
    return note.decode().split("\n\n")[0] + "\n"


def test_each_receipt_names_the_leaf_that_holds_its_record(log_server: ServerProcess) -> None:
    published = publish(log_server, "IN", "ncb", 3)
    wait_for_checkpoint(log_server, published[-1][1].log_index + 1)

    with Auditor(log_server) as auditor:
        entries = {e.index: e.leaf for e in auditor.entries()}
    for sealed, receipt in published:
        entry = parse_entry(entries[receipt.log_index])
        assert isinstance(entry, RecordEntry)
        assert entry.record_id == sealed.record_id
        assert entry.envelope == sealed.envelope
        assert entry.signer_certificate == sealed.signer_certificate_der
        assert entry.accepted_at == receipt.accepted_at.ToDatetime().replace(
            tzinfo=entry.accepted_at.tzinfo
        )


def test_the_first_entry_is_the_rules_version_in_force(log_server: ServerProcess) -> None:
    with Auditor(log_server) as auditor:
        first = parse_entry(auditor.entries(0, 1)[0].leaf)
    assert isinstance(first, RulesEntry)
    assert first.source.endswith("deploy/rules/network.toml")


def test_reads_and_denials_are_entries_of_the_log(log_server: ServerProcess) -> None:
    ((sealed, _),) = publish(log_server, "IN", "ncb")
    with (
        channel_for(log_server.target, *agency_files("KZ", "mvd")) as channel,
        pytest.raises(grpc.RpcError),
    ):
        records_pb2_grpc.RecordsServiceStub(channel).Get(  # type: ignore[no-untyped-call]
            records_pb2.GetRequest(record_id=sealed.record_id), timeout=30
        )
    size = len(Auditor(log_server).entries(0, 0)) + 1
    note = wait_for_checkpoint(log_server, size)

    with Auditor(log_server) as auditor:
        leaves = [parse_entry(e.leaf) for e in auditor.entries(0, checkpoint_size(note))]
    denials = [e for e in leaves if isinstance(e, AccessEntry) and e.record_id == sealed.record_id]
    assert [(d.reader_participant, d.reader_agency, d.allowed) for d in denials] == [
        ("KZ", "MVD", False)
    ]


def test_the_checkpoint_is_signed_by_the_log_key_and_covers_every_leaf(
    log_server: ServerProcess,
) -> None:
    publish(log_server, "KZ", "mvd", 2)
    size = checkpoint_size(wait_for_checkpoint(log_server, 1))
    with Auditor(log_server) as auditor:
        note = auditor.checkpoint()
        leaves = [e.leaf for e in auditor.entries(0, checkpoint_size(note))]
    checkpoint = opened(note)
    assert checkpoint.origin == "silkline.example/log"
    assert checkpoint.size >= size
    assert checkpoint.root_hash == root_from_leaves([leaf_hash(leaf) for leaf in leaves])


def test_checkpoints_are_signed_at_most_once_a_second(log_server: ServerProcess) -> None:
    for _ in range(12):
        publish(log_server, "IN", "dri")
        time.sleep(0.1)
    with closing(sqlite3.connect(log_server.database_path)) as db:
        times = [
            datetime.fromisoformat(row[0])
            for row in db.execute("SELECT created_at FROM checkpoints ORDER BY tree_size")
        ]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert gaps and min(gaps) >= 0.95, gaps


def test_inclusion_proofs_by_record_and_by_index_verify_against_the_checkpoint(
    log_server: ServerProcess,
) -> None:
    ((sealed, receipt),) = publish(log_server, "UZ", "ncdc")
    wait_for_checkpoint(log_server, receipt.log_index + 1)
    with Auditor(log_server) as auditor:
        by_id = auditor.stub.GetInclusionProof(
            audit_pb2.GetInclusionProofRequest(record_id=sealed.record_id), timeout=30
        )
        by_index = auditor.stub.GetInclusionProof(
            audit_pb2.GetInclusionProofRequest(log_index=receipt.log_index), timeout=30
        )
        (leaf,) = auditor.entries(receipt.log_index, receipt.log_index + 1)
    assert by_id == by_index
    assert by_id.log_index == receipt.log_index
    checkpoint = opened(by_id.checkpoint)
    assert checkpoint.size == by_id.tree_size
    verify_inclusion(
        leaf_hash(leaf.leaf),
        by_id.log_index,
        by_id.tree_size,
        list(by_id.hashes),
        checkpoint.root_hash,
    )


def test_an_inclusion_proof_against_an_earlier_checkpoint(log_server: ServerProcess) -> None:
    ((_, receipt),) = publish(log_server, "IN", "ncb")
    earlier = wait_for_checkpoint(log_server, receipt.log_index + 1)
    publish(log_server, "IN", "ncb", 2)
    wait_for_checkpoint(log_server, checkpoint_size(earlier) + 2)
    with Auditor(log_server) as auditor:
        reply = auditor.stub.GetInclusionProof(
            audit_pb2.GetInclusionProofRequest(
                log_index=receipt.log_index, tree_size=checkpoint_size(earlier)
            ),
            timeout=30,
        )
        (leaf,) = auditor.entries(receipt.log_index, receipt.log_index + 1)
    assert text_of(reply.checkpoint) == text_of(earlier)
    verify_inclusion(
        leaf_hash(leaf.leaf),
        receipt.log_index,
        reply.tree_size,
        list(reply.hashes),
        opened(earlier).root_hash,
    )


def test_a_consistency_proof_between_two_checkpoints_verifies(log_server: ServerProcess) -> None:
    first = opened(wait_for_checkpoint(log_server, 1))
    publish(log_server, "TJ", "dca", 3)
    second = opened(wait_for_checkpoint(log_server, first.size + 3))
    with Auditor(log_server) as auditor:
        reply = auditor.stub.GetConsistencyProof(
            audit_pb2.GetConsistencyProofRequest(
                first_tree_size=first.size, second_tree_size=second.size
            ),
            timeout=30,
        )
    verify_consistency(
        first.size, second.size, list(reply.hashes), first.root_hash, second.root_hash
    )


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (audit_pb2.GetInclusionProofRequest(), grpc.StatusCode.INVALID_ARGUMENT),
        (
            audit_pb2.GetInclusionProofRequest(record_id="01a21503-5656-769c-abcd-66f215bd752d"),
            grpc.StatusCode.NOT_FOUND,
        ),
        (
            audit_pb2.GetInclusionProofRequest(log_index=0, tree_size=10**9),
            grpc.StatusCode.NOT_FOUND,
        ),
        (
            audit_pb2.GetInclusionProofRequest(log_index=10**9),
            grpc.StatusCode.FAILED_PRECONDITION,
        ),
        (audit_pb2.GetConsistencyProofRequest(first_tree_size=0), grpc.StatusCode.INVALID_ARGUMENT),
        (
            audit_pb2.GetConsistencyProofRequest(first_tree_size=1, second_tree_size=10**9),
            grpc.StatusCode.OUT_OF_RANGE,
        ),
        (
            audit_pb2.ListEntriesRequest(start_index=0, end_index=10**9),
            grpc.StatusCode.OUT_OF_RANGE,
        ),
        (audit_pb2.ListEntriesRequest(start_index=10**9), grpc.StatusCode.INVALID_ARGUMENT),
    ],
)
def test_requests_outside_the_log_are_refused_with_the_reason(
    log_server: ServerProcess, request_: object, code: grpc.StatusCode
) -> None:
    with Auditor(log_server) as auditor:
        method = {
            audit_pb2.GetInclusionProofRequest: auditor.stub.GetInclusionProof,
            audit_pb2.GetConsistencyProofRequest: auditor.stub.GetConsistencyProof,
            audit_pb2.ListEntriesRequest: lambda r, timeout: list(
                auditor.stub.ListEntries(r, timeout=timeout)
            ),
        }[type(request_)]
        error = rpc_error(lambda: method(request_, timeout=30))
    assert error.code() == code, error.details()
    assert error.details()


def test_entries_and_their_proofs_are_for_auditors_only(log_server: ServerProcess) -> None:
    with Auditor(log_server, "KZ", "mvd") as reader:
        calls = [
            lambda: reader.stub.GetInclusionProof(
                audit_pb2.GetInclusionProofRequest(log_index=0), timeout=30
            ),
            lambda: reader.entries(),
        ]
        for call in calls:
            error = rpc_error(call)
            assert error.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "no auditor role" in (error.details() or "")


def test_any_participant_may_read_tree_heads_and_consistency_proofs(
    log_server: ServerProcess,
) -> None:
    """What a witness run by any participant needs: they reveal hashes, never an entry."""
    first = opened(wait_for_checkpoint(log_server, 1))
    publish(log_server, "IN", "ncb", 2)
    wait_for_checkpoint(log_server, first.size + 2)
    with Auditor(log_server, "KZ", "mvd") as witness:
        second = opened(witness.checkpoint())
        reply = witness.stub.GetConsistencyProof(
            audit_pb2.GetConsistencyProofRequest(
                first_tree_size=first.size, second_tree_size=second.size
            ),
            timeout=30,
        )
    assert second.size >= first.size + 2
    verify_consistency(
        first.size, second.size, list(reply.hashes), first.root_hash, second.root_hash
    )


# ------------------------------------------------------------------ GetRecordProof


def record_proof(server: ServerProcess, participant: str, agency: str, record_id: str) -> bytes:
    with Auditor(server, participant, agency) as caller:
        reply = caller.stub.GetRecordProof(
            audit_pb2.GetRecordProofRequest(record_id=record_id), timeout=30
        )
    return bytes(reply.tlog_proof)


def test_the_publisher_gets_its_record_proof_once_a_checkpoint_covers_it(
    log_server: ServerProcess,
) -> None:
    ((sealed, receipt),) = publish(log_server, "UZ", "ncdc")
    wait_for_checkpoint(log_server, receipt.log_index + 1)

    data = record_proof(log_server, "UZ", "ncdc", sealed.record_id)

    verified = verify_tlog_proof(data, LOG_KEY)
    assert verified.index == receipt.log_index
    entry = parse_entry(verified.leaf)
    assert isinstance(entry, RecordEntry)
    assert entry.record_id == sealed.record_id
    assert entry.envelope == sealed.envelope
    assert verified.checkpoint.checkpoint.size > receipt.log_index
    # The same tlog-proof an auditor gets for that record.
    assert parse_tlog_proof(record_proof(log_server, "UNODC", "audit", sealed.record_id)).index == (
        receipt.log_index
    )


def test_a_record_not_yet_in_a_checkpoint_is_a_failed_precondition(
    log_server: ServerProcess,
) -> None:
    # Publish a burst: checkpoints are signed at most once a second, so the last
    # record usually waits for the next one.
    sealed, _ = publish(log_server, "TJ", "dca", 3)[-1]
    try:
        record_proof(log_server, "TJ", "dca", sealed.record_id)
    except grpc.RpcError as error:
        assert isinstance(error, grpc.Call)
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "within a second" in (error.details() or "")
    else:
        pytest.skip("a checkpoint already covered the record")


@pytest.mark.parametrize(
    ("participant", "agency"),
    [("KZ", "mvd"), ("IN", "dri")],
    ids=["another-participant", "another-agency-of-the-publisher's-participant"],
)
def test_no_one_else_learns_anything_of_a_record_from_its_proof(
    log_server: ServerProcess, participant: str, agency: str
) -> None:
    ((sealed, receipt),) = publish(log_server, "IN", "ncb")
    wait_for_checkpoint(log_server, receipt.log_index + 1)
    unknown = "01a21503-5656-769c-abcd-66f215bd752d"

    refused = rpc_error(lambda: record_proof(log_server, participant, agency, sealed.record_id))
    absent = rpc_error(lambda: record_proof(log_server, participant, agency, unknown))

    # Exactly the answer for an id that does not exist: not even existence leaks.
    assert refused.code() == absent.code() == grpc.StatusCode.NOT_FOUND
    details = refused.details() or ""
    assert details == (absent.details() or "").replace(unknown, sealed.record_id)
    assert str(receipt.log_index) not in details.replace(sealed.record_id, "")
    assert refused.trailing_metadata() == absent.trailing_metadata()


# ------------------------------------------------------------------ AddCosignature


def log_signed(note: bytes) -> bytes:
    """The note with the log's own signature only (served notes carry cosignatures too)."""
    text, signatures = note.split(b"\n\n")
    return text + b"\n\n" + signatures.split(b"\n")[0] + b"\n"


def _cosigned(note: bytes, witness: Witness, timestamp: int | None = None) -> bytes:
    line = cosign(text_of(note), witness.name, witness.private_key, timestamp or int(time.time()))
    return log_signed(note) + line.encode()


def test_a_configured_witness_cosignature_is_kept_and_served(
    log_server: ServerProcess, witness_uz: Witness
) -> None:
    with Auditor(log_server) as auditor:
        note = auditor.checkpoint()
    # Any agency may hand in a cosignature: the witness key decides, not the caller's role.
    with Auditor(log_server, "UZ", "ncdc") as uz:
        uz.stub.AddCosignature(
            audit_pb2.AddCosignatureRequest(cosigned_checkpoint=_cosigned(note, witness_uz)),
            timeout=30,
        )
    with Auditor(log_server) as auditor:
        served = auditor.checkpoint()
    if checkpoint_size(served) == checkpoint_size(note):
        cosigned = open_checkpoint(served, [LOG_KEY], [witness_uz.verifier])
        assert [c.cosigner.name for c in cosigned.cosignatures] == [witness_uz.name]
    with closing(sqlite3.connect(log_server.database_path)) as db:
        rows = db.execute(
            "SELECT cosigner, tree_size FROM cosignatures WHERE tree_size = ?",
            (checkpoint_size(note),),
        ).fetchall()
    assert rows == [(witness_uz.name, checkpoint_size(note))]


def test_an_unknown_witness_is_refused(log_server: ServerProcess, tmp_path: Path) -> None:
    rogue = make_witness(tmp_path, "witness.rogue.example")
    with Auditor(log_server) as auditor:
        note = auditor.checkpoint()
        error = rpc_error(
            lambda: auditor.stub.AddCosignature(
                audit_pb2.AddCosignatureRequest(cosigned_checkpoint=_cosigned(note, rogue)),
                timeout=30,
            )
        )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "witness.rogue.example" in (error.details() or "")


def test_a_cosignature_that_does_not_verify_is_refused(
    log_server: ServerProcess, witness_uz: Witness
) -> None:
    with Auditor(log_server) as auditor:
        note = auditor.checkpoint()
        line = parse_signature_line(
            cosign(text_of(note), witness_uz.name, witness_uz.private_key, 1_767_000_000)
        )
        flipped = line.signature[:-1] + bytes([line.signature[-1] ^ 1])
        forged = (
            log_signed(note) + NoteSignature(line.name, line.key_id, flipped).to_line().encode()
        )
        error = rpc_error(
            lambda: auditor.stub.AddCosignature(
                audit_pb2.AddCosignatureRequest(cosigned_checkpoint=forged), timeout=30
            )
        )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_checkpoint_not_signed_by_the_log_is_refused(
    log_server: ServerProcess, witness_uz: Witness
) -> None:
    with Auditor(log_server) as auditor:
        note = auditor.checkpoint()
        line = cosign(text_of(note), witness_uz.name, witness_uz.private_key, int(time.time()))
        unsigned = text_of(note).encode() + b"\n" + line.encode()
        error = rpc_error(
            lambda: auditor.stub.AddCosignature(
                audit_pb2.AddCosignatureRequest(cosigned_checkpoint=unsigned), timeout=30
            )
        )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_checkpoint_of_a_size_never_kept_is_not_found(
    log_server: ServerProcess, witness_uz: Witness
) -> None:
    signer = load_log_signer("silkline.example/log", EXAMPLE / "hub" / "log.key")
    with Auditor(log_server) as auditor:
        current = parse_checkpoint(text_of(auditor.checkpoint()))
        future = Checkpoint(current.origin, current.size + 1000, current.root_hash)
        note = sign_note(encode_checkpoint(future), [signer])
        error = rpc_error(
            lambda: auditor.stub.AddCosignature(
                audit_pb2.AddCosignatureRequest(cosigned_checkpoint=_cosigned(note, witness_uz)),
                timeout=30,
            )
        )
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_a_second_history_signed_with_the_log_key_is_refused_and_reported(
    log_server: ServerProcess, witness_uz: Witness
) -> None:
    # Whoever holds the log key signs a different tree of a size the log kept.
    signer = load_log_signer("silkline.example/log", EXAMPLE / "hub" / "log.key")
    with Auditor(log_server) as auditor:
        current = parse_checkpoint(text_of(auditor.checkpoint()))
        fork = Checkpoint(current.origin, current.size, bytes(32))
        note = sign_note(encode_checkpoint(fork), [signer])
        error = rpc_error(
            lambda: auditor.stub.AddCosignature(
                audit_pb2.AddCosignatureRequest(cosigned_checkpoint=_cosigned(note, witness_uz)),
                timeout=30,
            )
        )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "two histories" in (error.details() or "")
    log_server.wait_for_log("not the one the log kept")
