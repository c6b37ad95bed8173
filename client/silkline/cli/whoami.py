"""`silkline whoami`: the identity the server reads from our certificate."""

from __future__ import annotations

import click

from silkline.cli.output import emit, json_option, key_value_table
from silkline.cli.session import selected_profile
from silkline.connection import open_channel
from silkline.v1 import admin_pb2, admin_pb2_grpc


@click.command()
@json_option
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for the server.")
def whoami(as_json: bool, timeout: float) -> None:
    """Ask the server who it thinks we are (participant, agency, client, roles)."""
    profile = selected_profile()
    with open_channel(profile) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)  # type: ignore[no-untyped-call]
        reply = stub.WhoAmI(admin_pb2.WhoAmIRequest(), timeout=timeout)
    document = {
        "participant": reply.participant,
        "agency": reply.agency,
        "client_name": reply.client_name,
        "roles": list(reply.roles),
        "identity_uri": reply.identity_uri,
        "certificate_sha256": reply.certificate_sha256,
        "certificate_not_after": reply.certificate_not_after.ToDatetime().isoformat() + "Z",
        "endpoint": profile.endpoint,
        "profile": profile.name,
    }
    emit(
        as_json,
        document,
        key_value_table(f"whoami ({profile.name} @ {profile.endpoint})", document),
    )
