"""C2SP signed notes against the golang.org/x/mod sumdb/note and C2SP spec vectors."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from silkline.formats.note import (
    MAX_SIGNATURES,
    SIGNATURE_TYPE_COSIGNATURE_V1,
    InvalidKeyNameError,
    InvalidNoteSignatureError,
    InvalidNoteTextError,
    KeyIdMismatchError,
    MalformedKeyError,
    MalformedNoteError,
    NoteError,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    TooManySignaturesError,
    UnsupportedKeyTypeError,
    UnverifiedNoteError,
    compute_key_id,
    encode_signer_key,
    encode_verifier_key,
    open_note,
    parse_signature_line,
    parse_signer_key,
    parse_verifier_key,
    sign_note,
)

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "testvectors"
NOTE_VECTORS = VECTORS / "c2sp-signed-note" / "vectors.json"


def _load_vectors() -> dict[str, dict[str, Any]]:
    if not NOTE_VECTORS.exists():
        message = (
            f"public test vectors not found at {NOTE_VECTORS}: the shared/testvectors "
            "checkout must sit next to the repository"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    document = json.loads(NOTE_VECTORS.read_text(encoding="utf-8"))
    return {vector["id"]: vector for vector in document["vectors"]}


@pytest.fixture(scope="module")
def vectors() -> dict[str, dict[str, Any]]:
    return _load_vectors()


VALID_IDS = ["golang-mod-peterneumann", "golang-mod-enochroot", "c2sp-signed-note-example"]


# --- upstream vectors -------------------------------------------------------------


@pytest.mark.parametrize("vector_id", VALID_IDS)
def test_valid_vector_note_opens_with_its_verifier_key(
    vectors: dict[str, dict[str, Any]], vector_id: str
) -> None:
    vector = vectors[vector_id]
    verifier = parse_verifier_key(vector["vkey"])
    opened = open_note(vector["note"].encode("utf-8"), [verifier])
    assert opened.text == vector["text"]
    assert opened.verified == (verifier,)
    assert opened.unverified_lines == ()


@pytest.mark.parametrize("vector_id", VALID_IDS)
def test_verifier_key_encoding_round_trips(
    vectors: dict[str, dict[str, Any]], vector_id: str
) -> None:
    vkey = vectors[vector_id]["vkey"]
    verifier = parse_verifier_key(vkey)
    assert encode_verifier_key(verifier.name, verifier.public_key) == vkey
    assert verifier.vkey == vkey
    assert f"{verifier.key_id:08x}" == vkey.split("+")[1]


def test_signer_key_reproduces_the_upstream_signature(vectors: dict[str, dict[str, Any]]) -> None:
    vector = vectors["golang-mod-peterneumann"]
    signer = parse_signer_key(vector["skey"])
    assert signer.name == "PeterNeumann"
    assert signer.verifier == parse_verifier_key(vector["vkey"])
    assert encode_signer_key(signer) == vector["skey"]
    # Ed25519 is deterministic (RFC 8032): the same key signs the same bytes.
    assert sign_note(vector["text"], [signer]) == vector["note"].encode("utf-8")


def test_note_with_two_signatures_keeps_the_unknown_one_unverified(
    vectors: dict[str, dict[str, Any]],
) -> None:
    note = vectors["golang-mod-two-sigs"]["note"].encode("utf-8")
    peter = parse_verifier_key(vectors["golang-mod-peterneumann"]["vkey"])
    enoch = parse_verifier_key(vectors["golang-mod-enochroot"]["vkey"])

    opened = open_note(note, [peter])
    assert opened.verified == (peter,)
    assert [(line.name, line.key_id) for line in opened.unverified_lines] == [
        ("EnochRoot", enoch.key_id)
    ]

    both = open_note(note, [enoch, peter])
    assert set(both.verified) == {peter, enoch}
    assert both.unverified_lines == ()


def test_note_signed_only_by_unknown_keys_is_refused(vectors: dict[str, dict[str, Any]]) -> None:
    note = vectors["golang-mod-two-sigs"]["note"].encode("utf-8")
    stranger = NoteSigner("Stranger", Ed25519PrivateKey.generate()).verifier
    with pytest.raises(UnverifiedNoteError) as refused:
        open_note(note, [stranger])
    assert [line.name for line in refused.value.unverified_lines] == ["PeterNeumann", "EnochRoot"]
    with pytest.raises(UnverifiedNoteError):
        open_note(note, [])


def _malformed_notes() -> list[Any]:
    try:
        document = json.loads(NOTE_VECTORS.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [pytest.param(None, id="vectors-missing")]
    (vector,) = [v for v in document["vectors"] if v["id"] == "golang-mod-malformed"]
    return [
        pytest.param(note, id=f"golang-mod-malformed-{number}")
        for number, note in enumerate(vector["malformed_notes"])
    ]


@pytest.mark.parametrize("note", _malformed_notes())
def test_upstream_malformed_note_is_refused(
    vectors: dict[str, dict[str, Any]], note: str | None
) -> None:
    assert note is not None
    verifier = parse_verifier_key(vectors["golang-mod-malformed"]["vkey"])
    with pytest.raises(MalformedNoteError):
        open_note(note.encode("utf-8"), [verifier])


@pytest.mark.parametrize("garbage", [b"\x01", b"\xff"])
def test_note_with_a_control_character_or_invalid_utf8_is_refused(
    vectors: dict[str, dict[str, Any]], garbage: bytes
) -> None:
    vector = vectors["golang-mod-peterneumann"]
    verifier = parse_verifier_key(vector["vkey"])
    with pytest.raises(MalformedNoteError):
        open_note(garbage + vector["note"].encode("utf-8"), [verifier])


def test_signature_line_with_a_space_in_the_key_name_is_refused(
    vectors: dict[str, dict[str, Any]],
) -> None:
    vector = vectors["golang-mod-peterneumann"]
    note = vector["note"].replace("— PeterNeumann ", "— Bad Name ")
    with pytest.raises(MalformedNoteError):
        open_note(note.encode("utf-8"), [parse_verifier_key(vector["vkey"])])


def test_tlog_cosignature_example_lines_parse_as_the_spec_describes(
    vectors: dict[str, dict[str, Any]],
) -> None:
    note = vectors["c2sp-checkpoint-cosig-example-structure-only"]["note"]
    # No public keys are published for this example: it opens as unverified.
    stranger = NoteSigner("example.com/behind-the-sofa", Ed25519PrivateKey.generate())
    with pytest.raises(UnverifiedNoteError) as refused:
        open_note(note.encode("utf-8"), [stranger.verifier])
    log_line, cosignature_line = refused.value.unverified_lines
    assert (log_line.name, f"{log_line.key_id:08x}") == ("example.com/behind-the-sofa", "033de0ae")
    assert len(log_line.signature) == 64
    assert (cosignature_line.name, f"{cosignature_line.key_id:08x}") == (
        "witness.example.com/w1",
        "8d66cf3f",
    )
    assert len(cosignature_line.signature) == 8 + 64
    assert int.from_bytes(cosignature_line.signature[:8], "big") == 1679315147


# --- refusals ---------------------------------------------------------------------


def test_known_key_whose_signature_fails_refuses_the_whole_note(
    vectors: dict[str, dict[str, Any]],
) -> None:
    vector = vectors["golang-mod-peterneumann"]
    peter = parse_verifier_key(vector["vkey"])
    tampered = vector["note"].replace("cryptography", "cryptographY")
    with pytest.raises(InvalidNoteSignatureError, match="PeterNeumann"):
        open_note(tampered.encode("utf-8"), [peter])


def test_second_bad_signature_by_a_known_key_is_refused_even_after_a_good_one(
    vectors: dict[str, dict[str, Any]],
) -> None:
    vector = vectors["golang-mod-peterneumann"]
    peter = parse_verifier_key(vector["vkey"])
    good_line = vector["note"].split("\n\n")[-1]
    bad = parse_signature_line(good_line)
    bad_line = NoteSignature(bad.name, bad.key_id, bytes(64)).to_line()
    with pytest.raises(InvalidNoteSignatureError):
        open_note((vector["note"] + bad_line).encode("utf-8"), [peter])


def test_line_sharing_only_the_name_or_only_the_key_id_is_ignored() -> None:
    known = NoteSigner("log.example/a", Ed25519PrivateKey.generate())
    text = "checkpoint body\n"
    note = sign_note(text, [known]).decode()
    impostor_same_name = NoteSignature(known.name, known.key_id ^ 1, bytes(64)).to_line()
    impostor_same_id = NoteSignature("log.example/b", known.key_id, bytes(64)).to_line()
    opened = open_note((note + impostor_same_name + impostor_same_id).encode(), [known.verifier])
    assert opened.verified == (known.verifier,)
    assert len(opened.unverified_lines) == 2


def test_note_with_more_than_the_signature_limit_is_refused() -> None:
    signer = NoteSigner("log.example", Ed25519PrivateKey.generate())
    note = sign_note("text\n", [signer]).decode()
    unknown_line = NoteSignature("witness.example", 1, bytes(72)).to_line()
    # The spec requires accepting at least 16 signatures.
    open_note((note + unknown_line * 15).encode(), [signer.verifier])
    open_note((note + unknown_line * (MAX_SIGNATURES - 1)).encode(), [signer.verifier])
    with pytest.raises(TooManySignaturesError):
        open_note((note + unknown_line * MAX_SIGNATURES).encode(), [signer.verifier])


@pytest.mark.parametrize(
    "signature_block",
    [
        "— log.example\n",  # no signature
        "— log.example \n",  # empty signature
        "— log.example AAAA\n",  # 3 bytes: not even a key ID
        "— log.example AAAAAA==\n",  # 4 bytes: key ID only
        "— log.example not*base64=\n",
        "— log.example QUJDREVGRw\n",  # missing padding
        "-- log.example QUJDREVGRw==\n",  # not an em dash
        "—log.example QUJDREVGRw==\n",  # no space after the dash
        "— log+example QUJDREVGRw==\n",  # plus in the key name
        "— log.example QUJDREVGRw==\n\n",  # blank line after the signatures
    ],
)
def test_malformed_signature_lines_are_refused(signature_block: str) -> None:
    signer = NoteSigner("log.example", Ed25519PrivateKey.generate())
    with pytest.raises(MalformedNoteError):
        open_note(("text\n\n" + signature_block).encode(), [signer.verifier])


def test_open_note_refuses_a_cosignature_key_as_a_note_verifier() -> None:
    signer = NoteSigner("log.example", Ed25519PrivateKey.generate())
    cosigner = NoteVerifier(
        "log.example", signer.verifier.public_key, SIGNATURE_TYPE_COSIGNATURE_V1
    )
    with pytest.raises(UnsupportedKeyTypeError, match="verify_cosignature"):
        open_note(sign_note("text\n", [signer]), [cosigner])


# --- signing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "one line\n",
        "\n",
        "paragraph one\n\nparagraph two\n",
        "ends with a blank line\n\n",
        "— looks like a signature line\n\n— but is text\n",
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n"
        "\ned è subito sera.\n",
    ],
)
def test_signed_note_opens_to_the_same_text(text: str) -> None:
    log = NoteSigner("log.example/silkline", Ed25519PrivateKey.generate())
    witness = NoteSigner("witness.example", Ed25519PrivateKey.generate())
    note = sign_note(text, [log, witness])
    opened = open_note(note, [log.verifier])
    assert opened.text == text
    assert opened.verified == (log.verifier,)
    assert [line.name for line in opened.unverified_lines] == ["witness.example"]


@pytest.mark.parametrize(
    "text",
    ["", "no final newline", "tab\tinside\n", "carriage\r\n", "lone surrogate \ud800\n"],
)
def test_sign_note_refuses_invalid_text(text: str) -> None:
    signer = NoteSigner("log.example", Ed25519PrivateKey.generate())
    with pytest.raises(InvalidNoteTextError):
        sign_note(text, [signer])


def test_sign_note_refuses_no_signers_and_duplicate_signers() -> None:
    signer = NoteSigner("log.example", Ed25519PrivateKey.generate())
    with pytest.raises(InvalidNoteTextError, match="at least one"):
        sign_note("text\n", [])
    with pytest.raises(InvalidNoteTextError, match="twice"):
        sign_note("text\n", [signer, signer])


# --- keys -------------------------------------------------------------------------


def test_key_id_is_the_first_four_bytes_of_the_spec_hash(
    vectors: dict[str, dict[str, Any]],
) -> None:
    verifier = parse_verifier_key(vectors["c2sp-signed-note-example"]["vkey"])
    assert compute_key_id(verifier.name, 0x01, verifier.public_key) == 0x530D903A
    assert verifier.key_id == 0x530D903A


@pytest.mark.parametrize(
    ("vkey", "error"),
    [
        ("PeterNeumann+c74f20a3", MalformedKeyError),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", KeyIdMismatchError),
        ("PeterNeumann+c74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", MalformedKeyError),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", MalformedKeyError),
        (
            "PeterNeumann+c74f20a3+AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            UnsupportedKeyTypeError,
        ),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy", MalformedKeyError),
        (
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            InvalidKeyNameError,
        ),
        ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", InvalidKeyNameError),
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str, error: type[NoteError]) -> None:
    with pytest.raises(error):
        parse_verifier_key(vkey)


def test_cosignature_verifier_key_uses_type_0x04_and_its_own_key_id() -> None:
    signer = NoteSigner("witness.example", Ed25519PrivateKey.generate())
    public_key = signer.verifier.public_key
    vkey = encode_verifier_key("witness.example", public_key, SIGNATURE_TYPE_COSIGNATURE_V1)
    verifier = parse_verifier_key(vkey)
    assert verifier.signature_type == SIGNATURE_TYPE_COSIGNATURE_V1
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == 0x04
    assert verifier.key_id == compute_key_id("witness.example", 0x04, public_key)
    assert verifier.key_id != signer.key_id


def test_signer_key_errors_do_not_repeat_the_secret(vectors: dict[str, dict[str, Any]]) -> None:
    skey = vectors["golang-mod-peterneumann"]["skey"]
    secret = skey.rsplit("+", 1)[1]
    wrong_id = skey.replace("c74f20a3", "00000000")
    with pytest.raises(KeyIdMismatchError) as refused:
        parse_signer_key(wrong_id)
    assert secret not in str(refused.value)
    with pytest.raises(MalformedKeyError) as refused_prefix:
        parse_signer_key(skey.removeprefix("PRIVATE+KEY+"))
    assert secret not in str(refused_prefix.value)
    assert "private_key" not in repr(parse_signer_key(skey))
