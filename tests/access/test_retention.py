"""Retention: disclosures are erased once the strictest holder's period has passed.

Envelopes, signatures and the log still verify afterwards, and a reader is told
the class was erased under retention.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from silkline.authoring import build_payload, seal_record
from silkline.identity import Identity
from silkline.policy.rules import load_rules
from silkline.record_checks import check_body, check_signature, check_signer, parse_record
from silkline.trust import TrustStore
from silkline.v1 import records_pb2, records_pb2_grpc
from silkline_server.access import AccessControl
from silkline_server.admission import Admission
from silkline_server.retention import could_be_due, due_erasures, purge
from silkline_server.store import HeldDisclosure, Store

from ..conftest import EXAMPLE, REPO, agency_files, channel_for, start_server
from ..records.conftest import seizure_body, signing_identity

RULES = REPO / "deploy" / "rules" / "network.toml"
CREATED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def held(record_id: str, field_class: str, originator: str) -> HeldDisclosure:
    return HeldDisclosure(1, record_id, field_class, originator, CREATED)


def test_the_strictest_holder_decides() -> None:
    rules = load_rules(RULES)
    item = held("r", "personal_data", "IN")
    # IN keeps personal data 1825 days, UZ 1095, KZ 365 (deploy/rules/network.toml).
    assert due_erasures([item], {1: {"UZ"}}, rules, CREATED + timedelta(days=1094)) == []
    due = due_erasures([item], {1: {"UZ"}}, rules, CREATED + timedelta(days=1095))
    assert [(e.days, e.holder) for e in due] == [(1095, "UZ")]
    due = due_erasures([item], {1: {"UZ", "KZ"}}, rules, CREATED + timedelta(days=366))
    assert [(e.days, e.holder) for e in due] == [(365, "KZ")]


def test_a_class_without_any_retention_rule_is_kept() -> None:
    rules = load_rules(RULES)
    item = held("r", "location_precise", "IN")
    assert due_erasures([item], {1: {"UZ"}}, rules, CREATED + timedelta(days=100_000)) == []


def test_only_disclosures_older_than_the_shortest_period_are_looked_up() -> None:
    rules = load_rules(RULES)
    personal = held("p", "personal_data", "IN")
    precise = held("l", "location_precise", "IN")
    # KZ's 365 days is the shortest period for personal data anyone has.
    assert could_be_due([personal, precise], rules, CREATED + timedelta(days=364)) == []
    assert could_be_due([personal, precise], rules, CREATED + timedelta(days=365)) == [personal]


def test_erasure_keeps_the_record_verifiable_and_readers_are_told(tmp_path: Path) -> None:
    database = tmp_path / "silkline.db"
    store = Store.open(f"sqlite:///{database}")
    store.migrate()
    signer = signing_identity("IN", "ncb")
    payload = build_payload(
        "seizure-alert",
        seizure_body(),
        originator=signer.identity,
        tlp="AMBER",
        recipients=["UZ"],
        created_at=CREATED,
    )
    sealed = seal_record(payload, signer)
    admitted = Admission(TrustStore.from_folder(EXAMPLE)).admit(
        Identity("IN", "NCB", "ops-desk-1"),
        sealed.envelope,
        list(sealed.disclosures),
        sealed.signer_certificate_der,
        CREATED,
    )
    store.append_records([admitted], CREATED)
    access = AccessControl(RULES, store)
    stored = store.get_record(sealed.record_id)
    assert stored is not None
    uz = Identity("UZ", "NCDC", "ops-desk-1")
    result = access.decide(uz, stored, store.get_disclosures(stored.record_id), CREATED)
    store.record_access_events(
        [access.event(uz, stored.record_id, "get", result.decision, CREATED)]
    )
    size = store.tree_size()
    root = store.root_at(size)

    erased = purge(store, access.rules, CREATED + timedelta(days=1096))

    assert [(e.field_class, e.holder) for e in erased] == [("personal_data", "UZ")]
    classes = {d.field_class: d for d in store.get_disclosures(stored.record_id)}
    assert classes["personal_data"].disclosure is None
    assert classes["personal_data"].erased_at is not None
    assert classes["location_precise"].disclosure is not None
    # The log and the envelope are untouched.
    assert store.root_at(size) == root
    assert store.get_record(stored.record_id) == stored
    remaining = [d.disclosure for d in classes.values() if d.disclosure]
    record = parse_record(stored.envelope)
    check_signature(
        record,
        check_signer(record, stored.signer_certificate, TrustStore.from_folder(EXAMPLE), now=None),
    )
    assert [d.field_class for d in check_body(record, remaining).disclosures] == [
        "location_precise"
    ]
    store.close()

    server = start_server(tmp_path)
    try:
        with channel_for(server.target, *agency_files("UZ", "ncdc")) as channel:
            view = (
                records_pb2_grpc.RecordsServiceStub(channel)
                .Get(records_pb2.GetRequest(record_id=sealed.record_id), timeout=30)
                .record
            )
        assert list(view.erased_classes) == ["personal_data"]
        assert len(view.record.disclosures) == 1
    finally:
        assert server.stop() == 0
