"""Access rules end to end over mutual TLS, under deploy/rules/network.toml.

IN/NCB posts a seizure alert with suspects (personal_data) and coordinates
(location_precise), AMBER, recipients UZ and KZ. UZ/NCDC sees everything and
verifies the disclosures; KZ/MVD sees the alert and is told what was withheld;
TM/MVD gets NOT_FOUND exactly as for a random id; UNODC/AUDIT sees the header
only; every one of those reads is in the access log.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import grpc
import pytest

from silkline.authoring import build_payload, seal_record
from silkline.bundle import bundle_from_parts
from silkline.record_checks import check_body, check_signature, check_signer, parse_record
from silkline.trust import TrustStore
from silkline.uuid7 import uuid7
from silkline.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    records_pb2,
    records_pb2_grpc,
)

from ..conftest import EXAMPLE, REPO, ServerProcess, agency_files, channel_for, start_server
from ..records.conftest import as_signed_record, seizure_body, signing_identity

NETWORK_RULES = REPO / "deploy" / "rules" / "network.toml"
SENSITIVE = ["location_precise", "personal_data"]


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    running = start_server(tmp_path_factory.mktemp("access"))
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="module")
def alert_id(network: ServerProcess) -> str:
    signer = signing_identity("IN", "ncb")
    payload = build_payload(
        "seizure-alert",
        seizure_body(),
        originator=signer.identity,
        tlp="AMBER",
        recipients=["UZ", "KZ"],
        handling=[{"code": "H2"}],
    )
    sealed = seal_record(payload, signer)
    with channel_for(network.target, *agency_files("IN", "ncb")) as channel:
        records_pb2_grpc.RecordsServiceStub(channel).Publish(
            records_pb2.PublishRequest(record=as_signed_record(sealed)), timeout=30
        )
    return sealed.record_id


def get(
    server: ServerProcess, participant: str, agency: str, record_id: str
) -> records_pb2.RecordView:
    with channel_for(server.target, *agency_files(participant, agency)) as channel:
        reply = records_pb2_grpc.RecordsServiceStub(channel).Get(
            records_pb2.GetRequest(record_id=record_id), timeout=30
        )
    view: records_pb2.RecordView = reply.record
    return view


def get_error(server: ServerProcess, participant: str, agency: str, record_id: str) -> grpc.Call:
    with pytest.raises(grpc.RpcError) as caught:
        get(server, participant, agency, record_id)
    assert isinstance(caught.value, grpc.Call)
    return caught.value


def verify_view(view: records_pb2.RecordView) -> list[str]:
    """The reader's own offline check of what it received; the classes it could verify."""
    record = parse_record(view.record.envelope)
    signer = check_signer(
        record, view.record.signer_certificate, TrustStore.from_folder(EXAMPLE), now=None
    )
    check_signature(record, signer)
    checked = check_body(record, list(view.record.disclosures))
    return sorted(d.field_class for d in checked.disclosures)


def test_uz_ncdc_sees_the_suspects_and_verifies_their_disclosures(
    network: ServerProcess, alert_id: str
) -> None:
    view = get(network, "UZ", "ncdc", alert_id)
    assert list(view.withheld_classes) == []
    assert verify_view(view) == SENSITIVE


def test_kz_mvd_sees_the_alert_and_is_told_what_was_withheld(
    network: ServerProcess, alert_id: str
) -> None:
    view = get(network, "KZ", "mvd", alert_id)
    assert list(view.withheld_classes) == SENSITIVE
    assert list(view.record.disclosures) == []
    # Withholding a field never breaks the originator's signature.
    assert verify_view(view) == []


def test_tm_mvd_gets_not_found_exactly_as_for_a_random_id(
    network: ServerProcess, alert_id: str
) -> None:
    denied = get_error(network, "TM", "mvd", alert_id)
    missing = get_error(network, "TM", "mvd", str(uuid7()))
    assert denied.code() == missing.code() == grpc.StatusCode.NOT_FOUND
    assert denied.details() == missing.details()
    assert denied.trailing_metadata() == missing.trailing_metadata()


def test_unodc_audit_sees_the_header_only(network: ServerProcess, alert_id: str) -> None:
    view = get(network, "UNODC", "audit", alert_id)
    assert not view.HasField("record")
    assert view.header.record_id == alert_id
    assert view.header.originator_participant == "IN"
    assert list(view.withheld_classes) == SENSITIVE


def test_list_applies_the_same_rules(network: ServerProcess, alert_id: str) -> None:
    def listed(participant: str, agency: str) -> dict[str, records_pb2.RecordView]:
        with channel_for(network.target, *agency_files(participant, agency)) as channel:
            reply = records_pb2_grpc.RecordsServiceStub(channel).List(
                records_pb2.ListRequest(page_size=100), timeout=30
            )
        return {v.header.record_id: v for v in reply.records}

    assert list(listed("KZ", "mvd")[alert_id].withheld_classes) == SENSITIVE
    assert alert_id not in listed("TM", "mvd")
    assert alert_id not in listed("KG", "sbnon")


def access_events(server: ServerProcess, **query: str) -> list[audit_pb2.AccessEvent]:
    with channel_for(server.target, *agency_files("UNODC", "audit")) as channel:
        reply = audit_pb2_grpc.AuditServiceStub(channel).ListAccessEvents(
            audit_pb2.ListAccessEventsRequest(page_size=1000, **query), timeout=30
        )
    return list(reply.events)


def test_every_read_and_denial_is_in_the_access_log(network: ServerProcess, alert_id: str) -> None:
    random_id = str(uuid7())
    for participant, agency in (("UZ", "ncdc"), ("KZ", "mvd"), ("UNODC", "audit")):
        get(network, participant, agency, alert_id)
    get_error(network, "TM", "mvd", alert_id)
    get_error(network, "TM", "mvd", random_id)

    events = access_events(network, record_id=alert_id)
    by_reader = {(e.reader_participant, e.reader_agency): e for e in events if e.action == "get"}
    allowed = audit_pb2.ACCESS_DECISION_ALLOWED
    denied = audit_pb2.ACCESS_DECISION_DENIED
    assert by_reader["UZ", "NCDC"].decision == allowed
    assert list(by_reader["UZ", "NCDC"].disclosed_classes) == SENSITIVE
    assert list(by_reader["KZ", "MVD"].withheld_classes) == SENSITIVE
    assert by_reader["TM", "MVD"].decision == denied
    assert any("recipients" in reason for reason in by_reader["TM", "MVD"].reasons)
    assert by_reader["UNODC", "AUDIT"].decision == allowed
    assert all(len(e.rules_sha256) == 64 for e in events)
    missing = access_events(network, record_id=random_id)
    assert [(e.reader_participant, e.decision) for e in missing] == [("TM", denied)]


def test_the_access_log_is_for_auditors_only(network: ServerProcess) -> None:
    with (
        channel_for(network.target, *agency_files("KZ", "mvd")) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        audit_pb2_grpc.AuditServiceStub(channel).ListAccessEvents(
            audit_pb2.ListAccessEventsRequest(), timeout=30
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_malformed_record_id_is_refused_not_looked_up(network: ServerProcess) -> None:
    error = get_error(network, "KZ", "mvd", "x" * 100)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_bundle_a_reader_received_verifies_offline(network: ServerProcess, alert_id: str) -> None:
    view = get(network, "KZ", "mvd", alert_id)
    bundle = bundle_from_parts(
        view.record.envelope, view.record.signer_certificate, list(view.record.disclosures), None
    )
    assert json.loads(json.dumps(bundle.to_json()))["disclosures"] == []


# ---------------------------------------------------------------- reloading


def rules_versions(database: Path) -> list[str]:
    with closing(sqlite3.connect(database)) as db:
        return [row[0] for row in db.execute("SELECT sha256 FROM rules_versions")]


def reload_rules(
    server: ServerProcess, participant: str, agency: str
) -> admin_pb2.ReloadRulesResponse:
    with channel_for(server.target, *agency_files(participant, agency)) as channel:
        reply: admin_pb2.ReloadRulesResponse = admin_pb2_grpc.AdminServiceStub(channel).ReloadRules(
            admin_pb2.ReloadRulesRequest(), timeout=30
        )
        return reply


def test_rules_reload_on_sighup_and_by_an_admin_and_refuse_a_broken_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    # IN/NCB gets the admin role, so it may ask for a reload.
    original = NETWORK_RULES.read_text()
    granted = original.replace(
        'roles = ["publisher", "reader"]', 'roles = ["publisher", "reader", "admin"]', 1
    )
    assert granted != original
    rules.write_text(granted)
    server = start_server(tmp_path, "--rules", str(rules))
    try:
        first = rules_versions(server.database_path)
        assert len(first) == 1

        with pytest.raises(grpc.RpcError) as caught:
            reload_rules(server, "KZ", "mvd")
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED

        rules.write_text(rules.read_text() + "\n# a reviewed amendment\n")
        reply = reload_rules(server, "IN", "ncb")
        assert len(reply.rules_sha256) == 64
        assert reply.rules_sha256 not in first
        assert len(rules_versions(server.database_path)) == 2

        good = rules.read_text()
        rules.write_text(good + "\n[[agreements]]\nid = 7\n")
        with pytest.raises(grpc.RpcError) as caught:
            reload_rules(server, "IN", "ncb")
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "rules in force stay" in (caught.value.details() or "")

        server.process.send_signal(signal.SIGHUP)
        server.wait_for_log("new rules refused")
        time.sleep(0.2)
        # The rules in force are still the good ones: IN/NCB may still reload.
        rules.write_text(good)
        assert reload_rules(server, "IN", "ncb").rules_sha256 == reply.rules_sha256
    finally:
        assert server.stop() == 0
