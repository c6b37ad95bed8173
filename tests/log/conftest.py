"""A server whose log is audited over mutual TLS, witnesses, and the `silkline` CLI.

The server is the dev configuration with a witness configured; agencies
publish with silkline.authoring and RecordsService.Publish; the auditor is
UNODC/AUDIT (the auditor role in deploy/rules/network.toml).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from silkline.authoring import SealedRecord, build_payload, seal_record
from silkline.cli.main import cli
from silkline.formats.checkpoint import cosigner_verifier
from silkline.formats.note import NoteVerifier
from silkline.v1 import audit_pb2, audit_pb2_grpc, records_pb2, records_pb2_grpc

from ..conftest import (
    DEV_CONFIG,
    EXAMPLE,
    REPO,
    ServerProcess,
    agency_files,
    channel_for,
    start_server,
)
from ..records.conftest import as_signed_record, seizure_body, signing_identity

LOG_VKEY = EXAMPLE / "hub" / "log.vkey"


@dataclass(frozen=True)
class Witness:
    """A witness's key file, name and cosignature/v1 verifier key."""

    name: str
    key_path: Path
    private_key: Ed25519PrivateKey
    verifier: NoteVerifier
    vkey_path: Path


def make_witness(folder: Path, name: str) -> Witness:
    folder.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    key_path = folder / f"{name}.key"
    key_path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    verifier = cosigner_verifier(name, key.public_key().public_bytes_raw())
    vkey_path = folder / f"{name}.vkey"
    vkey_path.write_text(verifier.vkey + "\n")
    return Witness(name, key_path, key, verifier, vkey_path)


def server_config(folder: Path, witnesses: list[Witness]) -> Path:
    """deploy/dev/server.toml with absolute paths and these witnesses configured."""
    text = DEV_CONFIG.read_text()
    text = text.replace('"../../', f'"{REPO}/').replace('"../rules/', f'"{REPO}/deploy/rules/')
    keys = ", ".join(f'"{w.verifier.vkey}"' for w in witnesses)
    text, replaced = re.subn(r"^keys = \[.*$", f"keys = [{keys}]", text, flags=re.MULTILINE)
    assert replaced == 1, "the dev config's [witnesses] keys line moved"
    path = folder / "server.toml"
    path.write_text(text)
    return path


def start_log_server(folder: Path, witnesses: list[Witness]) -> ServerProcess:
    folder.mkdir(parents=True, exist_ok=True)
    return start_server(folder, config=server_config(folder, witnesses))


def stop(server: ServerProcess) -> None:
    if server.process.poll() is None:
        assert server.stop() == 0


@pytest.fixture(scope="module")
def witness_uz(tmp_path_factory: pytest.TempPathFactory) -> Witness:
    return make_witness(tmp_path_factory.mktemp("witnesses"), "witness.uz.example")


@pytest.fixture(scope="module")
def log_server(
    tmp_path_factory: pytest.TempPathFactory, witness_uz: Witness
) -> Iterator[ServerProcess]:
    running = start_log_server(tmp_path_factory.mktemp("log-server"), [witness_uz])
    yield running
    stop(running)


# ------------------------------------------------------------------ agencies and auditors


def publish(
    server: ServerProcess, participant: str, name: str, count: int = 1
) -> list[tuple[SealedRecord, records_pb2.Receipt]]:
    """`count` seizure alerts by participant/name, addressed to its own country."""
    signer = signing_identity(participant, name)
    published = []
    with channel_for(server.target, *agency_files(participant, name)) as channel:
        stub = records_pb2_grpc.RecordsServiceStub(channel)  # type: ignore[no-untyped-call]
        for _ in range(count):
            payload = build_payload(
                "seizure-alert",
                seizure_body(),
                originator=signer.identity,
                tlp="AMBER",
                recipients=[participant],
            )
            sealed = seal_record(payload, signer)
            reply = stub.Publish(
                records_pb2.PublishRequest(record=as_signed_record(sealed)), timeout=30
            )
            published.append((sealed, reply.receipt))
    return published


class Auditor:
    """An AuditService stub for one agency (UNODC/AUDIT unless told otherwise)."""

    def __init__(self, server: ServerProcess, participant: str = "UNODC", name: str = "audit"):
        self.channel = channel_for(server.target, *agency_files(participant, name))
        self.stub = audit_pb2_grpc.AuditServiceStub(self.channel)  # type: ignore[no-untyped-call]

    def __enter__(self) -> Auditor:
        return self

    def __exit__(self, *_: object) -> None:
        self.channel.close()

    def checkpoint(self) -> bytes:
        reply = self.stub.GetCheckpoint(audit_pb2.GetCheckpointRequest(), timeout=30)
        return bytes(reply.checkpoint)

    def entries(self, start: int = 0, end: int = 0) -> list[audit_pb2.LogEntry]:
        request = audit_pb2.ListEntriesRequest(start_index=start, end_index=end)
        return [e for batch in self.stub.ListEntries(request, timeout=30) for e in batch.entries]


def checkpoint_size(note: bytes) -> int:
    return int(note.decode().split("\n")[1])


def wait_for_checkpoint(server: ServerProcess, size: int, timeout: float = 10.0) -> bytes:
    """The served checkpoint once it covers at least `size` entries."""
    deadline = time.monotonic() + timeout
    with Auditor(server) as auditor:
        while True:
            note = auditor.checkpoint()
            if checkpoint_size(note) >= size or time.monotonic() > deadline:
                assert checkpoint_size(note) >= size, f"no checkpoint of {size} entries in time"
                return note
            time.sleep(0.1)


def leaf_count(database: Path) -> int:
    with closing(sqlite3.connect(database)) as db:
        (count,) = db.execute("SELECT count(*) FROM log_leaves").fetchone()
    return int(count)


# ------------------------------------------------------------------ the CLI


class Cli:
    """`silkline` in-process with its own config home and one profile per server."""

    def __init__(self, home: Path) -> None:
        self.env = {"XDG_CONFIG_HOME": str(home)}

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=self.env, catch_exceptions=False)

    def add_profile(
        self, name: str, server: ServerProcess, participant: str = "UNODC", agency: str = "audit"
    ) -> None:
        cert, key = agency_files(participant, agency)
        result = self(
            "profile",
            "add",
            name,
            "--endpoint",
            server.target,
            "--ca",
            str(EXAMPLE / "hub" / "ca.crt"),
            "--cert",
            str(cert),
            "--key",
            str(key),
        )
        assert result.exit_code == 0, result.output


@pytest.fixture
def silkline(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "xdg")


def rpc_error(call: object) -> grpc.Call:
    """The status of a call that must fail."""
    with pytest.raises(grpc.RpcError) as caught:
        call()  # type: ignore[operator]
    assert isinstance(caught.value, grpc.Call)
    return caught.value
