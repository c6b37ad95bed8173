"""Offline verification of a record bundle: what `silkline verify` checks, in order.

Needs only the bundle, the participants' CA certificates (and CRLs when
available) and the log's verifier key. Each check is reported by name; the
first failure stops the run and is named.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from silkline.bundle import Bundle
from silkline.formats.note import NoteVerifier
from silkline.formats.receipt import ReceiptError, open_receipt
from silkline.record_checks import (
    RecordRefusedError,
    check_body,
    check_signature,
    check_signer,
    parse_record,
)
from silkline.trust import TrustStore


class VerificationFailedError(Exception):
    def __init__(self, check: str, reason: str, passed: Sequence[str]) -> None:
        super().__init__(f"{check}: {reason}")
        self.check = check
        self.reason = reason
        self.passed = tuple(passed)


@dataclass
class VerificationReport:
    record_id: str = ""
    originator: str = ""
    passed: list[str] = field(default_factory=list)
    disclosed: list[str] = field(default_factory=list)


def verify_bundle(
    bundle: Bundle, trust: TrustStore, log_keys: Sequence[NoteVerifier]
) -> VerificationReport:
    """Run every check; raise VerificationFailedError naming the first that fails."""
    report = VerificationReport()
    try:
        record = parse_record(bundle.envelope)
        report.record_id = record.header.record_id
        report.originator = record.header.originator.agency_path
        report.passed.append("envelope and payload well-formed")
        signer = check_signer(record, bundle.signer_certificate_der, trust, now=None)
        report.passed.append(
            f"signer certificate {signer.identity.uri} issued by "
            f"{signer.identity.participant}'s CA, valid at created_at, not revoked then"
        )
        check_signature(record, signer)
        report.passed.append(f"DSSE signature by keyid {signer.keyid[:16]}…")
        body = check_body(record, bundle.disclosures)
        report.disclosed = [f"{d.pointer} ({d.field_class})" for d in body.disclosures]
        report.passed.append(
            f"schema, no sensitive field in clear, {len(body.disclosures)} disclosure(s) "
            "match digests in the signed payload"
        )
    except RecordRefusedError as exc:
        raise VerificationFailedError(type(exc).__name__, str(exc), report.passed) from exc
    if bundle.receipt is None:
        raise VerificationFailedError("receipt", "the bundle has no receipt", report.passed)
    if not log_keys:
        raise VerificationFailedError(
            "receipt", "no log verifier key given (--log-key)", report.passed
        )
    try:
        receipt = open_receipt(bundle.receipt.note.encode(), log_keys)
    except ReceiptError as exc:
        raise VerificationFailedError("receipt", str(exc), report.passed) from exc
    envelope_sha256 = hashlib.sha256(bundle.envelope).hexdigest()
    if receipt.record_id != record.header.record_id or receipt.envelope_sha256 != envelope_sha256:
        raise VerificationFailedError(
            "receipt", "the receipt is for another record or another envelope", report.passed
        )
    if (receipt.log_index, receipt.record_id) != (
        bundle.receipt.log_index,
        bundle.receipt.record_id,
    ):
        raise VerificationFailedError(
            "receipt", "the receipt's fields differ from its signed note", report.passed
        )
    report.passed.append(
        f"receipt signed by log {receipt.origin}: index {receipt.log_index}, "
        f"accepted {receipt.accepted_at:%Y-%m-%dT%H:%M:%SZ}"
    )
    return report
