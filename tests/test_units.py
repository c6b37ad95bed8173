"""Quantities and amounts normalised for the indicators, exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from silkline.units import (
    AMOUNT_SCALES,
    QUANTITY_UNITS,
    UnitError,
    UnknownScaleError,
    UnknownUnitError,
    normalise_amount,
    normalise_quantity,
)

# Quantities as records carry them: up to a billion, with up to six decimals.
quantities = st.decimals(
    min_value=Decimal("0.000001"),
    max_value=Decimal("1000000000"),
    places=6,
    allow_nan=False,
    allow_infinity=False,
)


def test_indias_methamphetamine_figures_in_quintals_become_kilograms() -> None:
    assert normalise_quantity(34, "quintal") == (Decimal("3400"), "kg")
    assert normalise_quantity(80, "quintal") == (Decimal("8000"), "kg")


@pytest.mark.parametrize(
    ("value", "unit", "kilograms"),
    [
        (Decimal("2988.21"), "kg", Decimal("2988.21")),
        (Decimal("500"), "g", Decimal("0.5")),
        (Decimal("3.3"), "tonne", Decimal("3300")),
        (Decimal("1.2"), "quintal", Decimal("120")),
    ],
)
def test_masses_become_kilograms(value: Decimal, unit: str, kilograms: Decimal) -> None:
    assert normalise_quantity(value, unit) == (kilograms, "kg")


def test_tablets_stay_tablets_and_crore_is_an_amount_scale() -> None:
    # 1.84 crore tablets: the count is written out with the amount scale, the unit is unchanged.
    count = normalise_amount(Decimal("1.84"), "crore")
    assert count == Decimal("18400000")
    assert normalise_quantity(count, "tablets") == (Decimal("18400000"), "tablets")
    assert normalise_quantity(Decimal("4.69E+7"), "tablets") == (Decimal("46900000"), "tablets")


def test_litres_stay_litres() -> None:
    assert normalise_quantity(Decimal("12.5"), "litre") == (Decimal("12.5"), "litre")


def test_indias_seizure_values_in_crore_become_rupees() -> None:
    assert normalise_amount(16100, "crore") == Decimal("161000000000")
    assert normalise_amount(25330, "crore") == Decimal("253300000000")
    assert normalise_amount(Decimal("12"), "lakh") == Decimal("1200000")
    assert normalise_amount(Decimal("2895000"), "unit") == Decimal("2895000")
    assert normalise_amount(Decimal("2895000"), None) == Decimal("2895000")


def test_large_integral_results_are_written_without_an_exponent() -> None:
    assert str(normalise_amount(16100, "crore")) == "161000000000"
    assert str(normalise_quantity(Decimal("3.3"), "tonne")[0]) == "3300"


def test_floats_are_taken_at_their_shortest_decimal_spelling() -> None:
    # Decimal(1.84) would be 1.8400000000000000799...; reports must not carry that.
    assert normalise_amount(1.84, "crore") == Decimal("18400000")
    assert normalise_quantity(0.1, "kg")[0] + normalise_quantity(0.2, "kg")[0] == Decimal("0.3")


def test_an_unknown_unit_is_refused_naming_the_accepted_units() -> None:
    with pytest.raises(UnknownUnitError) as refused:
        normalise_quantity(Decimal("3"), "pound")
    message = str(refused.value)
    assert "'pound'" in message
    for unit in QUANTITY_UNITS:
        assert unit in message
    assert isinstance(refused.value, ValueError)


def test_an_unknown_scale_is_refused_naming_the_accepted_scales() -> None:
    with pytest.raises(UnknownScaleError) as refused:
        normalise_amount(Decimal("3"), "million")
    for scale in AMOUNT_SCALES:
        assert scale in str(refused.value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN"), True, "3"])
def test_values_that_are_not_finite_numbers_are_refused(value: object) -> None:
    with pytest.raises(UnitError):
        normalise_quantity(value, "kg")  # type: ignore[arg-type]


@given(quantities)
def test_grams_and_kilograms_scale_consistently(kilograms: Decimal) -> None:
    grams = kilograms * 1000
    assert normalise_quantity(grams, "g") == normalise_quantity(kilograms, "kg")
    assert normalise_quantity(kilograms, "g")[0] * 1000 == kilograms


@given(quantities)
def test_tonnes_quintals_and_kilograms_agree(tonnes: Decimal) -> None:
    in_tonnes = normalise_quantity(tonnes, "tonne")
    assert in_tonnes == normalise_quantity(tonnes * 10, "quintal")
    assert in_tonnes == normalise_quantity(tonnes * 1000, "kg")
    assert in_tonnes == normalise_quantity(tonnes * 1_000_000, "g")


@given(quantities)
def test_normalisation_is_exact_and_idempotent(value: Decimal) -> None:
    kilograms, unit = normalise_quantity(value, "quintal")
    assert kilograms == value * 100
    assert normalise_quantity(kilograms, unit) == (kilograms, unit)
    assert normalise_amount(value, "crore") == normalise_amount(value * 100, "lakh")
