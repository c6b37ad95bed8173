"""docs/formats.md quotes what docs/formats_example.py prints, and that example verifies."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from silkline.authoring import SigningIdentity, seal_record
from silkline.cli.verify import verify
from silkline.identity import Identity, identity_from_certificate
from silkline.record_checks import check_body, check_signature, check_signer, parse_record
from silkline.records import sensitive_fields
from silkline.trust import ParticipantTrust, TrustStore
from silkline_server.admission import Admission

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "docs" / "formats_example.py"
DOCUMENT = REPO / "docs" / "formats.md"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("formats_example", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def printed() -> dict[str, str]:
    """What `python docs/formats_example.py --json` prints today."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--json"], capture_output=True, text=True, check=True
    )
    values: dict[str, str] = json.loads(result.stdout)
    return values


@pytest.fixture(scope="module")
def example_trust(printed: dict[str, str]) -> TrustStore:
    ca_pem = printed["ca_certificate_pem"].encode()
    return TrustStore({"IN": ParticipantTrust.from_pem("IN", ca_pem, None)})


def as_quoted(name: str, value: str) -> str:
    """How the document writes a value: verbatim, except the PAE prefix, whose last byte is a
    space that editors strip; the document writes it as a JSON string."""
    return json.dumps(value) if name == "pae_prefix" else value


def test_the_script_prints_the_same_values_on_every_run(printed: dict[str, str]) -> None:
    assert load_script().example_values() == printed


def test_every_printed_value_is_quoted_in_the_document(printed: dict[str, str]) -> None:
    document = DOCUMENT.read_text(encoding="utf-8")
    stale = [name for name, value in printed.items() if as_quoted(name, value) not in document]
    assert not stale, (
        f"docs/formats.md no longer quotes {stale} as docs/formats_example.py prints them; "
        "rerun the script and update the document"
    )


def test_the_document_says_how_to_rerun_the_script() -> None:
    assert ".venv/bin/python docs/formats_example.py" in DOCUMENT.read_text(encoding="utf-8")


def test_example_record_verifies_with_silkline(
    printed: dict[str, str], example_trust: TrustStore
) -> None:
    certificate = x509.load_pem_x509_certificate(printed["signer_certificate_pem"].encode())
    record = parse_record(printed["envelope"].encode())
    signer = check_signer(
        record, certificate.public_bytes(serialization.Encoding.DER), example_trust, now=None
    )
    check_signature(record, signer)
    body = check_body(record, [printed["disclosure"]])

    assert signer.keyid == printed["keyid"]
    assert [(d.pointer, d.field_class) for d in body.disclosures] == [
        ("/body/suspects", "personal_data")
    ]
    assert body.revealed["body"]["suspects"] == json.loads(printed["disclosure_json"])[2]


def test_example_record_without_its_disclosure_still_verifies(
    printed: dict[str, str], example_trust: TrustStore
) -> None:
    certificate = x509.load_pem_x509_certificate(printed["signer_certificate_pem"].encode())
    record = parse_record(printed["envelope"].encode())
    signer = check_signer(
        record, certificate.public_bytes(serialization.Encoding.DER), example_trust, now=None
    )
    check_signature(record, signer)
    assert "suspects" not in check_body(record, []).revealed["body"]


def test_example_envelope_is_canonical_and_passes_admission(
    printed: dict[str, str], example_trust: TrustStore
) -> None:
    certificate = x509.load_pem_x509_certificate(printed["signer_certificate_pem"].encode())
    admitted = Admission(example_trust).admit(
        Identity("IN", "NCB", "ops-desk-1"),
        printed["envelope"].encode(),
        [printed["disclosure"]],
        certificate.public_bytes(serialization.Encoding.DER),
        datetime.now(UTC),
    )
    assert admitted.record_id == printed["record_id"]
    assert admitted.envelope_sha256 == printed["envelope_sha256"]


def test_example_bundle_passes_silkline_verify(printed: dict[str, str], tmp_path: Path) -> None:
    trust = tmp_path / "trust"
    (trust / "IN").mkdir(parents=True)
    (trust / "IN" / "ca.crt").write_text(printed["ca_certificate_pem"])
    (trust / "log.vkey").write_text(printed["log_vkey"] + "\n")
    bundle = tmp_path / "bundle.json"
    bundle.write_text(printed["bundle"])

    result = CliRunner().invoke(verify, [str(bundle), "--trust", str(trust)])

    assert result.exit_code == 0, result.output
    assert "disclosed: /body/suspects (personal_data)" in result.output
    assert result.output.rstrip().endswith("verified")


def test_example_values_recompute_without_silkline(printed: dict[str, str]) -> None:
    """Each value from its definition in docs/formats.md, with hashlib, base64 and cryptography."""
    certificate = x509.load_pem_x509_certificate(printed["signer_certificate_pem"].encode())
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert hashlib.sha256(der).hexdigest() == printed["keyid"]

    disclosure = printed["disclosure"]
    assert (
        base64.urlsafe_b64encode(printed["disclosure_json"].encode()).decode().rstrip("=")
        == disclosure
    )
    digest = base64.urlsafe_b64encode(hashlib.sha256(disclosure.encode("ascii")).digest())
    assert digest.decode().rstrip("=") == printed["disclosure_digest"]

    envelope = json.loads(printed["envelope"])
    payload = base64.b64decode(envelope["payload"], validate=True)
    assert payload == printed["payload_json"].encode()
    assert str(len(payload)) == printed["payload_length"]
    payload_type = envelope["payloadType"].encode()
    pae = b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(payload), payload)
    assert pae.startswith(printed["pae_prefix"].encode())
    assert hashlib.sha256(pae).hexdigest() == printed["pae_sha256"]

    signer_key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    raw_public = signer_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert raw_public.hex() == printed["signer_public_key_hex"]
    assert certificate.public_key() == signer_key.public_key()
    signature = base64.b64decode(envelope["signatures"][0]["sig"])
    Ed25519PublicKey.from_public_bytes(raw_public).verify(signature, pae)
    assert hashlib.sha256(printed["envelope"].encode()).hexdigest() == printed["envelope_sha256"]

    # Receipt: signed-note key ID and Ed25519 signature over the text.
    name, hex_key_id, encoded_key = printed["log_vkey"].split("+")
    key = base64.b64decode(encoded_key)
    assert key[0] == 0x01
    key_id = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    assert key_id.hex() == hex_key_id
    text, signature_line = printed["receipt_note"].split("\n\n")
    assert text + "\n" == printed["receipt_text"]
    dash, signer_name, encoded_signature = signature_line.rstrip("\n").split(" ")
    assert (dash, signer_name) == ("\u2014", name)
    signed = base64.b64decode(encoded_signature)
    assert signed[:4] == key_id
    Ed25519PublicKey.from_public_bytes(key[1:]).verify(signed[4:], printed["receipt_text"].encode())


def test_example_is_what_seal_record_builds_apart_from_the_salt(printed: dict[str, str]) -> None:
    """The script conceals by hand (to fix the salt); seal_record must give the same shape."""
    script = load_script()
    certificate = x509.load_pem_x509_certificate(printed["signer_certificate_pem"].encode())
    signer = SigningIdentity(
        Ed25519PrivateKey.from_private_bytes(script.SIGNER_SEED),
        certificate.public_bytes(serialization.Encoding.DER),
        identity_from_certificate(certificate),
    )
    clear: dict[str, Any] = json.loads(printed["payload_json"])
    del clear["_sd_alg"], clear["body"]["_sd"]
    clear["body"]["suspects"] = json.loads(printed["disclosure_json"])[2]

    sealed = seal_record(clear, signer)
    envelope = json.loads(sealed.envelope)
    payload = base64.b64decode(envelope["payload"]).decode()
    (other_digest,) = json.loads(payload)["body"]["_sd"]

    assert payload == printed["payload_json"].replace(printed["disclosure_digest"], other_digest)
    assert envelope["signatures"][0]["keyid"] == printed["keyid"]


def test_sensitive_fields_named_in_the_document_are_the_schemas() -> None:
    assert sensitive_fields("seizure-alert") == {
        "/body/suspects": "personal_data",
        "/body/location/coordinates": "location_precise",
    }
    document = DOCUMENT.read_text(encoding="utf-8")
    assert "`/body/suspects` (`personal_data`)" in document
    assert "`/body/location/coordinates`\n(`location_precise`)" in document


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_example_signature_verifies_with_openssl(printed: dict[str, str], tmp_path: Path) -> None:
    """An implementation other than silkline's, given the same PAE and key, accepts it."""
    envelope = json.loads(printed["envelope"])
    payload = base64.b64decode(envelope["payload"])
    pae = printed["pae_prefix"].encode() + payload
    (tmp_path / "pae.bin").write_bytes(pae)
    (tmp_path / "sig.bin").write_bytes(base64.b64decode(envelope["signatures"][0]["sig"]))
    certificate = x509.load_pem_x509_certificate(printed["signer_certificate_pem"].encode())
    (tmp_path / "signer.pub").write_bytes(
        certificate.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "signer.pub", "-rawin"]
    result = subprocess.run(
        [*command, "-in", "pae.bin", "-sigfile", "sig.bin"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    if "rawin" in result.stderr and result.returncode != 0:
        pytest.skip(f"this openssl cannot verify Ed25519 over raw input: {result.stderr.strip()}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Signature Verified Successfully" in result.stdout
