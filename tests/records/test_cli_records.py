"""`silkline post`, `show --bundle` and `verify`: an operator's record, checked offline."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from silkline.cli.main import cli
from silkline.formats import disclosure as sd

from ..conftest import EXAMPLE, ServerProcess
from .conftest import SEIZURE_WITH_SUSPECTS, disclosure_of


def run(config_home: Path, *args: str) -> Result:
    """The CLI with its own config folder, as an operator would run it."""
    return CliRunner().invoke(
        cli,
        list(args),
        env={"XDG_CONFIG_HOME": str(config_home), "SILKLINE_PROFILE": None},
        catch_exceptions=False,
    )


def add_ncb_profile(config_home: Path, endpoint: str) -> None:
    result = run(
        config_home,
        "profile",
        "add",
        "in-ncb",
        "--endpoint",
        endpoint,
        "--ca",
        str(EXAMPLE / "hub" / "ca.crt"),
        "--cert",
        str(EXAMPLE / "IN" / "ncb.crt"),
        "--key",
        str(EXAMPLE / "IN" / "ncb.key"),
        "--signing-key",
        str(EXAMPLE / "IN" / "ncb.signing.key"),
        "--signing-cert",
        str(EXAMPLE / "IN" / "ncb.signing.crt"),
        "--use",
    )
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def operator(records_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The config folder of an IN/NCB operator whose profile points at the module's server."""
    home = tmp_path_factory.mktemp("xdg")
    add_ncb_profile(home, records_server.target)
    return home


@pytest.fixture(scope="module")
def posted(operator: Path) -> dict[str, Any]:
    """`silkline post` of the Mundra seizure alert (suspects, coordinates): its receipt."""
    result = run(operator, "post", "seizure-alert", "--file", str(SEIZURE_WITH_SUSPECTS), "--json")
    assert result.exit_code == 0, result.output
    receipt: dict[str, Any] = json.loads(result.stdout)
    return receipt


@pytest.fixture(scope="module")
def bundle_path(
    operator: Path, posted: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "seizure-alert.bundle.json"
    result = run(operator, "show", posted["record_id"], "--bundle", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"bundle written to {out}" in result.output
    return out


def verify(config_home: Path, bundle: Path) -> Result:
    return run(config_home, "verify", str(bundle), "--trust", str(EXAMPLE))


def test_post_prints_the_receipt_of_the_signed_record(posted: dict[str, Any]) -> None:
    assert set(posted) == {
        "record_id",
        "envelope_sha256",
        "log_index",
        "accepted_at",
        "note",
        "disclosures",
    }
    assert posted["disclosures"] == 2
    assert posted["note"].startswith("silkline.example/log\nsilkline-receipt/v1\n")
    assert f"record {posted['record_id']}\n" in posted["note"]


def test_show_reveals_the_fields_the_agency_may_see(operator: Path, posted: dict[str, Any]) -> None:
    result = run(operator, "show", posted["record_id"], "--json")

    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    example = json.loads(SEIZURE_WITH_SUSPECTS.read_text(encoding="utf-8"))
    assert shown["header"]["originator"] == "IN/NCB"
    assert shown["payload"]["body"] == example["body"]


def test_a_posted_record_verifies_offline_and_verify_names_each_check(
    operator: Path, posted: dict[str, Any], bundle_path: Path
) -> None:
    result = verify(operator, bundle_path)

    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    assert lines[0] == f"record {posted['record_id']} from IN/NCB"
    checks = [line.removeprefix("ok").strip() for line in lines if line.startswith("ok ")]
    assert checks[0] == "envelope and payload well-formed"
    assert checks[1].startswith("signer certificate silkline://IN/NCB/ops-desk-1 issued by IN's CA")
    assert checks[2].startswith("DSSE signature by keyid ")
    assert checks[3].startswith("schema, no sensitive field in clear, 2 disclosure(s) match")
    assert checks[4].startswith(
        f"receipt signed by log silkline.example/log: index {posted['log_index']}"
    )
    assert "disclosed: /body/suspects (personal_data)" in lines
    assert "disclosed: /body/location/coordinates (location_precise)" in lines
    assert lines[-1] == "verified"


# ---------------------------------------------------------------- tampered bundles


def _flip_one_character_of_the_payload(bundle: dict[str, Any]) -> None:
    envelope = bundle["envelope"]
    payload = base64.b64decode(envelope["payload"])
    changed = payload.replace(b'"value":2988.21', b'"value":2988.31', 1)
    assert sum(a != b for a, b in zip(payload, changed, strict=True)) == 1
    envelope["payload"] = base64.b64encode(changed).decode()


def _drop_the_receipt(bundle: dict[str, Any]) -> None:
    del bundle["receipt"]


def _alter_a_disclosure(bundle: dict[str, Any]) -> None:
    index, suspects = next(
        (i, sd.parse_disclosure(d))
        for i, d in enumerate(bundle["disclosures"])
        if sd.parse_disclosure(d).name == "suspects"
    )
    bundle["disclosures"][index] = disclosure_of(
        suspects.salt, "suspects", [{"name": "Someone Else"}]
    )


@pytest.mark.parametrize(
    ("tamper", "passed", "failure"),
    [
        pytest.param(
            _flip_one_character_of_the_payload,
            2,
            "FAILED RecordSignatureError: signature: no signature verifies with keyid",
            id="payload-character-flipped",
        ),
        pytest.param(
            _drop_the_receipt,
            4,
            "FAILED receipt: the bundle has no receipt",
            id="receipt-dropped",
        ),
        pytest.param(
            _alter_a_disclosure,
            3,
            "FAILED DisclosureRefusedError: disclosures: 1 disclosure(s) match no digest",
            id="disclosure-altered",
        ),
    ],
)
def test_verify_exits_5_naming_the_first_check_a_tampered_bundle_fails(
    operator: Path,
    bundle_path: Path,
    tmp_path: Path,
    tamper: Callable[[dict[str, Any]], None],
    passed: int,
    failure: str,
) -> None:
    bundle = json.loads(bundle_path.read_text())
    tamper(bundle)
    tampered = tmp_path / "tampered.bundle.json"
    tampered.write_text(json.dumps(bundle, indent=2))

    result = verify(operator, tampered)

    assert result.exit_code == 5, result.output
    assert failure in result.stderr
    assert len([line for line in result.stdout.splitlines() if line.startswith("ok ")]) == passed
    assert "verified" not in result.stdout


# ---------------------------------------------------------------- local schema check


@pytest.fixture
def silent_endpoint() -> Iterator[socket.socket]:
    """A listening socket that accepts nobody, so a test can see whether anyone called."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        yield listener


def _was_contacted(listener: socket.socket) -> bool:
    try:
        connection, _ = listener.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


def test_post_refuses_a_schema_violation_locally_naming_every_pointer(
    tmp_path: Path, silent_endpoint: socket.socket
) -> None:
    home = tmp_path / "xdg"
    host, port = silent_endpoint.getsockname()
    add_ncb_profile(home, f"{host}:{port}")
    record = json.loads(SEIZURE_WITH_SUSPECTS.read_text(encoding="utf-8"))
    body = record["body"]
    del body["seized_at"]
    body["conveyance"]["kind"] = "camel"
    body["items"][0]["quantity"]["unit"] = "lb"
    body["suspects"][1]["nationality"] = "India"
    source = tmp_path / "broken-seizure.json"
    source.write_text(json.dumps(record))

    result = run(home, "post", "seizure-alert", "--file", str(source))

    assert result.exit_code == 5, result.output
    assert "record violates its schema (4 violations)" in result.stderr
    for pointer in (
        "/body/conveyance/kind",
        "/body/items/0/quantity/unit",
        "/body/seized_at",
        "/body/suspects/1/nationality",
    ):
        assert f"{pointer}: " in result.stderr
    assert not _was_contacted(silent_endpoint)
