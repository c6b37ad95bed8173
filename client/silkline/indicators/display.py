"""How indicators read to people: labels, and values in the units reports use.

India's figures are read in crore (10^7): INR 16,100 crore, 4.69 crore
tablets. Machine outputs (JSON, CSV) keep the exact values and plain units;
tables, HTML and charts use these forms.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

from silkline.indicators.aggregate import Change, decimal_text

__all__ = [
    "CRORE",
    "change_text",
    "dimension_label",
    "in_crore",
    "measure_label",
    "value_text",
]

CRORE: Final = Decimal(10_000_000)
MILLION: Final = Decimal(1_000_000)
_CENT: Final = Decimal("0.01")
_MILLI: Final = Decimal("0.001")

_MEASURE_LABELS: Final = {
    "seizures": "Seizures",
    "seized_quantity": "Quantity seized",
    "seizure_value_inr": "Estimated value (INR)",
    "seizure_value_usd": "Estimated value (USD)",
    "seizure_value_unconverted": "Estimated value (not converted)",
    "arrests": "Persons arrested",
    "prosecutions_charged": "Prosecutions: charged",
    "prosecutions_pending": "Prosecutions: pending",
    "prosecutions_convicted": "Prosecutions: convicted",
    "prosecutions_acquitted": "Prosecutions: acquitted",
    "prosecutions_dismissed": "Prosecutions: dismissed",
    "defendants": "Defendants",
    "joint_operations": "Joint operations",
    "joint_operation_seizures": "Joint operations: seizures",
    "joint_operation_arrests": "Joint operations: arrests",
    "trainings": "Training sessions",
    "people_trained": "People trained",
    "people_treated": "Rehabilitation: treated",
    "people_completed": "Rehabilitation: completed",
    "livelihood_beneficiaries": "Livelihood beneficiaries",
    "livelihood_area": "Livelihood area converted",
}

_SINGULAR: Final = {
    "seizures": "seizure",
    "persons": "person",
    "cases": "case",
    "sessions": "session",
    "operations": "operation",
}

_DIMENSION_LABELS: Final = {
    "participant": "Participant",
    "agency": "Agency",
    "drug": "Drug",
    "route_origin": "Origin",
    "route_transit": "Transit",
    "route_destination": "Destination",
    "location": "Place",
    "location_kind": "Kind of place",
    "country": "Country",
    "year": "Year",
    "month": "Month",
}


def measure_label(measure: str, unit: str = "") -> str:
    """ "Quantity seized (kg)" and the like."""
    label = _MEASURE_LABELS.get(measure, measure)
    if measure == "seized_quantity" and unit:
        return f"{label} ({unit})"
    if measure == "seizure_value_unconverted" and unit:
        return f"Estimated value ({unit}, not converted)"
    return label


def dimension_label(dimension: str) -> str:
    return _DIMENSION_LABELS.get(dimension, dimension)


def in_crore(value: Decimal) -> Decimal:
    """``value`` in crore, to 0.01."""
    return (value / CRORE).quantize(_CENT, ROUND_HALF_EVEN)


def value_text(value: Decimal, unit: str) -> str:
    """A value as a report writes it.

    "INR 16,100 crore", "USD 1,949.15 million", "8,000 kg", "46,900,000 tablets (4.69 crore)".
    """
    if unit == "INR":
        if abs(value) >= CRORE / 100:
            return f"INR {_grouped(in_crore(value))} crore"
        return f"INR {_grouped(value.quantize(_CENT, ROUND_HALF_EVEN))}"
    if unit == "USD":
        if abs(value) >= MILLION:
            millions = (value / MILLION).quantize(_CENT, ROUND_HALF_EVEN)
            return f"USD {_grouped(millions)} million"
        return f"USD {_grouped(value.quantize(_CENT, ROUND_HALF_EVEN))}"
    if unit == "tablets" and abs(value) >= CRORE / 100:
        return f"{_grouped(value)} tablets ({_grouped(in_crore(value))} crore)"
    if unit == "kg":
        return f"{_grouped(value.quantize(_MILLI, ROUND_HALF_EVEN))} kg"
    if len(unit) == 3 and unit.isupper():  # another currency, left unconverted
        return f"{unit} {_grouped(value)}"
    if value == 1 and unit in _SINGULAR:
        return f"1 {_SINGULAR[unit]}"
    return f"{_grouped(value)} {unit}"


def change_text(change: Change) -> str:
    """ "+135.3 %", "-12 %", "new" (nothing the year before)."""
    percent = change.change_percent
    if percent is None:
        return "new" if change.value else "0"
    return f"{'+' if percent > 0 else ''}{decimal_text(percent)} %"


def _grouped(value: Decimal) -> str:
    """Thousands separated, trailing zeros dropped: 16100.00 -> "16,100"."""
    text = decimal_text(value)
    whole, _, fraction = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    grouped = f"{int(whole.lstrip('-') or '0'):,}"
    return f"{sign}{grouped}{'.' + fraction if fraction else ''}"
