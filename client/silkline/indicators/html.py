"""The report as one self-contained HTML file: charts inline as SVG, numbers beside them.

Nothing is fetched when the page opens: no script, no font, no stylesheet,
no image outside the file, and a Content-Security-Policy that forbids loading
anything (``default-src 'none'``) says so to the browser as well. Every text
that comes from the data is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from html import escape
from typing import Final

from silkline.indicators.aggregate import Indicators, decimal_text
from silkline.indicators.charts import ChartData, Series, svg_charts
from silkline.indicators.display import (
    change_text,
    dimension_label,
    measure_label,
    value_text,
)
from silkline.indicators.render import ReportContext, basis_lines

__all__ = ["html_report"]

_STYLE: Final = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       margin: 24px auto; max-width: 1160px; color: #1b1f24; background: #ffffff; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.meta { color: #57606a; font-size: 0.9em; }
.figure { display: flex; gap: 20px; align-items: flex-start; flex-wrap: wrap; }
.chart { flex: 1 1 560px; min-width: 0; }
.chart svg { max-width: 100%; height: auto; }
.numbers { flex: 1 1 420px; max-height: 560px; overflow: auto; }
table { border-collapse: collapse; font-size: 0.85em; width: 100%; }
th, td { border-bottom: 1px solid #eaeef2; padding: 3px 8px; text-align: left;
         white-space: nowrap; }
p.unit { font-size: 0.8em; color: #57606a; margin: 0 0 4px 0; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th { background: #f6f8fa; position: sticky; top: 0; }
ul.basis { font-size: 0.85em; color: #57606a; }
"""


def html_report(
    indicators: Indicators,
    context: ReportContext,
    charts: ChartData,
    *,
    title: str = "silkline indicators",
    grouping: int = 0,
) -> str:
    """The whole page: header, three charts with their numbers, the table asked for, basis."""
    over_time, year_on_year, share = svg_charts(charts)
    query = indicators.query
    period = (
        f"{query.start.isoformat() if query.start else 'the first record'} to "
        f"{query.end.isoformat() if query.end else 'the last record'}"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">Period: {escape(period)} &middot; {escape(context.source)}'
        + (f" &middot; generated {escape(context.generated_at)}" if context.generated_at else "")
        + f" &middot; {indicators.records_used} records used</p>",
        _section(
            "Seizures by drug over time",
            over_time,
            _series_table(charts.over_time, "Period")
            + (
                _series_table(charts.tablets_over_time, "Period")
                if not charts.tablets_over_time.empty
                else ""
            ),
        ),
        _section(
            "Year-on-year comparison",
            year_on_year,
            _changes_table(charts.changes),
        ),
        _section(
            "Share of each participant",
            share,
            _share_table(charts.share, charts.share_measure),
        ),
        _rows_section(indicators, grouping),
        "<h2>Basis of these figures</h2>",
        '<ul class="basis">',
        *(f"<li>{escape(line)}</li>" for line in basis_lines(indicators, context)),
        f"<li>rate table note: {escape(indicators.rates.note)}</li>"
        if indicators.rates.note
        else "",
        "</ul>",
        _rates_table(indicators),
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"


def _section(title: str, svg: str, numbers: str) -> str:
    return (
        f'<section><h2>{escape(title)}</h2><div class="figure">'
        f'<div class="chart" role="img" aria-label="{escape(title)}">{svg}</div>'
        f'<div class="numbers">{numbers}</div></div></section>'
    )


def _series_table(series: Series, first: str) -> str:
    names = list(series.lines)
    return f'<p class="unit">{escape(series.title)}, {escape(series.unit)}</p>' + _table(
        (first, *names),
        (
            [label, *(_number(series.lines[name][i]) for name in names)]
            for i, label in enumerate(series.labels)
        ),
        numeric=tuple(range(1, len(names) + 1)),
    )


def _changes_table(changes: Sequence[tuple[str, str, str, str, str]]) -> str:
    pairs = {years for _, years, _, _, _ in changes}
    if len(pairs) == 1:
        # One pair of years: they head the columns.
        before, _, after = next(iter(pairs)).partition(" \N{RIGHTWARDS ARROW} ")
        return _table(
            ("", before, after, "Change"),
            ([what, old, new, change] for what, _, old, new, change in changes),
            numeric=(1, 2, 3),
        )
    return _table(
        ("", "Years", "Before", "After", "Change"),
        (list(change) for change in changes),
        numeric=(2, 3, 4),
    )


def _share_table(series: Series, measure: str) -> str:
    values = series.lines.get("share", ())
    total = sum(values, Decimal(0))
    unit = "INR" if measure == "seizure_value_inr" else "seizures"
    return _table(
        ("Participant", measure_label(measure), "Share"),
        (
            [
                label,
                value_text(value, unit),
                f"{decimal_text((value / total * 100).quantize(Decimal('0.1')))} %"
                if total
                else "-",
            ]
            for label, value in zip(series.labels, values, strict=True)
        ),
        numeric=(1, 2),
    )


def _rows_section(indicators: Indicators, grouping: int) -> str:
    dimensions = indicators.query.groupings[grouping]
    by = ", ".join(dimension_label(d) for d in dimensions) or "totals"
    rows = (
        [
            *(dict(row.dimensions).get(name, "-") for name in dimensions),
            measure_label(row.measure, row.unit),
            value_text(row.value, row.unit),
            str(row.record_count),
        ]
        for row in indicators.rows_of(grouping)
    )
    changes = (
        [
            *(
                dict(c.dimensions).get(name, "-")
                for name in dimensions
                if name not in ("year", "month")
            ),
            measure_label(c.measure, c.unit),
            f"{c.year - 1}: {value_text(c.previous, c.unit)}",
            f"{c.year}: {value_text(c.value, c.unit)}",
            change_text(c),
            f"{c.previous_record_count} / {c.record_count}",
        ]
        for c in indicators.changes_of(grouping)
    )
    plain = [d for d in dimensions if d not in ("year", "month")]
    count = len(dimensions)
    return (
        f"<h2>Indicators by {escape(by)}</h2>"
        + _table(
            (*(dimension_label(d) for d in dimensions), "Measure", "Value", "Records"),
            rows,
            numeric=(count + 1, count + 2),
        )
        + "<h2>Year on year</h2>"
        + _table(
            (
                *(dimension_label(d) for d in plain),
                "Measure",
                "Year before",
                "Year",
                "Change",
                "Records",
            ),
            changes,
            numeric=tuple(range(len(plain) + 1, len(plain) + 5)),
        )
    )


def _rates_table(indicators: Indicators) -> str:
    rates = indicators.rates.rates
    currencies = sorted({currency for by_currency in rates.values() for currency in by_currency})
    return _table(
        ("Year", *(f"{c} per USD" for c in currencies)),
        (
            [
                str(year),
                *(decimal_text(rates[year][c]) if c in rates[year] else "-" for c in currencies),
            ]
            for year in sorted(rates)
        ),
        numeric=tuple(range(1, len(currencies) + 1)),
    )


def _table(
    header: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()
) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{escape(cell)}</td>' if i in numeric else f"<td>{escape(cell)}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _number(value: Decimal) -> str:
    text = decimal_text(value)
    whole, _, fraction = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-') or '0'):,}" + (f".{fraction}" if fraction else "")
