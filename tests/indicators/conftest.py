"""Record payloads for the indicator tests, built as agencies build them, in clear.

Payloads here carry their personal data in clear (suspects, persons,
defendants, beneficiaries) on purpose: the indicators must not read it even
when it is there, as in a revealed payload.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from silkline.authoring import build_payload
from silkline.identity import Identity
from silkline.indicators.rates import RateTable, load_rate_table

from ..conftest import REPO

EXAMPLES = REPO / "schemas"
SUSPECT_NAME = "Zyxwv Example-Suspect"
"""A personal-data value no output may ever contain."""


@pytest.fixture(scope="session")
def rates() -> RateTable:
    return load_rate_table()


def example_payload(path: str) -> dict[str, Any]:
    """schemas/<path>: an example record, whole."""
    document: dict[str, Any] = json.loads((EXAMPLES / path).read_text(encoding="utf-8"))
    return document


def payload(
    record_type: str,
    body: Mapping[str, Any],
    participant: str = "IN",
    agency: str = "NCB",
    *,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """A payload in clear, as its originator writes it before sealing."""
    return build_payload(
        record_type,
        copy.deepcopy(dict(body)),
        originator=Identity(participant, agency, "test"),
        tlp="GREEN",
        created_at=created_at or datetime(2025, 1, 15, tzinfo=UTC),
    )


def seizure(
    items: list[dict[str, Any]],
    *,
    seized_at: str = "2024-03-10T10:00:00+05:30",
    place: str = "Mundra port, Kutch, Gujarat",
    kind: str = "port",
    country: str = "IN",
    origin: Any = "AF",
    transit: list[Any] | None = None,
    destination: Any = "IN",
    suspects: bool = True,
) -> dict[str, Any]:
    """A seizure-alert body; with a suspect named SUSPECT_NAME unless told otherwise."""
    body: dict[str, Any] = {
        "seized_at": seized_at,
        "location": {
            "kind": kind,
            "name": place,
            "country": country,
            "coordinates": {"lat": 22.7394, "lon": 69.704},
        },
        "conveyance": {"kind": "container", "identifier": "TEST-0001"},
        "concealment": f"hidden by {SUSPECT_NAME} under talc",
        "route": {"origin": origin, "transit": transit or [], "destination": destination},
        "items": items,
        "notes": f"suspect {SUSPECT_NAME} was interviewed",
    }
    if suspects:
        body["suspects"] = [{"name": SUSPECT_NAME, "nationality": "IN", "role": "importer"}]
    return body


def item(
    drug: str,
    value: float | int,
    unit: str,
    amount: float | int | None = None,
    currency: str = "INR",
    scale: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"drug": drug, "quantity": {"value": value, "unit": unit}}
    if amount is not None:
        money: dict[str, Any] = {"amount": amount, "currency": currency}
        if scale is not None:
            money["scale"] = scale
        entry["estimated_value"] = money
    return entry


def tmp_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
