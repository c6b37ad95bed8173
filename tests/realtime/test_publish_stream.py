"""PublishStream: each item admitted and committed as by Publish, each answered on its own."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
from google.rpc import code_pb2

from silkline.authoring import build_payload, seal_record
from silkline.formats import dsse
from silkline.realtime import LOG_SIZE_KEY, ItemAnswer, StreamPublisher
from silkline.v1 import records_pb2

from ..conftest import ServerProcess
from ..records.conftest import (
    as_signed_record,
    compact_json,
    seizure_body,
    sign_payload,
    signed_record,
    signing_identity,
)
from .conftest import aio_channel, publish_stream, query, sample_records, start, stop, stub


def _changed_after_signing(record: records_pb2.SignedRecord) -> records_pb2.SignedRecord:
    envelope = dsse.parse_envelope(record.envelope)
    changed = envelope.payload.replace(b'"tlp":"AMBER"', b'"tlp":"CLEAR"')
    assert changed != envelope.payload
    forged = dsse.Envelope(envelope.payload_type, changed, envelope.signatures)
    return signed_record(
        dsse.encode_envelope(forged), list(record.disclosures), record.signer_certificate
    )


def _without_items() -> records_pb2.SignedRecord:
    """Signed, but its body lacks the required items: the schema refuses it."""
    signer = signing_identity("IN", "ncb")
    body = seizure_body()
    del body["items"], body["suspects"], body["location"]["coordinates"]
    payload = build_payload("seizure-alert", body, originator=signer.identity, tlp="AMBER")
    return signed_record(sign_payload(compact_json(payload), signer), [], signer.certificate_der)


async def test_a_bad_item_gets_its_error_and_the_items_after_it_their_receipts(
    stream_server: ServerProcess,
) -> None:
    sealed = sample_records(12, seed=101)
    records = [as_signed_record(r) for r in sealed]
    records[4] = _changed_after_signing(records[4])
    records[7] = records_pb2.SignedRecord(envelope=b"{}")
    records.append(_without_items())

    async with aio_channel(stream_server.target, "IN", "ncb") as channel:
        answers = await publish_stream(stub(channel), records, first_sequence=1000)

    assert sorted(answers) == list(range(1000, 1013)), "every item answered, under its sequence"
    errors = {seq: a.error for seq, a in answers.items() if a.HasField("error")}
    assert sorted(errors) == [1004, 1007, 1012]
    assert {e.code for e in errors.values()} == {code_pb2.INVALID_ARGUMENT}
    assert [v.field for v in errors[1004].field_violations] == ["envelope/signatures"]
    assert [v.field for v in errors[1012].field_violations] == ["/body/items"]
    receipts = [a.receipt for seq, a in answers.items() if seq not in errors]
    assert len(receipts) == 10
    stored = {row[0] for row in query(stream_server.database_path, "SELECT record_id FROM records")}
    assert {r.record_id for r in receipts} <= stored
    assert sealed[4].record_id not in stored, "a refused item leaves nothing stored"


async def test_a_resubmission_gets_the_original_receipt_and_a_reused_id_is_refused(
    stream_server: ServerProcess,
) -> None:
    first, second = sample_records(2, seed=102)
    signer = signing_identity("IN", "ncb")
    clash = seal_record(
        build_payload(
            "seizure-alert",
            seizure_body(),
            originator=signer.identity,
            tlp="AMBER",
            record_id=first.record_id,
        ),
        signer,
    )
    answers: dict[int, ItemAnswer] = {}

    async def items() -> AsyncIterator[tuple[int, records_pb2.SignedRecord]]:
        yield 1, as_signed_record(first)
        yield 2, as_signed_record(clash)
        yield 3, as_signed_record(second)

    async with aio_channel(stream_server.target, "IN", "ncb") as channel:
        original = await publish_stream(stub(channel), [first])
        publisher: StreamPublisher[int] = StreamPublisher(stub(channel), window=4)
        await publisher.publish(items(), answers.__setitem__)

    assert answers[1].receipt == original[0].receipt, "the original receipt, byte for byte"
    assert answers[1].already_present
    assert answers[2].error is not None and answers[2].error.code == code_pb2.ALREADY_EXISTS
    assert [v.field for v in answers[2].error.field_violations] == ["/id"]
    assert answers[3].receipt is not None and not answers[3].already_present


async def test_the_stream_opens_with_the_log_size(stream_server: ServerProcess) -> None:
    async with aio_channel(stream_server.target, "IN", "ncb") as channel:
        call: Any = stub(channel).PublishStream(_nothing())
        metadata = dict(await call.initial_metadata())
        assert await call.code() == grpc.StatusCode.OK
    ((leaves,),) = query(stream_server.database_path, "SELECT count(*) FROM log_leaves")
    assert 0 < int(metadata[LOG_SIZE_KEY]) <= leaves


async def test_a_window_of_records_shares_few_transactions(stream_server: ServerProcess) -> None:
    async with aio_channel(stream_server.target, "IN", "ncb") as channel:
        answers = await publish_stream(stub(channel), sample_records(64, seed=103))
    assert all(a.HasField("receipt") for a in answers.values())
    # The records of one group-commit batch share its transaction's accepted_at.
    batches = {a.receipt.accepted_at.ToNanoseconds() for a in answers.values()}
    assert len(batches) < 32


async def _nothing() -> AsyncIterator[records_pb2.PublishStreamRequest]:
    for _ in ():
        yield records_pb2.PublishStreamRequest()


async def test_a_drain_answers_the_items_read_then_ends_the_stream_at_once(tmp_path: Path) -> None:
    server = start(tmp_path / "server")
    records = [as_signed_record(r) for r in sample_records(30, seed=104)]
    answered: list[records_pb2.PublishStreamResponse] = []
    try:
        async with aio_channel(server.target, "IN", "ncb") as channel:
            call: Any = stub(channel).PublishStream()
            for sequence, record in enumerate(records):
                await call.write(records_pb2.PublishStreamRequest(sequence=sequence, record=record))
            # The client keeps its side open, as a feed waiting for more input does.
            while len(answered) < len(records):
                answered.append(await call.read())
            stopping = time.monotonic()
            assert await asyncio.to_thread(server.stop, signal.SIGTERM) == 0
            code = await call.code()
    finally:
        stop(server)
    assert time.monotonic() - stopping < 5, "no wait for the 10 s grace period"
    assert code == grpc.StatusCode.UNAVAILABLE
    assert all(a.HasField("receipt") for a in answered)
