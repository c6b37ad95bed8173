"""`silkline audit ...`: what auditors ask of the service, and the offline log verifier.

`checkpoint`, `prove` and `export` talk to the server and check what it
answers with the log's key; `verify` needs nothing but an export folder.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from silkline.cli.exit_codes import ExitCode
from silkline.cli.output import emit, json_option, key_value_table, stderr, stdout, wants_json
from silkline.cli.session import selected_profile
from silkline.connection import open_channel
from silkline.formats.checkpoint import CheckpointError, OpenedCheckpoint, open_checkpoint
from silkline.formats.note import SIGNATURE_TYPE_COSIGNATURE_V1, NoteError, NoteVerifier
from silkline.log_export import (
    ExportError,
    ExportWriter,
    count_entry_lines,
    participant_cas,
    participant_crls,
    read_log_key,
)
from silkline.log_verification import LogVerificationError, verify_export
from silkline.record_proof import (
    RecordProofError,
    check_record_proof,
    fetch_record_proof,
    proof_rows,
)
from silkline.v1 import audit_pb2, audit_pb2_grpc

# Below this many entries a progress bar would only flicker.
PROGRESS_FROM = 5000
# From this many entries `verify` checks records in every CPU by default. Starting the
# workers (a fork server that imports the CLI once) costs about what one process
# verifies in a second or two, so fewer entries go faster in one process.
PARALLEL_FROM = 10_000
# How long `prove` waits for the checkpoint that covers a record just accepted.
PROVE_WAIT_S = 5.0


@click.group()
def audit() -> None:
    """Auditors: checkpoints, proofs, export and offline verification of the log; access log."""


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


# ---------------------------------------------------------------------- the log


def _fail(message: str, code: ExitCode = ExitCode.INVALID_INPUT) -> NoReturn:
    stderr.print(f"[red]FAILED[/red] {message}", highlight=False)
    sys.exit(code)


def log_verifier_key(log_key: Path | None, trust_dir: Path | None) -> NoteVerifier:
    """--log-key FILE, else TRUST/hub/log.vkey; the log's key is never taken from the server."""
    path = log_key
    if path is None and trust_dir is not None:
        path = trust_dir / "hub" / "log.vkey"
    if path is None:
        raise click.UsageError("give the log's verifier key: --log-key FILE or --trust DIR")
    try:
        return read_log_key(path)
    except ExportError as exc:
        raise click.UsageError(f"log key: {exc}") from exc


def _witness_keys(paths: tuple[Path, ...]) -> list[NoteVerifier]:
    keys = []
    for path in paths:
        try:
            key = read_log_key(path)
        except ExportError as exc:
            raise click.UsageError(f"witness key: {exc}") from exc
        if key.signature_type != SIGNATURE_TYPE_COSIGNATURE_V1:
            raise click.UsageError(
                f"witness key {path} has type 0x{key.signature_type:02x}; witnesses cosign "
                "with cosignature/v1 keys (type 0x04)"
            )
        keys.append(key)
    return keys


def _open_served(
    note: bytes, log_key: NoteVerifier, witnesses: list[NoteVerifier]
) -> OpenedCheckpoint:
    """A checkpoint from the server, refused unless the log's key signed it for its origin."""
    try:
        opened = open_checkpoint(note, [log_key], witnesses)
    except (NoteError, CheckpointError) as exc:
        _fail(f"checkpoint from the server: {exc}")
    if opened.checkpoint.origin != log_key.name:
        _fail(f"checkpoint of origin {opened.checkpoint.origin!r}, not of log {log_key.name!r}")
    return opened


def _checkpoint_rows(opened: OpenedCheckpoint) -> dict[str, Any]:
    return {
        "origin": opened.checkpoint.origin,
        "tree_size": opened.checkpoint.size,
        "root": base64.b64encode(opened.checkpoint.root_hash).decode("ascii"),
        "log_key": opened.note.verified[0].vkey,
        "cosigned_by": sorted({c.cosigner.name for c in opened.cosignatures}),
        "other_signers": [line.name for line in opened.note.unverified_lines],
    }


@contextmanager
def _progress(total: int, what: str) -> Iterator[Any]:
    """A rich progress bar on stderr for large jobs; a no-op advance otherwise."""
    if total < PROGRESS_FROM or wants_json(False):
        yield lambda _advance: None
        return
    with Progress(
        TextColumn(f"{what}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
    ) as bar:
        task = bar.add_task(what, total=total)
        yield lambda advance: bar.advance(task, advance)


log_key_option = click.option(
    "--log-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The log's note verifier key (default: TRUST/hub/log.vkey).",
)
trust_option = click.option(
    "--trust",
    "trust_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="PKI folder laid out like certs/example: <P>/ca.crt and hub/log.vkey.",
)


@audit.command("checkpoint")
@log_key_option
@trust_option
@click.option(
    "--witness-key",
    "witness_key_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A witness's cosignature/v1 verifier key; its cosignature must verify. Repeatable.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also save the signed checkpoint here (for a later `verify --previous`).",
)
@click.option("--timeout", default=30.0, show_default=True)
@json_option
def checkpoint(
    log_key: Path | None,
    trust_dir: Path | None,
    witness_key_paths: tuple[Path, ...],
    out: Path | None,
    timeout: float,
    as_json: bool,
) -> None:
    """The log's latest signed checkpoint, checked with the log's key."""
    verifier = log_verifier_key(log_key, trust_dir)
    witnesses = _witness_keys(witness_key_paths)
    with open_channel(selected_profile()) as channel:
        reply = _stub(channel).GetCheckpoint(audit_pb2.GetCheckpointRequest(), timeout=timeout)
    opened = _open_served(reply.checkpoint, verifier, witnesses)
    if out is not None:
        out.write_bytes(reply.checkpoint)
    rows = _checkpoint_rows(opened)
    emit(as_json, rows, key_value_table("checkpoint (log signature verified)", rows))


@audit.command("prove")
@click.argument("record_id")
@log_key_option
@trust_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the proof as a C2SP tlog-proof (the leaf bytes as its extra data).",
)
@click.option("--timeout", default=30.0, show_default=True)
@json_option
def prove(
    record_id: str,
    log_key: Path | None,
    trust_dir: Path | None,
    out: Path | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Prove that a record is in the log: inclusion proof against a signed checkpoint,
    verified here (RFC 9162 §2.1.3.2) with the log's key."""
    # Just accepted: the checkpoint covering it follows within a second.
    rows = fetch_and_check_proof(record_id, log_key, trust_dir, out, PROVE_WAIT_S, timeout)
    emit(as_json, rows, key_value_table("included in the log (proof verified)", rows))


def fetch_and_check_proof(
    record_id: str,
    log_key: Path | None,
    trust_dir: Path | None,
    out: Path | None,
    wait_s: float,
    timeout: float,
) -> dict[str, Any]:
    """Fetch a record's tlog-proof, check it with the log's own key, write it to `out`
    only once checked, and return the rows to show (`audit prove`, `receipt`)."""
    verifier = log_verifier_key(log_key, trust_dir)
    with open_channel(selected_profile()) as channel:
        data = fetch_record_proof(channel, record_id, wait_s=wait_s, timeout=timeout)
    try:
        verified, entry = check_record_proof(data, verifier, record_id)
    except RecordProofError as exc:
        _fail(f"proof of record {record_id} from the server: {exc}")
    if out is not None:
        out.write_bytes(data)
    return {**proof_rows(record_id, verified, entry), "proof_hashes": len(verified.hashes)}


@audit.command("export")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="New or empty folder to write the export into.",
)
@log_key_option
@click.option(
    "--trust",
    "trust_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="PKI folder laid out like certs/example: each <P>/ca.crt goes into the export.",
)
@click.option("--timeout", default=600.0, show_default=True)
@json_option
def export(
    out_dir: Path, log_key: Path | None, trust_dir: Path, timeout: float, as_json: bool
) -> None:
    """Export the log for offline verification: checkpoint, every entry, log key, CAs and
    their revocation lists."""
    verifier = log_verifier_key(log_key, trust_dir)
    try:
        writer = ExportWriter(out_dir)
        cas = participant_cas(trust_dir)
        crls = participant_crls(trust_dir)
    except ExportError as exc:
        raise click.UsageError(str(exc)) from exc
    with open_channel(selected_profile()) as channel:
        stub = _stub(channel)
        served = stub.GetCheckpoint(audit_pb2.GetCheckpointRequest(), timeout=timeout).checkpoint
        opened = _open_served(served, verifier, [])
        size = opened.checkpoint.size
        try:
            writer.write_checkpoint(served)
            writer.write_log_key(verifier)
            for participant, path in cas.items():
                writer.write_participant_ca(participant, path.read_bytes())
            for participant, path in crls.items():
                writer.write_participant_crl(participant, path.read_bytes())
            gaps = 0
            expected = 0
            with _progress(size, "exporting") as advance:
                if size:
                    request = audit_pb2.ListEntriesRequest(start_index=0, end_index=size)
                    for batch in stub.ListEntries(request, timeout=timeout):
                        for entry in batch.entries:
                            gaps += entry.index != expected
                            expected = entry.index + 1
                            writer.add_entry(entry.index, entry.leaf)
                        advance(len(batch.entries))
            written = writer.close()
        except (ExportError, OSError) as exc:
            _fail(f"export: {exc}", ExitCode.ERROR)
    if gaps or written != size:
        stderr.print(
            f"[yellow]warning[/yellow] the server sent {written} entries for a checkpoint of "
            f"{size}, not in unbroken order; exported as sent: `silkline audit verify` will "
            "name what is wrong",
            highlight=False,
        )
    rows = {
        "folder": str(out_dir),
        "origin": opened.checkpoint.origin,
        "tree_size": size,
        "entries": written,
        "participants": sorted(cas),
    }
    emit(as_json, rows, key_value_table("log exported", rows))


@audit.command("verify")
@click.argument(
    "folder", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "--previous",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An earlier signed checkpoint of this log: the export must extend it.",
)
@click.option(
    "--log-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Pin the log's key: DIR/log.vkey must be this one.",
)
@click.option(
    "--witness-key",
    "witness_key_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A witness's cosignature/v1 verifier key. Repeatable.",
)
@click.option(
    "--min-witnesses",
    type=click.IntRange(min=0),
    default=None,
    help="How many of the --witness-key witnesses must have cosigned (default: 1 if any given).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes checking record signatures (default: every CPU for large exports).",
)
@json_option
def verify(
    folder: Path,
    previous: Path | None,
    log_key: Path | None,
    witness_key_paths: tuple[Path, ...],
    min_witnesses: int | None,
    jobs: int | None,
    as_json: bool,
) -> None:
    """Verify an export offline: checkpoint signature (and cosignatures), every entry in
    order, every record's signature and signer chain, the root, and consistency with
    --previous. Exits 5 naming the first bad entry."""
    pinned = None
    if log_key is not None:
        try:
            pinned = read_log_key(log_key)
        except ExportError as exc:
            raise click.UsageError(f"log key: {exc}") from exc
    witnesses = _witness_keys(witness_key_paths)
    required = min_witnesses if min_witnesses is not None else (1 if witnesses else 0)
    earlier = previous.read_bytes() if previous is not None else None
    try:
        total = count_entry_lines(folder)
    except ExportError:
        total = 0
    if jobs is None:
        # Worker processes take a moment to start; worth it only for many entries.
        jobs = (os.cpu_count() or 1) if total >= PARALLEL_FROM else 1
    try:
        with _progress(total, "verifying") as advance:
            report = verify_export(
                folder,
                log_key=pinned,
                previous=earlier,
                witnesses=witnesses,
                min_witnesses=required,
                progress=advance,
                jobs=jobs,
            )
    except LogVerificationError as exc:
        if wants_json(as_json):
            click.echo(
                json_document(
                    {
                        "verified": False,
                        "index": exc.index,
                        "check": exc.check,
                        "reason": exc.reason,
                    }
                )
            )
        where = f"entry {exc.index}: " if exc.index is not None else ""
        _fail(f"{where}{exc.check}: {exc.reason}")
    rows: dict[str, Any] = {
        "verified": True,
        "origin": report.origin,
        "tree_size": report.tree_size,
        "root": base64.b64encode(report.root).decode("ascii"),
        "records": report.records,
        "access_events": report.access_events,
        "rules_versions": report.rules_versions,
        "cosigned_by": list(report.cosigners),
        "previous_tree_size": report.previous_size,
        "checks": report.passed,
    }
    if wants_json(as_json):
        click.echo(json_document(rows))
        return
    for check in report.passed:
        stdout.print(f"[green]ok[/green]     {check}", highlight=False)
    stdout.print(
        f"verified: {report.tree_size} entries of {report.origin} "
        f"({report.records} records, {report.access_events} access events, "
        f"{report.rules_versions} rules versions)",
        highlight=False,
    )


def json_document(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, default=str)
