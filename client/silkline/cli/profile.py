"""`silkline profile add|list|use`: endpoints, certificates and keys by name."""

from __future__ import annotations

from pathlib import Path

import click
from cryptography import x509
from rich.table import Table

from silkline.cli.output import emit, json_option
from silkline.identity import IdentityError, identity_from_certificate
from silkline.profiles import Profile, ProfileBook

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def profile() -> None:
    """Manage profiles in $XDG_CONFIG_HOME/silkline/config.toml."""


@profile.command("add")
@click.argument("name")
@click.option("--endpoint", required=True, help="HOST:PORT of the silkline server.")
@click.option(
    "--ca", required=True, type=_FILE, help="CA certificate that issued the server's certificate."
)
@click.option("--cert", required=True, type=_FILE, help="This agency's TLS client certificate.")
@click.option("--key", required=True, type=_FILE, help="Private key of the client certificate.")
@click.option("--signing-key", type=_FILE, help="Record-signing private key (Ed25519 or P-256).")
@click.option("--signing-cert", type=_FILE, help="Certificate of the record-signing key.")
@click.option("--use/--no-use", "make_current", default=False, help="Make it the current profile.")
def add(
    name: str,
    endpoint: str,
    ca: Path,
    cert: Path,
    key: Path,
    signing_key: Path | None,
    signing_cert: Path | None,
    make_current: bool,
) -> None:
    """Add or replace profile NAME."""
    book = ProfileBook.load()
    book.add(
        Profile(
            name=name,
            endpoint=endpoint,
            ca=ca.resolve(),
            cert=cert.resolve(),
            key=key.resolve(),
            signing_key=signing_key.resolve() if signing_key else None,
            signing_cert=signing_cert.resolve() if signing_cert else None,
        ),
        make_current=make_current,
    )
    book.save()
    click.echo(
        f"profile {name!r} saved in {book.path}" + (" (current)" if book.current == name else "")
    )


@profile.command("use")
@click.argument("name")
def use(name: str) -> None:
    """Make NAME the current profile."""
    book = ProfileBook.load()
    book.use(name)
    book.save()
    click.echo(f"current profile: {name}")


@profile.command("list")
@json_option
def list_profiles(as_json: bool) -> None:
    """List profiles and the identity each client certificate claims."""
    book = ProfileBook.load()
    rows: list[dict[str, str | bool]] = []
    for name, p in sorted(book.profiles.items()):
        rows.append(
            {
                "name": name,
                "current": name == book.current,
                "endpoint": p.endpoint,
                "identity": _claimed_identity(p.cert),
                "cert": str(p.cert),
            }
        )
    table = Table(title=f"profiles ({book.path})", title_justify="left")
    for column in ("", "name", "endpoint", "identity", "cert"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            "*" if row["current"] else "",
            *(str(row[k]) for k in ("name", "endpoint", "identity", "cert")),
        )
    emit(as_json, rows, table)


def _claimed_identity(cert_path: Path) -> str:
    try:
        return identity_from_certificate(x509.load_pem_x509_certificate(cert_path.read_bytes())).uri
    except (OSError, ValueError, IdentityError) as exc:
        return f"unreadable: {exc}"
