"""IndicatorsService end to end over mutual TLS, under deploy/rules/network.toml.

IN/NCB posts a GREEN seizure (every party to the multilateral agreement may
see it), a seizure and an arrest AMBER to UZ only, both with a suspect;
KZ/MVD posts a seizure AMBER to KZ only. Each reader's aggregates hold exactly
the records it may see: UZ/NCDC three, TM/MVD and CARICC/ANALYSIS one,
UNODC/AUDIT (headers only) none. Each record used is in the access log, and
no personal-data value is in any answer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from silkline.authoring import SealedRecord
from silkline.cli.main import cli
from silkline.indicators.aggregate import IndicatorQuery, Indicators
from silkline.indicators.wire import indicators_of, request_of
from silkline.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    indicators_pb2,
    indicators_pb2_grpc,
    records_pb2,
    records_pb2_grpc,
)

from ..conftest import EXAMPLE, ServerProcess, agency_files, channel_for, start_server
from ..records.conftest import as_signed_record
from .conftest import SUSPECT_NAME, item, seizure
from .exports import sealed

BY_DRUG = IndicatorQuery(groupings=(("drug",), ()))


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    running = start_server(tmp_path_factory.mktemp("indicators"))
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="module")
def posted(network: ServerProcess) -> dict[str, SealedRecord]:
    records = {
        "green": sealed(
            seizure([item("methamphetamine", 1, "quintal", 10, "INR", "crore")]), tlp="GREEN"
        ),
        "to_uz": sealed(
            seizure([item("cocaine", 50, "kg", 20, "INR", "crore")]),
            tlp="AMBER",
            recipients=["UZ"],
        ),
        "arrest_to_uz": sealed(
            {
                "arrested_at": "2024-03-10T12:00:00+05:30",
                "location": {
                    "kind": "port",
                    "name": "Mundra port, Kutch, Gujarat",
                    "country": "IN",
                },
                "count": 4,
                "persons": [{"name": SUSPECT_NAME, "nationality": "IN"}],
            },
            record_type="arrest",
            tlp="AMBER",
            recipients=["UZ"],
        ),
        "kz_only": sealed(
            seizure(
                [item("heroin", 10, "kg")], place="Almaty ring road", kind="road", country="KZ"
            ),
            "KZ",
            "mvd",
            tlp="AMBER",
            recipients=["KZ"],
        ),
    }
    for name, record in records.items():
        participant, agency = ("KZ", "mvd") if name == "kz_only" else ("IN", "ncb")
        with channel_for(network.target, *agency_files(participant, agency)) as channel:
            records_pb2_grpc.RecordsServiceStub(channel).Publish(  # type: ignore[no-untyped-call]
                records_pb2.PublishRequest(record=as_signed_record(record)), timeout=30
            )
    return records


def ask(
    server: ServerProcess,
    participant: str,
    agency: str,
    query: IndicatorQuery = BY_DRUG,
) -> tuple[indicators_pb2.GetIndicatorsResponse, Indicators]:
    with channel_for(server.target, *agency_files(participant, agency)) as channel:
        stub = indicators_pb2_grpc.IndicatorsServiceStub(channel)  # type: ignore[no-untyped-call]
        response: indicators_pb2.GetIndicatorsResponse = stub.GetIndicators(
            request_of(query), timeout=60
        )
    return response, indicators_of(response, query)


def by_drug(found: Indicators) -> dict[tuple[str, ...], Decimal]:
    return {
        (row.measure, row.unit, *(v for _, v in row.dimensions)): row.value
        for row in found.rows_of(0)
    }


def test_uz_ncdc_aggregates_what_it_may_see(
    network: ServerProcess, posted: dict[str, SealedRecord]
) -> None:
    response, found = ask(network, "UZ", "ncdc")
    assert found.records_used == 3
    rows = by_drug(found)
    assert rows["seized_quantity", "kg", "methamphetamine"] == 100
    assert rows["seized_quantity", "kg", "cocaine"] == 50
    assert rows["arrests", "persons"] == 4
    assert ("seized_quantity", "kg", "heroin") not in rows  # KZ's own record
    assert found.rules_sha256 and len(found.rules_sha256) == 64
    assert SUSPECT_NAME not in str(response)


def test_tm_mvd_gets_aggregates_without_the_records_it_may_not_see(
    network: ServerProcess, posted: dict[str, SealedRecord]
) -> None:
    _, uz = ask(network, "UZ", "ncdc")
    response, tm = ask(network, "TM", "mvd")
    assert tm.records_used == 1
    assert by_drug(tm) == {
        ("seizures", "seizures", "methamphetamine"): 1,
        ("seized_quantity", "kg", "methamphetamine"): 100,
        ("seizure_value_inr", "INR", "methamphetamine"): Decimal("100000000.00"),
        ("seizure_value_usd", "USD", "methamphetamine"): by_drug(uz)[
            "seizure_value_usd", "USD", "methamphetamine"
        ],
    }
    totals = {row.measure: row.value for row in tm.rows_of(1)}
    assert totals["seizures"] == 1  # the records TM may not see are not counted anywhere
    assert tm.records_metadata_only == 0
    assert "cocaine" not in str(response)


def test_caricc_analysis_sees_the_green_record_only(
    network: ServerProcess, posted: dict[str, SealedRecord]
) -> None:
    _, found = ask(network, "CARICC", "analysis")
    assert found.records_used == 1
    assert set(by_drug(found)) >= {("seized_quantity", "kg", "methamphetamine")}


def test_kz_mvd_sees_its_own_record(
    network: ServerProcess, posted: dict[str, SealedRecord]
) -> None:
    _, found = ask(network, "KZ", "mvd")
    rows = by_drug(found)
    assert rows["seized_quantity", "kg", "heroin"] == 10
    assert ("seized_quantity", "kg", "cocaine") not in rows


def test_an_auditor_gets_nothing_from_bodies(
    network: ServerProcess, posted: dict[str, SealedRecord]
) -> None:
    _, found = ask(network, "UNODC", "audit")
    assert found.records_used == 0
    assert found.rows == ()
    assert found.records_metadata_only == 4


def access_events(server: ServerProcess, reader: str) -> list[audit_pb2.AccessEvent]:
    with channel_for(server.target, *agency_files("UNODC", "audit")) as channel:
        reply = audit_pb2_grpc.AuditServiceStub(channel).ListAccessEvents(  # type: ignore[no-untyped-call]
            audit_pb2.ListAccessEventsRequest(reader=reader, page_size=1000), timeout=30
        )
    return [event for event in reply.events if event.action == "indicators"]


def test_each_record_used_is_in_the_access_log_and_nothing_was_disclosed(
    network: ServerProcess, posted: dict[str, SealedRecord]
) -> None:
    before = len(access_events(network, "UZ/NCDC"))
    ask(network, "UZ", "ncdc")
    events = access_events(network, "UZ/NCDC")[before:]
    expected = {posted[name].record_id for name in ("green", "to_uz", "arrest_to_uz")}
    assert {event.record_id for event in events} == expected
    assert len(events) == 3
    for event in events:
        assert event.decision == audit_pb2.ACCESS_DECISION_ALLOWED
        assert list(event.disclosed_classes) == []
    to_uz = next(e for e in events if e.record_id == posted["to_uz"].record_id)
    assert "personal_data" in to_uz.withheld_classes


def test_a_bad_request_names_the_field(network: ServerProcess) -> None:
    with channel_for(network.target, *agency_files("UZ", "ncdc")) as channel:
        stub = indicators_pb2_grpc.IndicatorsServiceStub(channel)  # type: ignore[no-untyped-call]
        for request, field in (
            (indicators_pb2.GetIndicatorsRequest(from_date="2024-13-01"), "from_date"),
            (
                indicators_pb2.GetIndicatorsRequest(from_date="2024-02-01", to_date="2024-01-01"),
                "to_date",
            ),
            (
                indicators_pb2.GetIndicatorsRequest(
                    groupings=[indicators_pb2.Grouping(dimensions=["suspects"])]
                ),
                "groupings[0]",
            ),
        ):
            with pytest.raises(grpc.RpcError) as refused:
                stub.GetIndicators(request, timeout=30)
            error = refused.value
            assert isinstance(error, grpc.Call)
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            status = rpc_status.from_call(error)
            assert status is not None
            bad = error_details_pb2.BadRequest()
            assert status.details[0].Unpack(bad)
            assert [v.field for v in bad.field_violations] == [field]


def test_the_service_reports_serving(network: ServerProcess) -> None:
    with channel_for(network.target, *agency_files("UZ", "ncdc")) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="silkline.v1.IndicatorsService"), timeout=10
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def profile_env(
    server: ServerProcess, tmp_path: Path, participant: str, agency: str
) -> dict[str, str]:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    cert, key = agency_files(participant, agency)
    added = CliRunner(env=env).invoke(
        cli,
        [
            "profile",
            "add",
            "analyst",
            "--endpoint",
            server.target,
            "--ca",
            str(EXAMPLE / "hub" / "ca.crt"),
            "--cert",
            str(cert),
            "--key",
            str(key),
        ],
    )
    assert added.exit_code == 0, added.output
    return env


@pytest.mark.parametrize("output", ["table", "json", "csv", "html"])
def test_cli_report_over_the_server_has_no_personal_data(
    network: ServerProcess, posted: dict[str, SealedRecord], tmp_path: Path, output: str
) -> None:
    env = profile_env(network, tmp_path, "UZ", "ncdc")
    result = CliRunner(env={**os.environ, **env}).invoke(
        cli,
        ["--profile", "analyst", "report", "--by", "participant,drug,month", "--format", output],
    )
    assert result.exit_code == 0, result.output
    assert SUSPECT_NAME not in result.output
    assert "cocaine" in result.output  # UZ sees the AMBER record's aggregate
    if output == "json":
        document: dict[str, Any] = json.loads(result.output)
        assert document["records_used"] == 3
        assert "UZ/NCDC may see" in document["source"]
