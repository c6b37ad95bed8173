"""DSSE v1 envelopes against the secure-systems-lab/dsse vectors, plus refusals and properties."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from silkline.formats.dsse import (
    RECORD_PAYLOAD_TYPE,
    Envelope,
    EnvelopeError,
    MalformedCertificateError,
    MalformedEnvelopeError,
    Signature,
    SignatureMismatchError,
    UnsupportedKeyError,
    encode_envelope,
    key_id_for_certificate,
    pae,
    parse_envelope,
    sign,
    verify,
)

from ..vectors import load_vectors

EXAMPLE_IN = Path(__file__).resolve().parents[2] / "certs" / "example" / "IN"


def _load_vectors(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = load_vectors(f"{name}/vectors.json")
    return loaded


@pytest.fixture(scope="module")
def vector() -> dict[str, Any]:
    return _load_vectors("dsse")


@pytest.fixture(scope="module")
def vector_private_key(vector: dict[str, Any]) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int(vector["key"]["d"]), ec.SECP256R1())


@pytest.fixture(scope="module")
def vector_public_key(vector: dict[str, Any]) -> ec.EllipticCurvePublicKey:
    key = serialization.load_pem_public_key(vector["key"]["spki_pem"].encode("ascii"))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


@pytest.fixture(scope="module")
def vector_envelope_bytes(vector: dict[str, Any]) -> bytes:
    return json.dumps(vector["envelope"]).encode("utf-8")


@pytest.fixture(scope="module")
def ncb_certificate() -> x509.Certificate:
    return x509.load_pem_x509_certificate((EXAMPLE_IN / "ncb.signing.crt").read_bytes())


@pytest.fixture(scope="module")
def ncb_signing_key() -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(
        (EXAMPLE_IN / "ncb.signing.key").read_bytes(), password=None
    )
    assert isinstance(key, Ed25519PrivateKey)
    return key


def _envelope_json(**overrides: Any) -> bytes:
    document: dict[str, Any] = {
        "payloadType": "http://example.com/HelloWorld",
        "payload": "aGVsbG8gd29ybGQ=",
        "signatures": [{"keyid": "k", "sig": "AAAA"}],
    }
    document.update(overrides)
    return json.dumps(document).encode("utf-8")


# --- PAE ---


def test_pae_matches_the_dsse_vector(vector: dict[str, Any]) -> None:
    assert pae(vector["payloadType"], vector["payload_utf8"].encode("utf-8")) == vector[
        "pae_utf8"
    ].encode("utf-8")


def test_pae_lengths_count_utf8_bytes_in_decimal_without_leading_zeros() -> None:
    assert pae("ü", b"0123456789") == "DSSEv1 2 ü 10 0123456789".encode()
    assert pae("", b"") == b"DSSEv1 0  0 "


def test_pae_refuses_a_payload_type_that_is_not_utf8_encodable() -> None:
    with pytest.raises(MalformedEnvelopeError, match="UTF-8"):
        pae("\ud800", b"x")


# --- the public vector ---


def test_vector_private_key_matches_the_vector_public_key(
    vector: dict[str, Any],
    vector_private_key: ec.EllipticCurvePrivateKey,
    vector_public_key: ec.EllipticCurvePublicKey,
) -> None:
    numbers = vector_public_key.public_numbers()
    assert (numbers.x, numbers.y) == (int(vector["key"]["x"]), int(vector["key"]["y"]))
    assert vector_private_key.public_key().public_numbers() == numbers


def test_vector_envelope_verifies_with_the_vector_public_key(
    vector: dict[str, Any],
    vector_envelope_bytes: bytes,
    vector_public_key: ec.EllipticCurvePublicKey,
) -> None:
    envelope = parse_envelope(vector_envelope_bytes)
    assert envelope.payload_type == vector["payloadType"]
    assert envelope.payload == b"hello world"
    assert [s.keyid for s in envelope.signatures] == ["66301bbf"]
    assert len(envelope.signatures[0].sig) == 64  # raw r||s, not DER
    verify(envelope, vector_public_key)
    verify(envelope, vector_public_key, keyid="66301bbf")


def test_vector_envelope_as_printed_in_protocol_md_without_keyid_verifies(
    vector: dict[str, Any], vector_public_key: ec.EllipticCurvePublicKey
) -> None:
    document = json.loads(json.dumps(vector["envelope"]))
    del document["signatures"][0]["keyid"]
    envelope = parse_envelope(json.dumps(document).encode())
    assert envelope.signatures[0].keyid == ""
    verify(envelope, vector_public_key, keyid="any-keyid-since-the-signature-has-none")


def test_vector_envelope_encodes_to_compact_json_in_dsse_key_order(
    vector: dict[str, Any], vector_envelope_bytes: bytes
) -> None:
    signature = vector["envelope"]["signatures"][0]
    expected = (
        '{"payloadType":"http://example.com/HelloWorld","payload":"aGVsbG8gd29ybGQ=",'
        f'"signatures":[{{"keyid":"66301bbf","sig":"{signature["sig"]}"}}]}}'
    )
    envelope = parse_envelope(vector_envelope_bytes)
    assert encode_envelope(envelope) == expected.encode("utf-8")
    assert parse_envelope(encode_envelope(envelope)) == envelope


def test_signing_with_the_vector_private_key_round_trips(
    vector: dict[str, Any],
    vector_private_key: ec.EllipticCurvePrivateKey,
    vector_public_key: ec.EllipticCurvePublicKey,
) -> None:
    envelope = sign(vector["payloadType"], b"hello world", vector_private_key, "66301bbf")
    assert len(envelope.signatures[0].sig) == 64
    verify(parse_envelope(encode_envelope(envelope)), vector_public_key, keyid="66301bbf")


def test_signing_with_the_vector_private_key_reproduces_the_vector_signature_rfc6979(
    vector: dict[str, Any], vector_private_key: ec.EllipticCurvePrivateKey
) -> None:
    try:
        vector_private_key.sign(b"", ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    except UnsupportedAlgorithm:
        pytest.skip("this OpenSSL has no RFC 6979 deterministic ECDSA; signatures are random")
    envelope = sign(vector["payloadType"], b"hello world", vector_private_key, "66301bbf")
    assert encode_envelope(envelope) == encode_envelope(
        parse_envelope(json.dumps(vector["envelope"]).encode())
    )


@pytest.mark.parametrize(
    "rewrite",
    [
        pytest.param(lambda s: s.rstrip("="), id="standard-unpadded"),
        pytest.param(lambda s: s.replace("+", "-").replace("/", "_"), id="url-safe-padded"),
        pytest.param(
            lambda s: s.replace("+", "-").replace("/", "_").rstrip("="), id="url-safe-unpadded"
        ),
    ],
)
def test_both_base64_alphabets_with_or_without_padding_are_accepted(
    vector: dict[str, Any], vector_public_key: ec.EllipticCurvePublicKey, rewrite: Any
) -> None:
    document = json.loads(json.dumps(vector["envelope"]))
    document["payload"] = rewrite(document["payload"])
    document["signatures"][0]["sig"] = rewrite(document["signatures"][0]["sig"])
    envelope = parse_envelope(json.dumps(document).encode())
    assert envelope == parse_envelope(json.dumps(vector["envelope"]).encode())
    verify(envelope, vector_public_key)


def test_an_ecdsa_signature_in_der_is_accepted(
    vector_private_key: ec.EllipticCurvePrivateKey,
    vector_public_key: ec.EllipticCurvePublicKey,
) -> None:
    der = vector_private_key.sign(pae("t", b"body"), ec.ECDSA(hashes.SHA256()))
    verify(Envelope("t", b"body", (Signature("", der),)), vector_public_key)


# --- wrong content, wrong key ---


def test_a_different_payload_type_changes_the_pae_and_breaks_the_signature(
    vector: dict[str, Any],
    vector_envelope_bytes: bytes,
    vector_public_key: ec.EllipticCurvePublicKey,
) -> None:
    envelope = parse_envelope(vector_envelope_bytes)
    other = Envelope(RECORD_PAYLOAD_TYPE, envelope.payload, envelope.signatures)
    assert pae(other.payload_type, other.payload) != vector["pae_utf8"].encode()
    with pytest.raises(SignatureMismatchError, match="66301bbf"):
        verify(other, vector_public_key, keyid="66301bbf")


def test_one_flipped_payload_byte_fails_verification(
    vector_envelope_bytes: bytes, vector_public_key: ec.EllipticCurvePublicKey
) -> None:
    envelope = parse_envelope(vector_envelope_bytes)
    tampered = Envelope(envelope.payload_type, b"jello world", envelope.signatures)
    with pytest.raises(SignatureMismatchError, match="altered"):
        verify(tampered, vector_public_key)


def test_a_signature_from_another_key_fails_verification(
    vector_envelope_bytes: bytes, ncb_signing_key: Ed25519PrivateKey
) -> None:
    other_p256 = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(SignatureMismatchError):
        verify(parse_envelope(vector_envelope_bytes), other_p256)
    with pytest.raises(SignatureMismatchError):
        verify(parse_envelope(vector_envelope_bytes), ncb_signing_key.public_key())


def test_a_keyid_that_no_signature_carries_is_named_in_the_refusal(
    vector_envelope_bytes: bytes, vector_public_key: ec.EllipticCurvePublicKey
) -> None:
    with pytest.raises(SignatureMismatchError, match=r"'someone-else'.*66301bbf"):
        verify(parse_envelope(vector_envelope_bytes), vector_public_key, keyid="someone-else")


def test_verification_finds_the_one_good_signature_among_several(
    vector_private_key: ec.EllipticCurvePrivateKey,
    vector_public_key: ec.EllipticCurvePublicKey,
    ncb_signing_key: Ed25519PrivateKey,
) -> None:
    by_ed25519 = sign("t", b"body", ncb_signing_key, "ed")
    by_p256 = sign("t", b"body", vector_private_key, "p256")
    both = Envelope("t", b"body", by_ed25519.signatures + by_p256.signatures)
    verify(both, vector_public_key)
    verify(both, ncb_signing_key.public_key(), keyid="ed")
    with pytest.raises(SignatureMismatchError):
        verify(both, vector_public_key, keyid="ed")


# --- Ed25519 and the example PKI ---


def test_ed25519_sign_then_verify_with_the_certificate_key(
    ncb_certificate: x509.Certificate, ncb_signing_key: Ed25519PrivateKey
) -> None:
    keyid = key_id_for_certificate(ncb_certificate.public_bytes(serialization.Encoding.DER))
    envelope = sign(RECORD_PAYLOAD_TYPE, b'{"type":"seizure-alert"}', ncb_signing_key, keyid)
    public_key = ncb_certificate.public_key()
    assert isinstance(public_key, Ed25519PublicKey)
    verify(parse_envelope(encode_envelope(envelope)), public_key, keyid=keyid)


def test_keyid_is_the_sha256_of_the_certificate_der(ncb_certificate: x509.Certificate) -> None:
    # DER taken straight from the PEM armour, independent of cryptography's re-encoding.
    pem_lines = (EXAMPLE_IN / "ncb.signing.crt").read_text(encoding="ascii").splitlines()
    der = base64.b64decode("".join(line for line in pem_lines if not line.startswith("-----")))
    keyid = key_id_for_certificate(der)
    assert keyid == hashlib.sha256(der).hexdigest()
    assert len(keyid) == 64 and keyid == keyid.lower()
    assert keyid == key_id_for_certificate(ncb_certificate.public_bytes(serialization.Encoding.DER))


def test_keyid_refuses_a_pem_certificate_with_a_hint() -> None:
    with pytest.raises(MalformedCertificateError, match="PEM"):
        key_id_for_certificate((EXAMPLE_IN / "ncb.signing.crt").read_bytes())


# --- unsupported keys ---


def test_signing_with_a_p384_key_is_refused() -> None:
    with pytest.raises(UnsupportedKeyError, match=r"secp384r1.*P-256"):
        sign("t", b"x", ec.generate_private_key(ec.SECP384R1()), "k")


def test_signing_with_an_rsa_key_is_refused() -> None:
    rsa_key: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(UnsupportedKeyError, match="Ed25519 or ECDSA P-256"):
        sign("t", b"x", rsa_key, "k")


def test_verifying_with_a_p384_key_is_refused(vector_envelope_bytes: bytes) -> None:
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(UnsupportedKeyError):
        verify(parse_envelope(vector_envelope_bytes), p384)


# --- strict parsing ---


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        pytest.param(_envelope_json(extra="x"), "unknown key.*'extra'", id="unknown-key"),
        pytest.param(
            _envelope_json(signatures=[{"sig": "AAAA", "cert": "x"}]),
            r"signatures\[0\] has unknown key.*'cert'",
            id="unknown-signature-key",
        ),
        pytest.param(
            b'{"payloadType":"a","payloadType":"b","payload":"","signatures":[{"sig":"AAAA"}]}',
            "repeats the key 'payloadType'",
            id="duplicate-key",
        ),
        pytest.param(
            b'{"payloadType":"a","payload":"","signatures":[{"sig":"AAAA","sig":"BBBB"}]}',
            "repeats the key 'sig'",
            id="duplicate-signature-key",
        ),
        pytest.param(_envelope_json(payload="aGVsbG8*"), "not base64", id="bad-base64-char"),
        pytest.param(_envelope_json(payload="aGV sbG8="), "not base64", id="base64-space"),
        pytest.param(_envelope_json(payload="a+b_"), "one alphabet", id="mixed-alphabets"),
        pytest.param(_envelope_json(payload="aGVsbG8=="), "padding", id="too-much-padding"),
        pytest.param(_envelope_json(payload="aGVsb"), "length", id="impossible-length"),
        pytest.param(_envelope_json(payload="aGVsbG9="), "canonical", id="non-canonical"),
        pytest.param(_envelope_json(payload="=aGVs"), "not base64", id="padding-first"),
        pytest.param(_envelope_json(signatures=[]), "signatures is empty", id="no-signatures"),
        pytest.param(_envelope_json(signatures={"sig": "AAAA"}), "must be a list", id="not-list"),
        pytest.param(_envelope_json(signatures=["AAAA"]), "must be an object", id="sig-string"),
        pytest.param(_envelope_json(signatures=[{"keyid": "k"}]), "missing sig", id="no-sig"),
        pytest.param(_envelope_json(signatures=[{"sig": ""}]), "sig is empty", id="empty-sig"),
        pytest.param(
            _envelope_json(signatures=[{"sig": "AAAA", "keyid": 7}]),
            "keyid must be a string",
            id="keyid-number",
        ),
        pytest.param(_envelope_json(payloadType=1), "payloadType must be a string", id="type-num"),
        pytest.param(_envelope_json(payload=None), "payload must be a base64", id="payload-null"),
        pytest.param(
            b'{"payloadType":"\\ud800","payload":"","signatures":[{"sig":"AAAA"}]}',
            "UTF-8",
            id="lone-surrogate",
        ),
        pytest.param(b'{"payload":"","signatures":[]}', "missing payloadType", id="missing"),
        pytest.param(b"[]", "must be a JSON object", id="array"),
        pytest.param(b"\xff{}", "not UTF-8", id="not-utf8"),
        pytest.param(b"{", "not JSON", id="truncated"),
        pytest.param(
            b'{"payloadType":"a","payload":"","signatures":[{"sig":"AAAA"}],"n":NaN}',
            "NaN",
            id="nan",
        ),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "nested too deeply", id="deep-nesting"),
    ],
)
def test_malformed_envelopes_are_refused_with_what_is_wrong(raw: bytes, words: str) -> None:
    with pytest.raises(MalformedEnvelopeError, match=words):
        parse_envelope(raw)


def test_every_refusal_is_an_envelope_error_and_a_value_error() -> None:
    for error in (MalformedEnvelopeError, UnsupportedKeyError, SignatureMismatchError):
        assert issubclass(error, EnvelopeError)
    assert issubclass(EnvelopeError, ValueError)


def test_encoding_an_unsigned_envelope_is_refused() -> None:
    with pytest.raises(MalformedEnvelopeError, match="no signatures"):
        encode_envelope(Envelope("t", b"x", ()))


# --- properties ---

PAYLOAD_TYPES = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


@settings(max_examples=60, deadline=None)
@given(payload_type=PAYLOAD_TYPES, payload=st.binary(max_size=512))
def test_ed25519_sign_then_verify_round_trips_through_the_encoding(
    payload_type: str, payload: bytes
) -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    envelope = sign(payload_type, payload, key, "k1")
    decoded = parse_envelope(encode_envelope(envelope))
    assert decoded == envelope
    verify(decoded, key.public_key(), keyid="k1")


@settings(max_examples=60, deadline=None)
@given(payload_type=PAYLOAD_TYPES, payload=st.binary(max_size=512))
def test_p256_sign_then_verify_round_trips_through_the_encoding(
    payload_type: str, payload: bytes
) -> None:
    key = ec.derive_private_key(0x5EED, ec.SECP256R1())
    envelope = sign(payload_type, payload, key, "k2")
    decoded = parse_envelope(encode_envelope(envelope))
    assert decoded == envelope
    verify(decoded, key.public_key(), keyid="k2")


def _signed_example() -> tuple[Envelope, Ed25519PublicKey]:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    payload = b'{"record":"seizure-alert","items":[{"drug":"heroin","kg":3000}]}'
    return sign(RECORD_PAYLOAD_TYPE, payload, key, "ncb"), key.public_key()


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_flipping_any_bit_of_an_encoded_envelope_is_refused_or_changes_nothing_signed(
    data: st.DataObject,
) -> None:
    envelope, public_key = _signed_example()
    encoded = bytearray(encode_envelope(envelope))
    bit = data.draw(st.integers(0, len(encoded) * 8 - 1), label="bit")
    encoded[bit // 8] ^= 1 << (bit % 8)
    try:
        tampered = parse_envelope(bytes(encoded))
        verify(tampered, public_key)
    except (MalformedEnvelopeError, SignatureMismatchError):
        return
    # Accepted: then only unsigned hints (the keyid) may differ.
    assert tampered.payload_type == envelope.payload_type
    assert tampered.payload == envelope.payload
    assert [s.sig for s in tampered.signatures] == [s.sig for s in envelope.signatures]


@settings(max_examples=200, deadline=None)
@given(data=st.data(), in_signature=st.booleans())
def test_flipping_any_bit_of_the_payload_or_signature_fails_verification(
    data: st.DataObject, in_signature: bool
) -> None:
    envelope, public_key = _signed_example()
    target = bytearray(envelope.signatures[0].sig if in_signature else envelope.payload)
    bit = data.draw(st.integers(0, len(target) * 8 - 1), label="bit")
    target[bit // 8] ^= 1 << (bit % 8)
    if in_signature:
        tampered = Envelope(
            envelope.payload_type, envelope.payload, (Signature("ncb", bytes(target)),)
        )
    else:
        tampered = Envelope(envelope.payload_type, bytes(target), envelope.signatures)
    with pytest.raises(SignatureMismatchError):
        verify(tampered, public_key)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_flipping_any_bit_of_a_raw_p256_signature_fails_verification(
    data: st.DataObject,
) -> None:
    key = ec.derive_private_key(0x5EED, ec.SECP256R1())
    envelope = sign("t", b"body", key, "k")
    sig = bytearray(envelope.signatures[0].sig)
    bit = data.draw(st.integers(0, len(sig) * 8 - 1), label="bit")
    sig[bit // 8] ^= 1 << (bit % 8)
    tampered = Envelope("t", b"body", (Signature("k", bytes(sig)),))
    with pytest.raises(SignatureMismatchError):
        verify(tampered, key.public_key())


def test_every_single_bit_flip_outside_the_keyid_value_is_refused() -> None:
    envelope, public_key = _signed_example()
    encoded = encode_envelope(envelope)
    keyid_start = encoded.index(b'"keyid":"ncb"') + len(b'"keyid":"')
    keyid_bits = range(keyid_start * 8, (keyid_start + len(b"ncb")) * 8)
    accepted = []
    for bit in range(len(encoded) * 8):
        flipped = bytearray(encoded)
        flipped[bit // 8] ^= 1 << (bit % 8)
        try:
            verify(parse_envelope(bytes(flipped)), public_key)
        except (MalformedEnvelopeError, SignatureMismatchError):
            continue
        accepted.append(bit)
    # The keyid is an unauthenticated hint (DSSE protocol.md): changing it is harmless.
    assert accepted
    assert set(accepted) <= set(keyid_bits)
