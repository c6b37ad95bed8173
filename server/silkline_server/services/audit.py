"""AuditService: checkpoints, proofs, entries, cosignatures and access events."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC
from typing import NoReturn, TypeVar

import grpc
import structlog
from google.protobuf.timestamp_pb2 import Timestamp

from silkline.formats.note import NoteVerifier
from silkline.formats.tlog_proof import TlogProof, encode_tlog_proof
from silkline.v1 import audit_pb2, audit_pb2_grpc
from silkline_server.access import AccessControl
from silkline_server.caller import current_caller
from silkline_server.log.checkpoints import served_note
from silkline_server.log.cosignatures import (
    CosignatureRefusedError,
    ForeignCheckpointError,
    UnknownCheckpointError,
    UnknownWitnessError,
    check_against_kept,
    open_cosigned_checkpoint,
)
from silkline_server.services.context import Context
from silkline_server.store import (
    LogIntegrityError,
    Store,
    StoredAccessEvent,
    StoredCheckpoint,
    StoreError,
)

log = structlog.get_logger("silkline.audit")

T = TypeVar("T")

MAX_PAGE_SIZE = 1000
# ListEntries: leaves read per query, and the bytes of leaves per streamed message
# (one leaf larger than that still goes alone, within max_message_bytes).
ENTRIES_PER_READ = 256
ENTRY_BYTES_PER_MESSAGE = 1024 * 1024


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    """The log and the access log for auditors; tree heads and consistency proofs for every
    participant, cosignatures from configured witnesses, a record's proof for its publisher."""

    def __init__(
        self,
        store: Store,
        access: AccessControl,
        log_verifier: NoteVerifier,
        witnesses: Sequence[NoteVerifier] = (),
    ) -> None:
        self._store = store
        self._access = access
        self._log_verifier = log_verifier
        self._witnesses = tuple(witnesses)

    async def _require_auditor(self, context: Context) -> None:
        identity = current_caller().identity
        if "auditor" not in self._access.roles(identity):
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"{identity.agency_path} has no auditor role in the rules in force",
            )

    async def _latest_checkpoint(self, context: Context) -> StoredCheckpoint:
        latest = await self._read(context, self._store.latest_checkpoint)
        if latest is None:
            await _abort(context, grpc.StatusCode.UNAVAILABLE, "the log has no checkpoint yet")
        return latest

    async def _read(self, context: Context, call: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(call)
        except LogIntegrityError as exc:
            log.error("the log's stored hashes are inconsistent", error=str(exc))
            await _abort(context, grpc.StatusCode.INTERNAL, "the log cannot be read consistently")
        except StoreError as exc:
            log.error("log read failed", error=str(exc))
            await _abort(context, grpc.StatusCode.UNAVAILABLE, "the log is unavailable; retry")
        except ValueError as exc:
            # The request was checked against the checkpoint; the store holding
            # fewer entries than the log signed is an altered database.
            log.error("the log holds less than its checkpoints", error=str(exc))
            await _abort(context, grpc.StatusCode.FAILED_PRECONDITION, str(exc))

    async def GetCheckpoint(
        self, request: audit_pb2.GetCheckpointRequest, context: Context
    ) -> audit_pb2.GetCheckpointResponse:
        # Any authenticated participant: a tree head reveals no entry, and a
        # witness run by any participant starts from it.
        latest = await self._latest_checkpoint(context)
        return audit_pb2.GetCheckpointResponse(checkpoint=served_note(latest))

    async def GetInclusionProof(
        self, request: audit_pb2.GetInclusionProofRequest, context: Context
    ) -> audit_pb2.GetInclusionProofResponse:
        await self._require_auditor(context)
        which = request.WhichOneof("entry")
        if which == "record_id":
            record = await self._read(context, lambda: self._store.get_record(request.record_id))
            if record is None:
                await _abort(context, grpc.StatusCode.NOT_FOUND, "no such record in the log")
            index = record.log_index
        elif which == "log_index":
            index = request.log_index
        else:
            await _abort(
                context, grpc.StatusCode.INVALID_ARGUMENT, "give the entry's log_index or record_id"
            )
        if request.tree_size:
            kept = await self._read(context, lambda: self._store.checkpoint(request.tree_size))
            if kept is None:
                await _abort(
                    context,
                    grpc.StatusCode.NOT_FOUND,
                    f"the log signed no checkpoint of tree size {request.tree_size}; "
                    "give 0 for the latest",
                )
            checkpoint = kept
        else:
            checkpoint = await self._latest_checkpoint(context)
        size = checkpoint.tree_size
        if index >= size:
            await _abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                f"entry {index} is not in the checkpoint of tree size {size} yet; "
                "the next checkpoint follows within a second",
            )
        hashes = await self._read(context, lambda: self._store.inclusion_proof(index, size))
        return audit_pb2.GetInclusionProofResponse(
            log_index=index, tree_size=size, hashes=hashes, checkpoint=served_note(checkpoint)
        )

    async def GetConsistencyProof(
        self, request: audit_pb2.GetConsistencyProofRequest, context: Context
    ) -> audit_pb2.GetConsistencyProofResponse:
        # Any authenticated participant: hashes of subtrees, for witnesses and publishers.
        latest = await self._latest_checkpoint(context)
        first = request.first_tree_size
        second = request.second_tree_size or latest.tree_size
        if not 0 < first <= second:
            await _abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"need 0 < first_tree_size <= second_tree_size, got {first} and {second} "
                "(RFC 9162 defines no proof from the empty tree)",
            )
        if second > latest.tree_size:
            await _abort(
                context,
                grpc.StatusCode.OUT_OF_RANGE,
                f"second_tree_size {second} is beyond the latest checkpoint ({latest.tree_size})",
            )
        hashes = await self._read(context, lambda: self._store.consistency_proof(first, second))
        return audit_pb2.GetConsistencyProofResponse(hashes=hashes)

    async def ListEntries(
        self, request: audit_pb2.ListEntriesRequest, context: Context
    ) -> AsyncIterator[audit_pb2.ListEntriesResponse]:
        await self._require_auditor(context)
        start = request.start_index
        latest = await self._latest_checkpoint(context)
        end = request.end_index or latest.tree_size
        size = await self._read(context, self._store.tree_size)
        if end > max(size, latest.tree_size):
            await _abort(
                context,
                grpc.StatusCode.OUT_OF_RANGE,
                f"end_index {end} is beyond the log's {size} entries",
            )
        if size < latest.tree_size:
            # Entries the log signed are gone: serve what is left, and let the
            # auditor's verification name what is missing.
            log.error("the log holds fewer entries than its checkpoint", entries=size,
                      checkpoint=latest.tree_size)  # fmt: skip
        if start > end:
            await _abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                f"start_index {start} is after end_index {end}",
            )
        position = start
        while position < end:
            limit = min(ENTRIES_PER_READ, end - position)
            page = await self._read(context, functools.partial(self._store.leaves, position, limit))
            page = [leaf for leaf in page if leaf.index < end]
            if not page:
                return
            batch: list[audit_pb2.LogEntry] = []
            batch_bytes = 0
            for leaf in page:
                if batch and batch_bytes + len(leaf.leaf) > ENTRY_BYTES_PER_MESSAGE:
                    yield audit_pb2.ListEntriesResponse(entries=batch)
                    batch, batch_bytes = [], 0
                batch.append(audit_pb2.LogEntry(index=leaf.index, leaf=leaf.leaf))
                batch_bytes += len(leaf.leaf)
            yield audit_pb2.ListEntriesResponse(entries=batch)
            position = page[-1].index + 1

    async def AddCosignature(
        self, request: audit_pb2.AddCosignatureRequest, context: Context
    ) -> audit_pb2.AddCosignatureResponse:
        # Not the auditor role: the witness key decides, checked on every line.
        caller = current_caller().identity
        try:
            cosigned = open_cosigned_checkpoint(
                request.cosigned_checkpoint, self._log_verifier, self._witnesses
            )
            size = cosigned.checkpoint.size
            kept = await self._read(context, lambda: self._store.checkpoint(size))
            check_against_kept(cosigned, kept, self._log_verifier)
        except CosignatureRefusedError as exc:
            if isinstance(exc, ForeignCheckpointError):
                log.error(
                    "a checkpoint signed with the log key is not the one the log kept",
                    caller=caller.agency_path,
                    detail=str(exc),
                )
            else:
                log.warning("cosignature refused", reason=type(exc).__name__, detail=str(exc))
            code = _COSIGNATURE_STATUS.get(type(exc), grpc.StatusCode.INVALID_ARGUMENT)
            await _abort(context, code, str(exc))
        added = await self._read(
            context, lambda: self._store.add_cosignatures(size, cosigned.cosignatures)
        )
        log.info(
            "cosignature accepted",
            tree_size=size,
            witnesses=[c.cosigner for c in cosigned.cosignatures],
            new=added,
        )
        return audit_pb2.AddCosignatureResponse()

    async def GetRecordProof(
        self, request: audit_pb2.GetRecordProofRequest, context: Context
    ) -> audit_pb2.GetRecordProofResponse:
        caller = current_caller().identity
        record_id = request.record_id
        record = (
            await self._read(context, lambda: self._store.get_record(record_id))
            if record_id
            else None
        )
        published = record is not None and caller.agency_path == (
            f"{record.originator_participant}/{record.originator_agency}"
        )
        if record is None or not (published or "auditor" in self._access.roles(caller)):
            # One answer for "no such record" and "not yours": the refusal tells a
            # caller nothing of a record it did not publish, not even that it exists.
            await _abort(
                context,
                grpc.StatusCode.NOT_FOUND,
                f"no record {record_id!r} for {caller.agency_path} to prove: a record's "
                "proof goes to the agency that published it (and to auditors)",
            )
        index = record.log_index
        checkpoint = await self._latest_checkpoint(context)
        size = checkpoint.tree_size
        if index >= size:
            await _abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                f"record {record_id} is entry {index}, not in the checkpoint of tree size "
                f"{size} yet; the next checkpoint follows within a second",
            )
        hashes = await self._read(context, lambda: self._store.inclusion_proof(index, size))
        leaves = await self._read(context, lambda: self._store.leaves(index, 1))
        if len(leaves) != 1 or leaves[0].index != index:
            log.error("a record's log entry is missing", record_id=record_id, log_index=index)
            await _abort(context, grpc.StatusCode.INTERNAL, "the log cannot be read consistently")
        proof = TlogProof(index, tuple(hashes), served_note(checkpoint), leaves[0].leaf)
        return audit_pb2.GetRecordProofResponse(tlog_proof=encode_tlog_proof(proof))

    async def ListAccessEvents(
        self, request: audit_pb2.ListAccessEventsRequest, context: Context
    ) -> audit_pb2.ListAccessEventsResponse:
        await self._require_auditor(context)
        page_size = request.page_size or 100
        if not 0 < page_size <= MAX_PAGE_SIZE or (
            request.page_token and not request.page_token.isdigit()
        ):
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"page_size must be 1..{MAX_PAGE_SIZE}; page_token one returned by this call",
            )
        since = request.since.ToDatetime(UTC) if request.HasField("since") else None
        events = await asyncio.to_thread(
            lambda: self._store.list_access_events(
                record_id=request.record_id or None,
                reader=request.reader or None,
                since=since,
                after_sequence=int(request.page_token or 0),
                limit=page_size,
            )
        )
        return audit_pb2.ListAccessEventsResponse(
            events=[_event(e) for e in events],
            next_page_token=str(events[-1].sequence) if len(events) == page_size else "",
        )


_COSIGNATURE_STATUS = {
    UnknownWitnessError: grpc.StatusCode.PERMISSION_DENIED,
    UnknownCheckpointError: grpc.StatusCode.NOT_FOUND,
    ForeignCheckpointError: grpc.StatusCode.FAILED_PRECONDITION,
}


async def _abort(context: Context, code: grpc.StatusCode, message: str) -> NoReturn:
    await context.abort(code, message)
    raise AssertionError("context.abort returned")


def _event(event: StoredAccessEvent) -> audit_pb2.AccessEvent:
    at = Timestamp()
    at.FromDatetime(event.at)
    return audit_pb2.AccessEvent(
        sequence=event.sequence,
        at=at,
        reader_participant=event.reader_participant,
        reader_agency=event.reader_agency,
        reader_client=event.reader_client,
        record_id=event.record_id,
        action=event.action,
        decision=audit_pb2.ACCESS_DECISION_ALLOWED
        if event.allowed
        else audit_pb2.ACCESS_DECISION_DENIED,
        reasons=[f"{r['cite']}: {r['text']}" for r in json.loads(event.reasons)],
        disclosed_classes=[c for c in event.disclosed.split(",") if c],
        withheld_classes=[c for c in event.withheld.split(",") if c],
        rules_sha256=event.rules_sha256,
    )
