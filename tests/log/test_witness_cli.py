"""`silkline witness`: cosigns what extends its history, refuses a fork with evidence."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from ..conftest import EXAMPLE, ServerProcess
from .conftest import (
    Cli,
    Witness,
    checkpoint_size,
    make_witness,
    publish,
    start_log_server,
    stop,
    wait_for_checkpoint,
)

TRUST = str(EXAMPLE)


def witness_run(silkline: Cli, profile: str, witness: Witness, state: Path) -> tuple[int, str]:
    result = silkline(
        "--profile", profile, "--json", "witness", "--state", str(state), "--key",
        str(witness.key_path), "--name", witness.name, "--trust", TRUST,
    )  # fmt: skip
    return result.exit_code, result.output


def cosigners(server: ServerProcess) -> list[tuple[int, str]]:
    with closing(sqlite3.connect(server.database_path)) as db:
        return [tuple(row) for row in db.execute("SELECT tree_size, cosigner FROM cosignatures")]


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    return make_witness(tmp_path / "keys", "witness.kz.example")


@pytest.fixture
def hub(tmp_path: Path, witness: Witness) -> Iterator[ServerProcess]:
    running = start_log_server(tmp_path / "hub", [witness])
    yield running
    stop(running)


def test_show_vkey_prints_the_key_the_server_configures(silkline: Cli, witness: Witness) -> None:
    result = silkline(
        "witness", "--key", str(witness.key_path), "--name", witness.name, "--show-vkey"
    )
    assert result.exit_code == 0
    assert result.output.strip() == witness.verifier.vkey


def test_a_witness_cosigns_and_then_cosigns_only_what_extends_it(
    hub: ServerProcess, silkline: Cli, witness: Witness, tmp_path: Path
) -> None:
    # KZ runs the witness with its agency's certificate: no auditor role needed.
    silkline.add_profile("hub", hub, "KZ", "mvd")
    state = tmp_path / "state"

    code, output = witness_run(silkline, "hub", witness, state)
    assert code == 0, output
    first = json.loads(output)
    assert first["previous_tree_size"] is None  # taken on first use

    publish(hub, "IN", "ncb", 3)
    wait_for_checkpoint(hub, first["tree_size"] + 3)
    code, output = witness_run(silkline, "hub", witness, state)
    assert code == 0, output
    second = json.loads(output)
    assert second["previous_tree_size"] == first["tree_size"]
    assert (state / "checkpoint").exists()
    assert cosigners(hub) == [
        (first["tree_size"], witness.name),
        (second["tree_size"], witness.name),
    ]

    # Auditors check the cosignature against the witness's key.
    silkline.add_profile("auditor", hub)
    export = tmp_path / "export"
    exported = silkline("--profile", "auditor", "audit", "export", "--out", str(export),
                        "--trust", TRUST)  # fmt: skip
    assert exported.exit_code == 0, exported.output
    if checkpoint_size((export / "checkpoint").read_bytes()) == second["tree_size"]:
        verified = silkline(
            "audit", "verify", str(export), "--witness-key", str(witness.vkey_path),
            "--min-witnesses", "1",
        )  # fmt: skip
        assert verified.exit_code == 0, verified.output
        assert "cosigned by 1 witness(es): witness.kz.example" in verified.output
    other = make_witness(tmp_path / "keys", "witness.tj.example")
    unmet = silkline(
        "audit", "verify", str(export), "--witness-key", str(witness.vkey_path),
        "--witness-key", str(other.vkey_path), "--min-witnesses", "2",
    )  # fmt: skip
    assert unmet.exit_code == 5
    assert "2 required" in unmet.output


def test_a_witness_shown_a_forked_tree_refuses_to_cosign_and_keeps_evidence(
    hub: ServerProcess, silkline: Cli, witness: Witness, tmp_path: Path
) -> None:
    """The hub's operator shows KZ a second history under the same log key (a split view):
    a second server with the same key and origin, where other records were accepted."""
    silkline.add_profile("hub", hub, "KZ", "mvd")
    silkline.add_profile(
        "split-view", fork := start_log_server(tmp_path / "fork", [witness]), "KZ", "mvd"
    )
    try:
        publish(hub, "IN", "ncb", 2)
        publish(fork, "UZ", "ncdc", 5)
        wait_for_checkpoint(hub, 3)
        wait_for_checkpoint(fork, 6)
        state = tmp_path / "state"
        code, output = witness_run(silkline, "hub", witness, state)
        assert code == 0, output
        cosigned = (state / "checkpoint").read_bytes()

        code, output = witness_run(silkline, "split-view", witness, state)

        assert code == 5
        assert "REFUSED TO COSIGN" in output
        assert "does not extend the tree of 3" in output
        (evidence,) = (state / "evidence").iterdir()
        assert (evidence / "cosigned.checkpoint").read_bytes() == cosigned
        assert checkpoint_size((evidence / "offered.checkpoint").read_bytes()) == 6
        assert "does not extend" in (evidence / "reason.txt").read_text()
        # Nothing was cosigned on the fork, and the witness's history is unchanged.
        assert cosigners(fork) == []
        assert (state / "checkpoint").read_bytes() == cosigned
    finally:
        stop(fork)


def test_a_witness_refuses_a_log_rolled_back_to_fewer_entries(
    hub: ServerProcess, silkline: Cli, witness: Witness, tmp_path: Path
) -> None:
    silkline.add_profile("hub", hub, "KZ", "mvd")
    silkline.add_profile(
        "split-view", fork := start_log_server(tmp_path / "fork", [witness]), "KZ", "mvd"
    )
    try:
        publish(hub, "IN", "ncb", 3)
        wait_for_checkpoint(hub, 4)
        state = tmp_path / "state"
        assert witness_run(silkline, "hub", witness, state)[0] == 0

        code, output = witness_run(silkline, "split-view", witness, state)

        assert code == 5
        assert "rolled back" in output
        assert cosigners(fork) == []
    finally:
        stop(fork)
