"""Processes of a benchmark run: silkline-server replicas on a fresh database."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import tomli_w
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

REPO = Path(__file__).resolve().parents[2]
CERTS = REPO / "certs" / "example"
DEV_CONFIG = REPO / "deploy" / "dev" / "server.toml"
BACKENDS = ("sqlite", "postgresql")
POSTGRES_URL_ENV = "SILKLINE_BENCH_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
STARTUP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Server:
    """A process listening on 127.0.0.1:`port`."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


def server_config(folder: Path) -> Path:
    """deploy/dev/server.toml with every path made absolute, written into `folder`."""
    raw = tomllib.loads(DEV_CONFIG.read_text())
    base = DEV_CONFIG.parent

    def absolute(value: str) -> str:
        return str((base / value).resolve())

    raw["rules"] = absolute(raw["rules"])
    raw["tls"] = {key: absolute(value) for key, value in raw["tls"].items()}
    raw["log"]["private_key"] = absolute(raw["log"]["private_key"])
    for entry in raw["participants"].values():
        entry["ca"] = absolute(entry["ca"])
        entry["crl"] = absolute(entry["crl"])
    path = folder / "server.toml"
    path.write_text(tomli_w.dumps(raw))
    return path


def start(command: list[str], port_file: Path, log: Path) -> Server:
    """Run `command`, which writes its port to `port_file` once it serves."""
    port_file.unlink(missing_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not port_file.exists() or not port_file.read_text().strip():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            tail = log.read_text(errors="replace")[-2000:]
            raise SystemExit(f"{Path(command[0]).name} did not start; {log} ends:\n{tail}")
        time.sleep(0.05)
    return Server(process, int(port_file.read_text()))


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@contextmanager
def running(command: list[str], port_file: Path, log: Path) -> Iterator[Server]:
    server = start(command, port_file, log)
    try:
        yield server
    finally:
        stop(server)


@contextmanager
def silkline_servers(folder: Path, database_url: str, replicas: int = 1) -> Iterator[list[Server]]:
    """`replicas` silkline-server processes on one database, each on its own port.

    They start one after the other: the first migrates the schema, the others
    find it migrated.
    """
    config = server_config(folder)
    with ExitStack() as stack:
        servers = []
        for number in range(replicas):
            port_file = folder / f"port-{number}"
            command = [
                str(Path(sys.executable).parent / "silkline-server"),
                "--config",
                str(config),
                "--listen",
                "127.0.0.1:0",
                "--database",
                database_url,
                "--port-file",
                str(port_file),
                "--log-format",
                "json",
            ]
            servers.append(
                stack.enter_context(running(command, port_file, folder / f"server-{number}.log"))
            )
        yield servers


def credentials(participant: str, agency: str) -> grpc.ChannelCredentials:
    """The mutual-TLS credentials of an agency of the example PKI."""
    folder = CERTS / participant
    return grpc.ssl_channel_credentials(
        root_certificates=(CERTS / "hub" / "ca.crt").read_bytes(),
        private_key=(folder / f"{agency}.key").read_bytes(),
        certificate_chain=(folder / f"{agency}.crt").read_bytes(),
    )


# ------------------------------------------------------------------ databases


def postgres_admin_url() -> URL:
    url = make_url(os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL))
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def _admin_execute(statement: str, attempts: int = 30) -> None:
    """Run one statement as the admin; PostgreSQL may be restarting (another job's fault
    test), so a refused connection is tried again for a while."""
    engine = create_engine(
        postgres_admin_url(), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        for attempt in range(attempts):
            try:
                with engine.connect() as connection:
                    connection.execute(text(statement))
                return
            except OperationalError:
                if attempt == attempts - 1:
                    raise
                time.sleep(1)
    finally:
        engine.dispose()


@contextmanager
def fresh_database(backend: str, folder: Path, name: str = "bench") -> Iterator[str]:
    """The URL of an empty database: a SQLite file in `folder`, or a PostgreSQL database
    created for this run and dropped after it."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'{name}.db'}"
        return
    if backend != "postgresql":
        raise ValueError(f"unknown backend {backend!r}; one of {', '.join(BACKENDS)}")
    database = f"silkline_bench_{secrets.token_hex(6)}"
    _admin_execute(f'CREATE DATABASE "{database}"')
    try:
        yield postgres_admin_url().set(database=database).render_as_string(hide_password=False)
    finally:
        _admin_execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def postgres_version() -> str:
    """The server version of the PostgreSQL at the admin URL, or why it is not known."""
    engine = create_engine(postgres_admin_url(), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one())
    except OperationalError as exc:
        return f"not reachable ({type(exc.orig or exc).__name__})"
    finally:
        engine.dispose()


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(server: Server, idle_share: float = 0.05, timeout_s: float = 300.0) -> float:
    """Wait until the server uses under `idle_share` of a core over a second (its
    start-up work is done); the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        before = cpu_seconds(server.process.pid)
        time.sleep(1.0)
        if cpu_seconds(server.process.pid) - before < idle_share:
            break
    return time.monotonic() - started
