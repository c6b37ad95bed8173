"""The report's charts: seizures by drug over time, the year-on-year comparison, the
share of each participant. Drawn with matplotlib, without pyplot and its global
state, on the Agg canvas for PNG and the SVG canvas for the HTML page.

What each chart plots is computed first as plain data (:class:`ChartData`), so
the HTML page prints the very numbers beside the chart that draws them, and the
tests can check them without reading pixels.

The charts need three groupings of the indicators, :data:`CHART_GROUPINGS`,
asked for in the same query as the report's own table.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from silkline.indicators.aggregate import Indicators
from silkline.indicators.display import CRORE, change_text, in_crore, measure_label, value_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure, FigureBase

__all__ = [
    "CHART_GROUPINGS",
    "ChartData",
    "Series",
    "chart_data",
    "png_report",
    "svg_charts",
]

CHART_GROUPINGS: Final = (("drug", "month"), ("participant",), ())
"""The groupings the charts read: quantities over time, shares, totals."""

_MAX_MONTHS: Final = 36  # beyond this, the time axis counts years
_CENT: Final = Decimal("0.01")
_METADATA: Final = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_COLOURS: Final = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


@dataclass(frozen=True)
class Series:
    """Values of several named lines over the same labels (periods, years, drugs)."""

    title: str
    unit: str
    labels: tuple[str, ...]
    lines: dict[str, tuple[Decimal, ...]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any(any(values) for values in self.lines.values())


@dataclass(frozen=True)
class ChartData:
    """What the three charts draw."""

    over_time: Series  # kg of each drug per period
    tablets_over_time: Series  # tablets (crore) per period
    value_by_year: Series  # INR crore per year
    quantity_by_year: Series  # kg of each drug (labels), one line per year
    tablets_by_year: Series  # tablets (crore) per year
    # (what, "2023 -> 2024", value the year before, value, change)
    changes: tuple[tuple[str, str, str, str, str], ...]
    share: Series  # one line: the share measure by participant
    share_measure: str


def chart_data(indicators: Indicators, first: int) -> ChartData:
    """The charts' data, read from the groupings of CHART_GROUPINGS asked at index ``first``."""
    over, shares, totals = first, first + 1, first + 2
    periods, roll_up = _periods(indicators, over)
    kg: dict[str, dict[str, Decimal]] = {}
    tablets: dict[str, Decimal] = {}
    for row in indicators.rows_of(over):
        if row.measure != "seized_quantity":
            continue
        values = dict(row.dimensions)
        period = roll_up(values["month"])
        if row.unit == "kg":
            line = kg.setdefault(values["drug"], {})
            line[period] = line.get(period, Decimal(0)) + row.value
        elif row.unit == "tablets":
            tablets[period] = tablets.get(period, Decimal(0)) + row.value
    drugs = sorted(kg, key=lambda drug: (-sum(kg[drug].values()), drug))

    # Year by year, from the year-on-year changes: totals, and each drug's quantity.
    by_year: dict[_YearlyKey, dict[int, Decimal]] = {}
    changes: list[tuple[str, str, str, str, str]] = []
    for change in (*indicators.changes_of(totals), *indicators.changes_of(over)):
        key = _yearly_key(change.measure, change.unit, dict(change.dimensions).get("drug"))
        if key is None:
            continue
        yearly_line = by_year.setdefault(key, {})
        yearly_line[change.year - 1] = change.previous
        yearly_line[change.year] = change.value
        changes.append(
            (
                _yearly_label(key),
                f"{change.year - 1} \N{RIGHTWARDS ARROW} {change.year}",
                value_text(change.previous, change.unit),
                value_text(change.value, change.unit),
                change_text(change),
            )
        )
    years = tuple(sorted({year for line in by_year.values() for year in line}))

    def yearly(key: _YearlyKey, scale: Decimal = Decimal(1)) -> dict[str, tuple[Decimal, ...]]:
        if key not in by_year:
            return {}
        line = by_year[key]
        return {key[0]: tuple((line.get(y, Decimal(0)) / scale).quantize(_CENT) for y in years)}

    kg_drugs = sorted(
        (key[1] for key in by_year if key[0] == "kg"),
        key=lambda drug: (-max(by_year["kg", drug].values()), drug),
    )
    share_measure, share_values = _shares(indicators, shares)
    return ChartData(
        over_time=Series(
            "Quantity seized by drug",
            "kg",
            periods,
            {drug: tuple(kg[drug].get(p, Decimal(0)) for p in periods) for drug in drugs},
        ),
        tablets_over_time=Series(
            "Pharmaceutical tablets seized",
            "crore tablets",
            periods,
            {"tablets": tuple(in_crore(tablets.get(p, Decimal(0))) for p in periods)}
            if tablets
            else {},
        ),
        value_by_year=Series(
            "Estimated value of seizures",
            "INR crore",
            tuple(str(y) for y in years),
            yearly(("value", ""), CRORE),
        ),
        quantity_by_year=Series(
            "Quantity seized by drug, by year",
            "kg",
            tuple(kg_drugs),
            {
                str(year): tuple(by_year["kg", drug].get(year, Decimal(0)) for drug in kg_drugs)
                for year in years
            },
        ),
        tablets_by_year=Series(
            "Pharmaceutical tablets",
            "crore tablets",
            tuple(str(y) for y in years),
            yearly(("tablets", ""), CRORE),
        ),
        changes=tuple(changes),
        share=Series(
            f"Share of each participant: {measure_label(share_measure)}",
            "",
            tuple(share_values),
            {"share": tuple(share_values.values())},
        ),
        share_measure=share_measure,
    )


_YearlyKey = tuple[str, str]  # ("value", ""), ("seizures", ""), ("kg", drug), ("tablets", "")


def _yearly_key(measure: str, unit: str, drug: str | None) -> _YearlyKey | None:
    if drug is None and measure == "seizure_value_inr":
        return ("value", "")
    if drug is None and measure == "seizures":
        return ("seizures", "")
    if drug is not None and measure == "seized_quantity" and unit == "kg":
        return ("kg", drug)
    if drug is not None and measure == "seized_quantity" and unit == "tablets":
        return ("tablets", "")
    return None


def _yearly_label(key: _YearlyKey) -> str:
    kind, drug = key
    return {
        "value": "Estimated value (INR)",
        "seizures": "Seizures",
        "tablets": "Pharmaceutical tablets",
    }.get(kind, f"{drug} (kg)")


def _shares(indicators: Indicators, grouping: int) -> tuple[str, dict[str, Decimal]]:
    """Seizure value (INR) by participant; the number of seizures when no value is known."""
    for measure in ("seizure_value_inr", "seizures"):
        values = {
            dict(row.dimensions).get("participant", "?"): row.value
            for row in indicators.rows_of(grouping)
            if row.measure == measure
        }
        if any(values.values()):
            return measure, dict(sorted(values.items(), key=lambda item: (-item[1], item[0])))
    return "seizures", {}


_RollUp = Callable[[str], str]


def _periods(indicators: Indicators, grouping: int) -> tuple[tuple[str, ...], _RollUp]:
    """Every month of the period (or, over 36 months, every year) and how a month maps to it."""
    query = indicators.query
    months = sorted({dict(r.dimensions)["month"] for r in indicators.rows_of(grouping)})
    if query.start is not None and query.end is not None:
        start, end = query.start, query.end
    elif months:
        start = date.fromisoformat(months[0] + "-01")
        end = date.fromisoformat(months[-1] + "-01")
    else:
        return (), _same_month
    count = (end.year - start.year) * 12 + end.month - start.month + 1
    if count > _MAX_MONTHS:
        return tuple(str(year) for year in range(start.year, end.year + 1)), _year_of
    labels = []
    year, month = start.year, start.month
    for _ in range(count):
        labels.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(labels), _same_month


def _same_month(month: str) -> str:
    return month


def _year_of(month: str) -> str:
    return month[:4]


# --------------------------------------------------------------- drawing


def _draw_over_time(target: FigureBase, data: ChartData) -> None:
    with_tablets = not data.tablets_over_time.empty
    axes = target.subplots(2 if with_tablets else 1, 1, sharex=True, squeeze=False)[:, 0]
    series = data.over_time
    positions = list(range(len(series.labels)))
    for index, (drug, values) in enumerate(series.lines.items()):
        axes[0].plot(
            positions,
            [float(v) for v in values],
            marker="o",
            markersize=3,
            linewidth=1.8,
            color=_COLOURS[index % len(_COLOURS)],
            label=drug,
        )
    axes[0].set_ylabel("kg")
    axes[0].set_title("Seizures by drug over time: quantity seized (kg)", loc="left")
    if series.lines:
        axes[0].legend(fontsize=8, ncols=2)
    axes[0].grid(alpha=0.3)
    if with_tablets:
        values = data.tablets_over_time.lines["tablets"]
        axes[1].bar(positions, [float(v) for v in values], color=_COLOURS[6])
        axes[1].set_ylabel("crore tablets")
        axes[1].set_title("Pharmaceutical tablets seized (crore)", loc="left")
        axes[1].grid(alpha=0.3, axis="y")
    step = max(1, len(positions) // 12)
    axes[-1].set_xticks(positions[::step], list(series.labels)[::step], rotation=45, ha="right")
    if not series.labels:
        axes[0].text(
            0.5, 0.5, "no seizures in the period", ha="center", transform=axes[0].transAxes
        )


def _draw_year_on_year(target: FigureBase, data: ChartData) -> None:
    value_axes, quantity_axes, tablet_axes = target.subplots(
        1, 3, gridspec_kw={"width_ratios": [1, 2.4, 1]}
    )
    years = data.value_by_year.labels or data.tablets_by_year.labels
    _year_bars(value_axes, data.value_by_year, "Estimated value (INR crore)", years)
    _year_bars(tablet_axes, data.tablets_by_year, "Tablets (crore)", years)
    drugs = data.quantity_by_year.labels
    width = 0.8 / max(1, len(data.quantity_by_year.lines))
    for index, (year, values) in enumerate(data.quantity_by_year.lines.items()):
        positions = [d + index * width for d in range(len(drugs))]
        bars = quantity_axes.bar(
            positions, [float(v) for v in values], width, label=year, color=_COLOURS[index]
        )
        quantity_axes.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=6, rotation=90)
    quantity_axes.set_xticks(
        [d + 0.4 - width / 2 for d in range(len(drugs))], list(drugs), rotation=30, ha="right"
    )
    quantity_axes.set_title("Quantity by drug (kg)", loc="left")
    if data.quantity_by_year.lines:
        quantity_axes.legend(fontsize=8)
    quantity_axes.margins(y=0.2)


def _year_bars(axes: object, series: Series, title: str, years: tuple[str, ...]) -> None:
    from matplotlib.axes import Axes

    assert isinstance(axes, Axes)
    values = next(iter(series.lines.values()), tuple(Decimal(0) for _ in years))
    bars = axes.bar(
        list(series.labels) or list(years),
        [float(v) for v in values],
        color=[_COLOURS[i % len(_COLOURS)] for i in range(len(values))],
    )
    axes.bar_label(bars, labels=[f"{v:,.2f}".rstrip("0").rstrip(".") for v in values], fontsize=7)
    axes.set_title(title, loc="left")
    axes.margins(y=0.15)


def _draw_share(target: FigureBase, data: ChartData) -> None:
    axes = target.subplots()
    values = [float(v) for v in data.share.lines.get("share", ())]
    if not values or not sum(values):
        axes.text(0.5, 0.5, "no seizures in the period", ha="center")
        axes.set_axis_off()
        return
    axes.pie(
        values,
        labels=list(data.share.labels),
        autopct="%1.1f%%",
        startangle=90,
        counterclock=False,
        colors=[_COLOURS[i % len(_COLOURS)] for i in range(len(values))],
        pctdistance=0.78,
        wedgeprops={"width": 0.45, "edgecolor": "white"},
    )
    axes.set_title(data.share.title, loc="left")


_DRAWERS: Final = (_draw_over_time, _draw_year_on_year, _draw_share)
_SIZES: Final = ((9.0, 5.0), (9.0, 3.6), (6.0, 4.0))


def _figure(size: tuple[float, float]) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained")


def svg_charts(data: ChartData) -> list[str]:
    """Each chart as an inline SVG element (no XML prolog, no external reference)."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    charts = []
    # A fixed salt keeps element ids stable run to run; text stays text (fonttype none).
    with rc_context({"svg.hashsalt": "silkline", "svg.fonttype": "none"}):
        for draw, size in zip(_DRAWERS, _SIZES, strict=True):
            figure = _figure(size)
            FigureCanvasSVG(figure)
            draw(figure, data)
            out = io.StringIO()
            figure.savefig(out, format="svg", metadata={"Date": None})
            text = out.getvalue()
            # Drop the XML prolog and the RDF metadata block (names of vocabularies, no data).
            text = _METADATA.sub("", text[text.index("<svg") :])
            charts.append(text)
    return charts


def png_report(data: ChartData, dpi: int = 110) -> bytes:
    """The three charts stacked in one PNG, drawn on the Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import SubFigure

    width = max(size[0] for size in _SIZES)
    figure = _figure((width, sum(size[1] for size in _SIZES)))
    FigureCanvasAgg(figure)
    parts = figure.subfigures(len(_DRAWERS), 1, height_ratios=[s[1] for s in _SIZES])
    targets = [parts] if isinstance(parts, SubFigure) else list(parts.flat)
    for draw, part in zip(_DRAWERS, targets, strict=True):
        draw(part, data)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=dpi, metadata={"Software": "silkline"})
    return out.getvalue()
