"""Receipts: the log's signed word that it accepted a record.

A receipt is a C2SP signed note (signed-note), signed by the log's Ed25519
key, so the key that verifies checkpoints verifies receipts too. Its text:

    <log origin>
    silkline-receipt/v1
    record <record id>
    envelope-sha256 <lowercase hex SHA-256 of the DSSE envelope bytes>
    index <log index, decimal>
    accepted <RFC 3339 UTC time, microseconds, "Z">

Each line ends with a newline; the note's signature lines follow a blank line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from silkline.formats.note import NoteError, NoteSigner, NoteVerifier, open_note, sign_note

RECEIPT_LINE = "silkline-receipt/v1"
_ACCEPTED_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_INDEX = re.compile(r"0|[1-9][0-9]{0,18}")


class ReceiptError(ValueError):
    """A receipt is malformed, not signed by the log, or not about this record."""


@dataclass(frozen=True)
class Receipt:
    origin: str
    record_id: str
    envelope_sha256: str
    log_index: int
    accepted_at: datetime

    def text(self) -> str:
        """The note text that the log signs."""
        accepted = self.accepted_at.astimezone(UTC).strftime(_ACCEPTED_FORMAT)
        return (
            f"{self.origin}\n{RECEIPT_LINE}\nrecord {self.record_id}\n"
            f"envelope-sha256 {self.envelope_sha256}\nindex {self.log_index}\n"
            f"accepted {accepted}\n"
        )


def sign_receipt(receipt: Receipt, log_key: NoteSigner) -> bytes:
    """The signed note of `receipt`; the log key's name must be the receipt's origin."""
    if log_key.name != receipt.origin:
        raise ReceiptError(f"log key {log_key.name!r} cannot sign for origin {receipt.origin!r}")
    return sign_note(receipt.text(), [log_key])


def parse_receipt_text(text: str) -> Receipt:
    """Parse the text of a receipt note, strictly."""
    lines = text.split("\n")
    if len(lines) != 7 or lines[6] != "":
        raise ReceiptError("a receipt has exactly six lines, each ending with a newline")
    origin, kind, record, digest, index, accepted = lines[:6]
    if kind != RECEIPT_LINE:
        raise ReceiptError(f"second line must be {RECEIPT_LINE!r}, got {kind!r}")
    record_id = _value(record, "record", _UUID)
    envelope_sha256 = _value(digest, "envelope-sha256", _SHA256)
    log_index = int(_value(index, "index", _INDEX))
    accepted_text = _value(accepted, "accepted", None)
    try:
        accepted_at = datetime.strptime(accepted_text, _ACCEPTED_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise ReceiptError(f"accepted time {accepted_text!r} is not {_ACCEPTED_FORMAT}") from exc
    receipt = Receipt(origin, record_id, envelope_sha256, log_index, accepted_at)
    if receipt.text() != text:
        raise ReceiptError("receipt text is not in canonical form")
    return receipt


def open_receipt(note: bytes, log_keys: Iterable[NoteVerifier]) -> Receipt:
    """Verify the log's signature on a receipt note and return what it says."""
    keys = list(log_keys)
    try:
        opened = open_note(note, keys)
    except NoteError as exc:
        raise ReceiptError(f"receipt signature: {exc}") from exc
    receipt = parse_receipt_text(opened.text)
    if receipt.origin not in {key.name for key in opened.verified}:
        raise ReceiptError(
            f"receipt names log {receipt.origin!r} but was signed by "
            f"{', '.join(k.name for k in opened.verified)}"
        )
    return receipt


def _value(line: str, key: str, pattern: re.Pattern[str] | None) -> str:
    prefix = f"{key} "
    if not line.startswith(prefix):
        raise ReceiptError(f"expected a line {prefix!r}..., got {line!r}")
    value = line[len(prefix) :]
    if pattern is not None and not pattern.fullmatch(value):
        raise ReceiptError(f"{key} value {value!r} is malformed")
    return value
