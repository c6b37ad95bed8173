"""A record's proof of inclusion in the log: fetched from the server, checked offline.

AuditService.GetRecordProof answers one C2SP tlog-proof (the record's leaf
bytes, its index, the audit path, the signed checkpoint). The publishing
agency (`silkline receipt`) and auditors (`silkline audit prove`) fetch it the
same way and accept it only once it verifies with the log key they hold.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import grpc

from silkline.formats.log_entry import LogEntryError, RecordEntry, parse_entry
from silkline.formats.note import NoteVerifier
from silkline.formats.tlog_proof import TlogProofError, VerifiedTlogProof, verify_tlog_proof
from silkline.v1 import audit_pb2, audit_pb2_grpc


class RecordProofError(Exception):
    """A record proof from the server does not prove the record asked for."""


def fetch_record_proof(
    channel: grpc.Channel, record_id: str, *, wait_s: float, timeout: float
) -> bytes:
    """The tlog-proof of `record_id`, waiting up to `wait_s` for a checkpoint covering it."""
    stub = audit_pb2_grpc.AuditServiceStub(channel)  # type: ignore[no-untyped-call]
    request = audit_pb2.GetRecordProofRequest(record_id=record_id)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return bytes(stub.GetRecordProof(request, timeout=timeout).tlog_proof)
        except grpc.RpcError as exc:
            # FAILED_PRECONDITION: accepted, but not yet in a checkpoint.
            not_yet = isinstance(exc, grpc.Call) and (
                exc.code() is grpc.StatusCode.FAILED_PRECONDITION
            )
            if not not_yet or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def check_record_proof(
    data: bytes, log_key: NoteVerifier, record_id: str
) -> tuple[VerifiedTlogProof, RecordEntry]:
    """The proof verifies with the log's key and its leaf is the entry of `record_id`."""
    try:
        verified = verify_tlog_proof(data, log_key)
        entry = parse_entry(verified.leaf)
    except (TlogProofError, LogEntryError) as exc:
        raise RecordProofError(str(exc)) from exc
    if not isinstance(entry, RecordEntry) or entry.record_id != record_id:
        raise RecordProofError(f"entry {verified.index} is not the entry of record {record_id}")
    if entry.index != verified.index:
        raise RecordProofError(
            f"the leaf proved at index {verified.index} says it is entry {entry.index}"
        )
    return verified, entry


def proof_rows(record_id: str, verified: VerifiedTlogProof, entry: RecordEntry) -> dict[str, Any]:
    """What the CLI shows of a verified proof."""
    checkpoint = verified.checkpoint.checkpoint
    return {
        "record_id": record_id,
        "log_index": verified.index,
        "tree_size": checkpoint.size,
        "root": base64.b64encode(checkpoint.root_hash).decode("ascii"),
        "accepted_at": entry.accepted_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "verified": True,
    }
