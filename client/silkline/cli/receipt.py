"""`silkline receipt RECORD_ID`: a publisher's proof that the log holds its record.

The signed receipt that `post` prints says the log accepted the record at an
index. This fetches the record's inclusion proof against the next checkpoint
(AuditService.GetRecordProof, open to the agency that published the record),
checks it here with the log's key, and saves it as one C2SP tlog-proof file:
the record's leaf bytes, its index, the audit path and the signed checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import click

from silkline.cli.audit import fetch_and_check_proof, log_key_option, trust_option
from silkline.cli.output import emit, json_option, key_value_table

# Checkpoints follow commits within a second; a record just posted waits for the next.
DEFAULT_WAIT_S = 5.0


@click.command()
@click.argument("record_id")
@log_key_option
@trust_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the proof here as a C2SP tlog-proof (the record's leaf bytes as extra data).",
)
@click.option(
    "--wait",
    "wait_s",
    default=DEFAULT_WAIT_S,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds to wait for a checkpoint that covers a record just posted.",
)
@click.option("--timeout", default=30.0, show_default=True)
@json_option
def receipt(
    record_id: str,
    log_key: Path | None,
    trust_dir: Path | None,
    out: Path | None,
    wait_s: float,
    timeout: float,
    as_json: bool,
) -> None:
    """Prove that the log holds a record you published: its inclusion proof against a
    signed checkpoint, checked here with the log's key (RFC 9162 §2.1.3.2)."""
    rows = fetch_and_check_proof(record_id, log_key, trust_dir, out, wait_s, timeout)
    emit(as_json, rows, key_value_table("in the log (inclusion proof verified)", rows))
