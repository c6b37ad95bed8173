"""What one record contributes to the indicators, read from its non-personal fields only.

Each record type has one reader here, and each reader names the fields it
reads. None of them reads a field that a schema marks with
``x-silkline-class`` (``suspects``, ``persons``, ``defendants``,
``beneficiary_list``, ``location.coordinates``), nor free text (notes,
concealment, charges): the counts the schemas keep beside the persons
(``arrest.count``, ``prosecution.defendants_count``) are what makes that
possible. ``tests/indicators/test_facts.py`` holds the readers to it with
payloads that raise on any other access.

A record's date is its own, not the date it was posted: the seizure, the
arrest, the decision (or, before one, the record's creation), and for a span
(training, treatment period, programme, operation) its last day, when its
outcome is known. Dates keep the local calendar day the originator wrote.

Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from silkline.indicators.rates import RateTable
from silkline.units import UnitError, normalise_amount, normalise_quantity

__all__ = [
    "DIMENSIONS",
    "INDICATOR_RECORD_TYPES",
    "MEASURES",
    "NO_TRANSIT",
    "Contribution",
    "Fact",
    "IndicatorInputError",
    "contribution_of",
]

DIMENSIONS: Final = (
    "participant",
    "agency",
    "drug",
    "route_origin",
    "route_transit",
    "route_destination",
    "location",
    "location_kind",
    "country",
    "year",
    "month",
)
"""What indicators can be grouped by, in the order a report lists them.

participant and agency are the originator's; route_* are countries (ISO
3166-1 alpha-2) of the route's points; location is the place named in the
record (a port, a border crossing) and location_kind its kind; country is
where it happened (location, court, venue or region); year and month come
from the record's date."""

MEASURES: Final[dict[str, str]] = {
    "seizures": "seizure alerts; grouped by drug, a seizure of two drugs counts under each",
    "seized_quantity": "quantity seized: masses in kg (g, tonne, quintal converted), tablets",
    "seizure_value_inr": "estimated value in INR, converted with the rate table where not in INR",
    "seizure_value_usd": "estimated value in USD, converted with the rate table",
    "seizure_value_unconverted": "estimated value in a currency the rate table has no rate for",
    "arrests": "persons arrested (arrest.count)",
    "prosecutions_charged": "cases charged, by latest status",
    "prosecutions_pending": "cases pending, by latest status",
    "prosecutions_convicted": "cases ending in conviction",
    "prosecutions_acquitted": "cases ending in acquittal",
    "prosecutions_dismissed": "cases dismissed",
    "defendants": "defendants of those cases (defendants_count)",
    "joint_operations": "joint operations",
    "joint_operation_seizures": "seizures the joint operations report (outcome.seizures_count)",
    "joint_operation_arrests": "arrests the joint operations report (outcome.arrests_count)",
    "trainings": "training sessions",
    "people_trained": "officers who completed a training",
    "people_treated": "people treated (rehabilitation)",
    "people_completed": "people who completed treatment (rehabilitation)",
    "livelihood_beneficiaries": "beneficiaries of alternative-livelihood programmes",
    "livelihood_area": "area converted by alternative-livelihood programmes",
}
"""Every measure, with what it counts."""

INDICATOR_RECORD_TYPES: Final = (
    "seizure-alert",
    "arrest",
    "prosecution",
    "training",
    "rehabilitation",
    "livelihood",
    "joint-operation",
)
"""The record types indicators are computed from (case-evidence carries none)."""

NO_TRANSIT: Final = "(none)"
"""route_transit of a seizure whose route names no transit point."""

_ONE: Final = Decimal(1)


class IndicatorInputError(ValueError):
    """A payload lacks a field its indicators need; the message names the record and field."""


@dataclass(frozen=True, slots=True)
class Fact:
    """One measured value of a record, with the values of the dimensions that apply to it.

    A dimension may hold several values (a seizure of two drugs, a route
    through two countries): grouped by it, the fact counts once under each.
    """

    measure: str
    unit: str
    value: Decimal
    dimensions: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Contribution:
    """Everything one record adds to the indicators.

    ``case`` identifies a prosecution across the records that report it
    (originator participant and case reference): only its latest status
    counts. It is used for that and nowhere else, never shown.
    """

    record_id: str
    record_type: str
    day: date
    created_at: datetime
    facts: tuple[Fact, ...]
    notes: tuple[str, ...] = ()
    case: str | None = None


def contribution_of(payload: Mapping[str, Any], rates: RateTable) -> Contribution | None:
    """What a record payload (as signed: no disclosure needed) adds; None for case-evidence.

    Raises :class:`IndicatorInputError` for a payload that lacks what its
    schema requires, naming the record and the field.
    """
    record_id = str(payload.get("id", "?"))
    record_type = payload.get("record_type")
    if not isinstance(record_type, str) or record_type not in _READERS:
        return None
    reader = _READERS[record_type]
    try:
        originator = payload["originator"]
        common: _Dimensions = {
            "participant": (str(originator["participant"]),),
            "agency": (f"{originator['participant']}/{originator['agency']}",),
        }
        created_at = _instant(payload["created_at"])
        body = payload["body"]
        day, facts, notes, case = reader(body, common, created_at, rates)
    except (KeyError, TypeError, ValueError, UnitError) as exc:
        raise IndicatorInputError(
            f"record {record_id} ({record_type}): cannot read its indicators: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if case is not None:
        case = f"{originator['participant']}|{case}"
    return Contribution(record_id, record_type, day, created_at, facts, notes, case)


_Dimensions = dict[str, tuple[str, ...]]
_Read = tuple[date, tuple[Fact, ...], tuple[str, ...], str | None]


def _seizure(body: Any, common: _Dimensions, created_at: datetime, rates: RateTable) -> _Read:
    day = _instant(body["seized_at"]).date()
    route = body["route"]
    transit = tuple(dict.fromkeys(_country(point) for point in route.get("transit") or ()))
    dimensions: _Dimensions = {
        **common,
        **_location(body["location"]),
        "route_origin": (_country(route["origin"]),),
        "route_transit": transit or (NO_TRANSIT,),
        "route_destination": (_country(route["destination"]),),
    }
    items = body["items"]
    drugs = tuple(dict.fromkeys(str(item["drug"]) for item in items))
    facts = [Fact("seizures", "seizures", _ONE, {**dimensions, "drug": drugs})]
    notes: list[str] = []
    for item in items:
        per_drug = {**dimensions, "drug": (str(item["drug"]),)}
        quantity = item["quantity"]
        value, unit = normalise_quantity(quantity["value"], quantity["unit"])
        facts.append(Fact("seized_quantity", unit, value, per_drug))
        estimate = item.get("estimated_value")
        if estimate is not None:
            facts.extend(_values(estimate, day.year, per_drug, rates, notes))
    return day, tuple(facts), tuple(notes), None


def _values(
    estimate: Mapping[str, Any],
    year: int,
    dimensions: _Dimensions,
    rates: RateTable,
    notes: list[str],
) -> list[Fact]:
    """The estimated value in INR and USD, or unconverted when the table lacks a rate."""
    currency = str(estimate["currency"])
    amount = normalise_amount(estimate["amount"], estimate.get("scale"))
    per_usd = rates.units_per_usd(year, currency)
    inr_per_usd = rates.units_per_usd(year, "INR")
    if per_usd is None or inr_per_usd is None:
        missing = currency if per_usd is None else "INR"
        notes.append(f"no {year} rate for {missing}: {currency} amounts of {year} left unconverted")
        return [Fact("seizure_value_unconverted", currency, amount, dimensions)]
    usd = amount if currency == "USD" else amount / per_usd
    inr = amount if currency == "INR" else usd * inr_per_usd
    return [
        Fact("seizure_value_inr", "INR", inr, dimensions),
        Fact("seizure_value_usd", "USD", usd, dimensions),
    ]


def _arrest(body: Any, common: _Dimensions, created_at: datetime, rates: RateTable) -> _Read:
    day = _instant(body["arrested_at"]).date()
    dimensions = {**common, **_location(body["location"])}
    return day, (Fact("arrests", "persons", _count(body["count"]), dimensions),), (), None


def _prosecution(body: Any, common: _Dimensions, created_at: datetime, rates: RateTable) -> _Read:
    decided = body.get("decided_at")
    day = date.fromisoformat(decided) if decided else created_at.date()
    dimensions = {**common, "country": (str(body["court"]["country"]),)}
    status = str(body["status"])
    facts = [Fact(f"prosecutions_{status}", "cases", _ONE, dimensions)]
    if body.get("defendants_count") is not None:
        facts.append(Fact("defendants", "persons", _count(body["defendants_count"]), dimensions))
    return day, tuple(facts), (), str(body["case_reference"])


def _training(body: Any, common: _Dimensions, created_at: datetime, rates: RateTable) -> _Read:
    day = date.fromisoformat(body["held_at"]["end"])
    venue = body.get("venue")
    dimensions = {**common, **({"country": (str(venue["country"]),)} if venue else {})}
    return (
        day,
        (
            Fact("trainings", "sessions", _ONE, dimensions),
            Fact("people_trained", "persons", _count(body["participants_trained"]), dimensions),
        ),
        (),
        None,
    )


def _rehabilitation(
    body: Any, common: _Dimensions, created_at: datetime, rates: RateTable
) -> _Read:
    day = date.fromisoformat(body["period"]["to"])
    dimensions = {**common, "country": (str(body["region"]["country"]),)}
    return (
        day,
        (
            Fact("people_treated", "persons", _count(body["people_treated"]), dimensions),
            Fact("people_completed", "persons", _count(body["people_completed"]), dimensions),
        ),
        (),
        None,
    )


def _livelihood(body: Any, common: _Dimensions, created_at: datetime, rates: RateTable) -> _Read:
    day = date.fromisoformat(body["period"]["to"])
    dimensions = {**common, "country": (str(body["region"]["country"]),)}
    facts = [Fact("livelihood_beneficiaries", "persons", _count(body["beneficiaries"]), dimensions)]
    crop = body.get("crop_substituted")
    if crop is not None and crop.get("area_hectares") is not None:
        facts.append(Fact("livelihood_area", "ha", _number(crop["area_hectares"]), dimensions))
    return day, tuple(facts), (), None


def _joint_operation(
    body: Any, common: _Dimensions, created_at: datetime, rates: RateTable
) -> _Read:
    day = date.fromisoformat(body["period"]["to"])
    outcome = body["outcome"]
    return (
        day,
        (
            Fact("joint_operations", "operations", _ONE, common),
            Fact("joint_operation_seizures", "seizures", _count(outcome["seizures_count"]), common),
            Fact("joint_operation_arrests", "persons", _count(outcome["arrests_count"]), common),
        ),
        (),
        None,
    )


_READERS: Final[dict[str, Callable[[Any, _Dimensions, datetime, RateTable], _Read]]] = {
    "seizure-alert": _seizure,
    "arrest": _arrest,
    "prosecution": _prosecution,
    "training": _training,
    "rehabilitation": _rehabilitation,
    "livelihood": _livelihood,
    "joint-operation": _joint_operation,
}


def _location(location: Mapping[str, Any]) -> _Dimensions:
    # name, kind and country only: coordinates are the location_precise class.
    return {
        "location": (str(location["name"]),),
        "location_kind": (str(location["kind"]),),
        "country": (str(location["country"]),),
    }


def _country(point: Any) -> str:
    """The country of a route point: a country code, or a place's country."""
    return str(point["country"]) if isinstance(point, Mapping) else str(point)


def _count(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"a count must be a whole number >= 0, got {value!r}")
    return Decimal(value)


def _number(value: Any) -> Decimal:
    # A float goes through its shortest repr: 12.5 is Decimal("12.5"), not a binary fraction.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"expected a number, got {value!r}")
    number = value if isinstance(value, Decimal) else Decimal(repr(value))
    if not number.is_finite() or number < 0:
        raise ValueError(f"expected a finite number >= 0, got {value!r}")
    return number


def _instant(text: Any) -> datetime:
    if not isinstance(text, str):
        raise ValueError(f"a date-time must be a string, got {text!r}")
    return datetime.fromisoformat(text)
