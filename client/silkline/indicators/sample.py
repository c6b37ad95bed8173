"""A reproducible sample of India's seizures whose totals are the figures of the specification.

``india_seizures()`` writes seizure-alert bodies (valid against
``schemas/seizure-alert/v1.json``) for 2023 and 2024 such that, summed as the
indicators sum them:

=====================================  ===============  ===============
                                        2023             2024
=====================================  ===============  ===============
estimated value of the seizures         INR 16,100 cr    INR 25,330 cr
methamphetamine                         34 quintals      80 quintals
cocaine                                 292 kg           1,426 kg
pharmaceutical tablets                  1.84 crore       4.69 crore
=====================================  ===============  ===============

with, besides, the two landmark seizures: about 3,000 kg of heroin at Mundra
port in September 2021 (2,988.21 kg, valued at INR 21,000 crore, in 2021's
figures) and the consignment off the Gujarat coast in February 2024 (3,089 kg
of hashish, 158 kg of methamphetamine and 25 kg of morphine: the ~3,300 kg
reported; it is part of 2024's methamphetamine and carries no value estimate).

The totals are exact, whatever the seed: each total is split into whole
kilograms, tablets and lakh (0.01 crore) by the largest-remainder method.
The seed only moves how the totals are split, where and when. The split uses
every unit a record may state (g, kg, quintal, tonne; unit, lakh, crore), so
a report over the sample checks unit normalisation too. Other drugs (heroin,
hashish, opium, cannabis) are added in random quantities; their values are
part of the year's total. Persons are fictitious ("Example"), places and
routes are realistic.

Pure and deterministic: no I/O, no clock.
"""

from __future__ import annotations

import copy
import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

__all__ = [
    "DEFAULT_SEED",
    "INDIA_FIGURES",
    "SAMPLE_YEARS",
    "YearFigures",
    "india_seizures",
]

DEFAULT_SEED: Final = 2024


@dataclass(frozen=True)
class YearFigures:
    """India's published seizure figures for one year (../shared/SPEC.md)."""

    value_crore: Decimal
    methamphetamine_quintal: Decimal
    cocaine_kg: Decimal
    tablets_crore: Decimal

    @property
    def value_lakh(self) -> int:
        return int(self.value_crore * 100)

    @property
    def methamphetamine_kg(self) -> int:
        return int(self.methamphetamine_quintal * 100)

    @property
    def tablets(self) -> int:
        return int(self.tablets_crore * 10_000_000)


INDIA_FIGURES: Final = {
    2023: YearFigures(Decimal("16100"), Decimal("34"), Decimal("292"), Decimal("1.84")),
    2024: YearFigures(Decimal("25330"), Decimal("80"), Decimal("1426"), Decimal("4.69")),
}
"""Seizures in India: estimated value, methamphetamine, cocaine, pharmaceutical tablets."""

SAMPLE_YEARS: Final = tuple(sorted(INDIA_FIGURES))

_IST: Final = "+05:30"


@dataclass(frozen=True)
class _Place:
    kind: str
    name: str
    country: str = "IN"


_PLACES: Final = {
    "zokhawthar": _Place("road", "Zokhawthar-Champhai road, Mizoram"),
    "moreh": _Place("border-crossing", "Moreh ICP, Manipur"),
    "tuticorin": _Place("port", "V.O. Chidambaranar port, Thoothukudi"),
    "gujarat_sea": _Place("sea", "Arabian Sea, off Porbandar, Gujarat"),
    "nhava_sheva": _Place("port", "Nhava Sheva (JNPT), Maharashtra"),
    "mundra": _Place("port", "Mundra port, Kutch, Gujarat"),
    "delhi_air": _Place("airport", "Indira Gandhi International Airport, Delhi"),
    "mumbai_air": _Place("airport", "Chhatrapati Shivaji Maharaj International Airport, Mumbai"),
    "petrapole": _Place("border-crossing", "Petrapole ICP, West Bengal"),
    "attari": _Place("border-crossing", "Attari ICP, Amritsar, Punjab"),
    "raxaul": _Place("border-crossing", "Raxaul ICP, Bihar"),
    "neemuch": _Place("road", "Neemuch-Mandsaur road, Madhya Pradesh"),
    "malkangiri": _Place("road", "Malkangiri-Visakhapatnam road, Odisha"),
}


@dataclass(frozen=True)
class _Drug:
    name: str
    places: tuple[str, ...]
    conveyances: tuple[str, ...]
    origins: tuple[Any, ...]
    transits: tuple[tuple[Any, ...], ...]
    destinations: tuple[Any, ...]
    # Notional INR crore per kg (per tablet for tablets): shares the year's value between items.
    price: float
    substance: str | None = None


_CHABAHAR: Final = {"name": "Chabahar", "country": "IR"}
_DRUGS: Final = {
    "methamphetamine": _Drug(
        "methamphetamine",
        ("zokhawthar", "moreh", "tuticorin", "gujarat_sea"),
        ("car", "truck", "vessel"),
        ("MM", "MM", "AF"),
        ((), (), (_CHABAHAR,)),
        ("IN", {"name": "Guwahati", "country": "IN"}, "LK"),
        1.5,
    ),
    "cocaine": _Drug(
        "cocaine",
        ("nhava_sheva", "mundra", "delhi_air", "mumbai_air"),
        ("container", "passenger", "air-cargo"),
        ("BR", "CO", "EC", "PE"),
        ((), ("AE",), ("ET",), ("QA",)),
        ("IN", {"name": "Mumbai", "country": "IN"}, {"name": "Delhi", "country": "IN"}),
        10.0,
    ),
    "pharmaceutical-tablets": _Drug(
        "pharmaceutical-tablets",
        ("petrapole", "mundra", "mumbai_air", "zokhawthar"),
        ("truck", "container", "air-cargo", "postal"),
        ("IN",),
        ((),),
        ("BD", "NG", "IN", "MM"),
        0.0000025,
        "tramadol",
    ),
    "heroin": _Drug(
        "heroin",
        ("attari", "mundra", "delhi_air", "moreh"),
        ("truck", "container", "passenger", "car"),
        ("AF", {"name": "Kandahar", "country": "AF"}, "MM"),
        (("PK",), (_CHABAHAR,), ()),
        ("IN", {"name": "Amritsar", "country": "IN"}),
        7.0,
    ),
    "hashish": _Drug(
        "hashish",
        ("raxaul", "gujarat_sea"),
        ("car", "truck", "vessel"),
        ("NP", "AF"),
        ((), (_CHABAHAR,)),
        ("IN",),
        0.02,
    ),
    "opium": _Drug(
        "opium", ("neemuch", "moreh"), ("truck", "car"), ("IN", "MM"), ((),), ("IN",), 0.15
    ),
    "cannabis": _Drug(
        "cannabis",
        ("malkangiri",),
        ("truck", "car"),
        ("IN",),
        ((),),
        ({"name": "Hyderabad", "country": "IN"}, {"name": "Mumbai", "country": "IN"}),
        0.0001,
    ),
}

# How many seizures share each constrained total, and how many seizures of the
# other drugs each year has, with their range in kg.
_PARTS: Final = {"methamphetamine": 10, "cocaine": 6, "pharmaceutical-tablets": 8}
_OTHERS: Final = {
    "heroin": (10, (2.0, 250.0)),
    "hashish": (6, (5.0, 400.0)),
    "opium": (4, (5.0, 150.0)),
    "cannabis": (6, (100.0, 2500.0)),
}
# No ordinary seizure outweighs the landmark ones (about 3,000 and 3,300 kg).
_LARGEST_ORDINARY_KG: Final = 2500
# Seizures that hold two items: methamphetamine with tablets, as on the Mizoram roads.
_COMBINED: Final = 3

_MUNDRA_2021: Final[dict[str, Any]] = {
    "seized_at": "2021-09-13T11:00:00+05:30",
    "location": {
        "kind": "port",
        "name": "Mundra port, Kutch, Gujarat",
        "country": "IN",
        "coordinates": {"lat": 22.7394, "lon": 69.704},
    },
    "conveyance": {"kind": "container", "identifier": "two 20-foot containers, one bill of lading"},
    "concealment": "In jumbo bags under layers of semi-processed talc stones.",
    "route": {
        "origin": {"name": "Kandahar", "country": "AF"},
        "transit": [_CHABAHAR],
        "destination": {"name": "Vijayawada", "country": "IN"},
    },
    "items": [
        {
            "drug": "heroin",
            "quantity": {"value": 2988.21, "unit": "kg"},
            "estimated_value": {"amount": 21000, "currency": "INR", "scale": "crore"},
        }
    ],
    "suspects": [
        {"name": "M. Example-Mundra-1", "nationality": "IN", "role": "importer"},
        {"name": "M. Example-Mundra-2", "nationality": "IN", "role": "importer"},
    ],
    "case_reference": "SAMPLE/2021/MUNDRA",
    "notes": "Landmark seizure: about 3,000 kg of heroin at Mundra port.",
}

_GUJARAT_2024: Final[dict[str, Any]] = {
    "seized_at": "2024-02-27T06:00:00+05:30",
    "location": {"kind": "sea", "name": "Arabian Sea, off Porbandar, Gujarat", "country": "IN"},
    "conveyance": {"kind": "vessel", "identifier": "unregistered sailing vessel (dhow)"},
    "concealment": "In sealed waterproof sacks stacked in the hold under fishing gear.",
    "route": {"origin": "IR", "transit": [], "destination": "IN"},
    "items": [
        {"drug": "hashish", "quantity": {"value": 3089, "unit": "kg"}},
        {"drug": "methamphetamine", "quantity": {"value": 158, "unit": "kg"}},
        {"drug": "morphine", "quantity": {"value": 25, "unit": "kg"}},
    ],
    "suspects": [
        {"name": f"G. Example-Crew-{n}", "nationality": "IR", "role": "crew"} for n in range(1, 6)
    ],
    "case_reference": "SAMPLE/2024/GUJARAT-COAST",
    "notes": "Landmark seizure: about 3,300 kg off the Gujarat coast; no value estimate.",
}
_LANDMARK_METHAMPHETAMINE_KG: Final = {2024: 158}


def india_seizures(
    seed: int = DEFAULT_SEED, years: tuple[int, ...] = SAMPLE_YEARS
) -> list[dict[str, Any]]:
    """Seizure-alert bodies: the Mundra 2021 landmark, then each year's seizures by date.

    Raises ValueError for a year without published figures (see INDIA_FIGURES).
    """
    unknown = sorted(set(years) - set(INDIA_FIGURES))
    if unknown:
        known = ", ".join(str(year) for year in SAMPLE_YEARS)
        raise ValueError(f"no published figures for {unknown}; the sample covers {known}")
    bodies = [copy.deepcopy(_MUNDRA_2021)]
    for year in sorted(set(years)):
        rng = random.Random(f"silkline india sample {seed} {year}")  # noqa: S311 - reproducible
        year_bodies = _year(rng, year, INDIA_FIGURES[year])
        if year == 2024:
            year_bodies.append(copy.deepcopy(_GUJARAT_2024))
        year_bodies.sort(key=lambda body: (body["seized_at"], body["case_reference"]))
        bodies.extend(year_bodies)
    return bodies


def _year(rng: random.Random, year: int, figures: YearFigures) -> list[dict[str, Any]]:
    methamphetamine = figures.methamphetamine_kg - _LANDMARK_METHAMPHETAMINE_KG.get(year, 0)
    items: list[tuple[str, float]] = []  # (drug, kg or tablets)
    for drug, total in (
        ("methamphetamine", methamphetamine),
        ("cocaine", int(figures.cocaine_kg)),
        ("pharmaceutical-tablets", figures.tablets),
    ):
        items.extend((drug, float(part)) for part in _parts(rng, drug, total))
    for drug, (count, (low, high)) in _OTHERS.items():
        items.extend((drug, round(_log_uniform(rng, low, high), 1)) for _ in range(count))
    weights = [amount * _DRUGS[drug].price * rng.uniform(0.6, 1.4) for drug, amount in items]
    values = _split_weighted(figures.value_lakh, weights)
    written = [
        _item(rng, drug, amount, lakh) for (drug, amount), lakh in zip(items, values, strict=True)
    ]
    # A few seizures hold methamphetamine and tablets together.
    groups: list[list[tuple[str, dict[str, Any]]]] = [
        [(d, i)] for (d, _), i in zip(items, written, strict=True)
    ]
    methamphetamine_groups = [g for g in groups if g[0][0] == "methamphetamine"]
    tablet_groups = [g for g in groups if g[0][0] == "pharmaceutical-tablets"]
    merged: list[list[tuple[str, dict[str, Any]]]] = []
    for meth, tablets in list(zip(methamphetamine_groups, tablet_groups, strict=False))[:_COMBINED]:
        meth.extend(tablets)
        merged.append(tablets)
    groups = [group for group in groups if not any(group is gone for gone in merged)]
    return [_body(rng, year, number, group) for number, group in enumerate(groups, start=1)]


def _body(
    rng: random.Random, year: int, number: int, group: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    drug = _DRUGS[group[0][0]]
    place = _PLACES[rng.choice(drug.places)]
    day = date(year, 1, 1) + timedelta(days=rng.randrange(365))
    at = datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60))
    conveyance = rng.choice(drug.conveyances)
    body: dict[str, Any] = {
        "seized_at": at.strftime("%Y-%m-%dT%H:%M:00") + _IST,
        "location": {"kind": place.kind, "name": place.name, "country": place.country},
        "conveyance": {"kind": conveyance, "identifier": f"SAMPLE-{year}-{number:03d}"},
        "concealment": "Sample record: concealment not described.",
        "route": {
            "origin": rng.choice(drug.origins),
            "transit": list(rng.choice(drug.transits)),
            "destination": rng.choice(drug.destinations),
        },
        "items": [item for _, item in group],
        "case_reference": f"SAMPLE/{year}/{number:04d}",
    }
    if rng.random() < 0.5:
        body["suspects"] = [
            {
                "name": f"{chr(ord('A') + rng.randrange(26))}. Example-{year}-{number}-{n}",
                "nationality": rng.choice(("IN", "AF", "MM", "NG", "IR")),
                "role": rng.choice(("driver", "courier", "importer", "crew")),
            }
            for n in range(1, rng.randint(1, 3) + 1)
        ]
    return copy.deepcopy(body)


def _item(rng: random.Random, drug: str, amount: float, lakh: int) -> dict[str, Any]:
    item: dict[str, Any] = {"drug": drug, "quantity": _quantity(rng, drug, amount)}
    substance = _DRUGS[drug].substance
    if substance is not None:
        item["substance"] = substance
    if lakh > 0:
        item["estimated_value"] = _money(rng, lakh)
    return item


def _quantity(rng: random.Random, drug: str, amount: float) -> dict[str, Any]:
    """The amount in a unit a seizure report would use; exact in every case.

    Whole kilograms of the constrained drugs are written in every unit a record
    may use: tonnes (three decimals at most), quintals (two), grams, kilograms.
    """
    if drug == "pharmaceutical-tablets":
        return {"value": int(amount), "unit": "tablets"}
    if drug in _PARTS:
        kg = int(amount)
        style = rng.random()
        if kg >= 500 and style < 0.4:
            return {"value": _number(Decimal(kg) / 1000), "unit": "tonne"}
        if kg >= 100 and style < 0.8:
            return {"value": _number(Decimal(kg) / 100), "unit": "quintal"}
        if kg < 100 and style < 0.3:
            return {"value": kg * 1000, "unit": "g"}
        return {"value": kg, "unit": "kg"}
    return {"value": amount, "unit": "kg"}


def _money(rng: random.Random, lakh: int) -> dict[str, Any]:
    """lakh (0.01 crore) of INR as a report would write it: crore, lakh or rupees."""
    if lakh < 100:
        return {"amount": lakh, "currency": "INR", "scale": "lakh"}
    if rng.random() < 0.15:
        return {"amount": lakh * 100_000, "currency": "INR", "scale": "unit"}
    return {"amount": _number(Decimal(lakh) / 100), "currency": "INR", "scale": "crore"}


def _number(value: Decimal) -> int | float:
    """A JSON number: an int when whole, else a float whose repr is the exact decimal."""
    if value == value.to_integral_value():
        return int(value)
    number = float(value)
    assert Decimal(repr(number)) == value, value  # at most 3 decimals: always exact
    return number


def _parts(rng: random.Random, drug: str, total: int) -> list[int]:
    """A drug's yearly total as seizures, none larger than the landmark ones."""
    count = _PARTS[drug]
    while True:
        parts = _split(rng, total, count)
        if drug == "pharmaceutical-tablets" or max(parts) <= _LARGEST_ORDINARY_KG:
            return parts
        count += 2


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    """``total`` as ``parts`` whole positive amounts, heavy-tailed, summing exactly."""
    weights = [_log_uniform(rng, 1.0, 60.0) for _ in range(parts)]
    return _split_weighted(total, weights, minimum=1)


def _split_weighted(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """``total`` shared in proportion to ``weights`` by the largest-remainder method."""
    if total < minimum * len(weights):
        raise ValueError(f"cannot split {total} into {len(weights)} parts of at least {minimum}")
    spread = total - minimum * len(weights)
    weight_sum = sum(weights)
    exact = [spread * w / weight_sum for w in weights]
    shares = [math.floor(x) for x in exact]
    leftover = spread - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: (shares[i] - exact[i], i))
    for i in by_remainder[:leftover]:
        shares[i] += 1
    return [share + minimum for share in shares]


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))
