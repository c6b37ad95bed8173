"""`silkline post`, `show`, `list`: publishing and reading signed records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from google.protobuf.timestamp_pb2 import Timestamp
from rich.table import Table

from silkline.authoring import build_payload, load_signing_identity, seal_record
from silkline.bundle import ReceiptDocument, bundle_from_parts
from silkline.cli.output import emit, json_option, key_value_table, stdout
from silkline.cli.session import selected_profile
from silkline.connection import open_channel
from silkline.formats import disclosure as sd
from silkline.formats import dsse
from silkline.profiles import ProfileError
from silkline.records import RECORD_TYPES
from silkline.v1 import records_pb2, records_pb2_grpc

TLP_LEVELS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")


def _stub(channel: Any) -> records_pb2_grpc.RecordsServiceStub:
    return records_pb2_grpc.RecordsServiceStub(channel)  # type: ignore[no-untyped-call]


def handling_codes(values: tuple[str, ...]) -> list[dict[str, str]]:
    """--handling values (H0..H3, H3:free text) as the payload's handling entries."""
    parsed = []
    for value in values:
        code, _, text = value.partition(":")
        if code not in ("H0", "H1", "H2", "H3"):
            raise click.BadParameter(f"{value!r}: handling codes are H0 to H3 (H3:free text)")
        parsed.append({"code": code, "text": text} if code == "H3" else {"code": code})
    return parsed


def _grading(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if len(value) != 2 or value[0] not in "ABCX" or value[1] not in "1234":
        raise click.BadParameter(f"{value!r}: grading is a source letter A, B, C or X and 1 to 4")
    return {"source": value[0], "information": int(value[1])}


def receipt_document(receipt: records_pb2.Receipt) -> ReceiptDocument:
    return ReceiptDocument(
        record_id=receipt.record_id,
        envelope_sha256=receipt.envelope_sha256,
        log_index=receipt.log_index,
        accepted_at=receipt.accepted_at.ToDatetime(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        note=receipt.signed_receipt.decode(),
    )


@click.command()
@click.argument("record_type", type=click.Choice(RECORD_TYPES))
@click.option(
    "--file",
    "source",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON: the record body, or a whole payload (its body, distribution, grading are used).",
)
@click.option(
    "--tlp", type=click.Choice(TLP_LEVELS), help="TLP 2.0 label (default: the file's, else AMBER)."
)
@click.option(
    "--to", "recipients", help="Recipients: participant codes or P/AGENCY, comma-separated."
)
@click.option("--handling", multiple=True, help="Handling code H0..H3 (H3:free text); repeatable.")
@click.option("--grading", help="Source reliability and information grade, e.g. B2.")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for the server.")
@json_option
def post(
    record_type: str,
    source: Path,
    tlp: str | None,
    recipients: str | None,
    handling: tuple[str, ...],
    grading: str | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Sign a record with the profile's key and publish it; print the receipt.

    The record is checked locally against the same schema as the server's, and
    each sensitive field (personal data, precise locations) leaves the signed
    payload as a selective disclosure.
    """
    profile = selected_profile()
    if profile.signing_key is None or profile.signing_cert is None:
        raise ProfileError(
            f"profile {profile.name!r} has no signing key: add --signing-key and --signing-cert"
        )
    signer = load_signing_identity(profile.signing_key, profile.signing_cert)
    document = json.loads(source.read_text())
    template = document if "body" in document and "record_type" in document else {"body": document}
    if template.get("record_type", record_type) != record_type:
        raise click.BadParameter(f"{source} holds a {template['record_type']!r} record")
    distribution = template.get("distribution", {})
    payload = build_payload(
        record_type,
        template["body"],
        originator=signer.identity,
        tlp=tlp or distribution.get("tlp", "AMBER"),
        recipients=recipients.split(",") if recipients else distribution.get("recipients", []),
        handling=handling_codes(handling) if handling else distribution.get("handling", []),
        grading=_grading(grading) or template.get("grading"),
    )
    sealed = seal_record(payload, signer)
    with open_channel(profile) as channel:
        reply = _stub(channel).Publish(
            records_pb2.PublishRequest(
                record=records_pb2.SignedRecord(
                    envelope=sealed.envelope,
                    disclosures=list(sealed.disclosures),
                    signer_certificate=sealed.signer_certificate_der,
                )
            ),
            timeout=timeout,
        )
    receipt = receipt_document(reply.receipt)
    document_out = {**receipt.to_json(), "disclosures": len(sealed.disclosures)}
    emit(as_json, document_out, key_value_table(f"accepted {record_type}", document_out))


@click.command()
@click.argument("record_id")
@click.option(
    "--bundle",
    "as_bundle",
    is_flag=True,
    help="Print the portable bundle (JSON) for `silkline verify`.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the output to this file."
)
@click.option("--timeout", default=30.0, show_default=True)
@json_option
def show(record_id: str, as_bundle: bool, out: Path | None, timeout: float, as_json: bool) -> None:
    """Show one record, with the fields this agency may see."""
    profile = selected_profile()
    with open_channel(profile) as channel:
        view = (
            _stub(channel).Get(records_pb2.GetRequest(record_id=record_id), timeout=timeout).record
        )
    if as_bundle:
        if not view.HasField("record"):
            raise click.UsageError("the access rules give you this record's header only: no bundle")
        bundle = bundle_from_parts(
            view.record.envelope,
            view.record.signer_certificate,
            list(view.record.disclosures),
            receipt_document(view.receipt),
        )
        text = json.dumps(bundle.to_json(), indent=2, ensure_ascii=False) + "\n"
        if out:
            out.write_text(text)
            click.echo(f"bundle written to {out}")
        else:
            click.echo(text, nl=False)
        return
    document = record_document(view)
    if out:
        out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    if as_json or (out is None and _root_json()):
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    elif out is None:
        stdout.print(key_value_table(f"record {record_id}", document["header"]))
        if document["withheld_classes"]:
            stdout.print(f"withheld from you: {', '.join(document['withheld_classes'])}")
        if document["payload"] is None:
            stdout.print("the access rules give you this record's header only")
        else:
            stdout.print_json(json.dumps(document["payload"], ensure_ascii=False))


def _root_json() -> bool:
    root = click.get_current_context().find_root().obj
    return bool(isinstance(root, dict) and root.get("json"))


def record_document(view: records_pb2.RecordView) -> dict[str, Any]:
    """A record view as JSON: header, and the payload with the disclosures we hold revealed."""
    payload: dict[str, Any] | None = None
    if view.HasField("record"):
        envelope = dsse.parse_envelope(view.record.envelope)
        payload = sd.reveal(json.loads(envelope.payload), list(view.record.disclosures)).payload
    header = view.header
    return {
        "header": {
            "record_id": header.record_id,
            "record_type": header.record_type,
            "originator": f"{header.originator_participant}/{header.originator_agency}",
            "created_at": _time(header.created_at),
            "accepted_at": _time(header.accepted_at),
            "log_index": header.log_index,
            "tlp": header.tlp,
            "handling": list(header.handling),
            "envelope_sha256": header.envelope_sha256,
        },
        "withheld_classes": list(view.withheld_classes),
        "erased_classes": list(view.erased_classes),
        # None: the rules give this reader the header only (auditors).
        "payload": payload,
    }


def _time(value: Timestamp) -> str:
    return value.ToDatetime(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@click.command("list")
@click.option("--type", "record_types", multiple=True, type=click.Choice(RECORD_TYPES))
@click.option("--from", "originators", multiple=True, help="Originator P or P/AGENCY; repeatable.")
@click.option("--since", type=click.DateTime(), help="Accepted at or after (UTC).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--timeout", default=30.0, show_default=True)
@json_option
def list_records(
    record_types: tuple[str, ...],
    originators: tuple[str, ...],
    since: datetime | None,
    limit: int,
    timeout: float,
    as_json: bool,
) -> None:
    """List the records this agency may see, in log order."""
    profile = selected_profile()
    request = records_pb2.ListRequest(
        filter=records_pb2.RecordFilter(record_types=record_types, originators=originators),
        page_size=limit,
    )
    if since is not None:
        request.filter.since.FromDatetime(since.replace(tzinfo=UTC))
    with open_channel(profile) as channel:
        reply = _stub(channel).List(request, timeout=timeout)
    rows = [record_document(view)["header"] for view in reply.records]
    table = Table(title=f"{len(rows)} record(s)", title_justify="left")
    for column in ("log_index", "record_id", "record_type", "originator", "tlp", "accepted_at"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            *(
                str(row[c])
                for c in (
                    "log_index",
                    "record_id",
                    "record_type",
                    "originator",
                    "tlp",
                    "accepted_at",
                )
            )
        )
    emit(as_json, rows, table)
