"""C2SP checkpoints, cosignature/v1 and a tlog-proof against the derived fixture.

The derived fixture (shared/testvectors/c2sp-signed-note/derived-checkpoint-cosig-
tlogproof.json) is a convenience: published test keys of transparency-dev/formats
over the RFC 6962 8-leaf test tree. Its verifier keys match the upstream
published ones; its signatures were made by one implementation only, so each is
also checked here by re-deriving it (Ed25519 is deterministic) and by Merkle
hashing the tree.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from silkline.formats.checkpoint import (
    Checkpoint,
    CheckpointError,
    CosignerMismatchError,
    InvalidCosignatureError,
    MalformedCheckpointError,
    MalformedCosignatureError,
    cosign,
    cosignature_message,
    cosigner_verifier,
    encode_checkpoint,
    open_checkpoint,
    parse_checkpoint,
    verify_cosignature,
)
from silkline.formats.merkle import (
    EMPTY_ROOT,
    InclusionProofError,
    leaf_hash,
    root_from_leaves,
    verify_inclusion,
)
from silkline.formats.note import (
    SIGNATURE_TYPE_COSIGNATURE_V1,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    open_note,
    parse_signature_line,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
)

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "testvectors"
NOTE_VECTORS = VECTORS / "c2sp-signed-note"


def _load(name: str) -> dict[str, Any]:
    path = NOTE_VECTORS / name
    if not path.exists():
        message = (
            f"public test vectors not found at {path}: the shared/testvectors checkout "
            "must sit next to the repository"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def fixture() -> dict[str, Any]:
    return _load("derived-checkpoint-cosig-tlogproof.json")


@pytest.fixture(scope="module")
def upstream() -> dict[str, dict[str, Any]]:
    return {vector["id"]: vector for vector in _load("vectors.json")["vectors"]}


def _signature_lines(signed_note: str) -> list[str]:
    return [line + "\n" for line in signed_note.split("\n\n")[-1].splitlines()]


# --- checkpoint body --------------------------------------------------------------


def test_fixture_checkpoint_is_the_rfc6962_test_tree(fixture: dict[str, Any]) -> None:
    checkpoint = parse_checkpoint(fixture["checkpoint_body"])
    leaves = [leaf_hash(bytes.fromhex(data)) for data in fixture["tree_leaves_hex"]]
    assert checkpoint == Checkpoint("Log", 8, root_from_leaves(leaves))
    assert checkpoint.root_hash.hex() == fixture["root_hash_hex"]
    assert encode_checkpoint(checkpoint) == fixture["checkpoint_body"]


def test_upstream_checkpoint_example_parses(upstream: dict[str, dict[str, Any]]) -> None:
    note = upstream["c2sp-checkpoint-cosig-example-structure-only"]["note"]
    body = note.split("\n\n")[0] + "\n"
    checkpoint = parse_checkpoint(body)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert encode_checkpoint(checkpoint) == body


def test_checkpoint_with_extension_lines_round_trips() -> None:
    checkpoint = Checkpoint("silkline.example/log", 0, EMPTY_ROOT, ("ext one", "ext two"))
    text = encode_checkpoint(checkpoint)
    assert text.endswith("\next one\next two\n")
    assert parse_checkpoint(text) == checkpoint


ROOT = base64.b64encode(bytes(range(32))).decode()


@pytest.mark.parametrize(
    "text",
    [
        f"log\n8\n{ROOT}",  # no final newline
        "log\n8\n",  # no root hash line
        f"\n8\n{ROOT}\n",  # empty origin
        f"log\n08\n{ROOT}\n",  # leading zero
        f"log\n+8\n{ROOT}\n",
        f"log\n 8\n{ROOT}\n",
        f"log\n-1\n{ROOT}\n",
        f"log\n1_000\n{ROOT}\n",
        f"log\n\u0668\n{ROOT}\n",  # ARABIC-INDIC DIGIT EIGHT, which int() accepts
        f"log\n{2**64}\n{ROOT}\n",
        f"log\n8\n{base64.b64encode(bytes(31)).decode()}\n",  # 31-byte hash
        f"log\n8\n{ROOT.rstrip('=')}\n",  # missing padding
        "log\n8\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n",  # non-canonical base64
        f"log\n8\n{ROOT}\n\n",  # empty extension line
        f"log\n8\n{ROOT}\nbad\textension\n",  # control character
        f"lo\rg\n8\n{ROOT}\n",
    ],
)
def test_malformed_checkpoint_text_is_refused(text: str) -> None:
    with pytest.raises(MalformedCheckpointError):
        parse_checkpoint(text)


def test_checkpoint_constructor_refuses_what_cannot_be_encoded() -> None:
    with pytest.raises(MalformedCheckpointError):
        Checkpoint("two\nlines", 1, EMPTY_ROOT)
    with pytest.raises(MalformedCheckpointError):
        Checkpoint("log", -1, EMPTY_ROOT)
    with pytest.raises(MalformedCheckpointError):
        Checkpoint("log", 1, EMPTY_ROOT[:31])
    with pytest.raises(MalformedCheckpointError):
        Checkpoint("log", 1, EMPTY_ROOT, ("",))


# --- log signature ----------------------------------------------------------------


def test_fixture_log_signature_verifies_and_is_reproduced(fixture: dict[str, Any]) -> None:
    log = parse_verifier_key(fixture["log_vkey"])
    signer = parse_signer_key(fixture["log_skey"])
    assert signer.verifier == log
    opened = open_note(fixture["signed_checkpoint"].encode(), [log])
    assert opened.text == fixture["checkpoint_body"]
    log_line = _signature_lines(fixture["signed_checkpoint"])[0]
    assert sign_note(fixture["checkpoint_body"], [signer]).decode().endswith("\n" + log_line)


# --- cosignature/v1 ---------------------------------------------------------------


def test_fixture_witness_keys_differ_only_in_type_and_key_id(fixture: dict[str, Any]) -> None:
    note_key = parse_verifier_key(fixture["witness_vkey_sigtype1"])
    cosigner = parse_verifier_key(fixture["witness_cosig_v1_vkey"])
    assert cosigner.signature_type == SIGNATURE_TYPE_COSIGNATURE_V1
    assert cosigner.public_key == note_key.public_key
    assert f"{cosigner.key_id:08x}" == "9b3fb2d5"
    assert note_key.key_id != cosigner.key_id
    assert parse_signer_key(fixture["witness_skey"]).verifier == note_key


def test_fixture_cosignature_verifies_and_returns_its_timestamp(fixture: dict[str, Any]) -> None:
    cosigner = parse_verifier_key(fixture["witness_cosig_v1_vkey"])
    line = _signature_lines(fixture["signed_checkpoint"])[1]
    timestamp = verify_cosignature(fixture["checkpoint_body"], line, cosigner)
    assert timestamp == fixture["cosignature_timestamp"] == 1700000000


def test_cosignature_signs_the_spec_message_and_is_reproduced(fixture: dict[str, Any]) -> None:
    message = cosignature_message(fixture["checkpoint_body"], 1700000000)
    assert message == fixture["cosignature_signed_message"].encode()
    witness = parse_signer_key(fixture["witness_skey"])
    line = cosign(fixture["checkpoint_body"], "Wit1", witness.private_key, 1700000000)
    assert line == _signature_lines(fixture["signed_checkpoint"])[1]
    payload = base64.b64decode(line.split(" ")[2])
    assert len(payload) == 4 + 8 + 64
    assert payload[:4].hex() == "9b3fb2d5"
    assert int.from_bytes(payload[4:12], "big") == 1700000000


def test_open_checkpoint_verifies_log_and_known_cosigner(fixture: dict[str, Any]) -> None:
    log = parse_verifier_key(fixture["log_vkey"])
    cosigner = parse_verifier_key(fixture["witness_cosig_v1_vkey"])
    opened = open_checkpoint(fixture["signed_checkpoint"].encode(), [log], [cosigner])
    assert opened.checkpoint.size == 8
    assert [(c.cosigner, c.timestamp) for c in opened.cosignatures] == [(cosigner, 1700000000)]
    # An unconfigured witness is simply not counted.
    assert open_checkpoint(fixture["signed_checkpoint"].encode(), [log]).cosignatures == ()


def test_open_checkpoint_refuses_a_known_cosigner_whose_line_fails(
    fixture: dict[str, Any],
) -> None:
    log = parse_verifier_key(fixture["log_vkey"])
    cosigner = parse_verifier_key(fixture["witness_cosig_v1_vkey"])
    log_line, cosignature_line = _signature_lines(fixture["signed_checkpoint"])
    forged = parse_signature_line(cosignature_line)
    forged_payload = (1700000001).to_bytes(8, "big") + forged.signature[8:]
    forged_line = NoteSignature(forged.name, forged.key_id, forged_payload).to_line()
    note = fixture["checkpoint_body"] + "\n" + log_line + forged_line
    with pytest.raises(InvalidCosignatureError):
        open_checkpoint(note.encode(), [log], [cosigner])


def _new_cosigner(name: str = "witness.example/w1") -> tuple[Ed25519PrivateKey, NoteVerifier]:
    key = Ed25519PrivateKey.generate()
    return key, cosigner_verifier(name, NoteSigner(name, key).verifier.public_key)


CHECKPOINT_TEXT = encode_checkpoint(Checkpoint("silkline.example/log", 42, EMPTY_ROOT))


def test_cosignature_round_trip_with_a_new_key() -> None:
    key, cosigner = _new_cosigner()
    line = cosign(CHECKPOINT_TEXT, cosigner.name, key, 1_760_000_000)
    assert line.startswith("\u2014 witness.example/w1 ") and line.endswith("\n")
    assert verify_cosignature(CHECKPOINT_TEXT, line, cosigner) == 1_760_000_000
    assert verify_cosignature(CHECKPOINT_TEXT, line.rstrip("\n"), cosigner) == 1_760_000_000
    assert verify_cosignature(CHECKPOINT_TEXT, parse_signature_line(line), cosigner) == (
        1_760_000_000
    )


def test_cosignature_over_another_checkpoint_is_refused() -> None:
    key, cosigner = _new_cosigner()
    line = cosign(CHECKPOINT_TEXT, cosigner.name, key, 1_760_000_000)
    other = encode_checkpoint(Checkpoint("silkline.example/log", 43, EMPTY_ROOT))
    with pytest.raises(InvalidCosignatureError):
        verify_cosignature(other, line, cosigner)


def test_cosignature_with_an_altered_timestamp_is_refused() -> None:
    key, cosigner = _new_cosigner()
    signature = parse_signature_line(cosign(CHECKPOINT_TEXT, cosigner.name, key, 1_760_000_000))
    altered = NoteSignature(
        signature.name,
        signature.key_id,
        (1_760_000_001).to_bytes(8, "big") + signature.signature[8:],
    )
    with pytest.raises(InvalidCosignatureError):
        verify_cosignature(CHECKPOINT_TEXT, altered, cosigner)


def test_cosignature_by_another_cosigner_or_a_note_key_is_refused() -> None:
    key, cosigner = _new_cosigner()
    line = cosign(CHECKPOINT_TEXT, cosigner.name, key, 1_760_000_000)
    _, other = _new_cosigner()
    with pytest.raises(CosignerMismatchError):
        verify_cosignature(CHECKPOINT_TEXT, line, other)
    _, renamed = _new_cosigner("witness.example/w2")
    with pytest.raises(CosignerMismatchError):
        verify_cosignature(CHECKPOINT_TEXT, line, renamed)
    note_key = NoteSigner(cosigner.name, key).verifier  # same key, type 0x01
    with pytest.raises(CosignerMismatchError, match="0x04"):
        verify_cosignature(CHECKPOINT_TEXT, line, note_key)


def test_malformed_cosignature_lines_are_refused() -> None:
    key, cosigner = _new_cosigner()
    signature = parse_signature_line(cosign(CHECKPOINT_TEXT, cosigner.name, key, 1))
    short = NoteSignature(signature.name, signature.key_id, signature.signature[8:])
    with pytest.raises(MalformedCosignatureError, match="76 bytes"):
        verify_cosignature(CHECKPOINT_TEXT, short, cosigner)
    too_late = NoteSignature(
        signature.name, signature.key_id, (2**63).to_bytes(8, "big") + signature.signature[8:]
    )
    with pytest.raises(MalformedCosignatureError, match="2\\^63"):
        verify_cosignature(CHECKPOINT_TEXT, too_late, cosigner)
    with pytest.raises(MalformedCosignatureError):
        verify_cosignature(CHECKPOINT_TEXT, "- witness.example/w1 AAAA", cosigner)


def test_cosign_refuses_text_that_is_not_a_checkpoint_or_a_bad_timestamp() -> None:
    key, cosigner = _new_cosigner()
    with pytest.raises(MalformedCheckpointError):
        cosign("just some text\n", cosigner.name, key, 1)
    with pytest.raises(MalformedCosignatureError):
        cosign(CHECKPOINT_TEXT, cosigner.name, key, -1)
    with pytest.raises(MalformedCosignatureError):
        cosign(CHECKPOINT_TEXT, cosigner.name, key, 2**63)
    with pytest.raises(MalformedCosignatureError):
        cosign(CHECKPOINT_TEXT, "bad name", key, 1)
    assert issubclass(MalformedCosignatureError, CheckpointError)


# --- c2sp.org/tlog-proof@v1 -------------------------------------------------------


def _split_tlog_proof(text: str) -> tuple[int, list[bytes], str]:
    """Index, inclusion proof and signed checkpoint of a c2sp.org/tlog-proof@v1 (no extra)."""
    proof_part, signed_checkpoint = text.split("\n\n", 1)
    header, index_line, *hashes = proof_part.split("\n")
    assert header == "c2sp.org/tlog-proof@v1"
    assert index_line.startswith("index ")
    return (
        int(index_line.removeprefix("index ")),
        [base64.b64decode(h) for h in hashes],
        signed_checkpoint,
    )


def test_tlog_proof_leaf_is_included_in_the_signed_checkpoint(fixture: dict[str, Any]) -> None:
    index, proof, signed_checkpoint = _split_tlog_proof(fixture["tlog_proof"])
    assert index == fixture["tlog_proof_leaf_index"] == 5
    assert signed_checkpoint == fixture["signed_checkpoint"]
    opened = open_checkpoint(
        signed_checkpoint.encode(),
        [parse_verifier_key(fixture["log_vkey"])],
        [parse_verifier_key(fixture["witness_cosig_v1_vkey"])],
    )
    assert len(opened.cosignatures) == 1
    leaf = leaf_hash(bytes.fromhex(fixture["tlog_proof_leaf_data_hex"]))
    assert leaf.hex() == fixture["tlog_proof_leaf_hash_hex"]
    checkpoint = opened.checkpoint
    verify_inclusion(leaf, index, checkpoint.size, proof, checkpoint.root_hash)
    with pytest.raises(InclusionProofError):
        verify_inclusion(leaf, index - 1, checkpoint.size, proof, checkpoint.root_hash)
    with pytest.raises(InclusionProofError):
        verify_inclusion(leaf_hash(b"other"), index, checkpoint.size, proof, checkpoint.root_hash)
