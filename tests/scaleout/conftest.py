"""Two silkline-server replicas on one PostgreSQL database, on loopback ports.

Each test gets a fresh database (created through SILKLINE_TEST_POSTGRES_URL
and dropped afterwards, as in tests/store) and two replicas started on it
together. Unreachable PostgreSQL skips these tests with the reason, except
in CI (CI=true), where it fails.

Heartbeats are 30 s apart, longer than any test waits for a delivery: what
reaches a subscriber on the other replica in time was woken by the
database's notification, not picked up by the heartbeat's re-read.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from silkline_server.healthcheck import probe

from ..conftest import EXAMPLE, ServerProcess
from ..realtime.conftest import start, stop
from ..store.conftest import POSTGRES_URL_ENV, _admin_url, _one_line

SETTINGS: dict[str, Any] = {"heartbeat_interval_s": 30, "grace_period_s": 5}

PROBE = {
    "ca": EXAMPLE / "hub" / "ca.crt",
    "cert": EXAMPLE / "IN" / "ncb.crt",
    "key": EXAMPLE / "IN" / "ncb.key",
}


@pytest.fixture
def database_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test's replicas, dropped afterwards.

    As tests/store's, but with a connection per statement: the drop must work
    after a test restarted PostgreSQL under a pooled connection.
    """
    admin_url = _admin_url()
    admin = create_engine(
        admin_url,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": 5},
    )
    name = f"silkline_scaleout_{secrets.token_hex(6)}"
    try:
        connection = admin.connect()
    except SQLAlchemyError as exc:
        reason = (
            f"PostgreSQL not reachable at {admin_url.render_as_string(hide_password=True)}: "
            f"{_one_line(exc)}; set {POSTGRES_URL_ENV}"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Replicas:
    """Two silkline-server processes sharing one PostgreSQL database."""

    a: ServerProcess
    b: ServerProcess
    database_url: str

    def __iter__(self) -> Iterator[ServerProcess]:
        return iter((self.a, self.b))


def start_replicas(folder: Path, database_url: str, count: int = 2) -> list[ServerProcess]:
    """`count` replicas on `database_url`, started at the same time (they migrate together)."""

    def one(number: int) -> ServerProcess:
        return start(folder / f"replica-{number}", "--database", database_url, **SETTINGS)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


@pytest.fixture
def replicas(tmp_path: Path, database_url: str) -> Iterator[Replicas]:
    a, b = start_replicas(tmp_path, database_url)
    try:
        yield Replicas(a, b, database_url)
    finally:
        for replica in (a, b):
            stop(replica)


# ------------------------------------------------------------------ health


def health_status(replica: ServerProcess) -> str | None:
    """SERVING, NOT_SERVING, or None when the replica does not answer."""
    return probe(replica.target, timeout_s=2, **PROBE).status


def wait_for_health(replicas: Sequence[ServerProcess], status: str, *, within_s: float) -> float:
    """Seconds until every replica answers `status` to grpc.health.v1 Check."""
    started = time.monotonic()
    while True:
        seen = [health_status(replica) for replica in replicas]
        if all(s == status for s in seen):
            return time.monotonic() - started
        if time.monotonic() - started > within_s:
            raise AssertionError(f"not all {status} within {within_s} s: {seen}")
        time.sleep(0.1)


# ------------------------------------------------------------------ PostgreSQL


def _pg_ctlcluster(action: str) -> subprocess.CompletedProcess[str]:
    """`pg_ctlcluster --skip-systemctl-redirect VERSION main ACTION` (the machine's notes)."""
    versions = sorted(os.listdir("/etc/postgresql"))
    return subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", action],
        capture_output=True,
        text=True,
        timeout=60,
    )


def postgres_control_unavailable() -> str | None:
    """Why this machine's PostgreSQL cannot be stopped and started from here, or None."""
    if shutil.which("pg_ctlcluster") is None or not os.path.isdir("/etc/postgresql"):
        return "pg_ctlcluster not found (PostgreSQL not installed as a Debian cluster)"
    if os.geteuid() != 0:
        return "stopping PostgreSQL with pg_ctlcluster needs root"
    return None


def wait_until_postgres_accepts(within_s: float = 60.0) -> None:
    url = _admin_url()
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    deadline = time.monotonic() + within_s
    while True:
        try:
            with psycopg.connect(conninfo, connect_timeout=2) as connection:
                connection.execute("SELECT 1")
            return
        except psycopg.Error:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def stop_postgres() -> None:
    result = _pg_ctlcluster("stop")
    assert result.returncode == 0, f"pg_ctlcluster stop failed: {result.stderr}"


def start_postgres() -> None:
    """Start the cluster (a no-op if it runs) and wait until it accepts connections."""
    result = _pg_ctlcluster("start")
    # Exit code 2 means it was already running.
    assert result.returncode in (0, 2), f"pg_ctlcluster start failed: {result.stderr}"
    wait_until_postgres_accepts()
