"""The sums: they equal the records they rest on, grouped, dated and compared year on year."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from silkline.indicators.aggregate import (
    IndicatorAccumulator,
    IndicatorQuery,
    Indicators,
    QueryError,
    Row,
    decimal_text,
)
from silkline.indicators.rates import RateTable, load_rate_table

from .conftest import item, payload, seizure

RATES = load_rate_table()
KG_PER_UNIT = {
    "g": Decimal("0.001"),
    "kg": Decimal(1),
    "quintal": Decimal(100),
    "tonne": Decimal(1000),
}
INR_PER_SCALE = {"unit": Decimal(1), "lakh": Decimal(100_000), "crore": Decimal(10_000_000)}


def run(
    payloads: list[dict[str, Any]],
    *groupings: tuple[str, ...],
    start: date | None = None,
    end: date | None = None,
    rates: RateTable = RATES,
) -> Indicators:
    accumulator = IndicatorAccumulator(IndicatorQuery(start, end, groupings or ((),)), rates)
    for document in payloads:
        accumulator.add(document)
    return accumulator.result()


def rows(indicators: Indicators, grouping: int = 0) -> dict[tuple[Any, ...], Row]:
    return {
        (row.measure, row.unit, *(value for _, value in row.dimensions)): row
        for row in indicators.rows_of(grouping)
    }


# ----------------------------------------------------------- sums of records

drugs = st.sampled_from(["heroin", "cocaine", "methamphetamine", "hashish"])
masses = st.tuples(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(5000), places=2),
    st.sampled_from(sorted(KG_PER_UNIT)),
)
values = st.one_of(
    st.none(),
    st.tuples(
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal(30000), places=2),
        st.sampled_from(sorted(INR_PER_SCALE)),
    ),
)
seizure_items = st.lists(st.tuples(drugs, masses, values), min_size=1, max_size=3)
years = st.sampled_from([2023, 2024])


def number(value: Decimal) -> int | float:
    """As a JSON number in a payload: floats whose repr is the decimal."""
    return int(value) if value == value.to_integral_value() else float(value)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(years, seizure_items), min_size=1, max_size=12))
def test_totals_equal_the_sums_of_the_records_they_rest_on(
    records: list[tuple[int, list[tuple[str, tuple[Decimal, str], Any]]]],
) -> None:
    payloads = []
    expected_kg: dict[tuple[int, str], Decimal] = {}
    expected_inr: dict[int, Decimal] = {}
    resting: dict[tuple[int, str], set[str]] = {}
    for number_of, (year, entries) in enumerate(records):
        written = []
        for drug, (mass, unit), value in entries:
            amount = scale = None
            if value is not None:
                amount, scale = value
                expected_inr[year] = (
                    expected_inr.get(year, Decimal(0)) + amount * INR_PER_SCALE[scale]
                )
            written.append(
                item(drug, number(mass), unit, number(amount) if amount else None, "INR", scale)
            )
            key = (year, drug)
            expected_kg[key] = expected_kg.get(key, Decimal(0)) + mass * KG_PER_UNIT[unit]
        document = payload(
            "seizure-alert",
            seizure(written, seized_at=f"{year}-06-{1 + number_of % 28:02d}T10:00:00+05:30"),
        )
        payloads.append(document)
        for drug, _, _ in entries:
            resting.setdefault((year, drug), set()).add(document["id"])
    found = rows(run(payloads, ("year", "drug")))
    for (year, drug), kg in expected_kg.items():
        row = found["seized_quantity", "kg", str(year), drug]
        assert row.value == kg
        assert row.record_count == len(resting[year, drug])
        seizures = found["seizures", "seizures", str(year), drug]
        assert seizures.value == len(resting[year, drug])
    totals = rows(run(payloads, ("year",)))
    for year, inr in expected_inr.items():
        assert totals["seizure_value_inr", "INR", str(year)].value == inr.quantize(Decimal("0.01"))
    assert sum(r.value for r in totals.values() if r.measure == "seizures") == len(payloads)


def test_quintals_and_crore_add_up_with_kilograms_and_rupees() -> None:
    payloads = [
        payload(
            "seizure-alert",
            seizure([item("methamphetamine", 34, "quintal", 1.5, "INR", "crore")]),
        ),
        payload(
            "seizure-alert",
            seizure([item("methamphetamine", 250, "kg", 50, "INR", "lakh")]),
        ),
        payload(
            "seizure-alert",
            seizure([item("methamphetamine", 0.75, "tonne", 2_500_000, "INR", "unit")]),
        ),
        payload(
            "seizure-alert",
            seizure([item("methamphetamine", 500, "g", 10_000, "INR")]),
        ),
    ]
    found = rows(run(payloads))
    assert found["seized_quantity", "kg"].value == Decimal("4400.5")  # 3400 + 250 + 750 + 0.5
    assert found["seized_quantity", "kg"].record_count == 4
    # 1.5 crore + 50 lakh + 25 lakh + 10,000 rupees
    assert found["seizure_value_inr", "INR"].value == Decimal("22510000.00")
    assert found["seizures", "seizures"].value == 4


def test_a_seizure_of_two_drugs_counts_under_each_drug_and_once_in_total() -> None:
    document = payload(
        "seizure-alert", seizure([item("heroin", 10, "kg"), item("methamphetamine", 5, "kg")])
    )
    by_drug = rows(run([document], ("drug",)))
    assert by_drug["seizures", "seizures", "heroin"].value == 1
    assert by_drug["seizures", "seizures", "methamphetamine"].value == 1
    assert rows(run([document]))["seizures", "seizures"].value == 1


def test_a_dimension_that_does_not_apply_is_left_out_of_the_row() -> None:
    arrest = payload(
        "arrest",
        {
            "arrested_at": "2024-02-27T06:00:00+05:30",
            "location": {"kind": "sea", "name": "off Porbandar", "country": "IN"},
            "count": 5,
        },
    )
    found = run([arrest], ("drug", "location"))
    (row,) = found.rows
    assert (row.measure, row.dimensions, row.value) == (
        "arrests",
        (("location", "off Porbandar"),),
        Decimal(5),
    )


def test_only_records_dated_in_the_period_count() -> None:
    inside = payload(
        "seizure-alert", seizure([item("heroin", 1, "kg")], seized_at="2024-12-31T23:00:00+05:30")
    )
    before = payload(
        "seizure-alert", seizure([item("heroin", 2, "kg")], seized_at="2022-12-31T23:00:00+05:30")
    )
    after = payload(
        "seizure-alert", seizure([item("heroin", 4, "kg")], seized_at="2025-01-01T00:10:00+05:30")
    )
    found = run([inside, before, after], start=date(2023, 1, 1), end=date(2024, 12, 31))
    assert found.records_used == 1
    assert rows(found)["seized_quantity", "kg"].value == 1


def test_values_in_other_currencies_are_converted_and_rounded_once() -> None:
    payloads = [
        payload(
            "seizure-alert",
            seizure([item("heroin", 1, "kg", 1, "USD")], seized_at="2023-03-01T10:00:00Z"),
            "TJ",
            "DCA",
        )
        for _ in range(3)
    ]
    found = rows(run(payloads))
    assert found["seizure_value_usd", "USD"].value == Decimal("3.00")
    assert found["seizure_value_inr", "INR"].value == Decimal("247.80")  # 3 x 82.60


def test_year_on_year_change_for_each_measure() -> None:
    payloads = [
        payload(
            "seizure-alert",
            seizure(
                [item("cocaine", 292, "kg", 100, "INR", "crore")], seized_at="2023-05-01T10:00:00Z"
            ),
        ),
        payload(
            "seizure-alert",
            seizure(
                [item("cocaine", 1426, "kg", 300, "INR", "crore")], seized_at="2024-05-01T10:00:00Z"
            ),
        ),
        payload(
            "seizure-alert", seizure([item("heroin", 7, "kg")], seized_at="2024-06-01T10:00:00Z")
        ),
    ]
    found = run(payloads, ("drug",), start=date(2023, 1, 1), end=date(2024, 12, 31))
    changes = {(c.measure, c.unit, *(v for _, v in c.dimensions)): c for c in found.changes}
    cocaine = changes["seized_quantity", "kg", "cocaine"]
    assert (cocaine.year, cocaine.previous, cocaine.value) == (2024, Decimal(292), Decimal(1426))
    assert cocaine.change == Decimal(1134)
    assert cocaine.change_percent == Decimal("388.4")
    assert (cocaine.previous_record_count, cocaine.record_count) == (1, 1)
    heroin = changes["seized_quantity", "kg", "heroin"]
    assert (heroin.previous, heroin.value, heroin.change_percent) == (Decimal(0), Decimal(7), None)
    value = changes["seizure_value_inr", "INR", "cocaine"]
    assert value.change_percent == Decimal("200.0")


def test_a_period_of_parts_of_years_says_so() -> None:
    payloads = [
        payload(
            "seizure-alert", seizure([item("heroin", 1, "kg")], seized_at="2023-09-01T10:00:00Z")
        ),
        payload(
            "seizure-alert", seizure([item("heroin", 1, "kg")], seized_at="2024-03-01T10:00:00Z")
        ),
    ]
    found = run(payloads, start=date(2023, 7, 1), end=date(2024, 6, 30))
    assert any("whole calendar years" in note for note in found.notes)


def prosecution(status: str, created: str, decided: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "case_reference": "RC-00/2021/NIA/DLI",
        "court": {"name": "Special Court (NIA), Ahmedabad", "country": "IN"},
        "charges": [{"description": "possession"}],
        "status": status,
        "defendants_count": 3,
    }
    if decided:
        body["decided_at"] = decided
    return payload(
        "prosecution",
        body,
        "IN",
        "NIA",
        created_at=datetime.fromisoformat(created).replace(tzinfo=UTC),
    )


def test_a_case_reported_twice_counts_once_with_its_latest_status() -> None:
    charged = prosecution("charged", "2023-03-01T00:00:00")
    convicted = prosecution("convicted", "2024-05-02T00:00:00", "2024-05-01")
    overall = rows(run([convicted, charged]))
    assert "prosecutions_charged" not in {key[0] for key in overall}
    assert overall["prosecutions_convicted", "cases"].value == 1
    assert overall["defendants", "persons"].value == 3
    by_year = rows(run([charged, convicted], ("year",)))
    assert by_year["prosecutions_charged", "cases", "2023"].value == 1
    assert by_year["prosecutions_convicted", "cases", "2024"].value == 1


def test_other_record_types_give_their_measures() -> None:
    from .conftest import example_payload

    payloads = [
        example_payload("training/examples/maritime-interdiction-new-delhi-2024-11.json"),
        example_payload("rehabilitation/examples/tashkent-region-2024.json"),
        example_payload("livelihood/examples/chui-valley-2024.json"),
        example_payload("joint-operation/examples/northern-route-2024.json"),
    ]
    found = {row.measure: row.value for row in run(payloads).rows}
    assert found["trainings"] == 1
    assert found["people_trained"] == 25
    assert found["livelihood_beneficiaries"] == 640
    assert found["livelihood_area"] == Decimal("215.5")
    assert found["joint_operations"] == 1
    assert {"people_treated", "people_completed", "joint_operation_seizures"} <= set(found)


def test_unknown_dimensions_and_reversed_periods_are_refused() -> None:
    with pytest.raises(QueryError) as unknown:
        IndicatorQuery(groupings=(("drug", "suspect"),))
    assert unknown.value.field == "groupings[0]"
    assert "suspect" in unknown.value.message
    with pytest.raises(QueryError) as reversed_period:
        IndicatorQuery(date(2024, 1, 1), date(2023, 1, 1))
    assert reversed_period.value.field == "to_date"


def test_result_can_be_asked_twice() -> None:
    accumulator = IndicatorAccumulator(IndicatorQuery(), RATES)
    accumulator.add(prosecution("charged", "2023-03-01T00:00:00"))
    assert accumulator.result() == accumulator.result()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("161000000000.00"), "161000000000"),
        (Decimal("1.50"), "1.5"),
        (Decimal("1E+3"), "1000"),
        (Decimal("0.00"), "0"),
        (Decimal("-2.10"), "-2.1"),
    ],
)
def test_decimal_text_is_plain(value: Decimal, text: str) -> None:
    assert decimal_text(value) == text
