"""Agencies that sign and publish records, and a look into what the server stored.

One server per test module (records are independent of each other, and each
test names the records it publishes), so the modules stay fast.
"""

from __future__ import annotations

import base64
import copy
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from silkline.authoring import (
    SealedRecord,
    SigningIdentity,
    build_payload,
    load_signing_identity,
    seal_record,
)
from silkline.formats import dsse
from silkline.formats.note import NoteVerifier, parse_verifier_key
from silkline.trust import TrustStore
from silkline.v1 import records_pb2, records_pb2_grpc

from ..conftest import EXAMPLE, ServerProcess, channel_for, start_server

SCHEMAS = EXAMPLE.parents[1] / "schemas"
SEIZURE_WITH_SUSPECTS = SCHEMAS / "seizure-alert" / "examples" / "mundra-port-heroin-2021-09.json"
LOG_VERIFIER_KEY = EXAMPLE / "hub" / "log.vkey"


def log_verifier() -> NoteVerifier:
    """The log's public key, as an auditor holds it."""
    return parse_verifier_key(LOG_VERIFIER_KEY.read_text().strip())


def example_trust() -> TrustStore:
    """Every participant's CA and CRL of the example PKI."""
    return TrustStore.from_folder(EXAMPLE)


def seizure_body() -> dict[str, Any]:
    """The Mundra port seizure: suspects (personal_data) and coordinates (location_precise)."""
    document: dict[str, Any] = json.loads(SEIZURE_WITH_SUSPECTS.read_text(encoding="utf-8"))
    return copy.deepcopy(document["body"])


def signing_identity(participant: str, name: str) -> SigningIdentity:
    """certs/example/<participant>/<name>.signing.{key,crt}."""
    folder = EXAMPLE / participant
    return load_signing_identity(folder / f"{name}.signing.key", folder / f"{name}.signing.crt")


def compact_json(document: Mapping[str, Any]) -> bytes:
    """JSON as silkline writes payloads: compact, UTF-8, key order kept."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def sign_payload(
    payload: bytes,
    signer: SigningIdentity,
    payload_type: str = dsse.RECORD_PAYLOAD_TYPE,
) -> bytes:
    """A canonical DSSE envelope over exactly `payload`, with no schema or disclosure check.

    What a careless or hostile client can send: the server must judge it.
    """
    envelope = dsse.sign(payload_type, payload, signer.private_key, signer.keyid)
    return dsse.encode_envelope(envelope)


def disclosure_of(*elements: Any) -> str:
    """An RFC 9901 disclosure written by hand: base64url (no padding) of the JSON array."""
    text = json.dumps(list(elements), ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def signed_record(
    envelope: bytes, disclosures: list[str] | tuple[str, ...], signer_certificate_der: bytes
) -> records_pb2.SignedRecord:
    return records_pb2.SignedRecord(
        envelope=envelope,
        disclosures=list(disclosures),
        signer_certificate=signer_certificate_der,
    )


def as_signed_record(sealed: SealedRecord) -> records_pb2.SignedRecord:
    return signed_record(sealed.envelope, sealed.disclosures, sealed.signer_certificate_der)


# ------------------------------------------------------------------ the store


@dataclass(frozen=True)
class StoreCounts:
    records: int
    disclosures: int


def stored_counts(database: Path) -> StoreCounts:
    """Rows in the server's `records` and `disclosures` tables, read with plain sqlite3."""
    with closing(sqlite3.connect(database)) as connection:
        (records,) = connection.execute("SELECT count(*) FROM records").fetchone()
        (disclosures,) = connection.execute("SELECT count(*) FROM disclosures").fetchone()
    return StoreCounts(records, disclosures)


def stored_envelope(database: Path, record_id: str) -> bytes | None:
    with closing(sqlite3.connect(database)) as connection:
        row = connection.execute(
            "SELECT envelope FROM records WHERE record_id = ?", (record_id,)
        ).fetchone()
    return None if row is None else bytes(row[0])


def stored_disclosure_count(database: Path, record_id: str) -> int:
    with closing(sqlite3.connect(database)) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM disclosures WHERE record_id = ?", (record_id,)
        ).fetchone()
    return int(count)


# ------------------------------------------------------------------ refusals


def field_violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    """(field, description) of each google.rpc.BadRequest field violation of a refusal."""
    assert isinstance(error, grpc.Call)
    status = rpc_status.from_call(error)
    found: list[tuple[str, str]] = []
    for detail in status.details if status is not None else []:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            found += [(v.field, v.description) for v in bad_request.field_violations]
    return found


@dataclass
class Refusal:
    """What the caller saw when a record was refused, and the store before and after."""

    code: grpc.StatusCode
    message: str
    violations: list[tuple[str, str]]
    record_id: str | None
    before: StoreCounts
    after: StoreCounts
    envelope_after: bytes | None = field(repr=False)

    @property
    def fields(self) -> list[str]:
        return [pointer for pointer, _ in self.violations]

    @property
    def nothing_stored(self) -> bool:
        """No row was added, and no record with this id exists."""
        return self.after == self.before and self.envelope_after is None


# ------------------------------------------------------------------ agencies


@dataclass
class Agency:
    """An agency of the example PKI: its record-signing identity and its mTLS stub to a server."""

    server: ServerProcess
    signer: SigningIdentity
    channel: grpc.Channel

    @property
    def stub(self) -> records_pb2_grpc.RecordsServiceStub:
        return records_pb2_grpc.RecordsServiceStub(self.channel)  # type: ignore[no-untyped-call]

    def payload(self, body: Mapping[str, Any] | None = None, **options: Any) -> dict[str, Any]:
        """A record in clear, originated by this agency: by default a seizure alert (the
        Mundra body), TLP AMBER, addressed to the agency's own country only, so that
        no agreement between countries widens who may read it."""
        options.setdefault("tlp", "AMBER")
        options.setdefault("recipients", [self.signer.identity.participant])
        return build_payload(
            options.pop("record_type", "seizure-alert"),
            seizure_body() if body is None else body,
            originator=self.signer.identity,
            **options,
        )

    def seal(self, payload: Mapping[str, Any] | None = None) -> SealedRecord:
        """Validate, conceal and sign, as the CLI does."""
        return seal_record(self.payload() if payload is None else payload, self.signer)

    def publish(self, record: records_pb2.SignedRecord | SealedRecord) -> records_pb2.Receipt:
        if isinstance(record, SealedRecord):
            record = as_signed_record(record)
        reply: records_pb2.PublishResponse = self.stub.Publish(
            records_pb2.PublishRequest(record=record), timeout=30
        )
        return reply.receipt

    def refusal(
        self, record: records_pb2.SignedRecord | SealedRecord, record_id: str | None = None
    ) -> Refusal:
        """Publish a record that must be refused; return what the caller and the store show."""
        if isinstance(record, SealedRecord):
            record_id = record_id or record.record_id
            record = as_signed_record(record)
        database = self.server.database_path
        before = stored_counts(database)
        with pytest.raises(grpc.RpcError) as refused:
            self.stub.Publish(records_pb2.PublishRequest(record=record), timeout=30)
        error = refused.value
        assert isinstance(error, grpc.Call)
        return Refusal(
            code=error.code(),
            message=error.details() or "",
            violations=field_violations(error),
            record_id=record_id,
            before=before,
            after=stored_counts(database),
            envelope_after=stored_envelope(database, record_id) if record_id else None,
        )

    def get(self, record_id: str) -> records_pb2.RecordView:
        reply: records_pb2.GetResponse = self.stub.Get(
            records_pb2.GetRequest(record_id=record_id), timeout=30
        )
        return reply.record

    def list(
        self,
        *,
        record_types: tuple[str, ...] = (),
        originators: tuple[str, ...] = (),
        since: Any = None,
        page_size: int = 1000,
    ) -> list[records_pb2.RecordView]:
        request = records_pb2.ListRequest(
            filter=records_pb2.RecordFilter(record_types=record_types, originators=originators),
            page_size=page_size,
        )
        if since is not None:
            request.filter.since.FromDatetime(since)
        reply: records_pb2.ListResponse = self.stub.List(request, timeout=30)
        return list(reply.records)


@pytest.fixture(scope="module")
def records_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One silkline-server (SQLite) for every test of a module."""
    running = start_server(tmp_path_factory.mktemp("records-server"))
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


AgencyFor = Callable[[str, str], Agency]


@pytest.fixture(scope="module")
def agency_for(records_server: ServerProcess) -> Iterator[AgencyFor]:
    """agency_for("IN", "ncb"): that agency, calling with its TLS certificate."""
    channels: list[grpc.Channel] = []

    def make(participant: str, name: str) -> Agency:
        folder = EXAMPLE / participant
        channel = channel_for(records_server.target, folder / f"{name}.crt", folder / f"{name}.key")
        channels.append(channel)
        return Agency(records_server, signing_identity(participant, name), channel)

    yield make
    for channel in channels:
        channel.close()


@pytest.fixture(scope="module")
def ncb(agency_for: AgencyFor) -> Agency:
    """IN/NCB, the Narcotics Control Bureau."""
    return agency_for("IN", "ncb")


@pytest.fixture(scope="module")
def dri(agency_for: AgencyFor) -> Agency:
    """IN/DRI, the Directorate of Revenue Intelligence: same country as NCB."""
    return agency_for("IN", "dri")


@pytest.fixture(scope="module")
def mvd(agency_for: AgencyFor) -> Agency:
    """KZ/MVD, Kazakhstan's interior ministry: another country."""
    return agency_for("KZ", "mvd")
