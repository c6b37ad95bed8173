"""`silkline report`: indicators as a table, JSON, CSV, an HTML page or a PNG of charts.

Online, the server computes them (IndicatorsService) over what this agency may
see; `--offline DIR` computes them here from an audit export (verified first)
or a folder of record bundles. `silkline report sample` writes the sample whose
totals are India's published figures.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from cryptography import x509
from rich.console import Console

from silkline.cli.exit_codes import ExitCode
from silkline.cli.output import stderr, stdout
from silkline.cli.session import selected_profile
from silkline.connection import open_channel
from silkline.identity import IdentityError, identity_from_certificate
from silkline.indicators.aggregate import IndicatorQuery, Indicators, QueryError
from silkline.indicators.charts import CHART_GROUPINGS, chart_data, png_report
from silkline.indicators.facts import DIMENSIONS
from silkline.indicators.html import html_report
from silkline.indicators.offline import OfflineSourceError, indicators_offline
from silkline.indicators.rates import RateTableError, load_rate_table
from silkline.indicators.render import (
    ReportContext,
    basis_lines,
    change_table,
    csv_text,
    json_text,
    row_table,
)
from silkline.indicators.sample import DEFAULT_SEED, SAMPLE_YEARS, india_seizures
from silkline.indicators.wire import indicators_of, request_of
from silkline.log_export import ExportError, count_entry_lines
from silkline.trust import TrustConfigurationError, TrustStore
from silkline.v1 import indicators_pb2_grpc

FORMATS = ("table", "json", "csv", "html", "png")
PARALLEL_FROM = 5000  # entries of an export from which its signatures are checked in parallel
# --by route is short for the three route dimensions.
_ALIASES = {"route": ("route_origin", "route_transit", "route_destination")}


class ReportGroup(click.Group):
    """`silkline report --from ...` runs the report; `silkline report sample` is a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group(cls=ReportGroup)
def report() -> None:
    """Indicators (seizures, arrests, prosecutions, trainings, rehabilitation, livelihood)
    over the records this agency may see, or offline over an audit export.

    \b
    silkline report --from 2023-01-01 --to 2024-12-31 --by year,drug
    silkline report --by participant,month --format html --out report.html
    silkline report --offline EXPORT_DIR --format csv
    silkline report sample --out india.jsonl

    `show` is the default command: its options may follow `report` directly.
    """


def _dimensions(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    names: list[str] = []
    for part in value.split(","):
        name = part.strip()
        expanded = _ALIASES.get(name, (name,))
        for dimension in expanded:
            if dimension not in DIMENSIONS:
                raise click.BadParameter(
                    f"unknown dimension {name!r}; choose from {', '.join((*DIMENSIONS, 'route'))}",
                    param_hint="--by",
                )
            if dimension not in names:
                names.append(dimension)
    return tuple(names)


@report.command("show")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day (YYYY-MM-DD).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last day, included.")
@click.option(
    "--by",
    "group_by",
    help=f"Dimensions, comma-separated: {', '.join(DIMENSIONS)} (route = all three route_*).",
)
@click.option("--format", "output", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (default: standard output; required for png).",
)
@click.option(
    "--offline",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Compute here from an audit export folder (or a folder of record bundles).",
)
@click.option(
    "--trust",
    "trust_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Participants' CAs (<P>/ca.crt) to verify bundles with (--offline on bundles).",
)
@click.option(
    "--no-verify",
    is_flag=True,
    help="--offline on an export already verified with `silkline audit verify`: skip it here.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="--offline: processes checking signatures (default: every CPU for large exports).",
)
@click.option(
    "--rates",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Exchange-rate table (JSON, as the built-in one) for --offline.",
)
@click.option("--title", default="silkline indicators", show_default=True)
@click.option("--timeout", default=300.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def show(
    start: datetime | None,
    end: datetime | None,
    group_by: str | None,
    output: str,
    out: Path | None,
    offline: Path | None,
    trust_dir: Path | None,
    no_verify: bool,
    jobs: int | None,
    rates: Path | None,
    title: str,
    timeout: float,
    as_json: bool,
) -> None:
    """Indicators for --from to --to, grouped --by, as a table (default), json, csv, html or png.

    HTML is one self-contained file (charts inline, nothing fetched): seizures by
    drug over time, the year-on-year comparison, each participant's share, with
    the numbers beside each chart. PNG holds the same three charts.
    """
    root = click.get_current_context().find_root().obj
    if as_json or (output == "table" and isinstance(root, dict) and root.get("json")):
        output = "json"
    if output == "png" and out is None:
        raise click.UsageError("--format png needs --out FILE.png")
    if rates is not None and offline is None:
        raise click.UsageError("--rates applies to --offline: the server converts with its own")
    dimensions = _dimensions(group_by)
    charts = output in ("html", "png")
    try:
        query = IndicatorQuery(
            start=start.date() if start else None,
            end=end.date() if end else None,
            groupings=(dimensions, *CHART_GROUPINGS) if charts else (dimensions,),
        )
    except QueryError as exc:
        raise click.BadParameter(exc.message, param_hint="--to") from exc
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    # Many records take minutes (the server judges each one; offline, each signature
    # is checked): say so on a terminal.
    waiting = (
        stderr.status("computing indicators", spinner="dots")
        if stderr.is_terminal
        else contextlib.nullcontext()
    )
    with waiting:
        if offline is not None:
            indicators, context = _offline(offline, query, trust_dir, not no_verify, rates, jobs)
        else:
            indicators, context = _online(query, timeout)
    context = ReportContext(context.source, context.verified, generated)
    _write(indicators, context, output, out, title)


def _online(query: IndicatorQuery, timeout: float) -> tuple[Indicators, ReportContext]:
    profile = selected_profile()
    with open_channel(profile) as channel:
        stub = indicators_pb2_grpc.IndicatorsServiceStub(channel)  # type: ignore[no-untyped-call]
        response = stub.GetIndicators(request_of(query), timeout=timeout)
    who = profile.name
    with contextlib.suppress(OSError, ValueError, IdentityError):
        certificate = x509.load_pem_x509_certificate(profile.cert.read_bytes())
        who = identity_from_certificate(certificate).agency_path
    source = f"server {profile.endpoint}, records {who} may see under the access rules"
    return indicators_of(response, query), ReportContext(source)


def _offline(
    folder: Path,
    query: IndicatorQuery,
    trust_dir: Path | None,
    verify: bool,
    rates_path: Path | None,
    jobs: int | None,
) -> tuple[Indicators, ReportContext]:
    if jobs is None:
        # Worker processes take a moment to start: worth it for large exports only.
        try:
            large = count_entry_lines(folder) >= PARALLEL_FROM
        except ExportError:
            large = False
        jobs = (os.cpu_count() or 1) if large else 1
    try:
        rates = load_rate_table(rates_path)
        trust = TrustStore.from_folder(trust_dir) if trust_dir is not None else None
        indicators, source = indicators_offline(
            folder, query, rates, trust=trust, verify=verify, jobs=jobs
        )
    except (RateTableError, TrustConfigurationError) as exc:
        raise click.UsageError(str(exc)) from exc
    except OfflineSourceError as exc:
        stderr.print(f"[red]error[/red] {exc}", highlight=False)
        sys.exit(ExitCode.INVALID_INPUT)
    what = "audit export" if source.kind == "export" else "record bundles"
    return indicators, ReportContext(
        f"{what} {folder} ({source.records} records), computed offline", source.verified
    )


def _write(
    indicators: Indicators,
    context: ReportContext,
    output: str,
    out: Path | None,
    title: str,
) -> None:
    data: str | bytes
    if output == "json":
        data = json_text(indicators, context)
    elif output == "csv":
        data = csv_text(indicators)
    elif output == "html":
        data = html_report(indicators, context, chart_data(indicators, 1), title=title)
    elif output == "png":
        data = png_report(chart_data(indicators, 1))
    elif out is None:
        _print_tables(indicators, context, stdout)
        return
    else:
        console = Console(record=True, width=160, file=io.StringIO())
        _print_tables(indicators, context, console)
        data = console.export_text()
    if out is None:
        click.echo(data if isinstance(data, str) else data.decode(), nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        out.write_bytes(data)
    else:
        out.write_text(data, encoding="utf-8")
    stderr.print(f"report written to {out}", highlight=False)


def _print_tables(indicators: Indicators, context: ReportContext, console: Console) -> None:
    query = indicators.query
    by = ", ".join(query.groupings[0]) or "totals"
    period = (
        f"{query.start.isoformat() if query.start else '...'} to "
        f"{query.end.isoformat() if query.end else '...'}"
    )
    console.print(row_table(indicators, f"Indicators {period}, by {by}"))
    changes = change_table(indicators, "Year on year")
    if changes is not None:
        console.print(changes)
    for line in basis_lines(indicators, context):
        console.print(line, highlight=False, markup=False)


@report.command("sample")
@click.option(
    "--year",
    "years",
    multiple=True,
    type=click.Choice([str(y) for y in SAMPLE_YEARS]),
    help="Year to include (repeatable; default: all with published figures).",
)
@click.option("--seed", default=DEFAULT_SEED, show_default=True, type=int)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="JSONL file (default: stdout)."
)
def sample(years: tuple[str, ...], seed: int, out: Path | None) -> None:
    """Seizure-alert bodies (JSONL) whose totals are India's published figures for 2023
    and 2024, with the Mundra (2021) and Gujarat coast (2024) seizures.

    Post them with `silkline feed --tlp GREEN FILE`. The same seed gives the same file;
    any seed gives the same totals.
    """
    chosen = tuple(int(y) for y in years) or SAMPLE_YEARS
    lines = [
        json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n"
        for body in india_seizures(seed, chosen)
    ]
    if out is None:
        sys.stdout.writelines(lines)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(lines), encoding="utf-8")
    stderr.print(f"{len(lines)} sample seizure(s) written to {out}", highlight=False)
