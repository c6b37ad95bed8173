"""`silkline-server`: the service's command line.

`silkline-server --config FILE` runs the service (as it always has);
`silkline-server migrate` brings the database schema to the newest revision
and exits, for deployments that migrate before they roll the replicas out.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path

import click
import structlog
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import SQLAlchemyError

from silkline.trust import TrustConfigurationError
from silkline_server.app import StartupError, run
from silkline_server.config import (
    ConfigError,
    load_config,
    parse_listen_address,
    resolve_database_url,
)
from silkline_server.core_log import capture_grpc_core_log
from silkline_server.logs import configure_logging
from silkline_server.receipts import LogKeyError
from silkline_server.store import Store, StoreError, StoreUnavailableError

_CONFIG_HELP = "Server configuration (TOML). Example: deploy/dev/server.toml."


@click.group(
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"{_CONFIG_HELP} Required to run the service.",
)
@click.option(
    "--listen", help="HOST:PORT to listen on; overrides the config. Port 0 picks a free one."
)
@click.option(
    "--database",
    help="Database URL (sqlite:///FILE or postgresql+psycopg://...); overrides the config.",
)
@click.option(
    "--port-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the bound port to this file once serving (useful with port 0).",
)
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Access rules file (TOML); overrides the config.",
)
@click.option(
    "--log-format", type=click.Choice(["auto", "json", "console"]), help="Overrides the config."
)
@click.option(
    "--metrics-listen",
    help="HOST:PORT of the Prometheus /metrics endpoint (plain HTTP); overrides the "
    "config's [metrics] listen. Port 0 picks a free one.",
)
@click.pass_context
def main(
    ctx: click.Context,
    config_path: Path | None,
    listen: str | None,
    database: str | None,
    port_file: Path | None,
    rules_path: Path | None,
    log_format: str | None,
    metrics_listen: str | None,
) -> None:
    """Run the silkline gRPC service over mutual TLS (`--config FILE`).

    Stops on SIGTERM or SIGINT: refuses new calls, lets in-flight calls finish
    within grace_period_s, and exits 0. SIGHUP reloads the access rules (an
    invalid file is refused and the rules in force stay).

    With a command (`silkline-server migrate --help`), does that instead.
    """
    if ctx.invoked_subcommand is not None:
        given = [name for name, value in ctx.params.items() if value is not None]
        if given:
            options = ", ".join(
                "--" + name.removesuffix("_path").replace("_", "-") for name in given
            )
            raise click.UsageError(
                f"{options} before '{ctx.invoked_subcommand}' belong to running the service; "
                f"give the command's own options after it "
                f"(silkline-server {ctx.invoked_subcommand} --help)"
            )
        return
    if config_path is None:
        raise click.UsageError("Missing option '--config'.")
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        click.echo(f"silkline-server: {exc}", err=True)
        sys.exit(2)
    overrides: dict[str, object] = {}
    if listen:
        overrides["listen"] = listen
    if database:
        overrides["database"] = resolve_database_url(database, Path.cwd())
    if log_format:
        overrides["log_format"] = log_format
    if rules_path:
        overrides["rules"] = rules_path.resolve()
    if metrics_listen:
        try:
            parse_listen_address(metrics_listen, "--metrics-listen")
        except ConfigError as exc:
            raise click.BadParameter(str(exc), param_hint="--metrics-listen") from exc
        overrides["metrics_listen"] = metrics_listen
    config = dataclasses.replace(config, **overrides)  # type: ignore[arg-type]
    configure_logging(config.log_format, stream=capture_grpc_core_log())
    try:
        status = asyncio.run(run(config, port_file=port_file))
    except (StartupError, TrustConfigurationError, LogKeyError, StoreError) as exc:
        structlog.get_logger("silkline.server").error("cannot start", reason=str(exc))
        sys.exit(1)
    sys.exit(status)


@main.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"{_CONFIG_HELP} Its database URL is migrated.",
)
@click.option(
    "--database",
    help="Database URL (sqlite:///FILE or postgresql+psycopg://...); overrides the config.",
)
def migrate(config_path: Path | None, database: str | None) -> None:
    """Bring the database schema to the newest revision, and exit (Alembic upgrade head).

    Safe to run twice, and while replicas run: a schema already at the newest
    revision is left as it is. Prints the revision. Exits 1 when the database
    cannot be reached or the migration fails, 2 on a bad configuration.
    """
    if database:
        url = resolve_database_url(database, Path.cwd())
    elif config_path is not None:
        try:
            url = load_config(config_path).database
        except ConfigError as exc:
            click.echo(f"silkline-server migrate: {exc}", err=True)
            sys.exit(2)
    else:
        raise click.UsageError("give --config FILE (its database URL) or --database URL")
    try:
        store = Store.open(url)
    except StoreError as exc:
        click.echo(f"silkline-server migrate: {exc}", err=True)
        sys.exit(2)
    try:
        store.migrate()
        revision = _schema_revision(store)
    except StoreUnavailableError as exc:
        click.echo(f"silkline-server migrate: the database cannot be reached: {exc}", err=True)
        sys.exit(1)
    except StoreError as exc:
        click.echo(f"silkline-server migrate: {exc}", err=True)
        sys.exit(1)
    finally:
        store.close()
    click.echo(f"silkline: database schema is at the newest revision ({revision})")


def _schema_revision(store: Store) -> str:
    """The Alembic revision the database's schema is at."""
    try:
        with store.engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise StoreUnavailableError(f"cannot read the schema revision: {exc}") from exc
    return revision or "none"
