"""`silkline verify`: check a record bundle offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from silkline.bundle import BundleError, parse_bundle
from silkline.cli.exit_codes import ExitCode
from silkline.cli.output import stderr, stdout
from silkline.formats.note import NoteError, parse_verifier_key
from silkline.trust import TrustStore
from silkline.verification import VerificationFailedError, verify_bundle


@click.command()
@click.argument(
    "bundle_path", metavar="BUNDLE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--trust",
    "trust_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of participants' CAs: <P>/ca.crt (and <P>/crl.pem), e.g. certs/example.",
)
@click.option(
    "--log-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The log's note verifier key (default: TRUST/hub/log.vkey or TRUST/log.vkey).",
)
def verify(bundle_path: Path, trust_dir: Path, log_key: Path | None) -> None:
    """Verify a record bundle without the server: signature, signer certificate chain to
    the participant it names, every disclosure, and the log's receipt."""
    try:
        bundle = parse_bundle(json.loads(bundle_path.read_text()))
    except (json.JSONDecodeError, BundleError) as exc:
        stderr.print(f"[red]FAILED[/red] bundle: {exc}", highlight=False)
        sys.exit(ExitCode.INVALID_INPUT)
    key_path = log_key or next(
        (p for p in (trust_dir / "hub" / "log.vkey", trust_dir / "log.vkey") if p.exists()), None
    )
    try:
        log_keys = [parse_verifier_key(key_path.read_text().strip())] if key_path else []
    except NoteError as exc:
        stderr.print(f"[red]error[/red] log key {key_path}: {exc}", highlight=False)
        sys.exit(ExitCode.USAGE)
    try:
        report = verify_bundle(bundle, TrustStore.from_folder(trust_dir), log_keys)
    except VerificationFailedError as exc:
        for check in exc.passed:
            stdout.print(f"[green]ok[/green]     {check}", highlight=False)
        stderr.print(f"[red]FAILED[/red] {exc.check}: {exc.reason}", highlight=False)
        sys.exit(ExitCode.INVALID_INPUT)
    stdout.print(f"record {report.record_id} from {report.originator}", highlight=False)
    for check in report.passed:
        stdout.print(f"[green]ok[/green]     {check}", highlight=False)
    for field in report.disclosed:
        stdout.print(f"       disclosed: {field}", highlight=False)
    stdout.print("verified", highlight=False)
