"""How indicators are written: values as reports write them, the wire form, every output."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from rich.console import Console

from silkline.indicators.aggregate import Change, IndicatorAccumulator, IndicatorQuery, Indicators
from silkline.indicators.charts import CHART_GROUPINGS, chart_data, png_report
from silkline.indicators.display import change_text, value_text
from silkline.indicators.html import html_report
from silkline.indicators.rates import RateTable, RateTableError, parse_rate_table
from silkline.indicators.render import (
    ReportContext,
    change_table,
    csv_text,
    json_text,
    row_table,
)
from silkline.indicators.wire import indicators_of, request_of, response_of

from .conftest import SUSPECT_NAME, item, payload, seizure


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (Decimal("161000000000.00"), "INR", "INR 16,100 crore"),
        (Decimal("1200000"), "INR", "INR 0.12 crore"),
        (Decimal("2500"), "INR", "INR 2,500"),
        (Decimal("1949152542.37"), "USD", "USD 1,949.15 million"),
        (Decimal("46900000"), "tablets", "46,900,000 tablets (4.69 crore)"),
        (Decimal("2400"), "tablets", "2,400 tablets"),
        (Decimal("2988.21"), "kg", "2,988.21 kg"),
        (Decimal("8000"), "kg", "8,000 kg"),
        (Decimal("1"), "seizures", "1 seizure"),
        (Decimal("47"), "seizures", "47 seizures"),
        (Decimal("5000"), "EUR", "EUR 5,000"),
    ],
)
def test_values_read_as_reports_write_them(value: Decimal, unit: str, text: str) -> None:
    assert value_text(value, unit) == text


def change(previous: str, value: str) -> Change:
    return Change(0, (), "seizures", "seizures", 2024, Decimal(previous), Decimal(value), 1, 1)


def test_changes_read_with_their_sign() -> None:
    assert change_text(change("16100", "25330")) == "+57.3 %"
    assert change_text(change("10", "5")) == "-50 %"
    assert change_text(change("0", "7")) == "new"


@pytest.fixture(scope="module")
def indicators(rates: RateTable) -> Indicators:
    accumulator = IndicatorAccumulator(
        IndicatorQuery(date(2023, 1, 1), date(2024, 12, 31), (("drug", "year"), *CHART_GROUPINGS)),
        rates,
    )
    for year, kg, crore in ((2023, 292, 100), (2024, 1426, 300)):
        accumulator.add(
            payload(
                "seizure-alert",
                seizure(
                    [item("cocaine", kg, "kg", crore, "INR", "crore")],
                    seized_at=f"{year}-05-01T10:00:00+05:30",
                ),
            )
        )
    accumulator.add(
        payload(
            "seizure-alert",
            seizure(
                [item("heroin", 96.5, "kg", 2_895_000, "USD")],
                seized_at="2024-03-19T09:30:00+05:00",
            ),
            "TJ",
            "DCA",
        )
    )
    return accumulator.result(records_metadata_only=2, rules_sha256="ab" * 32, notes=["a caveat"])


def test_the_wire_form_carries_everything(indicators: Indicators) -> None:
    request = request_of(indicators.query)
    assert request.from_date == "2023-01-01"
    assert [list(g.dimensions) for g in request.groupings] == [
        ["drug", "year"],
        *(list(g) for g in CHART_GROUPINGS),
    ]
    again = indicators_of(response_of(indicators), indicators.query)
    assert again.rows == indicators.rows
    assert again.changes == indicators.changes
    assert again.rates.rates == indicators.rates.rates
    assert (again.records_used, again.records_metadata_only) == (3, 2)
    assert again.notes == indicators.notes


def test_csv_has_one_column_per_dimension(indicators: Indicators) -> None:
    rows = list(csv.DictReader(io.StringIO(csv_text(indicators))))
    assert list(rows[0]) == ["drug", "year", "measure", "unit", "value", "record_count"]
    cocaine = {
        r["year"]: r["value"]
        for r in rows
        if r["drug"] == "cocaine" and r["measure"] == "seized_quantity"
    }
    assert cocaine == {"2023": "292", "2024": "1426"}


def test_json_states_its_basis(indicators: Indicators) -> None:
    document = json.loads(json_text(indicators, ReportContext("a server", "", "now")))
    assert document["source"] == "a server"
    assert document["records_used"] == 3
    assert document["records_metadata_only"] == 2
    assert document["notes"] == ["a caveat"]
    assert document["rate_table"]["source"].startswith("INR: Reserve Bank of India")
    heroin_inr = next(
        r
        for r in document["rows"]
        if r["measure"] == "seizure_value_inr" and r["dimensions"]["drug"] == "heroin"
    )
    assert heroin_inr["value"] == "242224650"  # USD 2,895,000 x 83.67, the 2024 rate


def test_tables_show_one_pair_of_years_as_columns(indicators: Indicators) -> None:
    console = Console(record=True, width=200, file=io.StringIO())
    console.print(row_table(indicators, "rows"))
    table = change_table(indicators, "changes")
    assert table is not None
    console.print(table)
    text = console.export_text()
    assert "2023" in text and "2024" in text
    assert "+388.4 %" in text  # cocaine: 292 -> 1,426 kg
    assert SUSPECT_NAME not in text


def test_html_and_png_carry_no_personal_data(indicators: Indicators) -> None:
    charts = chart_data(indicators, 1)
    html = html_report(indicators, ReportContext("test", "", ""), charts)
    assert SUSPECT_NAME not in html
    assert "Share of each participant" in html
    assert png_report(charts).startswith(b"\x89PNG")


def test_the_chart_data_are_the_indicators(indicators: Indicators) -> None:
    charts = chart_data(indicators, 1)
    assert charts.over_time.labels[0] == "2023-01" and charts.over_time.labels[-1] == "2024-12"
    assert sum(charts.over_time.lines["cocaine"]) == 1718
    assert (
        charts.quantity_by_year.lines["2024"][charts.quantity_by_year.labels.index("cocaine")]
        == 1426
    )
    assert charts.share.labels == ("IN", "TJ")
    assert charts.share_measure == "seizure_value_inr"


def test_a_rate_table_is_refused_with_what_is_wrong() -> None:
    good = '{"source": "s", "as_of": "2026-01-01", "rates": {"2024": {"INR": "83.67"}}}'
    assert parse_rate_table(good).units_per_usd(2024, "INR") == Decimal("83.67")
    for text, wrong in (
        ('{"source": "s", "as_of": "d", "rates": {"2024": {"INR": 83.67}}}', "decimal string"),
        ('{"source": "s", "as_of": "d", "rates": {"24": {"INR": "1"}}}', "four digits"),
        ('{"as_of": "d", "rates": {"2024": {"INR": "1"}}}', "'source'"),
        ('{"source": "s", "as_of": "d", "rates": {"2024": {"INR": "-1"}}}', "positive"),
    ):
        with pytest.raises(RateTableError, match=wrong):
            parse_rate_table(text)
