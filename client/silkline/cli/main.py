"""`silkline`: the agency command line."""

from __future__ import annotations

import sys
from typing import Any

import click
import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from silkline import __version__
from silkline.authoring import SigningSetupError
from silkline.cli.audit import audit
from silkline.cli.exit_codes import HELP, ExitCode, for_status
from silkline.cli.feed import feed
from silkline.cli.output import stderr
from silkline.cli.pki import pki
from silkline.cli.policy import policy
from silkline.cli.profile import profile
from silkline.cli.receipt import receipt
from silkline.cli.records import list_records, post, show
from silkline.cli.report import report
from silkline.cli.verify import verify
from silkline.cli.watch import watch
from silkline.cli.whoami import whoami
from silkline.cli.witness import witness
from silkline.connection import LocalCertificateError
from silkline.profiles import ProfileError
from silkline.records import SchemaViolationError


class SilklineGroup(click.Group):
    """Turns every expected failure into one message and its documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
            name = code.name if code is not None else "ERROR"
            stderr.print(f"[red]error[/red] {name}: {details}", highlight=False)
            for field, description in field_violations(exc):
                stderr.print(f"  {field}: {description}", highlight=False)
            if code is grpc.StatusCode.UNAVAILABLE:
                stderr.print(
                    "hint: the server is down, or it refused the TLS handshake "
                    "(certificate not issued by a participant CA, expired, or lacking clientAuth)",
                    highlight=False,
                )
            sys.exit(for_status(code))
        except ProfileError as exc:
            stderr.print(f"[red]error[/red] {exc}", highlight=False)
            sys.exit(ExitCode.USAGE)
        except LocalCertificateError as exc:
            stderr.print(f"[red]error[/red] {exc}", highlight=False)
            sys.exit(ExitCode.NOT_PERMITTED)
        except SigningSetupError as exc:
            stderr.print(f"[red]error[/red] {exc}", highlight=False)
            sys.exit(ExitCode.USAGE)
        except SchemaViolationError as exc:
            stderr.print(f"[red]error[/red] {exc}", highlight=False)
            sys.exit(ExitCode.INVALID_INPUT)


def field_violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    """The google.rpc.BadRequest field violations a refusal carries, if any."""
    status = rpc_status.from_call(error) if isinstance(error, grpc.Call) else None
    found: list[tuple[str, str]] = []
    details: list[Any] = list(status.details) if status is not None else []
    for detail in details:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            found += [(v.field, v.description) for v in bad_request.field_violations]
    return found


@click.group(
    cls=SilklineGroup, epilog=HELP, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "--profile",
    "profile_name",
    envvar="SILKLINE_PROFILE",
    help="Profile to use (default: the current one; env SILKLINE_PROFILE).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.version_option(__version__, prog_name="silkline")
@click.pass_context
def cli(ctx: click.Context, profile_name: str | None, as_json: bool) -> None:
    """silkline: signed intelligence records between agencies, under per-country rules."""
    ctx.obj = {"profile": profile_name, "json": as_json}


cli.add_command(profile)
cli.add_command(whoami)
cli.add_command(pki)
cli.add_command(post)
cli.add_command(show)
cli.add_command(list_records)
cli.add_command(receipt)
cli.add_command(watch)
cli.add_command(feed)
cli.add_command(verify)
cli.add_command(audit)
cli.add_command(policy)
cli.add_command(witness)
cli.add_command(report)


def main() -> None:
    cli(prog_name="silkline")
