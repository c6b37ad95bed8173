"""`python -m silkline_server.healthcheck`: the probe the image, compose and Kubernetes run.

It must answer 0 only for SERVING, over mutual TLS, with the server
certificate checked; 1 for everything else, usage errors included (Docker
reserves 2); and with --liveness accept NOT_SERVING.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from silkline_server.healthcheck import main, probe
from tests.conftest import EXAMPLE, ServerProcess, start_server

HUB_CA = EXAMPLE / "hub" / "ca.crt"
PROBE_CERT = EXAMPLE / "IN" / "ncb.crt"
PROBE_KEY = EXAMPLE / "IN" / "ncb.key"


@pytest.fixture(scope="module")
def silkline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real silkline-server (example PKI, SQLite) for the whole module."""
    running = start_server(tmp_path_factory.mktemp("server"))
    yield running
    running.stop()


def _args(target: str, *extra: str, cert: Path = PROBE_CERT, key: Path = PROBE_KEY) -> list[str]:
    return ["--target", target, "--ca", str(HUB_CA), "--cert", str(cert), "--key", str(key), *extra]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serving_server_exits_0_as_a_module(silkline: ServerProcess) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "silkline_server.healthcheck", *_args(silkline.target)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{silkline.target} server: SERVING"


def test_environment_alone_configures_the_probe_as_the_image_does(
    silkline: ServerProcess,
) -> None:
    # The Containerfile sets these variables; its HEALTHCHECK passes no option.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SILKLINE_HEALTHCHECK_")}
    env |= {
        "SILKLINE_HEALTHCHECK_TARGET": silkline.target,
        "SILKLINE_HEALTHCHECK_CA": str(HUB_CA),
        "SILKLINE_HEALTHCHECK_CERT": str(PROBE_CERT),
        "SILKLINE_HEALTHCHECK_KEY": str(PROBE_KEY),
        "SILKLINE_HEALTHCHECK_SERVER_NAME": "localhost",
    }
    result = subprocess.run(
        [sys.executable, "-m", "silkline_server.healthcheck"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "SERVING" in result.stdout


def test_server_certificate_is_checked_against_the_server_name(
    silkline: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    # The example server certificate names localhost and 127.0.0.1, not this name.
    assert main(_args(silkline.target, "--server-name", "localhost")) == 0
    assert main(_args(silkline.target, "--server-name", "silkline.invalid")) == 1
    err = capsys.readouterr().err
    assert "UNAVAILABLE" in err
    assert "SERVING" not in err


def test_probe_certificate_refused_by_the_server_is_unhealthy(
    silkline: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    revoked = EXAMPLE / "IN" / "revoked"
    status = main(
        _args(silkline.target, cert=revoked.with_suffix(".crt"), key=revoked.with_suffix(".key"))
    )
    assert status == 1
    err = capsys.readouterr().err
    assert "UNAUTHENTICATED" in err
    assert "revoked" in err


def test_certificate_minted_by_the_wrong_participant_is_unhealthy(
    silkline: ServerProcess,
) -> None:
    # Claims KZ, issued by IN's CA: the server refuses it like any caller's.
    bad = EXAMPLE / "bad" / "kz-minted-by-in"
    result = probe(
        silkline.target, ca=HUB_CA, cert=bad.with_suffix(".crt"), key=bad.with_suffix(".key")
    )
    assert not result.serving
    assert not result.answered
    assert "UNAUTHENTICATED" in result.reason


def test_each_service_can_be_asked_about(
    silkline: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_args(silkline.target, "--service", "silkline.v1.RecordsService")) == 0
    assert main(_args(silkline.target, "--service", "silkline.v1.NoSuchService")) == 1
    assert "does not know the service 'silkline.v1.NoSuchService'" in capsys.readouterr().err


@pytest.fixture
def not_serving_target() -> Iterator[str]:
    """A mutual-TLS gRPC server whose health answers NOT_SERVING (a replica without its store)."""
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    credentials = grpc.ssl_server_credentials(
        [
            (
                (EXAMPLE / "hub" / "server.key").read_bytes(),
                (EXAMPLE / "hub" / "server.crt").read_bytes(),
            )
        ],
        root_certificates=(EXAMPLE / "IN" / "ca.crt").read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(None)


def test_not_serving_fails_readiness_but_passes_liveness(
    not_serving_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_args(not_serving_target)) == 1
    assert f"{not_serving_target} server: NOT_SERVING" in capsys.readouterr().err
    assert main(_args(not_serving_target, "--liveness")) == 0
    assert "NOT_SERVING" in capsys.readouterr().out


def test_liveness_still_needs_an_answer(capsys: pytest.CaptureFixture[str]) -> None:
    target = f"127.0.0.1:{_free_port()}"
    started = time.monotonic()
    assert main(_args(target, "--liveness", "--timeout", "3")) == 1
    assert time.monotonic() - started < 10
    assert "UNAVAILABLE" in capsys.readouterr().err


def test_unreadable_key_is_unhealthy_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing_key = tmp_path / "probe.key"
    assert main(_args("127.0.0.1:7443", key=missing_key)) == 1
    assert f"cannot read --key {missing_key}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--no-such-option"],
        ["--target", "127.0.0.1:7443"],  # --ca, --cert and --key missing
        ["--ca", "x", "--cert", "y", "--key", "z", "--timeout", "0"],
    ],
    ids=["unknown-option", "missing-files", "zero-timeout"],
)
def test_usage_errors_exit_1_because_docker_reserves_2(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("SILKLINE_HEALTHCHECK_"):
            monkeypatch.delenv(name)
    assert main(argv) == 1


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "SILKLINE_HEALTHCHECK_TARGET" in capsys.readouterr().out
