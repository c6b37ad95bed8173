"""`silkline-server`: the service's command line."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path

import click
import structlog

from silkline.trust import TrustConfigurationError
from silkline_server.app import StartupError, run
from silkline_server.config import ConfigError, load_config, resolve_database_url
from silkline_server.core_log import capture_grpc_core_log
from silkline_server.logs import configure_logging
from silkline_server.receipts import LogKeyError
from silkline_server.store import StoreError


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Server configuration (TOML). Example: deploy/dev/server.toml.",
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
def main(
    config_path: Path,
    listen: str | None,
    database: str | None,
    port_file: Path | None,
    rules_path: Path | None,
    log_format: str | None,
) -> None:
    """Run the silkline gRPC service over mutual TLS.

    Stops on SIGTERM or SIGINT: refuses new calls, lets in-flight calls finish
    within grace_period_s, and exits 0. SIGHUP reloads the access rules (an
    invalid file is refused and the rules in force stay).
    """
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
    config = dataclasses.replace(config, **overrides)  # type: ignore[arg-type]
    configure_logging(config.log_format, stream=capture_grpc_core_log())
    try:
        status = asyncio.run(run(config, port_file=port_file))
    except (StartupError, TrustConfigurationError, LogKeyError, StoreError) as exc:
        structlog.get_logger("silkline.server").error("cannot start", reason=str(exc))
        sys.exit(1)
    sys.exit(status)
