"""DSSE v1 envelopes (secure-systems-lab/dsse, protocol 1.0): PAE, parse, encode, sign, verify.

Byte layouts follow the DSSE `protocol.md` ("Signature definition", "Protocol")
and `envelope.md` ("Standard JSON envelope"). Pure functions: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from silkline.formats.canonical_base64 import decode_canonical
from silkline.formats.strict_json import StrictJSONError, loads_strict

__all__ = [
    "RECORD_PAYLOAD_TYPE",
    "Envelope",
    "EnvelopeError",
    "MalformedCertificateError",
    "MalformedEnvelopeError",
    "Signature",
    "SignatureMismatchError",
    "UnsupportedKeyError",
    "encode_envelope",
    "key_id_for_certificate",
    "pae",
    "parse_envelope",
    "sign",
    "verify",
]

RECORD_PAYLOAD_TYPE = "application/vnd.silkline.record+json; version=1"
"""payloadType of a silkline record: its JSON payload, schema-versioned."""

_PAE_PREFIX = b"DSSEv1"
_ENVELOPE_FIELDS = frozenset({"payloadType", "payload", "signatures"})
_SIGNATURE_FIELDS = frozenset({"keyid", "sig"})
_P256_COORDINATE_BYTES = 32
_STANDARD_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_URL_SAFE_BASE64 = re.compile(r"[A-Za-z0-9_-]*={0,2}")


class EnvelopeError(ValueError):
    """Base class of every DSSE envelope failure in this module."""


class MalformedEnvelopeError(EnvelopeError):
    """The bytes are not a well-formed DSSE JSON envelope."""


class MalformedCertificateError(EnvelopeError):
    """The bytes given as a certificate are not a DER X.509 certificate."""


class UnsupportedKeyError(EnvelopeError):
    """The key is neither Ed25519 nor ECDSA P-256."""


class SignatureMismatchError(EnvelopeError):
    """No signature of the envelope verifies with the given key."""


@dataclass(frozen=True)
class Signature:
    """One DSSE signature. `keyid` is an unauthenticated hint; "" means absent."""

    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    """A DSSE envelope: the payload, its type, and one or more signatures over their PAE."""

    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]


def pae(payload_type: str, payload: bytes) -> bytes:
    """Pre-Authentication Encoding, the exact bytes DSSE signs.

    `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, LEN being the ASCII
    decimal byte count without leading zeros (DSSE protocol.md, "Signature definition").
    """
    type_bytes = _utf8(payload_type, "payloadType")
    return b" ".join(
        (
            _PAE_PREFIX,
            str(len(type_bytes)).encode("ascii"),
            type_bytes,
            str(len(payload)).encode("ascii"),
            payload,
        )
    )


def key_id_for_certificate(cert_der: bytes) -> str:
    """The keyid silkline uses for a signer: lowercase hex SHA-256 of its certificate's DER."""
    try:
        x509.load_der_x509_certificate(cert_der)
    except ValueError as exc:
        # A PEM passed by mistake would otherwise hash to a keyid nobody can match.
        hint = " (this looks like PEM; pass the DER bytes)" if cert_der.startswith(b"-----") else ""
        raise MalformedCertificateError(
            f"cert_der is not a DER-encoded X.509 certificate{hint}: {exc}"
        ) from exc
    return hashlib.sha256(cert_der).hexdigest()


def parse_envelope(raw: bytes) -> Envelope:
    """Parse a DSSE JSON envelope strictly.

    Refuses anything but a UTF-8 JSON object with exactly `payloadType`, `payload`
    and a non-empty `signatures` list of `{"keyid"?, "sig"}` objects; duplicate
    or unknown keys; and base64 that is neither standard nor URL-safe
    (padding optional, DSSE envelope.md), or not canonically encoded.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedEnvelopeError(f"envelope is not UTF-8: {exc}") from exc
    try:
        document = loads_strict(text)
    except StrictJSONError as exc:
        # Keeps "envelope is not JSON: ..." and "envelope JSON repeats the key ..." readable.
        subject = "envelope" if str(exc).startswith("is not JSON") else "envelope JSON"
        raise MalformedEnvelopeError(f"{subject} {exc}") from exc

    if not isinstance(document, dict):
        raise MalformedEnvelopeError(f"envelope must be a JSON object, got {_json_type(document)}")
    _require_exact_fields(document, _ENVELOPE_FIELDS, frozenset(), "envelope")

    payload_type = document["payloadType"]
    if not isinstance(payload_type, str):
        raise MalformedEnvelopeError(
            f"payloadType must be a string, got {_json_type(payload_type)}"
        )
    _utf8(payload_type, "payloadType")
    payload = _decode_base64(document["payload"], "payload")

    signature_list = document["signatures"]
    if not isinstance(signature_list, list):
        raise MalformedEnvelopeError(f"signatures must be a list, got {_json_type(signature_list)}")
    if not signature_list:
        # An unsigned envelope must never look like a signed one with zero votes.
        raise MalformedEnvelopeError("signatures is empty: a DSSE envelope needs at least one")
    signatures = tuple(_parse_signature(entry, index) for index, entry in enumerate(signature_list))
    return Envelope(payload_type=payload_type, payload=payload, signatures=signatures)


def encode_envelope(envelope: Envelope) -> bytes:
    """Encode as compact UTF-8 JSON: payloadType, payload, signatures; standard padded base64.

    A signature whose keyid is "" is written without `keyid` (DSSE: keyid is optional).
    """
    if not envelope.signatures:
        raise MalformedEnvelopeError("envelope has no signatures; sign it before encoding")
    _utf8(envelope.payload_type, "payloadType")
    signatures: list[dict[str, str]] = []
    for index, signature in enumerate(envelope.signatures):
        if not signature.sig:
            raise MalformedEnvelopeError(f"signatures[{index}].sig is empty")
        _utf8(signature.keyid, f"signatures[{index}].keyid")
        entry = {"keyid": signature.keyid} if signature.keyid else {}
        entry["sig"] = _encode_base64(signature.sig)
        signatures.append(entry)
    document = {
        "payloadType": envelope.payload_type,
        "payload": _encode_base64(envelope.payload),
        "signatures": signatures,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(
    payload_type: str,
    payload: bytes,
    private_key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey,
    keyid: str,
) -> Envelope:
    """Sign PAE(payload_type, payload) and wrap it in a one-signature envelope.

    Ed25519 signs the PAE directly. ECDSA P-256 uses SHA-256 and writes the
    signature as raw r||s (64 bytes), as the DSSE reference implementation and
    its test vector do; it uses RFC 6979 deterministic nonces where the
    cryptography backend offers them, so the DSSE vector is reproduced byte for byte.
    """
    message = pae(payload_type, payload)
    if isinstance(private_key, Ed25519PrivateKey):
        sig = private_key.sign(message)
    elif isinstance(private_key, ec.EllipticCurvePrivateKey):
        _require_p256(private_key.curve)
        sig = _ecdsa_p256_sign_raw(private_key, message)
    else:
        raise UnsupportedKeyError(
            f"cannot sign with a {type(private_key).__name__}; "
            "use an Ed25519 or ECDSA P-256 private key"
        )
    return Envelope(
        payload_type=payload_type,
        payload=payload,
        signatures=(Signature(keyid=keyid, sig=sig),),
    )


def verify(
    envelope: Envelope,
    public_key: Ed25519PublicKey | ec.EllipticCurvePublicKey,
    *,
    keyid: str | None = None,
) -> None:
    """Return if at least one signature verifies over PAE(payload_type, payload); else raise.

    With `keyid`, only signatures carrying that keyid or no keyid are tried
    (the keyid is an unauthenticated hint, DSSE protocol.md, so it only narrows
    the search). ECDSA signatures are accepted as raw r||s or DER.
    Raises SignatureMismatchError naming the keyid when none verifies.
    """
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        _require_p256(public_key.curve)
    elif not isinstance(public_key, Ed25519PublicKey):
        raise UnsupportedKeyError(
            f"cannot verify with a {type(public_key).__name__}; "
            "use an Ed25519 or ECDSA P-256 public key"
        )
    message = pae(envelope.payload_type, envelope.payload)
    candidates = [
        signature
        for signature in envelope.signatures
        if keyid is None or signature.keyid in ("", keyid)
    ]
    for signature in candidates:
        if _signature_verifies(public_key, signature.sig, message):
            return

    present = [signature.keyid or "(none)" for signature in envelope.signatures]
    wanted = f"keyid {keyid!r}" if keyid is not None else "the given key"
    if not candidates:
        raise SignatureMismatchError(
            f"no signature for {wanted}: the envelope carries keyids {present}; "
            "check the signer certificate or the keyid"
        )
    raise SignatureMismatchError(
        f"no signature verifies with {wanted} over payloadType {envelope.payload_type!r} "
        f"({len(candidates)} tried, envelope keyids {present}): the payload, its type "
        "or the signature was altered, or the record was signed with another key"
    )


def _signature_verifies(
    public_key: Ed25519PublicKey | ec.EllipticCurvePublicKey, sig: bytes, message: bytes
) -> bool:
    if isinstance(public_key, Ed25519PublicKey):
        try:
            public_key.verify(sig, message)
        except InvalidSignature:
            return False
        return True
    der_forms = [sig]
    if len(sig) == 2 * _P256_COORDINATE_BYTES:
        # Raw r||s first (what DSSE writes); DER second, since a DER signature
        # can, rarely, also be 64 bytes long.
        r = int.from_bytes(sig[:_P256_COORDINATE_BYTES], "big")
        s = int.from_bytes(sig[_P256_COORDINATE_BYTES:], "big")
        der_forms.insert(0, encode_dss_signature(r, s))
    for der in der_forms:
        try:
            public_key.verify(der, message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            continue
        return True
    return False


def _ecdsa_p256_sign_raw(private_key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    try:
        der = private_key.sign(message, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    except UnsupportedAlgorithm:
        # Older OpenSSL builds lack RFC 6979; a random nonce is equally valid ECDSA.
        der = private_key.sign(message, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return r.to_bytes(_P256_COORDINATE_BYTES, "big") + s.to_bytes(_P256_COORDINATE_BYTES, "big")


def _require_p256(curve: ec.EllipticCurve) -> None:
    if not isinstance(curve, ec.SECP256R1):
        raise UnsupportedKeyError(
            f"ECDSA key is on curve {curve.name}; silkline record signatures use P-256 (secp256r1)"
        )


def _parse_signature(entry: Any, index: int) -> Signature:
    where = f"signatures[{index}]"
    if not isinstance(entry, dict):
        raise MalformedEnvelopeError(f"{where} must be an object, got {_json_type(entry)}")
    _require_exact_fields(entry, frozenset({"sig"}), _SIGNATURE_FIELDS - {"sig"}, where)
    keyid = entry.get("keyid", "")
    if not isinstance(keyid, str):
        raise MalformedEnvelopeError(f"{where}.keyid must be a string, got {_json_type(keyid)}")
    _utf8(keyid, f"{where}.keyid")
    sig = _decode_base64(entry["sig"], f"{where}.sig")
    if not sig:
        raise MalformedEnvelopeError(f"{where}.sig is empty")
    return Signature(keyid=keyid, sig=sig)


def _require_exact_fields(
    document: dict[str, Any], required: frozenset[str], optional: frozenset[str], where: str
) -> None:
    missing = sorted(required - document.keys())
    if missing:
        raise MalformedEnvelopeError(f"{where} is missing {', '.join(missing)}")
    unknown = sorted(document.keys() - required - optional)
    if unknown:
        allowed = ", ".join(sorted(required | optional))
        raise MalformedEnvelopeError(
            f"{where} has unknown key(s) {', '.join(map(repr, unknown))}; allowed: {allowed}"
        )


def _decode_base64(value: Any, field: str) -> bytes:
    """Standard or URL-safe base64, padded or not, and canonical (DSSE envelope.md)."""
    if not isinstance(value, str):
        raise MalformedEnvelopeError(f"{field} must be a base64 string, got {_json_type(value)}")
    # What encode_envelope writes, decoded at C speed; the other spellings below.
    decoded = decode_canonical(value)
    if decoded is not None:
        return decoded
    if _STANDARD_BASE64.fullmatch(value):
        altchars = b"+/"
    elif _URL_SAFE_BASE64.fullmatch(value):
        altchars = b"-_"
    else:
        raise MalformedEnvelopeError(
            f"{field} is not base64: use one alphabet, standard (+/) or URL-safe (-_), "
            "with '=' padding only at the end"
        )
    unpadded = value.rstrip("=")
    if (len(value) != len(unpadded) and len(value) % 4) or len(unpadded) % 4 == 1:
        raise MalformedEnvelopeError(f"{field} has a base64 length or padding that is impossible")
    try:
        decoded = base64.b64decode(
            unpadded + "=" * (-len(unpadded) % 4), altchars=altchars, validate=True
        )
    except binascii.Error as exc:
        raise MalformedEnvelopeError(f"{field} is not base64: {exc}") from exc
    # Unused low bits must be zero, so each byte string has one spelling per alphabet.
    canonical = base64.b64encode(decoded, altchars=altchars).decode("ascii").rstrip("=")
    if canonical != unpadded:
        raise MalformedEnvelopeError(
            f"{field} is not canonical base64 (its last character carries non-zero unused bits)"
        )
    return decoded


def _encode_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _utf8(text: str, field: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedEnvelopeError(
            f"{field} is not encodable as UTF-8 (lone surrogate?): {exc}"
        ) from exc


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
