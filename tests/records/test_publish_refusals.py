"""Every record the server refuses: what the caller sees, and that nothing was stored.

Admission judges in one order (server/silkline_server/admission.py): size,
well-formed and canonical envelope, payloadType, signer certificate, caller,
signature, schema, sensitive fields, disclosures, clock. Each test below makes
one of those checks the first to fail.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from silkline import pki
from silkline.authoring import SealedRecord, SigningIdentity, load_signing_identity, seal_record
from silkline.formats import disclosure as sd
from silkline.formats import dsse
from silkline.identity import identity_from_certificate
from silkline.v1 import records_pb2

from ..conftest import EXAMPLE
from .conftest import (
    Agency,
    compact_json,
    disclosure_of,
    seizure_body,
    sign_payload,
    signed_record,
    signing_identity,
    stored_envelope,
)

INVALID_ARGUMENT = grpc.StatusCode.INVALID_ARGUMENT
PERMISSION_DENIED = grpc.StatusCode.PERMISSION_DENIED


def signed_payload_of(sealed: SealedRecord) -> dict[str, Any]:
    """The concealed payload a sealed record carries, as JSON."""
    document: dict[str, Any] = json.loads(dsse.parse_envelope(sealed.envelope).payload)
    return document


def resigned(
    agency: Agency,
    sealed: SealedRecord,
    change: Callable[[dict[str, Any]], None],
    disclosures: list[str] | tuple[str, ...] | None = None,
) -> records_pb2.SignedRecord:
    """`sealed` with its signed payload changed by `change`, then properly signed again.

    The signature is good, so whatever the server refuses is the change itself.
    """
    payload = signed_payload_of(sealed)
    change(payload)
    return signed_record(
        sign_payload(compact_json(payload), agency.signer),
        sealed.disclosures if disclosures is None else disclosures,
        sealed.signer_certificate_der,
    )


def split_suspects(sealed: SealedRecord) -> tuple[str, list[str]]:
    """The suspects disclosure of a sealed alert, and the others."""
    (suspects,) = [d for d in sealed.disclosures if sd.parse_disclosure(d).name == "suspects"]
    return suspects, [d for d in sealed.disclosures if d != suspects]


def minted_signer(
    issuer: str,
    *,
    claims: tuple[str, str, str],
    not_before: datetime,
    not_after: datetime,
) -> SigningIdentity:
    """A record-signing certificate that `issuer`'s CA issues for the identity `claims`."""
    ca_cert = x509.load_pem_x509_certificate((EXAMPLE / issuer / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key(
        (EXAMPLE / issuer / "ca.key").read_bytes(), password=None
    )
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    participant, agency, client = claims
    cert, key = pki.issue_signing_certificate(
        ca_cert,
        ca_key,
        participant=participant,
        agency=agency,
        client=client,
        not_before=not_before,
        not_after=not_after,
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    return SigningIdentity(key, der, identity_from_certificate(cert))


def sealed_with(signer: SigningIdentity, agency: Agency, **options: Any) -> SealedRecord:
    """A valid seizure alert of `agency`, checked, concealed and signed by `signer`."""
    return seal_record(agency.payload(**options), signer)


# ---------------------------------------------------------------- signature


def test_a_signature_made_with_another_key_is_refused(ncb: Agency) -> None:
    sealed = ncb.seal()
    impostor_key = signing_identity("IN", "dri").private_key
    payload = dsse.parse_envelope(sealed.envelope).payload
    forged = dsse.sign(dsse.RECORD_PAYLOAD_TYPE, payload, impostor_key, ncb.signer.keyid)

    refusal = ncb.refusal(
        signed_record(dsse.encode_envelope(forged), sealed.disclosures, ncb.signer.certificate_der),
        sealed.record_id,
    )

    assert refusal.code is INVALID_ARGUMENT
    assert f"no signature verifies with keyid {ncb.signer.keyid!r}" in refusal.message
    assert refusal.fields == ["envelope/signatures"]
    assert refusal.nothing_stored


def test_a_payload_changed_after_signing_is_refused(ncb: Agency) -> None:
    sealed = ncb.seal()
    envelope = dsse.parse_envelope(sealed.envelope)
    # 2988.21 kg of heroin becomes 29.8821 kg; the signature stays the originator's.
    changed = envelope.payload.replace(b'"value":2988.21', b'"value":29.8821')
    assert changed != envelope.payload
    tampered = dsse.Envelope(envelope.payload_type, changed, envelope.signatures)

    refusal = ncb.refusal(
        signed_record(
            dsse.encode_envelope(tampered), sealed.disclosures, ncb.signer.certificate_der
        ),
        sealed.record_id,
    )

    assert refusal.code is INVALID_ARGUMENT
    assert "the payload, its type or the signature was altered" in refusal.message
    assert refusal.fields == ["envelope/signatures"]
    assert refusal.nothing_stored


# ---------------------------------------------------------------- signer certificate


def test_a_signer_certificate_minted_by_another_participants_ca_is_refused(ncb: Agency) -> None:
    now = datetime.now(UTC)
    kz_minted = minted_signer(
        "KZ",
        claims=("IN", "NCB", "ops-desk-1"),
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=30),
    )
    sealed = sealed_with(kz_minted, ncb)

    refusal = ncb.refusal(sealed)

    assert refusal.code is PERMISSION_DENIED
    assert "silkline://IN/NCB/ops-desk-1 claims participant IN but was issued by" in refusal.message
    assert "not by IN's CA" in refusal.message
    assert refusal.nothing_stored


def test_a_revoked_signing_certificate_is_refused(ncb: Agency) -> None:
    revoked = signing_identity("IN", "revoked")
    assert revoked.identity.agency_path == "IN/NCB"
    sealed = sealed_with(revoked, ncb)

    refusal = ncb.refusal(sealed)

    assert refusal.code is PERMISSION_DENIED
    assert "silkline://IN/NCB/revoked-signer-1" in refusal.message
    assert "is revoked by IN's CRL" in refusal.message
    assert refusal.nothing_stored


def test_a_record_signed_while_the_certificate_was_valid_is_refused_once_it_expired(
    ncb: Agency,
) -> None:
    expired = minted_signer(
        "IN",
        claims=("IN", "NCB", "old-desk"),
        not_before=datetime(2020, 1, 1, tzinfo=UTC),
        not_after=datetime(2021, 1, 1, tzinfo=UTC),
    )
    sealed = sealed_with(expired, ncb, created_at=datetime(2020, 6, 1, tzinfo=UTC))

    refusal = ncb.refusal(sealed)

    assert refusal.code is PERMISSION_DENIED
    assert "certificate expired at 2021-01-01T00:00:00Z (now is " in refusal.message
    assert refusal.nothing_stored


def test_a_signer_certificate_naming_another_agency_is_refused(ncb: Agency) -> None:
    # IN/NCB's payload, signed with IN/DRI's own, valid signing certificate.
    sealed = sealed_with(signing_identity("IN", "dri"), ncb)

    refusal = ncb.refusal(sealed)

    assert refusal.code is PERMISSION_DENIED
    assert (
        "record names originator IN/NCB but is signed by silkline://IN/DRI/ops-desk-1"
        in refusal.message
    )
    assert refusal.nothing_stored


def test_a_tls_client_certificate_cannot_sign_records(ncb: Agency) -> None:
    tls = load_signing_identity(EXAMPLE / "IN" / "ncb.key", EXAMPLE / "IN" / "ncb.crt")
    sealed = sealed_with(tls, ncb)

    refusal = ncb.refusal(sealed)

    assert refusal.code is PERMISSION_DENIED
    assert "silkline://IN/NCB/ops-desk-1: certificate is not for digital signatures" in (
        refusal.message
    )
    assert refusal.nothing_stored


# ---------------------------------------------------------------- caller


def test_in_dri_cannot_publish_a_record_that_names_in_ncb_as_its_originator(
    ncb: Agency, dri: Agency
) -> None:
    sealed = ncb.seal()

    refusal = dri.refusal(sealed)

    assert refusal.code is PERMISSION_DENIED
    assert refusal.message.startswith(
        "you are IN/DRI but the record names IN/NCB as its originator"
    )
    assert refusal.fields == ["/originator"]
    assert refusal.nothing_stored


# ---------------------------------------------------------------- envelope


def test_an_envelope_that_is_not_json_is_refused(ncb: Agency) -> None:
    refusal = ncb.refusal(signed_record(b"seizure at Mundra", [], ncb.signer.certificate_der))

    assert refusal.code is INVALID_ARGUMENT
    assert refusal.message.startswith("envelope: envelope is not JSON")
    assert refusal.fields == ["envelope"]
    assert refusal.nothing_stored


def test_an_unknown_payload_type_is_refused(ncb: Agency) -> None:
    sealed = ncb.seal()
    payload = dsse.parse_envelope(sealed.envelope).payload
    envelope = sign_payload(payload, ncb.signer, payload_type="application/vnd.in-toto+json")

    refusal = ncb.refusal(
        signed_record(envelope, sealed.disclosures, ncb.signer.certificate_der), sealed.record_id
    )

    assert refusal.code is INVALID_ARGUMENT
    assert "payloadType 'application/vnd.in-toto+json' is not known" in refusal.message
    assert refusal.fields == ["envelope/payloadType"]
    assert refusal.nothing_stored


def _pretty_printed(envelope: bytes) -> bytes:
    return json.dumps(json.loads(envelope), indent=2).encode()


def _keys_reordered(envelope: bytes) -> bytes:
    document = json.loads(envelope)
    return json.dumps(
        {"signatures": document["signatures"], **document}, separators=(",", ":")
    ).encode()


def _unpadded_url_safe_base64(envelope: bytes) -> bytes:
    document = json.loads(envelope)
    raw = base64.b64decode(document["payload"])
    document["payload"] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return json.dumps(document, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "respell",
    [_pretty_printed, _keys_reordered, _unpadded_url_safe_base64],
    ids=lambda f: f.__name__,
)
def test_an_envelope_spelled_other_than_canonically_is_refused(
    ncb: Agency, respell: Callable[[bytes], bytes]
) -> None:
    sealed = ncb.seal()
    respelled = respell(sealed.envelope)
    # The same envelope to a DSSE verifier: only its spelling differs.
    assert dsse.parse_envelope(respelled) == dsse.parse_envelope(sealed.envelope)

    refusal = ncb.refusal(
        signed_record(respelled, sealed.disclosures, ncb.signer.certificate_der), sealed.record_id
    )

    assert refusal.code is INVALID_ARGUMENT
    assert refusal.message.startswith("envelope is not in canonical form")
    assert refusal.fields == ["record.envelope"]
    assert refusal.nothing_stored


def test_an_envelope_over_the_size_limit_is_refused_before_anything_else(ncb: Agency) -> None:
    sealed = ncb.seal()
    huge_notes = "x" * (1024 * 1024)
    record = resigned(ncb, sealed, lambda payload: payload["body"].update(notes=huge_notes))
    assert len(record.envelope) > 1024 * 1024

    refusal = ncb.refusal(record, sealed.record_id)

    assert refusal.code is INVALID_ARGUMENT
    assert refusal.message == f"envelope is {len(record.envelope)} bytes; the limit is 1048576"
    assert refusal.fields == ["record.envelope"]
    assert refusal.nothing_stored


# ---------------------------------------------------------------- schema


def test_every_schema_violation_is_named_at_once(ncb: Agency) -> None:
    sealed = ncb.seal()

    def break_four_rules(payload: dict[str, Any]) -> None:
        payload["distribution"]["tlp"] = "YELLOW"
        payload["grading"]["source"] = "E"
        del payload["body"]["seized_at"]
        payload["body"]["items"][0]["quantity"]["unit"] = "lb"

    refusal = ncb.refusal(resigned(ncb, sealed, break_four_rules), sealed.record_id)

    assert refusal.code is INVALID_ARGUMENT
    assert refusal.message.startswith("record violates its schema (4 violations)")
    assert refusal.fields == [
        "/body/items/0/quantity/unit",
        "/body/seized_at",
        "/distribution/tlp",
        "/grading/source",
    ]
    assert dict(refusal.violations)["/body/seized_at"] == "is required"
    assert refusal.nothing_stored


def _decoy_digests_in_the_conveyance(payload: dict[str, Any]) -> None:
    payload["body"]["conveyance"]["_sd"] = [sd.digest_of(disclosure_of("s", "kind", "truck"))]


def _a_digest_that_is_not_a_digest(payload: dict[str, Any]) -> None:
    payload["body"]["_sd"].append("see annex B")


def _a_concealed_seizure_item(payload: dict[str, Any]) -> None:
    payload["body"]["items"].append({"...": sd.digest_of(disclosure_of("s", {"drug": "opium"}))})


@pytest.mark.parametrize(
    ("conceal_wrongly", "violations"),
    [
        pytest.param(
            _decoy_digests_in_the_conveyance,
            [("/body/conveyance/_sd", "is not allowed here; allowed: identifier, kind")],
            id="sd-beside-no-sensitive-field",
        ),
        pytest.param(
            _a_digest_that_is_not_a_digest,
            [
                (
                    "/body/_sd/1",
                    "must be the unpadded base64url SHA-256 digest of a disclosure (43 characters)",
                )
            ],
            id="not-a-sha256-digest",
        ),
        pytest.param(
            _a_concealed_seizure_item,
            [
                (
                    "/body/items/1/...",
                    "is not allowed here; allowed: drug, estimated_value, quantity, substance",
                ),
                ("/body/items/1/drug", "is required"),
                ("/body/items/1/quantity", "is required"),
            ],
            id="concealed-array-element",
        ),
    ],
)
def test_digests_are_allowed_only_where_the_schema_puts_them(
    ncb: Agency,
    conceal_wrongly: Callable[[dict[str, Any]], None],
    violations: list[tuple[str, str]],
) -> None:
    # The schemas allow `_sd` only beside sensitive fields, holding SHA-256
    # digests; a signed payload that third parties validate must conform.
    sealed = ncb.seal()

    refusal = ncb.refusal(resigned(ncb, sealed, conceal_wrongly), sealed.record_id)

    assert refusal.code is INVALID_ARGUMENT
    assert refusal.message.startswith("record violates its schema")
    assert refusal.violations == violations
    assert refusal.nothing_stored


def test_a_disclosed_value_is_held_to_the_schema_too(ncb: Agency) -> None:
    sealed = ncb.seal()
    suspects, others = split_suspects(sealed)
    bad_suspects = sd.new_disclosure("suspects", [{"nationality": "IN"}])

    def swap_digest(payload: dict[str, Any]) -> None:
        digests = payload["body"]["_sd"]
        digests[digests.index(sd.digest_of(suspects))] = bad_suspects.digest

    refusal = ncb.refusal(
        resigned(ncb, sealed, swap_digest, [*others, bad_suspects.encoded]),
        sealed.record_id,
    )

    assert refusal.code is INVALID_ARGUMENT
    assert refusal.fields == ["/body/suspects/0/name"]
    assert refusal.nothing_stored


def test_personal_data_in_clear_is_refused(ncb: Agency) -> None:
    payload = ncb.payload()
    # Coordinates concealed as they should be; suspects left in clear.
    concealed, disclosures = sd.conceal(payload, [("body", "location", "coordinates")])

    refusal = ncb.refusal(
        signed_record(
            sign_payload(compact_json(concealed), ncb.signer),
            [d.encoded for d in disclosures],
            ncb.signer.certificate_der,
        ),
        payload["id"],
    )

    assert refusal.code is INVALID_ARGUMENT
    assert refusal.message == (
        "sensitive fields in clear: /body/suspects; send them as disclosures"
    )
    assert refusal.violations == [
        ("/body/suspects", "sensitive field must be a selective disclosure, not in clear")
    ]
    assert refusal.nothing_stored


# ---------------------------------------------------------------- disclosures (RFC 9901 §7.1)


def test_a_disclosure_whose_digest_is_not_in_the_signed_payload_is_refused(ncb: Agency) -> None:
    sealed = ncb.seal()
    suspects, others = split_suspects(sealed)
    genuine = sd.parse_disclosure(suspects)
    # Same salt and name, another suspect: the digest no longer matches.
    altered = disclosure_of(genuine.salt, "suspects", [{"name": "C. Innocent"}])

    refusal = ncb.refusal(
        signed_record(sealed.envelope, [*others, altered], ncb.signer.certificate_der),
        sealed.record_id,
    )

    assert refusal.code is INVALID_ARGUMENT
    assert refusal.message.startswith("disclosures: 1 disclosure(s) match no digest in the payload")
    assert refusal.fields == ["disclosures"]
    assert refusal.nothing_stored


def test_a_digest_that_appears_twice_in_the_signed_payload_is_refused(ncb: Agency) -> None:
    sealed = ncb.seal()
    digest_of_suspects = sd.digest_of(split_suspects(sealed)[0])

    def list_suspects_twice(payload: dict[str, Any]) -> None:
        payload["body"]["location"]["_sd"].append(digest_of_suspects)

    refusal = ncb.refusal(resigned(ncb, sealed, list_suspects_twice), sealed.record_id)

    assert refusal.code is INVALID_ARGUMENT
    assert f"digest {digest_of_suspects} appears more than once in the payload" in refusal.message
    assert refusal.fields == ["disclosures"]
    assert refusal.nothing_stored


def test_the_same_disclosure_sent_twice_is_refused(ncb: Agency) -> None:
    sealed = ncb.seal()
    doubled = [*sealed.disclosures, split_suspects(sealed)[0]]

    refusal = ncb.refusal(
        signed_record(sealed.envelope, doubled, ncb.signer.certificate_der), sealed.record_id
    )

    assert refusal.code is INVALID_ARGUMENT
    assert "is given twice" in refusal.message
    assert refusal.fields == ["disclosures"]
    assert refusal.nothing_stored


@pytest.mark.parametrize("reserved", ["_sd", "..."])
def test_a_disclosure_of_a_reserved_claim_name_is_refused(ncb: Agency, reserved: str) -> None:
    sealed = ncb.seal()
    smuggled = disclosure_of(secrets.token_urlsafe(16), reserved, ["x"])

    def reference_it(payload: dict[str, Any]) -> None:
        payload["body"]["_sd"].append(sd.digest_of(smuggled))

    refusal = ncb.refusal(
        resigned(ncb, sealed, reference_it, [*sealed.disclosures, smuggled]), sealed.record_id
    )

    assert refusal.code is INVALID_ARGUMENT
    assert f"a disclosure may not carry the claim name {reserved!r}" in refusal.message
    assert refusal.fields == ["disclosures"]
    assert refusal.nothing_stored


def test_a_disclosed_name_already_present_in_clear_is_refused(ncb: Agency) -> None:
    sealed = ncb.seal()
    second_concealment = disclosure_of(secrets.token_urlsafe(16), "concealment", "in the hull")

    def reference_it(payload: dict[str, Any]) -> None:
        payload["body"]["_sd"].append(sd.digest_of(second_concealment))

    refusal = ncb.refusal(
        resigned(ncb, sealed, reference_it, [*sealed.disclosures, second_concealment]),
        sealed.record_id,
    )

    assert refusal.code is INVALID_ARGUMENT
    assert "/body: disclosed claim 'concealment' is already present at this level" in (
        refusal.message
    )
    assert refusal.fields == ["disclosures"]
    assert refusal.nothing_stored


def test_a_disclosure_of_a_field_the_schema_does_not_mark_sensitive_is_refused(
    ncb: Agency,
) -> None:
    payload = ncb.payload()
    concealed, disclosures = sd.conceal(
        payload,
        [("body", "location", "coordinates"), ("body", "suspects"), ("body", "notes")],
    )

    refusal = ncb.refusal(
        signed_record(
            sign_payload(compact_json(concealed), ncb.signer),
            [d.encoded for d in disclosures],
            ncb.signer.certificate_der,
        ),
        payload["id"],
    )

    assert refusal.code is INVALID_ARGUMENT
    assert refusal.message == (
        "disclosure fills /body/notes, which the schema does not mark sensitive"
    )
    assert refusal.fields == ["/body/notes"]
    assert refusal.nothing_stored


# ---------------------------------------------------------------- clock and identity


def test_a_record_created_more_than_five_minutes_ahead_is_refused(ncb: Agency) -> None:
    sealed = ncb.seal(ncb.payload(created_at=datetime.now(UTC) + timedelta(minutes=10)))

    refusal = ncb.refusal(sealed)

    assert refusal.code is INVALID_ARGUMENT
    assert "is more than 5 minutes in the future" in refusal.message
    assert refusal.fields == ["/created_at"]
    assert refusal.nothing_stored


def test_the_same_id_with_different_bytes_is_refused_and_the_first_record_kept(
    ncb: Agency,
) -> None:
    first = ncb.seal()
    ncb.publish(first)
    body = seizure_body()
    body["concealment"] = "In the spare tyre."
    second = ncb.seal(ncb.payload(body, record_id=first.record_id))

    refusal = ncb.refusal(second)

    assert refusal.code is grpc.StatusCode.ALREADY_EXISTS
    assert refusal.message == (
        f"record {first.record_id} already exists with different bytes; a new record needs a new id"
    )
    assert refusal.fields == ["/id"]
    assert refusal.after == refusal.before
    assert stored_envelope(ncb.server.database_path, first.record_id) == first.envelope
