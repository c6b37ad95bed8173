"""`silkline witness`: cosign the log's checkpoint if it extends what this witness cosigned.

Run by any participant that wants to be sure the hub shows every country the
same history. Needs an Ed25519 key of its own (PEM, e.g. made with
`openssl genpkey -algorithm ed25519`) and a name; the server must list the
witness's verifier key (`--show-vkey` prints it) under [witnesses] keys.
"""

from __future__ import annotations

import base64
import sys
import time
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from silkline.cli.exit_codes import ExitCode
from silkline.cli.output import emit, json_option, key_value_table, stderr
from silkline.cli.session import selected_profile
from silkline.connection import open_channel
from silkline.formats.checkpoint import CheckpointError, cosign, encode_checkpoint
from silkline.formats.note import (
    SIGNATURE_TYPE_COSIGNATURE_V1,
    InvalidKeyNameError,
    check_key_name,
    encode_verifier_key,
)
from silkline.log_export import ExportError, read_log_key
from silkline.v1 import audit_pb2, audit_pb2_grpc
from silkline.witness import (
    InconsistentCheckpointError,
    UntrustedCheckpointError,
    WitnessState,
    check_extends,
    needs_proof,
    open_log_checkpoint,
)


def _load_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise click.UsageError(f"witness key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise click.UsageError(f"witness key {path} must be an Ed25519 private key (PEM)")
    return key


@click.command()
@click.option(
    "--state",
    "state_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The witness's folder: the last checkpoint it cosigned, and evidence of refusals.",
)
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The witness's Ed25519 private key (PEM).",
)
@click.option("--name", required=True, help="The witness's key name, e.g. witness.uz.example.")
@click.option(
    "--log-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The log's note verifier key (default: TRUST/hub/log.vkey).",
)
@click.option(
    "--trust",
    "trust_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="PKI folder laid out like certs/example (for hub/log.vkey).",
)
@click.option(
    "--show-vkey", is_flag=True, help="Print this witness's cosignature/v1 verifier key and exit."
)
@click.option("--timeout", default=30.0, show_default=True)
@json_option
def witness(
    state_dir: Path | None,
    key_path: Path,
    name: str,
    log_key: Path | None,
    trust_dir: Path | None,
    show_vkey: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Fetch the log's latest checkpoint, check it extends the one this witness cosigned
    last, cosign it (C2SP tlog-cosignature/v1) and hand the cosignature to the server.
    A checkpoint that does not extend it is refused, both kept under STATE/evidence/,
    and the command exits 5."""
    try:
        check_key_name(name)
    except InvalidKeyNameError as exc:
        raise click.UsageError(f"--name: {exc}") from exc
    key = _load_key(key_path)
    public_key = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    vkey = encode_verifier_key(name, public_key, SIGNATURE_TYPE_COSIGNATURE_V1)
    if show_vkey:
        click.echo(vkey)
        return
    if state_dir is None:
        raise click.UsageError("--state DIR is required to cosign")
    key_file = log_key or (trust_dir / "hub" / "log.vkey" if trust_dir else None)
    if key_file is None:
        raise click.UsageError("give the log's verifier key: --log-key FILE or --trust DIR")
    try:
        log_verifier = read_log_key(key_file)
    except ExportError as exc:
        raise click.UsageError(f"log key: {exc}") from exc
    state = WitnessState(state_dir)
    cosigned_before = state.last_cosigned()

    with open_channel(selected_profile()) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)  # type: ignore[no-untyped-call]
        served = stub.GetCheckpoint(audit_pb2.GetCheckpointRequest(), timeout=timeout).checkpoint
        proof: list[bytes] = []
        try:
            offered = open_log_checkpoint(served, log_verifier, "the served checkpoint")
            previous = (
                open_log_checkpoint(cosigned_before, log_verifier, "the cosigned checkpoint")
                if cosigned_before is not None
                else None
            )
            if needs_proof(previous, offered):
                assert previous is not None
                reply = stub.GetConsistencyProof(
                    audit_pb2.GetConsistencyProofRequest(
                        first_tree_size=previous.size, second_tree_size=offered.size
                    ),
                    timeout=timeout,
                )
                proof = [bytes(h) for h in reply.hashes]
            check_extends(previous, offered, proof)
        except UntrustedCheckpointError as exc:
            stderr.print(f"[red]REFUSED[/red] {exc}", highlight=False)
            sys.exit(ExitCode.INVALID_INPUT)
        except InconsistentCheckpointError as exc:
            assert cosigned_before is not None
            evidence = state.save_evidence(cosigned_before, served, str(exc), proof)
            stderr.print(
                "[bold red]REFUSED TO COSIGN[/bold red]: the log is not consistent with the "
                "history this witness cosigned",
                highlight=False,
            )
            stderr.print(f"  {exc}", highlight=False)
            stderr.print(f"  both checkpoints kept as evidence in {evidence}", highlight=False)
            sys.exit(ExitCode.INVALID_INPUT)

        timestamp = int(time.time())
        try:
            line = cosign(encode_checkpoint(offered), name, key, timestamp)
        except CheckpointError as exc:
            stderr.print(f"[red]error[/red] cannot cosign: {exc}", highlight=False)
            sys.exit(ExitCode.ERROR)
        # Remembered before the cosignature leaves: never cosign two diverging histories.
        state.save_cosigned(served)
        stub.AddCosignature(
            audit_pb2.AddCosignatureRequest(cosigned_checkpoint=served + line.encode("utf-8")),
            timeout=timeout,
        )
    rows: dict[str, Any] = {
        "origin": offered.origin,
        "tree_size": offered.size,
        "root": base64.b64encode(offered.root_hash).decode("ascii"),
        "previous_tree_size": previous.size if previous is not None else None,
        "timestamp": timestamp,
        "witness": vkey,
    }
    emit(as_json, rows, key_value_table("cosigned", rows))
