"""Every certificate refusal over a real mutual-TLS connection to silkline-server.

Each test shows the status the caller sees, the server's log line naming the
reason, and that nothing was stored.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import ssl
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives import serialization

from silkline import pki
from silkline.v1 import admin_pb2, admin_pb2_grpc

from .conftest import EXAMPLE, ServerProcess, agency_files, channel_for, start_server


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    running = start_server(tmp_path_factory.mktemp("refusals"))
    yield running
    assert running.stop() == 0


def whoami(channel: grpc.Channel) -> admin_pb2.WhoAmIResponse:
    with channel:
        reply: admin_pb2.WhoAmIResponse = admin_pb2_grpc.AdminServiceStub(channel).WhoAmI(
            admin_pb2.WhoAmIRequest(), timeout=10
        )
        return reply


def refused(channel: grpc.Channel) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        whoami(channel)
    error = caught.value
    assert isinstance(error, grpc.Call)
    return error


def stored_rows(server: ServerProcess) -> dict[str, int]:
    with sqlite3.connect(server.database_path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            table: db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            for table in tables
            if table != "alembic_version"
        }


def log_events(server: ServerProcess, event: str, containing: str = "") -> list[dict[str, str]]:
    """The server's `event` log lines once one of them mentions `containing`.

    The server is shared by the module, so earlier tests' lines are there too:
    wait for the line this test caused, not merely for the event name.
    """
    deadline = time.monotonic() + 10
    while True:
        events = [
            parsed
            for line in server.log_text().splitlines()
            if line.startswith("{") and (parsed := json.loads(line)).get("event") == event
        ]
        if any(containing in json.dumps(e) for e in events) or time.monotonic() > deadline:
            return events
        time.sleep(0.05)


# What a server writes as it starts, before any call: the rules version in
# force, that version's entry in the log, and a checkpoint covering it.
STARTUP_ROWS = {"rules_versions": 1, "log_leaves": 1, "checkpoints": 1}


def assert_nothing_stored(server: ServerProcess) -> None:
    rows = stored_rows(server)
    assert rows, "the schema should exist (the server migrated its database)"
    assert {table: count for table, count in rows.items() if count} == STARTUP_ROWS, rows


def test_a_valid_agency_certificate_is_accepted(shared_server: ServerProcess) -> None:
    reply = whoami(channel_for(shared_server.target, *agency_files("UZ", "ncdc")))
    assert (reply.participant, reply.agency, reply.client_name) == ("UZ", "NCDC", "ops-desk-1")


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        ("bad/kz-minted-by-in", "CrossParticipantCertificateError"),
        ("IN/revoked", "RevokedCertificateError"),
    ],
)
def test_certificates_refused_by_the_participant_check(
    shared_server: ServerProcess, relative: str, reason: str
) -> None:
    error = refused(channel_for(shared_server.target, *agency_files(*relative.split("/"))))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "client certificate refused" in (error.details() or "")
    lines = [
        e for e in log_events(shared_server, "client certificate refused") if e["reason"] == reason
    ]
    assert lines, f"no log line with reason {reason}"
    assert "participant" not in lines[-1], "a refused caller must not be bound as an identity"
    assert_nothing_stored(shared_server)


def handshake_refusal(server: ServerProcess, channel: grpc.Channel, reason: str) -> None:
    """TLS refused the connection before any call: UNAVAILABLE, and the server logs why."""
    error = refused(channel)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    reasons = [e["reason"] for e in log_events(server, "tls handshake refused", reason)]
    assert any(reason in r for r in reasons), reasons
    assert_nothing_stored(server)


def test_no_client_certificate_is_refused(shared_server: ServerProcess) -> None:
    handshake_refusal(
        shared_server,
        channel_for(shared_server.target, None, None),
        "PEER_DID_NOT_RETURN_A_CERTIFICATE",
    )


def test_expired_certificate_is_refused(shared_server: ServerProcess) -> None:
    handshake_refusal(
        shared_server,
        channel_for(shared_server.target, *agency_files("IN", "expired")),
        "certificate has expired",
    )


def test_certificate_without_client_auth_is_refused(shared_server: ServerProcess) -> None:
    handshake_refusal(
        shared_server,
        channel_for(shared_server.target, *agency_files("IN", "noclientauth")),
        "unsupported certificate purpose",
    )


def test_servers_own_certificate_as_client_is_refused(shared_server: ServerProcess) -> None:
    handshake_refusal(
        shared_server,
        channel_for(shared_server.target, *agency_files("hub", "server")),
        "unable to get local issuer certificate",
    )


def test_certificate_from_an_unknown_ca_is_refused(
    shared_server: ServerProcess, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    rogue_ca, rogue_key = pki.make_ca("IN", now)
    cert, key = pki.issue_client_certificate(
        rogue_ca,
        rogue_key,
        participant="IN",
        agency="NCB",
        client="rogue",
        roles=("publisher",),
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=30),
    )
    cert_path, key_path = tmp_path / "rogue.crt", tmp_path / "rogue.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    handshake_refusal(
        shared_server,
        channel_for(shared_server.target, cert_path, key_path),
        "unable to get local issuer certificate",
    )


def test_plaintext_connection_to_the_tls_port_is_refused(shared_server: ServerProcess) -> None:
    handshake_refusal(
        shared_server, grpc.insecure_channel(shared_server.target), "WRONG_VERSION_NUMBER"
    )


def tls_client_context(maximum: ssl.TLSVersion) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(EXAMPLE / "hub" / "ca.crt")
    context.load_cert_chain(*agency_files("IN", "ncb"))
    if maximum < ssl.TLSVersion.TLSv1_2:
        # Let this client offer old versions at all, so the refusal is the server's.
        context.set_ciphers("ALL:@SECLEVEL=0")
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.maximum_version = maximum
    context.set_alpn_protocols(["h2"])
    return context


def test_tls_1_3_is_negotiated(shared_server: ServerProcess) -> None:
    context = tls_client_context(ssl.TLSVersion.MAXIMUM_SUPPORTED)
    with (
        socket.create_connection(("127.0.0.1", shared_server.port)) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.version() == "TLSv1.3"


def test_tls_older_than_1_2_is_refused(shared_server: ServerProcess) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context = tls_client_context(ssl.TLSVersion.TLSv1_1)
    with (
        pytest.raises((ssl.SSLError, ConnectionResetError)),
        socket.create_connection(("127.0.0.1", shared_server.port)) as raw,
        context.wrap_socket(raw, server_hostname="localhost"),
    ):
        pass
    events = log_events(shared_server, "tls handshake refused", "UNSUPPORTED_PROTOCOL")
    reasons = [e["reason"] for e in events]
    assert any("UNSUPPORTED_PROTOCOL" in r for r in reasons), reasons
    assert_nothing_stored(shared_server)
