"""Sample seizure alerts shaped on the seed figures, for demos, tests and benchmarks.

The figures of the product specification set the scale: India's 2024
seizures of methamphetamine (80 quintals), cocaine (1,426 kg) and
pharmaceutical tablets (4.69 crore), heroin consignments of up to ~3,000 kg
at Mundra port, ~3,300 kg off the Gujarat coast, routes through Chabahar, and
the Afghanistan-Central Asia crossings (Sher Khan Bandar to Panji Poyon,
Hairatan to Termez). Quantities are log-uniform between a scenario's bounds, so
most seizures are small and a few are very large, as in reality; values are in
INR crore at a per-kilogram (or per-tablet) rate for the drug. Persons and
identifiers are fictitious ("Example"), never real.

Deterministic: the same count, seed and end time give the same bodies, each
valid against schemas/seizure-alert/v1.json.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

__all__ = ["SAMPLE_SPAN", "sample_seizures"]

SAMPLE_SPAN: Final = timedelta(days=30)
"""Seizure times fall in this span before the end time."""

_IST: Final = "+05:30"


@dataclass(frozen=True)
class _Place:
    kind: str
    name: str
    country: str
    lat: float
    lon: float
    utc_offset: str


@dataclass(frozen=True)
class _Scenario:
    weight: int
    place: _Place
    drugs: tuple[str, ...]
    conveyances: tuple[tuple[str, str], ...]  # (kind, identifier prefix)
    concealments: tuple[str, ...]
    origins: tuple[Any, ...]
    transits: tuple[tuple[Any, ...], ...]
    destinations: tuple[Any, ...]
    kg_bounds: tuple[float, float]
    desk: str


_MUNDRA = _Place("port", "Mundra port, Kutch, Gujarat", "IN", 22.7394, 69.704, _IST)
_GUJARAT_COAST = _Place("sea", "Arabian Sea, off Porbandar, Gujarat", "IN", 21.35, 68.9, _IST)
_JAKHAU = _Place("sea", "Arabian Sea, off Jakhau, Kutch, Gujarat", "IN", 23.05, 68.3, _IST)
_NHAVA_SHEVA = _Place("port", "Nhava Sheva (JNPT), Maharashtra", "IN", 18.95, 72.95, _IST)
_DELHI_AIR = _Place(
    "airport", "Indira Gandhi International Airport, Delhi", "IN", 28.556, 77.1, _IST
)
_PANJI_POYON = _Place(
    "border-crossing", "Panji Poyon (Nizhny Panj), Khatlon", "TJ", 37.2281, 68.6125, "+05:00"
)
_TERMEZ = _Place(
    "border-crossing", "Termez, Friendship Bridge from Hairatan", "UZ", 37.2322, 67.4192, "+05:00"
)
_SHER_KHAN = _Place(
    "border-crossing", "Sher Khan Bandar crossing, Kunduz", "AF", 37.1489, 68.6364, "+04:30"
)

_CHABAHAR = {"name": "Chabahar", "country": "IR"}
_BANDAR_ABBAS = {"name": "Bandar Abbas", "country": "IR"}
_KANDAHAR = {"name": "Kandahar", "country": "AF"}
_KUNDUZ = {"name": "Kunduz", "country": "AF"}
_MAZAR = {"name": "Mazar-i-Sharif", "country": "AF"}

_SCENARIOS: Final = (
    _Scenario(
        weight=22,
        place=_MUNDRA,
        drugs=("heroin", "heroin", "methamphetamine", "cocaine"),
        conveyances=(("container", "MSKU"), ("container", "TGHU"), ("container", "CMAU")),
        concealments=(
            "In jumbo bags under layers of semi-processed talc stones; declared as talc stones.",
            "Packed inside hollowed bitumen drums; declared as industrial bitumen.",
            "In cavities of marble slabs; declared as polished marble.",
        ),
        origins=(_KANDAHAR, "AF", "IR"),
        transits=((_CHABAHAR,), (_BANDAR_ABBAS,), (_CHABAHAR, "AE")),
        destinations=({"name": "Vijayawada", "country": "IN"}, {"name": "Delhi", "country": "IN"}),
        kg_bounds=(5, 3000),
        desk="MUN",
    ),
    _Scenario(
        weight=16,
        place=_GUJARAT_COAST,
        drugs=("methamphetamine", "methamphetamine", "heroin"),
        conveyances=(("vessel", "unregistered dhow"), ("vessel", "fishing boat")),
        concealments=(
            "In sealed waterproof sacks stacked in the hold under fishing gear.",
            "In a concealed compartment below the engine room.",
        ),
        origins=("IR", _CHABAHAR),
        transits=((), ("PK",)),
        destinations=("IN", "LK"),
        kg_bounds=(20, 3330),
        desk="GUJ",
    ),
    _Scenario(
        weight=8,
        place=_JAKHAU,
        drugs=("methamphetamine", "heroin"),
        conveyances=(("vessel", "fishing boat"),),
        concealments=("In packets dropped overboard and recovered by the Coast Guard.",),
        origins=("PK", "IR"),
        transits=((),),
        destinations=("IN",),
        kg_bounds=(10, 800),
        desk="GUJ",
    ),
    _Scenario(
        weight=10,
        place=_NHAVA_SHEVA,
        drugs=("cocaine", "cocaine", "methamphetamine"),
        conveyances=(("container", "MSCU"), ("container", "HLXU")),
        concealments=(
            "Inside pallets of frozen fruit pulp.",
            "Behind the refrigeration unit of a reefer container.",
        ),
        origins=("BR", "EC", "CO"),
        transits=(("ES",), ("AE",), ()),
        destinations=("IN",),
        kg_bounds=(2, 500),
        desk="NSV",
    ),
    _Scenario(
        weight=10,
        place=_DELHI_AIR,
        drugs=("pharmaceutical-tablets", "pharmaceutical-tablets", "cocaine"),
        conveyances=(("air-cargo", "AWB"), ("postal", "EMS parcel"), ("passenger", "flight")),
        concealments=(
            "Blister packs declared as herbal supplements.",
            "In the lining of checked baggage.",
            "Capsules swallowed by the courier.",
        ),
        origins=("IN", "ET", "BR"),
        transits=(("AE",), ()),
        destinations=("US", "GB", "IN"),
        kg_bounds=(0.5, 25),
        desk="DEL",
    ),
    _Scenario(
        weight=14,
        place=_PANJI_POYON,
        drugs=("heroin", "heroin", "methamphetamine"),
        conveyances=(("truck", "TJ"), ("car", "TJ")),
        concealments=(
            "In a false floor of the trailer under a declared cargo of dried apricots.",
            "In the spare fuel tank.",
        ),
        origins=(_KUNDUZ, "AF"),
        transits=(("TJ", "UZ", "KZ"), ("TJ", "KG", "KZ")),
        destinations=("RU", "KZ"),
        kg_bounds=(1, 400),
        desk="PPY",
    ),
    _Scenario(
        weight=12,
        place=_TERMEZ,
        drugs=("heroin", "methamphetamine"),
        conveyances=(("rail", "wagon"), ("truck", "UZ")),
        concealments=(
            "In bales of cotton in a freight wagon from Hairatan.",
            "Inside a consignment of flour sacks.",
        ),
        origins=(_MAZAR, "AF"),
        transits=(("UZ", "KZ"),),
        destinations=("RU", "KZ"),
        kg_bounds=(1, 250),
        desk="TMZ",
    ),
    _Scenario(
        weight=8,
        place=_SHER_KHAN,
        drugs=("heroin", "methamphetamine"),
        conveyances=(("truck", "AF"),),
        concealments=("In the chassis beams of the truck.",),
        origins=(_KUNDUZ,),
        transits=(("TJ",),),
        destinations=("TJ", "RU"),
        kg_bounds=(1, 150),
        desk="SKB",
    ),
)

# INR crore per kilogram (per tablet for tablets), as Indian press releases value seizures.
_CRORE_PER_KG: Final = {"heroin": 7.0, "methamphetamine": 1.5, "cocaine": 10.0}
_CRORE_PER_TABLET: Final = 25 / 10_000_000  # about INR 25 a tablet
_SUBSTANCES: Final = ("tramadol", "alprazolam", "codeine-based syrup tablets", "buprenorphine")
_NATIONALITIES: Final = ("IN", "AF", "IR", "TJ", "UZ", "PK", "KZ")
_ROLES: Final = ("driver", "importer", "crew", "courier", "consignee")


def sample_seizures(count: int, seed: int, *, until: datetime) -> Iterator[dict[str, Any]]:
    """`count` seizure-alert bodies, seized in the 30 days before `until`, from `seed`.

    Each body has a unique `case_reference`, the source key a feed uses.
    """
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    if until.tzinfo is None:
        raise ValueError("until must be timezone-aware")
    rng = random.Random(seed)  # noqa: S311 - reproducible samples, not secrets
    weights = [scenario.weight for scenario in _SCENARIOS]
    for number in range(1, count + 1):
        scenario = rng.choices(_SCENARIOS, weights)[0]
        yield _body(rng, scenario, number, seed, until.astimezone(UTC))


def _body(
    rng: random.Random, scenario: _Scenario, number: int, seed: int, until: datetime
) -> dict[str, Any]:
    place = scenario.place
    seized = until - timedelta(seconds=rng.randrange(int(SAMPLE_SPAN.total_seconds())))
    drug = rng.choice(scenario.drugs)
    kind, prefix = rng.choice(scenario.conveyances)
    body: dict[str, Any] = {
        "seized_at": _local_time(seized, place.utc_offset),
        "location": {
            "kind": place.kind,
            "name": place.name,
            "country": place.country,
        },
        "conveyance": {"kind": kind, "identifier": _identifier(rng, kind, prefix)},
        "concealment": rng.choice(scenario.concealments),
        "route": {
            "origin": rng.choice(scenario.origins),
            "transit": list(rng.choice(scenario.transits)),
            "destination": rng.choice(scenario.destinations),
        },
        "items": [_item(rng, drug, scenario.kg_bounds)],
        "case_reference": f"FEED/{scenario.desk}/{seized.year}/S{seed}-{number:06d}",
    }
    if rng.random() < 0.4:
        # Precise positions are the location_precise class: they travel as disclosures.
        body["location"]["coordinates"] = {
            "lat": round(place.lat + rng.uniform(-0.05, 0.05), 4),
            "lon": round(place.lon + rng.uniform(-0.05, 0.05), 4),
        }
    if rng.random() < 0.5:
        body["suspects"] = [_person(rng, number, n) for n in range(rng.randint(1, 3))]
    return body


def _item(rng: random.Random, drug: str, kg_bounds: tuple[float, float]) -> dict[str, Any]:
    if drug == "pharmaceutical-tablets":
        # Tablets are counted; Indian figures give them in crore (10^7).
        tablets = int(_log_uniform(rng, 5_000, 5_000_000))
        return {
            "drug": drug,
            "substance": rng.choice(_SUBSTANCES),
            "quantity": {"value": tablets, "unit": "tablets"},
            "estimated_value": _crore(tablets * _CRORE_PER_TABLET),
        }
    kilograms = _log_uniform(rng, *kg_bounds)
    if drug == "methamphetamine" and kilograms >= 100:
        # Bulk methamphetamine is reported in quintals (100 kg).
        quantity = {"value": round(kilograms / 100, 2), "unit": "quintal"}
    else:
        quantity = {"value": round(kilograms, 2), "unit": "kg"}
    return {
        "drug": drug,
        "quantity": quantity,
        "estimated_value": _crore(kilograms * _CRORE_PER_KG[drug]),
    }


def _crore(amount: float) -> dict[str, Any]:
    return {"amount": max(round(amount, 2), 0.01), "currency": "INR", "scale": "crore"}


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _identifier(rng: random.Random, kind: str, prefix: str) -> str:
    if kind == "container":
        return f"{prefix}{rng.randrange(10**7):07d}"
    if kind in ("truck", "car"):
        return f"{rng.randrange(10**4):04d}{prefix}{rng.randrange(100):02d}"
    if kind == "air-cargo":
        return f"{prefix} {rng.randrange(100, 999)}-{rng.randrange(10**8):08d}"
    if kind == "passenger":
        return f"{prefix} EK{rng.randrange(500, 520)}"
    return f"{prefix} {rng.randrange(10**5):05d}"


def _person(rng: random.Random, number: int, n: int) -> dict[str, Any]:
    person: dict[str, Any] = {
        "name": f"{chr(ord('A') + rng.randrange(26))}. Example-{number}-{n + 1}",
        "nationality": rng.choice(_NATIONALITIES),
        "role": rng.choice(_ROLES),
    }
    if rng.random() < 0.5:
        person["date_of_birth"] = (
            f"{rng.randint(1960, 2002)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        )
    return person


def _local_time(at: datetime, offset: str) -> str:
    sign = -1 if offset[0] == "-" else 1
    delta = sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
    local = (at + delta).replace(tzinfo=None)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + offset
