"""Shared fixtures: the checked-in example PKI and a real server in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "certs" / "example"
DEV_CONFIG = REPO / "deploy" / "dev" / "server.toml"


@dataclass
class ServerProcess:
    """A silkline-server started for one test, on a free loopback port."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    database_path: Path

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, needle: str, timeout: float = 5.0) -> str:
        """The server log once it contains `needle` (log lines are flushed asynchronously)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_text()
            if needle in text:
                return text
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} not in server log:\n{self.log_text()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def start_server(tmp_path: Path, *extra: str, config: Path = DEV_CONFIG) -> ServerProcess:
    port_file = tmp_path / "port"
    log_path = tmp_path / "server.log"
    database_path = tmp_path / "silkline.db"
    env = {k: v for k, v in os.environ.items() if k != "GRPC_VERBOSITY"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "silkline_server",
                "--config",
                str(config),
                "--listen",
                "127.0.0.1:0",
                "--database",
                f"sqlite:///{database_path}",
                "--port-file",
                str(port_file),
                "--log-format",
                "json",
                *extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"server did not start:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.05)
    return ServerProcess(process, int(port_file.read_text()), log_path, database_path)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    running = start_server(tmp_path)
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def channel_for(
    target: str,
    cert: Path | None,
    key: Path | None,
    ca: Path = EXAMPLE / "hub" / "ca.crt",
) -> grpc.Channel:
    """A mutual-TLS channel presenting `cert` (or no client certificate at all)."""
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca.read_bytes(),
        private_key=key.read_bytes() if key else None,
        certificate_chain=cert.read_bytes() if cert else None,
    )
    return grpc.secure_channel(target, credentials)


def agency_files(participant: str, name: str) -> tuple[Path, Path]:
    """certs/example/<P>/<name>.crt and .key."""
    folder = EXAMPLE / participant
    return folder / f"{name}.crt", folder / f"{name}.key"
