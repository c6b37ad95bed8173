"""What one record contributes: the fields read, the units, the dates."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from silkline.indicators.facts import (
    MEASURES,
    NO_TRANSIT,
    IndicatorInputError,
    contribution_of,
)
from silkline.indicators.rates import RateTable
from silkline.records import RECORD_TYPES, sensitive_fields

from .conftest import SUSPECT_NAME, example_payload, item, payload, seizure

# Fields an indicator may never read: every field a schema marks with
# x-silkline-class, read from the schemas themselves, and free text that could
# name a person.
SENSITIVE_NAMES = frozenset(
    pointer.rsplit("/", 1)[-1]
    for record_type in RECORD_TYPES
    for pointer in sensitive_fields(record_type)
)
FORBIDDEN = SENSITIVE_NAMES | {"notes", "concealment", "charges", "aliases", "_sd"}


class TripwireError(AssertionError):
    pass


class Tripwire(dict[str, Any]):
    """A JSON object that fails the test when a forbidden key is read."""

    def __getitem__(self, key: str) -> Any:
        self._check(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._check(key)
        return super().get(key, default)

    def __iter__(self) -> Iterator[str]:
        raise TripwireError("an indicator reader iterated over a whole object")

    def items(self) -> Any:
        raise TripwireError("an indicator reader iterated over a whole object")

    def values(self) -> Any:
        raise TripwireError("an indicator reader iterated over a whole object")

    @staticmethod
    def _check(key: str) -> None:
        if key in FORBIDDEN:
            raise TripwireError(f"an indicator reader read {key!r}")


def armed(document: Any) -> Any:
    if isinstance(document, dict):
        return Tripwire({key: armed(value) for key, value in document.items()})
    if isinstance(document, list):
        return [armed(value) for value in document]
    return document


EXAMPLE_RECORDS = [
    "seizure-alert/examples/mundra-port-heroin-2021-09.json",
    "seizure-alert/examples/panji-poyon-heroin-2024-03.json",
    "seizure-alert/examples/zokhawthar-road-methamphetamine-2024-06.json",
    "arrest/examples/gujarat-coast-crew-2024-02.json",
    "prosecution/examples/mundra-port-heroin-pending.json",
    "prosecution/examples/termez-heroin-convicted-2024.json",
    "training/examples/maritime-interdiction-new-delhi-2024-11.json",
    "rehabilitation/examples/tashkent-region-2024.json",
    "livelihood/examples/chui-valley-2024.json",
    "joint-operation/examples/northern-route-2024.json",
]


def with_persons(document: dict[str, Any]) -> dict[str, Any]:
    """The example with every persons field filled, as a revealed payload has them."""
    person = [{"name": SUSPECT_NAME, "nationality": "IN"}]
    body = document["body"]
    field_by_type = {
        "seizure-alert": "suspects",
        "arrest": "persons",
        "prosecution": "defendants",
        "livelihood": "beneficiary_list",
    }
    if document["record_type"] in field_by_type:
        body[field_by_type[document["record_type"]]] = person
    return document


@pytest.mark.parametrize("path", EXAMPLE_RECORDS)
def test_no_reader_reads_a_sensitive_or_free_text_field(path: str, rates: RateTable) -> None:
    document = with_persons(example_payload(path))
    contribution = contribution_of(armed(document), rates)
    assert contribution is not None
    assert contribution.facts


def test_the_schemas_mark_the_persons_fields_the_readers_avoid() -> None:
    assert {"suspects", "persons", "defendants", "beneficiary_list", "coordinates"} <= (
        SENSITIVE_NAMES
    )


def test_case_evidence_carries_no_indicator(rates: RateTable) -> None:
    document = example_payload("case-evidence/examples/mundra-port-exhibits-2021.json")
    assert contribution_of(document, rates) is None


def test_every_measure_a_reader_emits_is_declared(rates: RateTable) -> None:
    for path in EXAMPLE_RECORDS:
        contribution = contribution_of(example_payload(path), rates)
        assert contribution is not None
        for fact in contribution.facts:
            assert fact.measure in MEASURES, fact.measure


@pytest.mark.parametrize(
    ("value", "unit", "kg"),
    [
        (34, "quintal", Decimal(3400)),
        (1.2, "quintal", Decimal(120)),
        (1.426, "tonne", Decimal(1426)),
        (850, "g", Decimal("0.85")),
        (2988.21, "kg", Decimal("2988.21")),
    ],
)
def test_masses_are_normalised_to_kg(
    value: float, unit: str, kg: Decimal, rates: RateTable
) -> None:
    contribution = contribution_of(
        payload("seizure-alert", seizure([item("cocaine", value, unit)])), rates
    )
    assert contribution is not None
    (quantity,) = [f for f in contribution.facts if f.measure == "seized_quantity"]
    assert (quantity.value, quantity.unit) == (kg, "kg")


def test_tablets_stay_tablets(rates: RateTable) -> None:
    body = seizure([item("pharmaceutical-tablets", 18_400_000, "tablets")])
    contribution = contribution_of(payload("seizure-alert", body), rates)
    assert contribution is not None
    (quantity,) = [f for f in contribution.facts if f.measure == "seized_quantity"]
    assert (quantity.value, quantity.unit) == (Decimal(18_400_000), "tablets")


@pytest.mark.parametrize(
    ("amount", "scale", "inr"),
    [
        (16100, "crore", Decimal("161000000000")),
        (12, "lakh", Decimal("1200000")),
        (1.84, "crore", Decimal("18400000")),
        (2500, None, Decimal("2500")),
        (2500, "unit", Decimal("2500")),
    ],
)
def test_inr_values_are_read_in_their_scale(
    amount: float, scale: str | None, inr: Decimal, rates: RateTable
) -> None:
    body = seizure(
        [item("heroin", 1, "kg", amount, "INR", scale)], seized_at="2023-05-01T09:00:00Z"
    )
    contribution = contribution_of(payload("seizure-alert", body), rates)
    assert contribution is not None
    values = {f.unit: f.value for f in contribution.facts if f.measure.startswith("seizure_value")}
    assert values["INR"] == inr
    assert values["USD"] == inr / Decimal("82.60")  # the 2023 rate of the table


def test_a_usd_value_is_converted_to_inr_with_the_year_of_the_seizure(rates: RateTable) -> None:
    body = seizure(
        [item("heroin", 96.5, "kg", 2_895_000, "USD")], seized_at="2024-03-19T09:30:00+05:00"
    )
    contribution = contribution_of(payload("seizure-alert", body, "TJ", "DCA"), rates)
    assert contribution is not None
    values = {f.unit: f.value for f in contribution.facts if f.measure.startswith("seizure_value")}
    assert values == {"USD": Decimal(2_895_000), "INR": Decimal(2_895_000) * Decimal("83.67")}


def test_a_currency_without_a_rate_is_left_unconverted_and_said(rates: RateTable) -> None:
    body = seizure([item("heroin", 1, "kg", 5000, "EUR")], seized_at="2024-03-19T09:30:00Z")
    contribution = contribution_of(payload("seizure-alert", body), rates)
    assert contribution is not None
    (value,) = [f for f in contribution.facts if f.measure.startswith("seizure_value")]
    assert (value.measure, value.unit, value.value) == (
        "seizure_value_unconverted",
        "EUR",
        Decimal(5000),
    )
    assert contribution.notes == ("no 2024 rate for EUR: EUR amounts of 2024 left unconverted",)


def test_a_seizure_keeps_the_local_day_it_was_made(rates: RateTable) -> None:
    # 00:30 in India on 1 January is still 31 December in UTC: India counts it in the new year.
    body = seizure([item("heroin", 1, "kg")], seized_at="2024-01-01T00:30:00+05:30")
    contribution = contribution_of(payload("seizure-alert", body), rates)
    assert contribution is not None
    assert contribution.day.isoformat() == "2024-01-01"


def test_route_dimensions_are_countries_and_a_seizure_counts_once_per_drug(
    rates: RateTable,
) -> None:
    body = seizure(
        [item("heroin", 10, "kg"), item("methamphetamine", 5, "kg"), item("heroin", 1, "kg")],
        origin={"name": "Kandahar", "country": "AF"},
        transit=[{"name": "Chabahar", "country": "IR"}, "IR", "AE"],
        destination={"name": "Vijayawada", "country": "IN"},
    )
    contribution = contribution_of(payload("seizure-alert", body), rates)
    assert contribution is not None
    (count,) = [f for f in contribution.facts if f.measure == "seizures"]
    assert count.dimensions["drug"] == ("heroin", "methamphetamine")
    assert count.dimensions["route_origin"] == ("AF",)
    assert count.dimensions["route_transit"] == ("IR", "AE")
    assert count.dimensions["route_destination"] == ("IN",)
    assert count.dimensions["location"] == ("Mundra port, Kutch, Gujarat",)


def test_a_route_without_transit_says_none(rates: RateTable) -> None:
    contribution = contribution_of(
        payload("seizure-alert", seizure([item("heroin", 1, "kg")])), rates
    )
    assert contribution is not None
    assert contribution.facts[0].dimensions["route_transit"] == (NO_TRANSIT,)


def test_counts_come_from_the_counts_beside_the_persons(rates: RateTable) -> None:
    arrest = with_persons(example_payload("arrest/examples/gujarat-coast-crew-2024-02.json"))
    contribution = contribution_of(arrest, rates)
    assert contribution is not None
    assert [(f.measure, f.value) for f in contribution.facts] == [("arrests", Decimal(5))]


def test_a_prosecution_is_dated_by_its_decision_and_keyed_by_its_case(rates: RateTable) -> None:
    document = example_payload("prosecution/examples/termez-heroin-convicted-2024.json")
    contribution = contribution_of(document, rates)
    assert contribution is not None
    assert contribution.day.isoformat() == document["body"]["decided_at"]
    assert (
        contribution.case
        == f"{document['originator']['participant']}|" + (document["body"]["case_reference"])
    )
    assert contribution.facts[0].measure == "prosecutions_convicted"


def test_a_missing_required_field_is_named_with_the_record(rates: RateTable) -> None:
    document = payload("seizure-alert", seizure([item("heroin", 1, "kg")]))
    del document["body"]["route"]
    with pytest.raises(IndicatorInputError, match=document["id"]) as raised:
        contribution_of(document, rates)
    assert "route" in str(raised.value)
    assert SUSPECT_NAME not in str(raised.value)
