"""Indicators as a terminal table, JSON or CSV: what ``silkline report`` prints.

Each output carries the basis of the figures (how many records they rest on,
which rate table converted the values, the caveats), never anything of a
record beyond its aggregates. HTML and PNG are in ``html.py`` and ``charts.py``.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from silkline.indicators.aggregate import Indicators, decimal_text
from silkline.indicators.display import (
    change_text,
    dimension_label,
    measure_label,
    value_text,
)

__all__ = [
    "ReportContext",
    "basis_lines",
    "change_table",
    "csv_text",
    "json_document",
    "json_text",
    "row_table",
]


@dataclass(frozen=True)
class ReportContext:
    """Where the figures come from, said in every output."""

    source: str
    verified: str = ""
    generated_at: str = ""


def json_document(
    indicators: Indicators, context: ReportContext, grouping: int = 0
) -> dict[str, Any]:
    """One grouping of the indicators, with its basis, as a JSON-ready document."""
    query = indicators.query
    return {
        "query": {
            "from": query.start.isoformat() if query.start else None,
            "to": query.end.isoformat() if query.end else None,
            "group_by": list(query.groupings[grouping]),
        },
        "source": context.source,
        "verified": context.verified or None,
        "generated_at": context.generated_at or None,
        "records_used": indicators.records_used,
        "records_metadata_only": indicators.records_metadata_only,
        "rules_sha256": indicators.rules_sha256 or None,
        "rows": [
            {
                "dimensions": dict(row.dimensions),
                "measure": row.measure,
                "value": decimal_text(row.value),
                "unit": row.unit,
                "record_count": row.record_count,
            }
            for row in indicators.rows_of(grouping)
        ],
        "year_on_year": [
            {
                "dimensions": dict(change.dimensions),
                "measure": change.measure,
                "unit": change.unit,
                "year": change.year,
                "previous_value": decimal_text(change.previous),
                "value": decimal_text(change.value),
                "change": decimal_text(change.change),
                "change_percent": (
                    decimal_text(change.change_percent)
                    if change.change_percent is not None
                    else None
                ),
                "previous_record_count": change.previous_record_count,
                "record_count": change.record_count,
            }
            for change in indicators.changes_of(grouping)
        ],
        "rate_table": {
            "source": indicators.rates.source,
            "as_of": indicators.rates.as_of,
            "note": indicators.rates.note,
            "units_per_usd": {
                str(year): {c: decimal_text(r) for c, r in sorted(rates.items())}
                for year, rates in sorted(indicators.rates.rates.items())
            },
        },
        "notes": list(indicators.notes),
    }


def json_text(indicators: Indicators, context: ReportContext, grouping: int = 0) -> str:
    return json.dumps(json_document(indicators, context, grouping), indent=2) + "\n"


def csv_text(indicators: Indicators, grouping: int = 0) -> str:
    """The rows of one grouping: one column per dimension, then measure, unit, value, records.

    A dimension that does not apply to a measure (drug, for arrests) is an empty cell.
    """
    dimensions = indicators.query.groupings[grouping]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*dimensions, "measure", "unit", "value", "record_count"])
    for row in indicators.rows_of(grouping):
        values = dict(row.dimensions)
        writer.writerow(
            [
                *(values.get(name, "") for name in dimensions),
                row.measure,
                row.unit,
                decimal_text(row.value),
                row.record_count,
            ]
        )
    return out.getvalue()


def row_table(indicators: Indicators, title: str, grouping: int = 0) -> Table:
    dimensions = indicators.query.groupings[grouping]
    table = Table(title=title, title_justify="left")
    for name in dimensions:
        table.add_column(dimension_label(name))
    table.add_column("Measure")
    table.add_column("Value", justify="right")
    table.add_column("Records", justify="right")
    for row in indicators.rows_of(grouping):
        values = dict(row.dimensions)
        table.add_row(
            *(values.get(name, "-") for name in dimensions),
            measure_label(row.measure, row.unit),
            value_text(row.value, row.unit),
            str(row.record_count),
        )
    return table


def change_table(indicators: Indicators, title: str, grouping: int = 0) -> Table | None:
    """The year-on-year changes; one pair of years heads its columns ("2023", "2024")."""
    changes = indicators.changes_of(grouping)
    if not changes:
        return None
    dimensions = [
        name for name in indicators.query.groupings[grouping] if name not in ("year", "month")
    ]
    years = {change.year for change in changes}
    single = len(years) == 1
    table = Table(title=title, title_justify="left")
    for name in dimensions:
        table.add_column(dimension_label(name))
    table.add_column("Measure")
    if not single:
        table.add_column("Years")
    latest = max(years)
    table.add_column(str(latest - 1) if single else "Year before", justify="right")
    table.add_column(str(latest) if single else "Year", justify="right")
    table.add_column("Change", justify="right")
    table.add_column("Records", justify="right")
    for change in changes:
        values = dict(change.dimensions)
        table.add_row(
            *(values.get(name, "-") for name in dimensions),
            measure_label(change.measure, change.unit),
            *([] if single else [f"{change.year - 1} -> {change.year}"]),
            value_text(change.previous, change.unit),
            value_text(change.value, change.unit),
            change_text(change),
            f"{change.previous_record_count} -> {change.record_count}",
        )
    return table


def basis_lines(indicators: Indicators, context: ReportContext) -> list[str]:
    """The basis of the figures, one fact a line: for the foot of a table or a page."""
    lines = [f"source: {context.source}"]
    if context.verified:
        lines.append(f"verification: {context.verified}")
    lines.append(f"records used: {indicators.records_used}")
    if indicators.records_metadata_only:
        lines.append(f"records seen as headers only, not used: {indicators.records_metadata_only}")
    if indicators.rules_sha256:
        lines.append(f"access rules: sha256 {indicators.rules_sha256}")
    lines.append(f"exchange rates: {indicators.rates.source} (as of {indicators.rates.as_of})")
    lines.extend(f"note: {note}" for note in indicators.notes)
    return lines
