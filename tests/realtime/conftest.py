"""Servers tuned for real-time tests, agencies that stream, and a look into the store."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
import tomli_w

from silkline.authoring import SealedRecord, build_payload, seal_record
from silkline.feeds.sample import sample_seizures
from silkline.v1 import records_pb2, records_pb2_grpc

from ..conftest import DEV_CONFIG, EXAMPLE, ServerProcess, start_server
from ..records.conftest import as_signed_record, signing_identity

BIN = Path(sys.executable).parent
# Short enough for tests to see them; the bounds of a slow consumer come per test.
TEST_SETTINGS: dict[str, Any] = {"heartbeat_interval_s": 0.5, "grace_period_s": 10}


def server_config(folder: Path, **settings: Any) -> Path:
    """deploy/dev/server.toml with absolute paths and `settings` changed, written in `folder`."""
    raw = tomllib.loads(DEV_CONFIG.read_text())
    base = DEV_CONFIG.parent

    def absolute(value: str) -> str:
        return str((base / value).resolve())

    raw["rules"] = absolute(raw["rules"])
    raw["tls"] = {key: absolute(value) for key, value in raw["tls"].items()}
    raw["log"]["private_key"] = absolute(raw["log"]["private_key"])
    for entry in raw["participants"].values():
        for key in ("ca", "crl"):
            entry[key] = absolute(entry[key])
    raw.update(TEST_SETTINGS)
    raw.update(settings)
    path = folder / "server.toml"
    path.write_text(tomli_w.dumps(raw))
    return path


def start(folder: Path, *extra: str, **settings: Any) -> ServerProcess:
    folder.mkdir(parents=True, exist_ok=True)
    return start_server(folder, *extra, config=server_config(folder, **settings))


def restart(previous: ServerProcess, folder: Path, **settings: Any) -> ServerProcess:
    """A new server on the same port and the same SQLite file."""
    (folder / "port").unlink(missing_ok=True)
    running = start_server(
        folder,
        "--listen",
        previous.target,
        config=server_config(folder, **settings),
    )
    assert running.database_path == previous.database_path
    return running


def stop(running: ServerProcess) -> None:
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


@pytest.fixture(scope="module")
def stream_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    running = start(tmp_path_factory.mktemp("realtime"))
    yield running
    stop(running)


# ------------------------------------------------------------------ channels


def aio_channel(
    target: str, participant: str, name: str, *options: tuple[str, Any]
) -> grpc.aio.Channel:
    folder = EXAMPLE / participant
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(EXAMPLE / "hub" / "ca.crt").read_bytes(),
        private_key=(folder / f"{name}.key").read_bytes(),
        certificate_chain=(folder / f"{name}.crt").read_bytes(),
    )
    return grpc.aio.secure_channel(target, credentials, options=list(options))


def stub(channel: grpc.aio.Channel) -> records_pb2_grpc.RecordsServiceStub:
    return records_pb2_grpc.RecordsServiceStub(channel)  # type: ignore[no-untyped-call]


# ------------------------------------------------------------------ records


def sample_records(
    count: int,
    *,
    seed: int,
    participant: str = "IN",
    agency: str = "ncb",
    tlp: str = "AMBER",
    recipients: Sequence[str] = ("KZ",),
) -> list[SealedRecord]:
    """Sample seizures signed by an agency of the example PKI, each with a fresh id."""
    signer = signing_identity(participant, agency)
    return [
        seal_record(
            build_payload(
                "seizure-alert",
                body,
                originator=signer.identity,
                tlp=tlp,
                recipients=list(recipients),
            ),
            signer,
        )
        for body in sample_seizures(count, seed, until=datetime.now(UTC))
    ]


async def publish_stream(
    records_stub: records_pb2_grpc.RecordsServiceStub,
    records: Iterable[records_pb2.SignedRecord | SealedRecord],
    *,
    first_sequence: int = 0,
) -> dict[int, records_pb2.PublishStreamResponse]:
    """Stream every record at once; the answers by sequence number."""

    async def requests() -> AsyncIterator[records_pb2.PublishStreamRequest]:
        for offset, record in enumerate(records):
            signed = as_signed_record(record) if isinstance(record, SealedRecord) else record
            yield records_pb2.PublishStreamRequest(sequence=first_sequence + offset, record=signed)

    answers: dict[int, records_pb2.PublishStreamResponse] = {}
    call: Any = records_stub.PublishStream(requests())
    async for response in call:
        assert response.sequence not in answers, "each item is answered once"
        answers[response.sequence] = response
    return answers


@dataclass
class Delivery:
    record_id: str
    log_index: int
    next_cursor: int
    received_at: float


async def collect(
    records_stub: records_pb2_grpc.RecordsServiceStub,
    *,
    count: int,
    cursor: int = 0,
    record_filter: records_pb2.RecordFilter | None = None,
    within_s: float = 30.0,
) -> list[Delivery]:
    """The first `count` records a subscription from `cursor` delivers."""
    got: list[Delivery] = []
    call: Any = records_stub.Subscribe(
        records_pb2.SubscribeRequest(filter=record_filter, cursor=cursor)
    )
    try:
        async with asyncio.timeout(within_s):
            async for response in call:
                if response.HasField("record"):
                    got.append(delivery(response))
                    if len(got) == count:
                        break
    finally:
        call.cancel()
    return got


def delivery(response: records_pb2.SubscribeResponse) -> Delivery:
    header = response.record.header
    return Delivery(header.record_id, header.log_index, response.next_cursor, time.monotonic())


def assert_each_once_in_order(deliveries: Sequence[Delivery], expected_ids: Iterable[str]) -> None:
    indices = [d.log_index for d in deliveries]
    assert indices == sorted(indices), "delivered in log order"
    ids = [d.record_id for d in deliveries]
    assert len(ids) == len(set(ids)), "no record delivered twice"
    assert set(ids) == set(expected_ids), "every visible record delivered"


# ------------------------------------------------------------------ the store


def query(database: Path, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(database)) as connection:
        return list(connection.execute(sql, parameters).fetchall())


def stored_ids(database: Path) -> list[str]:
    return [row[0] for row in query(database, "SELECT record_id FROM records")]


# ------------------------------------------------------------------ the CLI


@dataclass
class Cli:
    """The `silkline` command with profiles in a folder of the test's own."""

    home: Path

    @property
    def env(self) -> dict[str, str]:
        return dict(
            os.environ,
            XDG_CONFIG_HOME=str(self.home / "config"),
            XDG_STATE_HOME=str(self.home / "state"),
            NO_COLOR="1",
        )

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "silkline"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def popen(self, *args: str, stdout: Any = subprocess.PIPE) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(BIN / "silkline"), *args],
            env=self.env,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
        )

    def add_profile(self, name: str, target: str, participant: str, agency: str) -> None:
        folder = EXAMPLE / participant
        result = self(
            "profile",
            "add",
            name,
            "--endpoint",
            target,
            "--ca",
            str(EXAMPLE / "hub" / "ca.crt"),
            "--cert",
            str(folder / f"{agency}.crt"),
            "--key",
            str(folder / f"{agency}.key"),
            "--signing-key",
            str(folder / f"{agency}.signing.key"),
            "--signing-cert",
            str(folder / f"{agency}.signing.crt"),
        )
        assert result.returncode == 0, result.stderr


CliFor = Callable[[ServerProcess], Cli]


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
