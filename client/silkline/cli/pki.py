"""`silkline pki`: the example PKI used by the demo and the tests."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from silkline.pki import (
    EXAMPLE_AGENCIES,
    HUB,
    PARTICIPANTS,
    OutputDirectoryNotEmptyError,
    write_example_pki,
)

__all__ = ["pki"]


@click.group(name="pki")
def pki() -> None:
    """Example certificates for demos and tests (never for production)."""


@pki.command(name="init")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, dir_okay=True, path_type=Path),
    help="Directory to write the example PKI into.",
)
@click.option("--force", is_flag=True, help="Overwrite the example PKI files already in --out.")
def init(out: Path, force: bool) -> None:
    """Generate the example PKI: a CA per participant, agency and hub certificates, CRLs."""
    try:
        written = write_example_pki(out, force=force)
    except OutputDirectoryNotEmptyError as error:
        raise click.ClickException(f"{out} is not empty; pass --force to overwrite it") from error
    except OSError as error:
        raise click.ClickException(f"cannot write the example PKI to {out}: {error}") from error

    console = Console()
    keys = sum(1 for path in written if path.suffix == ".key")
    table = Table(title=f"Agency identities in {out}", title_justify="left")
    table.add_column("Identity (URI SAN)")
    table.add_column("Roles")
    for agency in EXAMPLE_AGENCIES:
        table.add_row(agency.uri, ", ".join(agency.roles))
    console.print(table)
    console.print(
        f"Wrote {len(written)} files to {out}: CAs for {' '.join(PARTICIPANTS)} and {HUB}, "
        f"{HUB}/server.crt, CRLs, trust-bundle.pem, refusal certificates in IN/ and bad/."
    )
    console.print(
        f"[bold red]EXAMPLE ONLY:[/] the {keys} private keys are unencrypted and public; "
        "never use them in production."
    )
