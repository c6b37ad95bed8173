"""Publishing a signed record, its receipt, and reading it back inside the originator's country."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from silkline.authoring import SealedRecord
from silkline.formats.receipt import open_receipt
from silkline.uuid7 import uuid7
from silkline.v1 import records_pb2

from .conftest import (
    Agency,
    log_verifier,
    seizure_body,
    stored_counts,
    stored_disclosure_count,
    stored_envelope,
)


@pytest.fixture(scope="module")
def alert(ncb: Agency) -> SealedRecord:
    """IN/NCB's seizure alert with suspects and coordinates, for Indian agencies only."""
    return ncb.seal(ncb.payload(handling=[{"code": "H2"}]))


@pytest.fixture(scope="module")
def alert_receipt(ncb: Agency, alert: SealedRecord) -> records_pb2.Receipt:
    return ncb.publish(alert)


def test_in_ncb_publishes_a_seizure_alert_and_gets_a_receipt_for_it(
    alert: SealedRecord, alert_receipt: records_pb2.Receipt
) -> None:
    assert alert_receipt.record_id == alert.record_id
    assert alert_receipt.envelope_sha256 == hashlib.sha256(alert.envelope).hexdigest()
    accepted = alert_receipt.accepted_at.ToDatetime(UTC)
    assert abs(datetime.now(UTC) - accepted) < timedelta(minutes=1)


def test_the_receipt_is_signed_by_the_log_key_and_says_the_same_as_its_fields(
    alert: SealedRecord, alert_receipt: records_pb2.Receipt
) -> None:
    receipt = open_receipt(alert_receipt.signed_receipt, [log_verifier()])

    assert receipt.origin == "silkline.example/log"
    assert receipt.record_id == alert.record_id
    assert receipt.envelope_sha256 == alert.envelope_sha256
    assert receipt.log_index == alert_receipt.log_index
    assert receipt.accepted_at == alert_receipt.accepted_at.ToDatetime(UTC)


def test_the_envelope_and_each_sensitive_field_are_stored(
    ncb: Agency, alert: SealedRecord, alert_receipt: records_pb2.Receipt
) -> None:
    database = ncb.server.database_path
    assert stored_envelope(database, alert.record_id) == alert.envelope
    # suspects (personal_data) and coordinates (location_precise)
    assert stored_disclosure_count(database, alert.record_id) == 2


def test_a_retry_with_the_same_envelope_gets_the_identical_receipt_and_stores_nothing_more(
    ncb: Agency, alert: SealedRecord, alert_receipt: records_pb2.Receipt
) -> None:
    before = stored_counts(ncb.server.database_path)

    retried = ncb.publish(alert)

    assert retried == alert_receipt
    assert retried.signed_receipt == alert_receipt.signed_receipt
    assert stored_counts(ncb.server.database_path) == before


def test_log_indexes_follow_commit_order(ncb: Agency, alert_receipt: records_pb2.Receipt) -> None:
    first = ncb.publish(ncb.seal())
    second = ncb.publish(ncb.seal())
    assert alert_receipt.log_index < first.log_index < second.log_index


def test_a_record_created_within_the_allowed_clock_skew_is_accepted(ncb: Agency) -> None:
    ahead = ncb.seal(ncb.payload(created_at=datetime.now(UTC) + timedelta(minutes=4)))

    assert ncb.publish(ahead).record_id == ahead.record_id


def test_a_record_without_sensitive_fields_is_stored_without_disclosures(ncb: Agency) -> None:
    body = seizure_body()
    del body["suspects"], body["location"]["coordinates"]
    sealed = ncb.seal(ncb.payload(body))
    assert sealed.disclosures == ()

    ncb.publish(sealed)

    assert stored_disclosure_count(ncb.server.database_path, sealed.record_id) == 0
    assert list(ncb.get(sealed.record_id).record.disclosures) == []


@pytest.mark.parametrize("reader", ["ncb", "dri"])
def test_agencies_of_the_originators_country_get_the_envelope_byte_for_byte(
    request: pytest.FixtureRequest,
    reader: str,
    alert: SealedRecord,
    alert_receipt: records_pb2.Receipt,
) -> None:
    agency: Agency = request.getfixturevalue(reader)

    view = agency.get(alert.record_id)

    assert view.record.envelope == alert.envelope
    assert sorted(view.record.disclosures) == sorted(alert.disclosures)
    assert view.record.signer_certificate == alert.signer_certificate_der
    assert view.receipt == alert_receipt
    assert view.header.record_id == alert.record_id
    assert view.header.record_type == "seizure-alert"
    assert (view.header.originator_participant, view.header.originator_agency) == ("IN", "NCB")
    assert view.header.envelope_sha256 == alert.envelope_sha256
    assert view.header.log_index == alert_receipt.log_index
    assert view.header.tlp == "AMBER"
    assert list(view.header.handling) == ["H2"]


def _not_found(agency: Agency, record_id: str) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as refused:
        agency.get(record_id)
    error = refused.value
    assert isinstance(error, grpc.Call)
    return error.code(), error.details() or ""


def test_kz_mvd_cannot_tell_an_indian_record_from_one_that_does_not_exist(
    mvd: Agency, alert: SealedRecord, alert_receipt: records_pb2.Receipt
) -> None:
    hidden = _not_found(mvd, alert.record_id)
    missing = _not_found(mvd, str(uuid7()))

    assert hidden == (grpc.StatusCode.NOT_FOUND, "no such record")
    assert hidden == missing


def test_in_ncb_gets_not_found_for_an_id_nobody_published(ncb: Agency) -> None:
    assert _not_found(ncb, str(uuid7())) == (grpc.StatusCode.NOT_FOUND, "no such record")


# ------------------------------------------------------------------ List


@pytest.fixture(scope="module")
def listed(ncb: Agency, dri: Agency, mvd: Agency) -> dict[str, records_pb2.Receipt]:
    """Records of three agencies, of two record types, published for the List tests."""
    training_body = {
        "title": "Container profiling at dry ports",
        "held_at": {"start": "2026-10-05", "end": "2026-10-09"},
        "host_participant": "IN",
        "venue": {"name": "New Delhi", "country": "IN"},
        "trainee_participants": ["UZ", "KZ"],
        "participants_trained": 21,
        "topics": ["container profiling", "precursor control"],
    }
    records = {
        "ncb-alert": (ncb, ncb.seal()),
        "ncb-training": (ncb, ncb.seal(ncb.payload(training_body, record_type="training"))),
        "dri-alert": (dri, dri.seal()),
        "mvd-alert": (mvd, mvd.seal()),
    }
    return {name: agency.publish(sealed) for name, (agency, sealed) in records.items()}


def _ids(views: list[records_pb2.RecordView]) -> list[str]:
    return [view.header.record_id for view in views]


def test_list_shows_every_record_of_the_callers_country_in_log_order(
    ncb: Agency, listed: dict[str, records_pb2.Receipt]
) -> None:
    views = ncb.list()
    ids = _ids(views)

    for name in ("ncb-alert", "ncb-training", "dri-alert"):
        assert listed[name].record_id in ids
    assert listed["mvd-alert"].record_id not in ids
    indexes = [view.header.log_index for view in views]
    assert indexes == sorted(indexes)
    assert {view.header.originator_participant for view in views} == {"IN"}


def test_list_filters_by_record_type(ncb: Agency, listed: dict[str, records_pb2.Receipt]) -> None:
    views = ncb.list(record_types=("training",))

    assert _ids(views) == [listed["ncb-training"].record_id]


def test_list_filters_by_originating_agency(
    ncb: Agency, listed: dict[str, records_pb2.Receipt]
) -> None:
    views = ncb.list(originators=("IN/DRI",))

    assert listed["dri-alert"].record_id in _ids(views)
    assert {view.header.originator_agency for view in views} == {"DRI"}


def test_list_filters_by_acceptance_time(
    ncb: Agency, listed: dict[str, records_pb2.Receipt]
) -> None:
    since = listed["ncb-training"].accepted_at.ToDatetime(UTC)

    ids = _ids(ncb.list(since=since))

    assert listed["ncb-training"].record_id in ids
    assert listed["dri-alert"].record_id in ids
    assert listed["ncb-alert"].record_id not in ids


def test_list_pages_through_the_records_with_a_token(
    ncb: Agency, listed: dict[str, records_pb2.Receipt]
) -> None:
    everything = _ids(ncb.list())
    paged: list[str] = []
    token = ""
    while True:
        reply = ncb.stub.List(records_pb2.ListRequest(page_size=2, page_token=token), timeout=30)
        paged += _ids(list(reply.records))
        token = reply.next_page_token
        if not token:
            break
    assert paged == everything


def test_asking_for_another_countrys_records_lists_nothing(
    ncb: Agency, mvd: Agency, listed: dict[str, records_pb2.Receipt]
) -> None:
    assert ncb.list(originators=("KZ",)) == []
    assert ncb.list(originators=("KZ/MVD",)) == []
    assert _ids(mvd.list(originators=("IN",))) == []
    assert _ids(mvd.list()) == [listed["mvd-alert"].record_id]
