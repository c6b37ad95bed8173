"""silkline-server as a process: health, reflection, WhoAmI, config errors, draining."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from silkline.v1 import (
    admin_pb2,
    admin_pb2_grpc,
)

from .conftest import DEV_CONFIG, ServerProcess, agency_files, channel_for, start_server

SERVICES = ("silkline.v1.RecordsService", "silkline.v1.AuditService", "silkline.v1.AdminService")


def test_health_reports_serving_for_the_server_and_each_service(server: ServerProcess) -> None:
    with channel_for(server.target, *agency_files("KZ", "mvd")) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", *SERVICES):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, service


def test_reflection_lists_the_services(server: ServerProcess) -> None:
    with channel_for(server.target, *agency_files("IN", "ncb")) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        replies = stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
        )
        names = {s.name for reply in replies for s in reply.list_services_response.service}
    assert set(SERVICES) <= names
    assert "grpc.health.v1.Health" in names


@pytest.mark.parametrize(
    ("participant", "agency", "uri", "roles"),
    [
        ("IN", "ncb", "silkline://IN/NCB/ops-desk-1", ["publisher", "reader"]),
        ("TJ", "dca", "silkline://TJ/DCA/ops-desk-1", ["publisher", "reader"]),
        ("UNODC", "audit", "silkline://UNODC/AUDIT/auditor-1", ["auditor"]),
    ],
)
def test_whoami_returns_the_identity_from_the_certificate(
    server: ServerProcess, participant: str, agency: str, uri: str, roles: list[str]
) -> None:
    with channel_for(server.target, *agency_files(participant, agency)) as channel:
        reply = admin_pb2_grpc.AdminServiceStub(channel).WhoAmI(
            admin_pb2.WhoAmIRequest(), timeout=10
        )
    assert reply.identity_uri == uri
    assert (reply.participant, reply.agency.lower()) == (participant, agency)
    assert list(reply.roles) == roles
    assert len(reply.certificate_sha256) == 64
    assert reply.certificate_not_after.seconds > 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_drains_open_streams_and_exits_zero(tmp_path: Path, sig: int) -> None:
    config = tmp_path / "server.toml"
    # Relative paths in the config resolve against its folder: keep it beside the original.
    config = DEV_CONFIG.with_name(f"test-grace-{tmp_path.name}.toml")
    config.write_text(DEV_CONFIG.read_text().replace("grace_period_s = 10", "grace_period_s = 1"))
    try:
        running = start_server(tmp_path, config=config)
    finally:
        config.unlink()
    statuses: list[int] = []
    with channel_for(running.target, *agency_files("KZ", "mvd")) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
        first = next(watch)
        assert first.status == health_pb2.HealthCheckResponse.SERVING

        def read_rest() -> None:
            with contextlib.suppress(grpc.RpcError):
                statuses.extend(update.status for update in watch)

        reader = threading.Thread(target=read_rest)
        reader.start()
        assert running.stop(sig) == 0
        reader.join(timeout=20)
    # Draining tells watchers the server is going away before it stops.
    assert health_pb2.HealthCheckResponse.NOT_SERVING in statuses
    text = running.log_text()
    assert '"draining"' in text and '"stopped"' in text


def run_server(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "silkline_server", *args], capture_output=True, text=True, timeout=60
    )


def test_unknown_config_key_is_refused_with_its_name(tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text(DEV_CONFIG.read_text().replace("grace_period_s = 10", "grace_periods = 10"))
    result = run_server("--config", str(config))
    assert result.returncode == 2
    assert "unknown key(s) ['grace_periods']" in result.stderr


def test_a_port_in_use_stops_start_up_with_a_reason(server: ServerProcess, tmp_path: Path) -> None:
    result = run_server(
        "--config",
        str(DEV_CONFIG),
        "--listen",
        server.target,
        "--database",
        f"sqlite:///{tmp_path / 'other.db'}",
        "--log-format",
        "json",
    )
    assert result.returncode == 1
    assert "cannot listen on" in result.stderr
