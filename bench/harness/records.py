"""The records every scenario publishes: sample seizure alerts signed by IN/FEED."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any
from unittest import mock

from harness.servers import CERTS
from silkline.authoring import build_payload, load_signing_identity, seal_record
from silkline.feeds.sample import sample_seizures
from silkline.v1 import records_pb2


def signed_records(
    count: int, seed: int, *, validate: bool = True
) -> Iterator[records_pb2.SignedRecord]:
    """`count` sample seizure alerts (AMBER, for KZ), sealed by IN/FEED.

    validate=False skips the schema validation while sealing (set-up of large
    fills only; the server validates every record it admits either way).
    """
    signer = load_signing_identity(
        CERTS / "IN" / "feed.signing.key", CERTS / "IN" / "feed.signing.crt"
    )
    patch = nullcontext() if validate else mock.patch("silkline.authoring.validate_payload")
    with patch:
        for body in sample_seizures(count, seed, until=datetime.now(UTC)):
            payload = build_payload(
                "seizure-alert", body, originator=signer.identity, tlp="AMBER", recipients=["KZ"]
            )
            sealed = seal_record(payload, signer)
            yield records_pb2.SignedRecord(
                envelope=sealed.envelope,
                disclosures=list(sealed.disclosures),
                signer_certificate=sealed.signer_certificate_der,
            )


def payload_of(record: records_pb2.SignedRecord) -> dict[str, Any]:
    """The signed payload of a record, as a JSON object."""
    decoded: dict[str, Any] = json.loads(base64.b64decode(json.loads(record.envelope)["payload"]))
    return decoded


def record_id(record: records_pb2.SignedRecord) -> str:
    return str(payload_of(record)["id"])
