"""The checks a signed record passes, shared by server admission and offline verification.

Each step is a pure function over bytes already in hand; the caller decides
the order (the server interleaves its own caller check) and what "now" is.
Nothing here re-serialises the payload: the signature is over the exact
bytes received, and the JSON is parsed only to read it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID

from silkline.formats import disclosure as sd
from silkline.formats import dsse
from silkline.identity import Identity, IdentityError, identity_from_certificate
from silkline.records import (
    RECORD_TYPES,
    SchemaViolationError,
    UnknownRecordTypeError,
    Violation,
    sensitive_fields,
    sensitive_in_clear,
    validate_payload,
    validate_revealed,
)
from silkline.trust import CertificateRefusedError, TrustStore, check_valid_at


class RecordRefusedError(ValueError):
    """A signed record fails a check; `violations` names the fields at fault."""

    def __init__(self, message: str, violations: Iterable[Violation] = ()) -> None:
        super().__init__(message)
        self.violations: tuple[Violation, ...] = tuple(violations)


class MalformedRecordError(RecordRefusedError):
    pass


class UnknownPayloadTypeError(RecordRefusedError):
    pass


class SignerRefusedError(RecordRefusedError):
    """The signer certificate cannot speak for the record's originator."""


class RecordSignatureError(RecordRefusedError):
    pass


class RecordSchemaError(RecordRefusedError):
    pass


class SensitiveFieldInClearError(RecordRefusedError):
    pass


class DisclosureRefusedError(RecordRefusedError):
    pass


@dataclass(frozen=True)
class RecordHeader:
    """What any holder of the envelope can read without the disclosures."""

    record_type: str
    schema_version: int
    record_id: str
    originator: Identity
    created_at: datetime
    tlp: str
    recipients: tuple[str, ...]
    handling: tuple[str, ...]


@dataclass(frozen=True)
class ParsedRecord:
    envelope: dsse.Envelope
    payload: dict[str, Any]
    header: RecordHeader


@dataclass(frozen=True)
class Signer:
    certificate: x509.Certificate
    identity: Identity
    keyid: str


@dataclass(frozen=True)
class ClassifiedDisclosure:
    """A verified disclosure, the field it fills, and that field's class."""

    pointer: str
    field_class: str
    encoded: str


@dataclass(frozen=True)
class CheckedBody:
    revealed: dict[str, Any]
    disclosures: tuple[ClassifiedDisclosure, ...] = field(default=())


def parse_record(envelope_bytes: bytes) -> ParsedRecord:
    """Envelope and payload well-formed, payloadType known, header readable."""
    try:
        envelope = dsse.parse_envelope(envelope_bytes)
    except dsse.EnvelopeError as exc:
        raise MalformedRecordError(f"envelope: {exc}", [Violation("envelope", str(exc))]) from exc
    if envelope.payload_type != dsse.RECORD_PAYLOAD_TYPE:
        message = (
            f"payloadType {envelope.payload_type!r} is not known; "
            f"records use {dsse.RECORD_PAYLOAD_TYPE!r}"
        )
        raise UnknownPayloadTypeError(message, [Violation("envelope/payloadType", message)])
    payload = _strict_json_object(envelope.payload)
    return ParsedRecord(envelope, payload, _header(payload))


class SignerCache:
    """What `check_signer` learns of a certificate regardless of the record it signed.

    A feed signs thousands of records with one certificate; an auditor
    verifying a log re-checks the same few certificates again and again. The
    certificate's parse, its identity, its issuance by the participant's CA
    (a signature verification), its key usage and key ID are remembered here,
    keyed by the exact DER bytes, and only once they passed. What depends on
    the record (its originator, validity at its creation time and now,
    revocation at that time) is still checked for every record.
    """

    def __init__(self, trust: TrustStore) -> None:
        self.trust = trust
        self._signers: dict[bytes, Signer] = {}

    def get(self, signer_certificate_der: bytes) -> Signer | None:
        return self._signers.get(signer_certificate_der)

    def remember(self, signer_certificate_der: bytes, signer: Signer) -> None:
        self._signers[signer_certificate_der] = signer


def check_signer(
    record: ParsedRecord,
    signer_certificate_der: bytes,
    trust: TrustStore,
    *,
    now: datetime | None,
    cache: SignerCache | None = None,
) -> Signer:
    """The signer certificate chains to the originator's participant CA and names it.

    With `now` (admission), the certificate must be valid both when the record
    was created and now, and not be revoked. Without it (offline verification
    years later), it must have been valid when the record was created and not
    revoked at or before that time. A `cache` (for this same `trust`) skips
    the checks that depend on the certificate alone once it has passed them.
    """
    if cache is not None and cache.trust is not trust:
        raise ValueError("a SignerCache serves only the TrustStore it was made for")
    header = record.header
    known = cache.get(signer_certificate_der) if cache is not None else None
    if known is not None:
        cert, identity = known.certificate, known.identity
    else:
        try:
            cert = x509.load_der_x509_certificate(signer_certificate_der)
        except ValueError as exc:
            raise SignerRefusedError(f"signer certificate cannot be parsed: {exc}") from exc
        try:
            identity = identity_from_certificate(cert)
        except IdentityError as exc:
            raise SignerRefusedError(f"signer certificate: {exc}") from exc
    if identity.agency_path != header.originator.agency_path:
        raise SignerRefusedError(
            f"record names originator {header.originator.agency_path} but is signed by "
            f"{identity.uri}"
        )
    try:
        participant = trust.for_identity(identity)
        if known is None:
            participant.check_issued(cert, identity)
        check_valid_at(cert, identity, header.created_at, "created_at")
        if now is not None:
            check_valid_at(cert, identity, now, "now")
            participant.check_not_revoked(cert, identity, now)
        else:
            participant.check_not_revoked(cert, identity, header.created_at, historical=True)
    except CertificateRefusedError as exc:
        raise SignerRefusedError(f"signer certificate refused: {exc}") from exc
    if known is not None:
        return known
    if not _may_sign(cert):
        raise SignerRefusedError(f"{identity.uri}: certificate is not for digital signatures")
    keyid = dsse.key_id_for_certificate(signer_certificate_der)
    signer = Signer(cert, identity, keyid)
    if cache is not None:
        cache.remember(signer_certificate_der, signer)
    return signer


def check_signature(record: ParsedRecord, signer: Signer) -> None:
    public_key = signer.certificate.public_key()
    if not isinstance(public_key, Ed25519PublicKey | ec.EllipticCurvePublicKey):
        raise SignerRefusedError("signer key must be Ed25519 or ECDSA P-256")
    try:
        dsse.verify(record.envelope, public_key, keyid=signer.keyid)
    except dsse.EnvelopeError as exc:
        raise RecordSignatureError(
            f"signature: {exc}", [Violation("envelope/signatures", str(exc))]
        ) from exc


def check_body(record: ParsedRecord, disclosures: Sequence[str]) -> CheckedBody:
    """Schema, no sensitive field in clear, every disclosure valid and classified."""
    concealed = record.payload
    # The signed form itself must conform: the schemas allow `_sd` only beside
    # sensitive fields and only with SHA-256 digests, and no sensitive field is
    # required, so a concealed field is simply absent to them.
    _validate(concealed)
    in_clear = sensitive_in_clear(concealed)
    if in_clear:
        raise SensitiveFieldInClearError(
            f"sensitive fields in clear: {', '.join(in_clear)}; send them as disclosures",
            [
                Violation(p, "sensitive field must be a selective disclosure, not in clear")
                for p in in_clear
            ],
        )
    try:
        revealed = sd.reveal(concealed, disclosures)
    except sd.DisclosureError as exc:
        raise DisclosureRefusedError(
            f"disclosures: {exc}", [Violation("disclosures", str(exc))]
        ) from exc
    classes = sensitive_fields(record.header.record_type, record.header.schema_version)
    classified = []
    for claim in revealed.revealed:
        field_class = classes.get(claim.pointer)
        if field_class is None:
            message = f"disclosure fills {claim.pointer}, which the schema does not mark sensitive"
            raise DisclosureRefusedError(message, [Violation(claim.pointer, message)])
        classified.append(
            ClassifiedDisclosure(claim.pointer, field_class, claim.disclosure.encoded)
        )
    # The disclosed values must themselves be what the schema allows. The
    # signed form passed above, so only what the disclosures changed is
    # validated again; the violations are those of validating it all.
    _validate(revealed.payload, signed=concealed)
    return CheckedBody(revealed.payload, tuple(classified))


def _validate(payload: dict[str, Any], *, signed: dict[str, Any] | None = None) -> None:
    try:
        if signed is None:
            validate_payload(payload)
        else:
            validate_revealed(payload, signed=signed)
    except SchemaViolationError as exc:
        raise RecordSchemaError(str(exc), exc.violations) from exc


def _may_sign(cert: x509.Certificate) -> bool:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    if not usage.digital_signature:
        return False
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    # A TLS client certificate must not double as a record signer.
    return ExtendedKeyUsageOID.CLIENT_AUTH not in eku


def _strict_json_object(payload: bytes) -> dict[str, Any]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        document = dict(pairs)
        # Checked only when a key was lost: linear in the common case.
        if len(document) != len(pairs):
            keys = [k for k, _ in pairs]
            duplicates = sorted({k for k in keys if keys.count(k) > 1})
            raise MalformedRecordError(f"payload repeats key(s) {duplicates}")
        return document

    try:
        document = json.loads(payload.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        message = f"payload is not UTF-8 JSON: {exc}"
        raise MalformedRecordError(message, [Violation("envelope/payload", message)]) from exc
    if not isinstance(document, dict):
        raise MalformedRecordError(
            "payload must be a JSON object", [Violation("", "must be an object")]
        )
    return document


def _header(payload: dict[str, Any]) -> RecordHeader:
    problems: list[Violation] = []

    def text(pointer: str, value: Any) -> str:
        if not isinstance(value, str) or not value:
            problems.append(Violation(pointer, "must be a non-empty string"))
            return ""
        return value

    record_type = text("/record_type", payload.get("record_type"))
    record_id = text("/id", payload.get("id"))
    schema_version = payload.get("schema_version")
    if not isinstance(schema_version, int) or isinstance(schema_version, bool):
        problems.append(Violation("/schema_version", "must be an integer"))
        schema_version = 0
    originator = payload.get("originator")
    originator = originator if isinstance(originator, dict) else {}
    participant = text("/originator/participant", originator.get("participant"))
    agency = text("/originator/agency", originator.get("agency"))
    created_text = text("/created_at", payload.get("created_at"))
    created_at = None
    if created_text:
        try:
            created_at = datetime.fromisoformat(created_text)
        except ValueError:
            created_at = None
        if created_at is None or created_at.tzinfo is None or not created_text.endswith("Z"):
            problems.append(Violation("/created_at", "must be an RFC 3339 UTC time ending in Z"))
    distribution = payload.get("distribution")
    distribution = distribution if isinstance(distribution, dict) else {}
    tlp = distribution.get("tlp")
    recipients = distribution.get("recipients", [])
    handling = distribution.get("handling", [])
    if problems or created_at is None:
        raise MalformedRecordError(
            "record header: " + "; ".join(str(p) for p in problems), problems
        )
    if record_type not in RECORD_TYPES:
        raise RecordSchemaError(
            str(UnknownRecordTypeError(record_type)),
            [Violation("/record_type", f"must be one of {', '.join(RECORD_TYPES)}")],
        )
    return RecordHeader(
        record_type=record_type,
        schema_version=schema_version,
        record_id=record_id,
        originator=Identity(participant, agency, "-"),
        created_at=created_at,
        tlp=tlp if isinstance(tlp, str) else "",
        recipients=tuple(r for r in recipients if isinstance(r, str))
        if isinstance(recipients, list)
        else (),
        handling=tuple(
            h["code"] for h in handling if isinstance(h, dict) and isinstance(h.get("code"), str)
        )
        if isinstance(handling, list)
        else (),
    )
