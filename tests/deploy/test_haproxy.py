"""deploy/haproxy/haproxy.cfg, run by Debian's HAProxy 2.6 in front of two real replicas.

The configuration is used as written; only what the compose file provides is
swapped for this machine: the replicas' addresses (two silkline-server
processes on loopback ports), the listening ports, and the mounted secret
paths (the example PKI). The checks: `haproxy -c` accepts it; its gRPC health
check over mutual TLS marks both replicas UP, and marks DOWN a replica whose
certificate does not carry the expected name and a probe certificate the
server refuses; TLS passes through to the replica untouched, the caller's
identity included; a replica that stops is taken out and calls go to the other.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from silkline.v1 import admin_pb2, admin_pb2_grpc
from silkline_server.healthcheck import probe
from tests.conftest import EXAMPLE, ServerProcess, channel_for, start_server
from tests.deploy.tooling import DEPLOY, require_tool

HAPROXY_CFG = DEPLOY / "haproxy" / "haproxy.cfg"
HUB_CA = EXAMPLE / "hub" / "ca.crt"
INSTALL = "apt-get install haproxy"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pem(folder: Path, name: str) -> Path:
    """Certificate and key in one PEM file, as HAProxy's `crt` wants them."""
    bundle = folder / f"{name.replace('/', '-')}.pem"
    bundle.write_bytes(
        (EXAMPLE / f"{name}.crt").read_bytes() + (EXAMPLE / f"{name}.key").read_bytes()
    )
    return bundle


def render(
    folder: Path, servers: list[str], *, frontend_port: int, metrics_port: int
) -> tuple[Path, Path]:
    """The deploy configuration with this machine's addresses and files; (config, admin socket)."""
    text = HAPROXY_CFG.read_text()
    admin_socket = folder / "admin.sock"
    replacements = {
        "\nglobal\n": f"\nglobal\n    stats socket {admin_socket} mode 600 level admin\n",
        "    bind :7443\n": f"    bind 127.0.0.1:{frontend_port}\n",
        "    bind :8404\n": f"    bind 127.0.0.1:{metrics_port}\n",
        "/run/secrets/hub-ca.crt": str(HUB_CA),
        "/run/secrets/haproxy-probe.pem": str(_pem(folder, "IN/ncb")),
        "    server silkline-1 silkline-1:7443\n    server silkline-2 silkline-2:7443\n": "".join(
            f"    {line}\n" for line in servers
        ),
    }
    for original, replacement in replacements.items():
        assert text.count(original) == 1, f"haproxy.cfg changed: {original!r} is not there once"
        text = text.replace(original, replacement)
    config = folder / "haproxy.cfg"
    config.write_text(text)
    return config, admin_socket


def haproxy_env(server_name: str = "localhost") -> dict[str, str]:
    # compose.yaml sets SILKLINE_SERVER_NAME; the example server certificate names localhost.
    return {**os.environ, "SILKLINE_SERVER_NAME": server_name}


def test_configuration_is_accepted_by_haproxy(tmp_path: Path) -> None:
    haproxy = require_tool("haproxy", install=INSTALL)
    config, _ = render(
        tmp_path,
        ["server silkline-1 silkline-1:7443", "server silkline-2 silkline-2:7443"],
        frontend_port=7443,
        metrics_port=8404,
    )
    result = subprocess.run(
        [haproxy, "-c", "-f", str(config)],
        capture_output=True,
        text=True,
        env=haproxy_env(),
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration file is valid" in result.stdout


def test_configuration_without_the_server_name_is_refused(tmp_path: Path) -> None:
    """verifyhost needs SILKLINE_SERVER_NAME: unset, HAProxy will not start."""
    haproxy = require_tool("haproxy", install=INSTALL)
    config, _ = render(
        tmp_path,
        ["server silkline-1 silkline-1:7443", "server silkline-2 silkline-2:7443"],
        frontend_port=7443,
        metrics_port=8404,
    )
    env = {k: v for k, v in os.environ.items() if k != "SILKLINE_SERVER_NAME"}
    result = subprocess.run(
        [haproxy, "-c", "-f", str(config)], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode != 0


@dataclass
class Balancer:
    process: subprocess.Popen[bytes]
    admin_socket: Path
    frontend: str
    log_path: Path

    def servers(self) -> dict[str, dict[str, str]]:
        """`show stat` of the replicas' backend: server name -> its row."""
        with socket.socket(socket.AF_UNIX) as admin:
            admin.connect(str(self.admin_socket))
            admin.sendall(b"show stat\n")
            raw = b""
            while chunk := admin.recv(65536):
                raw += chunk
        rows = csv.DictReader(io.StringIO(raw.decode().lstrip("# ")))
        return {
            row["svname"]: row
            for row in rows
            if row["pxname"] == "silkline_replicas" and row["svname"] != "BACKEND"
        }

    def wait_for(self, predicate: Callable[[dict[str, dict[str, str]]], bool], what: str) -> None:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"haproxy exited:\n{self.log_path.read_text()}")
            if self.admin_socket.exists() and predicate(self.servers()):
                return
            time.sleep(0.25)
        states = {
            name: (row["status"], row["check_status"]) for name, row in self.servers().items()
        }
        raise AssertionError(f"not {what} after 45 s: {states}\n{self.log_path.read_text()}")


@contextmanager
def running_replicas(folder: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two silkline-server processes (example PKI, each its own SQLite file)."""
    started: list[ServerProcess] = []
    try:
        for name in ("replica-1", "replica-2"):
            (folder / name).mkdir()
            started.append(start_server(folder / name))
        yield started[0], started[1]
    finally:
        for server in started:
            if server.process.poll() is None:
                server.process.kill()
                server.process.wait()


@contextmanager
def running_balancer(folder: Path, servers: list[str]) -> Iterator[Balancer]:
    """HAProxy in the foreground with the rendered configuration, stopped afterwards."""
    haproxy = require_tool("haproxy", install=INSTALL)
    frontend_port = _free_port()
    config, admin_socket = render(
        folder, servers, frontend_port=frontend_port, metrics_port=_free_port()
    )
    log_path = folder / "haproxy.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [haproxy, "-db", "-f", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=haproxy_env(),
        )
    try:
        yield Balancer(process, admin_socket, f"127.0.0.1:{frontend_port}", log_path)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _up(row: dict[str, str]) -> bool:
    return row["status"] == "UP" and row["check_status"] == "L7OK"


def _both_replicas_up(servers: dict[str, dict[str, str]]) -> bool:
    return _up(servers["silkline-1"]) and _up(servers["silkline-2"])


@dataclass
class Deployment:
    replicas: tuple[ServerProcess, ServerProcess]
    balancer: Balancer


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Two replicas behind HAProxy, plus two entries whose health checks must fail.

    Shared by the tests that only look: the revoked probe takes two check
    timeouts (2 x 5 s) to be marked DOWN, which is paid once.
    """
    require_tool("haproxy", install=INSTALL)
    folder = tmp_path_factory.mktemp("haproxy")
    with running_replicas(folder) as (one, two):
        servers = [
            f"server silkline-1 127.0.0.1:{one.port}",
            f"server silkline-2 127.0.0.1:{two.port}",
            # The same replica, checked against a name its certificate does not carry.
            f"server wrong-name 127.0.0.1:{one.port} "
            "check-sni wrong.invalid verifyhost wrong.invalid",
            # The same replica, probed with a certificate that IN's CRL revokes.
            f"server revoked-probe 127.0.0.1:{one.port} crt {_pem(folder, 'IN/revoked')}",
        ]
        with running_balancer(folder, servers) as balancer:
            balancer.wait_for(_both_replicas_up, "both replicas UP (L7OK)")
            balancer.wait_for(
                lambda s: (
                    s["wrong-name"]["status"] == "DOWN" and s["revoked-probe"]["status"] == "DOWN"
                ),
                "the wrong-name and revoked-probe entries DOWN",
            )
            yield Deployment((one, two), balancer)


def test_health_check_speaks_grpc_health_over_mutual_tls(checked: Deployment) -> None:
    servers = checked.balancer.servers()
    assert _both_replicas_up(servers), servers
    # The server certificate is checked against the name: the handshake fails (layer 6).
    assert servers["wrong-name"]["check_status"].startswith("L6"), servers["wrong-name"]
    # TLS succeeds, the server refuses the probe's certificate, no SERVING answer (layer 7).
    assert servers["revoked-probe"]["check_status"].startswith("L7"), servers["revoked-probe"]
    assert "revoked-1" in checked.replicas[0].wait_for_log("client certificate refused")


def _agency(participant: str, name: str) -> tuple[Path, Path]:
    return EXAMPLE / participant / f"{name}.crt", EXAMPLE / participant / f"{name}.key"


def test_tls_passes_through_to_the_replicas(checked: Deployment) -> None:
    # The certificate presented through the balancer is the replica's own.
    context = ssl.create_default_context(cafile=str(HUB_CA))
    context.load_cert_chain(*_agency("KZ", "mvd"))
    host, port = checked.balancer.frontend.split(":")
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        presented = tls.getpeercert(binary_form=True)
    assert presented == ssl.PEM_cert_to_DER_cert((EXAMPLE / "hub" / "server.crt").read_text())


def test_the_replica_reads_the_callers_identity_through_the_balancer(
    checked: Deployment,
) -> None:
    # Several calls on one HTTP/2 connection: the tunnel is transparent to gRPC.
    with channel_for(checked.balancer.frontend, *_agency("UZ", "ncdc")) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        for _ in range(10):
            reply = stub.WhoAmI(admin_pb2.WhoAmIRequest(), timeout=10)
            assert (reply.participant, reply.agency) == ("UZ", "NCDC")


def test_a_stopped_replica_is_taken_out_and_calls_go_to_the_other(tmp_path: Path) -> None:
    require_tool("haproxy", install=INSTALL)
    with running_replicas(tmp_path) as (one, two):
        servers = [
            f"server silkline-1 127.0.0.1:{one.port}",
            f"server silkline-2 127.0.0.1:{two.port}",
        ]
        with running_balancer(tmp_path, servers) as balancer:
            balancer.wait_for(_both_replicas_up, "both replicas UP (L7OK)")
            assert one.stop(signal.SIGTERM) == 0
            balancer.wait_for(lambda s: s["silkline-1"]["status"] == "DOWN", "silkline-1 DOWN")
            for _ in range(4):
                result = probe(
                    balancer.frontend,
                    ca=HUB_CA,
                    cert=EXAMPLE / "IN" / "ncb.crt",
                    key=EXAMPLE / "IN" / "ncb.key",
                    server_name="localhost",
                )
                assert result.serving, result.reason
