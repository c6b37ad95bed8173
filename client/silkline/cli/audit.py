"""`silkline audit ...`: what auditors ask of the service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
from rich.table import Table

from silkline.cli.output import emit, json_option
from silkline.cli.session import selected_profile
from silkline.connection import open_channel
from silkline.v1 import audit_pb2, audit_pb2_grpc


@click.group()
def audit() -> None:
    """Auditors: the access log (and, with the log issue, checkpoints and proofs)."""


def _stub(channel: Any) -> audit_pb2_grpc.AuditServiceStub:
    return audit_pb2_grpc.AuditServiceStub(channel)  # type: ignore[no-untyped-call]


@audit.command("access")
@click.option("--record", "record_id", help="Only reads of this record id.")
@click.option("--reader", help="Only reads by this participant (KZ) or agency (KZ/MVD).")
@click.option("--since", type=click.DateTime(), help="Only reads at or after this time (UTC).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000))
@click.option("--timeout", default=30.0, show_default=True)
@json_option
def access(
    record_id: str | None,
    reader: str | None,
    since: datetime | None,
    limit: int,
    timeout: float,
    as_json: bool,
) -> None:
    """Every read, delivery and denial: who, which record, the decision and its reasons."""
    request = audit_pb2.ListAccessEventsRequest(
        record_id=record_id or "", reader=reader or "", page_size=limit
    )
    if since is not None:
        request.since.FromDatetime(since.replace(tzinfo=UTC))
    with open_channel(selected_profile()) as channel:
        reply = _stub(channel).ListAccessEvents(request, timeout=timeout)
    rows = [
        {
            "sequence": e.sequence,
            "at": e.at.ToDatetime(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "reader": f"{e.reader_participant}/{e.reader_agency}/{e.reader_client}",
            "record_id": e.record_id,
            "action": e.action,
            "decision": "allowed" if e.decision == audit_pb2.ACCESS_DECISION_ALLOWED else "denied",
            "disclosed": list(e.disclosed_classes),
            "withheld": list(e.withheld_classes),
            "reasons": list(e.reasons),
            "rules_sha256": e.rules_sha256,
        }
        for e in reply.events
    ]
    table = Table(title=f"{len(rows)} access event(s)", title_justify="left")
    for column in (
        "sequence",
        "at",
        "reader",
        "record_id",
        "action",
        "decision",
        "withheld",
        "reasons",
    ):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["sequence"]),
            row["at"],
            row["reader"],
            row["record_id"],
            row["action"],
            row["decision"],
            ", ".join(row["withheld"]),
            "\n".join(row["reasons"]),
        )
    emit(as_json, rows, table)
