"""Indicators: sums of the records' facts, grouped, with year-on-year changes.

The same code serves the server's ``IndicatorsService`` (over the records a
caller may see) and ``silkline report --offline`` (over an audit export).
:class:`IndicatorAccumulator` takes one record payload at a time, so a scan
over many records holds only the running sums; :meth:`~IndicatorAccumulator.result`
gives the :class:`Indicators`.

Arithmetic is :class:`~decimal.Decimal` throughout. Quantities and counts are
exact. Values converted between currencies are summed at full precision and
rounded once, to 0.01, at the end. Every row says how many records its value
rests on.

A query may ask for several groupings at once (a table and the views of a
chart): they are computed in the same pass, so each record is read once.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final

from silkline.indicators.facts import (
    DIMENSIONS,
    MEASURES,
    Contribution,
    Fact,
    contribution_of,
)
from silkline.indicators.rates import RateTable

__all__ = [
    "Change",
    "IndicatorAccumulator",
    "IndicatorQuery",
    "Indicators",
    "QueryError",
    "Row",
    "decimal_text",
]

CONVERTED_MEASURES: Final = frozenset({"seizure_value_inr", "seizure_value_usd"})
"""Measures whose values went through a division by a rate: rounded to 0.01 once summed."""

_CENT: Final = Decimal("0.01")
_TENTH: Final = Decimal("0.1")
_HUNDRED: Final = Decimal(100)
_MEASURE_ORDER: Final = {name: position for position, name in enumerate(MEASURES)}
_TIME_DIMENSIONS: Final = frozenset({"year", "month"})

DimensionValues = tuple[tuple[str, str], ...]
"""(dimension, value) of each dimension of a grouping that applies, in the grouping's order."""


class QueryError(ValueError):
    """A query cannot be answered as asked; ``field`` names the part at fault."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class IndicatorQuery:
    """Which days count (both ends included; None: unbounded) and the groupings wanted.

    Each grouping is a tuple of dimension names from :data:`DIMENSIONS`; the
    empty tuple asks for totals. With no grouping given, totals are computed.
    """

    start: date | None = None
    end: date | None = None
    groupings: tuple[tuple[str, ...], ...] = ((),)

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise QueryError(
                "to_date", f"the period ends ({self.end}) before it starts ({self.start})"
            )
        if not self.groupings:
            object.__setattr__(self, "groupings", ((),))
        for position, grouping in enumerate(self.groupings):
            for name in grouping:
                if name not in DIMENSIONS:
                    raise QueryError(
                        f"groupings[{position}]",
                        f"unknown dimension {name!r}; dimensions: {', '.join(DIMENSIONS)}",
                    )
            if len(set(grouping)) != len(grouping):
                raise QueryError(f"groupings[{position}]", "names a dimension twice")

    def contains(self, day: date) -> bool:
        """Whether ``day`` is in the period."""
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    @property
    def whole_years(self) -> bool:
        """Whether the period starts on 1 January and ends on 31 December (or is unbounded)."""
        starts = self.start is None or (self.start.month, self.start.day) == (1, 1)
        ends = self.end is None or (self.end.month, self.end.day) == (12, 31)
        return starts and ends


@dataclass(frozen=True)
class Row:
    """One aggregate: a measure for one combination of dimension values."""

    grouping: int
    dimensions: DimensionValues
    measure: str
    unit: str
    value: Decimal
    record_count: int


@dataclass(frozen=True)
class Change:
    """A measure in ``year`` against ``year - 1``, for one combination of other dimensions."""

    grouping: int
    dimensions: DimensionValues
    measure: str
    unit: str
    year: int
    previous: Decimal
    value: Decimal
    previous_record_count: int
    record_count: int

    @property
    def change(self) -> Decimal:
        return self.value - self.previous

    @property
    def change_percent(self) -> Decimal | None:
        """The change in percent of the previous year, to one decimal; None from zero."""
        if self.previous == 0:
            return None
        return (self.change / self.previous * _HUNDRED).quantize(_TENTH, ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Indicators:
    """The answer to a query: rows and year-on-year changes per grouping, and their basis."""

    query: IndicatorQuery
    rows: tuple[Row, ...]
    changes: tuple[Change, ...]
    rates: RateTable
    records_used: int
    records_metadata_only: int = 0
    rules_sha256: str = ""
    notes: tuple[str, ...] = ()

    def rows_of(self, grouping: int) -> list[Row]:
        return [row for row in self.rows if row.grouping == grouping]

    def changes_of(self, grouping: int) -> list[Change]:
        return [change for change in self.changes if change.grouping == grouping]


def decimal_text(value: Decimal) -> str:
    """A decimal in plain notation without trailing zeros: "161000000000", "1.5", "0"."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass
class _Cell:
    total: Decimal = field(default_factory=Decimal)
    records: set[str] = field(default_factory=set)


_Cells = dict[tuple[str, str, DimensionValues], _Cell]


class _Grouper:
    """Running sums for one set of dimensions, held in the order of DIMENSIONS."""

    def __init__(self, dimensions: tuple[str, ...]) -> None:
        self.dimensions = dimensions
        self.cells: _Cells = {}

    def keys(self, fact: Fact, year: str, month: str) -> list[DimensionValues]:
        """Every combination of values the fact counts under (several for multi-valued ones).

        A dimension that does not apply to the fact is left out of its key.
        """
        pairs: list[tuple[str, str]] = []
        several: list[tuple[str, tuple[str, ...]]] = []
        for name in self.dimensions:
            if name == "year":
                pairs.append((name, year))
            elif name == "month":
                pairs.append((name, month))
            else:
                values = fact.dimensions.get(name)
                if values is None:
                    continue
                if len(values) == 1:
                    pairs.append((name, values[0]))
                else:
                    several.append((name, values))
        if not several:
            return [tuple(pairs)]
        # Rare (a seizure of several drugs, a route through several countries): expand.
        names = [name for name, _ in several]
        return [
            _canonical_pairs([*pairs, *zip(names, combination, strict=True)])
            for combination in itertools.product(*(values for _, values in several))
        ]

    def add_contribution(self, contribution: Contribution, year: str, month: str) -> None:
        cells = self.cells
        record_id = contribution.record_id
        # The facts of one seized item (quantity, values) share their dimensions' mapping.
        known: dict[int, list[DimensionValues]] = {}
        for fact in contribution.facts:
            keys = known.get(id(fact.dimensions))
            if keys is None:
                keys = known[id(fact.dimensions)] = self.keys(fact, year, month)
            for key in keys:
                cell = cells.get((fact.measure, fact.unit, key))
                if cell is None:
                    cell = cells[fact.measure, fact.unit, key] = _Cell()
                cell.total += fact.value
                cell.records.add(record_id)

    def with_cases(self, contributions: Iterable[Contribution]) -> _Cells:
        """The sums with the prosecutions added: per group, only the latest record of
        each case counts. The running sums are left as they are."""
        cells = {key: _Cell(cell.total, set(cell.records)) for key, cell in self.cells.items()}
        latest: dict[tuple[DimensionValues, str], Contribution] = {}
        for contribution in contributions:
            year, month = _time_values(contribution.day)
            keys = {key for fact in contribution.facts for key in self.keys(fact, year, month)}
            for key in keys:
                case = (key, contribution.case or contribution.record_id)
                held = latest.get(case)
                if held is None or _case_order(contribution) > _case_order(held):
                    latest[case] = contribution
        for (key, _), contribution in latest.items():
            year, month = _time_values(contribution.day)
            for fact in contribution.facts:
                if key in self.keys(fact, year, month):
                    cell = cells.setdefault((fact.measure, fact.unit, key), _Cell())
                    cell.total += fact.value
                    cell.records.add(contribution.record_id)
        return cells


_DIMENSION_ORDER: Final = {name: position for position, name in enumerate(DIMENSIONS)}


def _canonical(dimensions: Iterable[str]) -> tuple[str, ...]:
    """Dimensions in the order of DIMENSIONS: one grouper serves every order asked."""
    return tuple(sorted(dimensions, key=_DIMENSION_ORDER.__getitem__))


def _canonical_pairs(pairs: Iterable[tuple[str, str]]) -> DimensionValues:
    return tuple(sorted(pairs, key=lambda pair: _DIMENSION_ORDER[pair[0]]))


def _ordered(key: DimensionValues, names: Iterable[str]) -> DimensionValues:
    """A grouper's key in the order a grouping asked for its dimensions."""
    values = dict(key)
    return tuple((name, values[name]) for name in names if name in values)


def _time_values(day: date) -> tuple[str, str]:
    return f"{day.year:04d}", f"{day.year:04d}-{day.month:02d}"


def _case_order(contribution: Contribution) -> tuple[date, datetime, str]:
    return contribution.day, contribution.created_at, contribution.record_id


def _yearly(dimensions: tuple[str, ...]) -> tuple[str, ...]:
    """The dimensions of a grouping's year-on-year comparison: its own, by year."""
    return (*(name for name in dimensions if name not in _TIME_DIMENSIONS), "year")


class IndicatorAccumulator:
    """Adds records one at a time; :meth:`result` gives the indicators of those added."""

    def __init__(self, query: IndicatorQuery, rates: RateTable) -> None:
        self.query = query
        self.rates = rates
        self._groupers: dict[tuple[str, ...], _Grouper] = {}
        for grouping in query.groupings:
            for dimensions in (grouping, _yearly(grouping)):
                canonical = _canonical(dimensions)
                self._groupers.setdefault(canonical, _Grouper(canonical))
        self._cases: list[Contribution] = []
        self._used = 0
        self._years: set[int] = set()
        self._notes: set[str] = set()

    @property
    def records_used(self) -> int:
        return self._used

    def add(self, payload: Mapping[str, Any]) -> bool:
        """Add a record payload (signed form); True if it counts (dated in the period).

        Raises :class:`~silkline.indicators.facts.IndicatorInputError` for a
        payload that lacks what its schema requires.
        """
        contribution = contribution_of(payload, self.rates)
        return contribution is not None and self.add_contribution(contribution)

    def add_contribution(self, contribution: Contribution) -> bool:
        """Add what one record contributes; True if it counts (dated in the period)."""
        if not self.query.contains(contribution.day) or not contribution.facts:
            return False
        self._used += 1
        self._years.add(contribution.day.year)
        self._notes.update(contribution.notes)
        if contribution.case is not None:
            self._cases.append(contribution)
            return True
        year, month = _time_values(contribution.day)
        for grouper in self._groupers.values():
            grouper.add_contribution(contribution, year, month)
        return True

    def result(
        self,
        *,
        records_metadata_only: int = 0,
        rules_sha256: str = "",
        notes: Iterable[str] = (),
    ) -> Indicators:
        """The indicators of every record added so far."""
        sums = {
            dimensions: grouper.with_cases(self._cases)
            for dimensions, grouper in self._groupers.items()
        }
        rows: list[Row] = []
        changes: list[Change] = []
        for position, grouping in enumerate(self.query.groupings):
            rows.extend(_rows(position, grouping, sums[_canonical(grouping)]))
            yearly = sums[_canonical(_yearly(grouping))]
            changes.extend(self._changes(position, grouping, yearly))
        all_notes = set(notes) | self._notes
        if not self.query.whole_years and changes:
            all_notes.add(
                "the period does not cover whole calendar years: year-on-year changes compare "
                "the parts of each year inside it"
            )
        return Indicators(
            query=self.query,
            rows=tuple(rows),
            changes=tuple(changes),
            rates=self.rates,
            records_used=self._used,
            records_metadata_only=records_metadata_only,
            rules_sha256=rules_sha256,
            notes=tuple(sorted(all_notes)),
        )

    def _changes(self, position: int, grouping: tuple[str, ...], yearly: _Cells) -> list[Change]:
        if self.query.start is not None and self.query.end is not None:
            years = range(self.query.start.year + 1, self.query.end.year + 1)
        elif self._years:
            years = range(min(self._years) + 1, max(self._years) + 1)
        else:
            years = range(0)
        by_year: dict[tuple[str, str, DimensionValues], dict[int, _Cell]] = {}
        for (measure, unit, key), cell in yearly.items():
            others = _ordered(key, (n for n in grouping if n not in _TIME_DIMENSIONS))
            year = int(dict(key)["year"])
            by_year.setdefault((measure, unit, others), {})[year] = cell
        found: list[Change] = []
        for (measure, unit, others), cells in by_year.items():
            for year in years:
                previous, current = cells.get(year - 1), cells.get(year)
                if previous is None and current is None:
                    continue
                found.append(
                    Change(
                        grouping=position,
                        dimensions=others,
                        measure=measure,
                        unit=unit,
                        year=year,
                        previous=_final(measure, previous.total if previous else Decimal(0)),
                        value=_final(measure, current.total if current else Decimal(0)),
                        previous_record_count=len(previous.records) if previous else 0,
                        record_count=len(current.records) if current else 0,
                    )
                )
        found.sort(key=lambda c: (_measure_rank(c.measure), c.unit, c.dimensions, c.year))
        return found


def _rows(position: int, grouping: tuple[str, ...], cells: _Cells) -> list[Row]:
    rows = [
        Row(
            position,
            _ordered(key, grouping),
            measure,
            unit,
            _final(measure, cell.total),
            len(cell.records),
        )
        for (measure, unit, key), cell in cells.items()
    ]
    rows.sort(key=lambda r: (_measure_rank(r.measure), r.unit, r.dimensions))
    return rows


def _final(measure: str, total: Decimal) -> Decimal:
    if measure in CONVERTED_MEASURES:
        return total.quantize(_CENT, ROUND_HALF_EVEN)
    return total


def _measure_rank(measure: str) -> int:
    return _MEASURE_ORDER.get(measure, len(_MEASURE_ORDER))
