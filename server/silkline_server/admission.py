"""The one place a record is judged before it is stored.

Order (each refusal stops the rest, and nothing is stored): envelope size;
envelope and payload well-formed and the envelope in canonical form;
payloadType known; signer certificate chains to the originator's participant
CA, valid at created_at and now, not revoked; the TLS caller is the
originator; signature; schema; no sensitive field in clear; disclosures;
created_at not in the future beyond the allowed skew.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from silkline.formats import dsse
from silkline.identity import Identity
from silkline.record_checks import (
    MalformedRecordError,
    RecordRefusedError,
    SignerCache,
    check_body,
    check_signature,
    check_signer,
    parse_record,
)
from silkline.records import Violation
from silkline.trust import TrustStore
from silkline_server.store import NewDisclosure, NewRecord

MAX_FUTURE_SKEW = timedelta(minutes=5)


class EnvelopeTooLargeError(RecordRefusedError):
    pass


class OriginatorMismatchError(RecordRefusedError):
    """The TLS caller is not the agency the record names as its originator."""


class FutureRecordError(RecordRefusedError):
    pass


@dataclass(frozen=True)
class Admission:
    trust: TrustStore
    max_envelope_bytes: int = 1024 * 1024
    # A feed signs thousands of records with one certificate: its parse, its
    # issuance by the participant's CA (a signature check) and its key usage
    # are judged once. Validity and revocation are still checked per record.
    _signers: SignerCache = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_signers", SignerCache(self.trust))

    def admit(
        self,
        caller: Identity,
        envelope: bytes,
        disclosures: Sequence[str],
        signer_certificate_der: bytes,
        now: datetime,
    ) -> NewRecord:
        """The record to store if every check passes; raises RecordRefusedError otherwise."""
        if len(envelope) > self.max_envelope_bytes:
            message = f"envelope is {len(envelope)} bytes; the limit is {self.max_envelope_bytes}"
            raise EnvelopeTooLargeError(message, [Violation("record.envelope", message)])
        record = parse_record(envelope)
        if dsse.encode_envelope(record.envelope) != envelope:
            # Receipts and bundles hash the canonical bytes; another spelling of
            # the same envelope would make them unverifiable.
            message = (
                "envelope is not in canonical form: compact JSON with keys payloadType, "
                "payload, signatures in that order and standard base64 (re-encoding does "
                "not change the signature)"
            )
            raise MalformedRecordError(message, [Violation("record.envelope", message)])
        signer = check_signer(
            record, signer_certificate_der, self.trust, now=now, cache=self._signers
        )
        originator = record.header.originator
        if caller.agency_path != originator.agency_path:
            message = (
                f"you are {caller.agency_path} but the record names {originator.agency_path} "
                "as its originator: an agency publishes only its own records"
            )
            raise OriginatorMismatchError(message, [Violation("/originator", message)])
        check_signature(record, signer)
        body = check_body(record, disclosures)
        if record.header.created_at > now + MAX_FUTURE_SKEW:
            message = (
                f"created_at {record.header.created_at.isoformat()} is more than "
                f"{int(MAX_FUTURE_SKEW.total_seconds() // 60)} minutes in the future"
            )
            raise FutureRecordError(message, [Violation("/created_at", message)])
        header = record.header
        return NewRecord(
            record_id=header.record_id,
            record_type=header.record_type,
            originator_participant=originator.participant,
            originator_agency=originator.agency,
            created_at=header.created_at,
            envelope=envelope,
            envelope_sha256=hashlib.sha256(envelope).hexdigest(),
            signer_certificate=signer_certificate_der,
            tlp=header.tlp,
            handling=",".join(header.handling),
            disclosures=tuple(
                NewDisclosure(field_class=d.field_class, disclosure=d.encoded)
                for d in body.disclosures
            ),
        )
