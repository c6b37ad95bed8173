"""The sample reproduces India's published figures exactly, and is a valid set of records."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from silkline.cli.main import cli
from silkline.indicators.aggregate import IndicatorAccumulator, IndicatorQuery, Indicators
from silkline.indicators.facts import contribution_of
from silkline.indicators.rates import load_rate_table
from silkline.indicators.sample import DEFAULT_SEED, INDIA_FIGURES, india_seizures
from silkline.records import validate_payload

from .conftest import payload

CRORE = Decimal(10_000_000)


def indicators(bodies: list[dict[str, Any]], start: date | None = None) -> Indicators:
    accumulator = IndicatorAccumulator(
        IndicatorQuery(start, None, (("year",), ("year", "drug"))), load_rate_table()
    )
    for body in bodies:
        assert accumulator.add(payload("seizure-alert", body)) or start is not None
    return accumulator.result()


def figures(found: Indicators, year: int) -> dict[str, Decimal]:
    by_year = {
        (r.measure, r.unit): r.value
        for r in found.rows_of(0)
        if dict(r.dimensions)["year"] == str(year)
    }
    by_drug = {
        (r.measure, r.unit, dict(r.dimensions)["drug"]): r.value
        for r in found.rows_of(1)
        if dict(r.dimensions)["year"] == str(year)
    }
    return {
        "value_crore": by_year["seizure_value_inr", "INR"] / CRORE,
        "methamphetamine_quintal": by_drug["seized_quantity", "kg", "methamphetamine"] / 100,
        "cocaine_kg": by_drug["seized_quantity", "kg", "cocaine"],
        "tablets_crore": by_drug["seized_quantity", "tablets", "pharmaceutical-tablets"] / CRORE,
    }


def test_the_sample_reproduces_indias_2023_and_2024_figures_exactly() -> None:
    found = indicators(india_seizures())
    assert figures(found, 2023) == {
        "value_crore": Decimal(16100),
        "methamphetamine_quintal": Decimal(34),
        "cocaine_kg": Decimal(292),
        "tablets_crore": Decimal("1.84"),
    }
    assert figures(found, 2024) == {
        "value_crore": Decimal(25330),
        "methamphetamine_quintal": Decimal(80),
        "cocaine_kg": Decimal(1426),
        "tablets_crore": Decimal("4.69"),
    }


@settings(max_examples=8, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_any_seed_gives_the_same_totals(seed: int) -> None:
    found = indicators(india_seizures(seed))
    for year, published in INDIA_FIGURES.items():
        assert figures(found, year) == {
            "value_crore": published.value_crore,
            "methamphetamine_quintal": published.methamphetamine_quintal,
            "cocaine_kg": published.cocaine_kg,
            "tablets_crore": published.tablets_crore,
        }


def kilograms(body: dict[str, Any]) -> Decimal:
    contribution = contribution_of(payload("seizure-alert", body), load_rate_table())
    assert contribution is not None
    return sum(
        (f.value for f in contribution.facts if f.measure == "seized_quantity" and f.unit == "kg"),
        Decimal(0),
    )


@settings(max_examples=5, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_the_landmark_seizures_are_there_and_the_largest(seed: int) -> None:
    bodies = india_seizures(seed)
    mundra = [b for b in bodies if b["seized_at"].startswith("2021-09")]
    gujarat = [b for b in bodies if b["case_reference"] == "SAMPLE/2024/GUJARAT-COAST"]
    assert len(mundra) == len(gujarat) == 1
    assert gujarat[0]["seized_at"].startswith("2024-02")
    (heroin,) = mundra[0]["items"]
    assert heroin["drug"] == "heroin"
    assert 2900 <= heroin["quantity"]["value"] <= 3100  # "about 3,000 kg"
    assert mundra[0]["location"]["name"].startswith("Mundra port")
    total = sum(i["quantity"]["value"] for i in gujarat[0]["items"])
    assert gujarat[0]["location"]["kind"] == "sea"
    assert 3200 <= total <= 3400  # about 3,300 kg: 3,089 hashish, 158 meth, 25 morphine
    largest = max(bodies, key=kilograms)
    assert largest == gujarat[0]
    others = [b for b in bodies if b not in (mundra[0], gujarat[0])]
    assert max(kilograms(b) for b in others) < kilograms(mundra[0])


def test_every_body_is_a_valid_seizure_alert() -> None:
    for body in india_seizures():
        validate_payload(payload("seizure-alert", body))


def test_the_sample_uses_every_unit_and_scale() -> None:
    bodies = india_seizures()
    units = Counter(i["quantity"]["unit"] for b in bodies for i in b["items"])
    scales = Counter(
        i["estimated_value"].get("scale", "unit")
        for b in bodies
        for i in b["items"]
        if "estimated_value" in i
    )
    assert {"kg", "g", "quintal", "tonne", "tablets"} <= set(units)
    assert {"crore", "lakh", "unit"} <= set(scales)


def test_same_seed_same_bodies_and_unique_case_references() -> None:
    first, second = india_seizures(DEFAULT_SEED), india_seizures(DEFAULT_SEED)
    assert first == second
    references = [b["case_reference"] for b in first]
    assert len(references) == len(set(references))
    assert india_seizures(DEFAULT_SEED + 1) != first


def test_a_year_without_published_figures_is_refused() -> None:
    with pytest.raises(ValueError, match="2022"):
        india_seizures(years=(2022,))


def test_cli_writes_the_sample_as_jsonl(tmp_path: Path) -> None:
    out = tmp_path / "sample.jsonl"
    result = CliRunner().invoke(cli, ["report", "sample", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert [json.loads(line) for line in lines] == india_seizures()
    only_2023 = CliRunner().invoke(cli, ["report", "sample", "--year", "2023"])
    assert only_2023.exit_code == 0
    seized = {json.loads(line)["seized_at"][:4] for line in only_2023.output.splitlines()}
    assert seized == {"2021", "2023"}
