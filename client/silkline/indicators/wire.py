"""Indicators to and from the messages of proto/silkline/v1/indicators.proto.

The server answers ``GetIndicators`` with :func:`response_of`; the client reads
the answer back with :func:`indicators_of`, so both ends share one model.
Values travel as exact decimal strings, dates as RFC 3339 full-dates.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Final

from silkline.indicators.aggregate import (
    Change,
    IndicatorQuery,
    Indicators,
    QueryError,
    Row,
    decimal_text,
)
from silkline.indicators.rates import RateTable
from silkline.v1 import indicators_pb2

__all__ = ["indicators_of", "query_of", "request_of", "response_of"]

_FULL_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def request_of(query: IndicatorQuery) -> indicators_pb2.GetIndicatorsRequest:
    """The request asking for ``query``."""
    return indicators_pb2.GetIndicatorsRequest(
        from_date=query.start.isoformat() if query.start else "",
        to_date=query.end.isoformat() if query.end else "",
        groupings=[indicators_pb2.Grouping(dimensions=list(g)) for g in query.groupings],
    )


def query_of(request: indicators_pb2.GetIndicatorsRequest) -> IndicatorQuery:
    """The query a request asks; raises :class:`QueryError` naming the field at fault."""
    return IndicatorQuery(
        start=_date(request.from_date, "from_date"),
        end=_date(request.to_date, "to_date"),
        groupings=tuple(tuple(g.dimensions) for g in request.groupings),
    )


def response_of(indicators: Indicators) -> indicators_pb2.GetIndicatorsResponse:
    """The response carrying ``indicators``."""
    rates = indicators.rates
    return indicators_pb2.GetIndicatorsResponse(
        rows=[
            indicators_pb2.IndicatorRow(
                grouping=row.grouping,
                dimensions=dict(row.dimensions),
                measure=row.measure,
                value=decimal_text(row.value),
                unit=row.unit,
                record_count=row.record_count,
            )
            for row in indicators.rows
        ],
        year_on_year=[
            indicators_pb2.YearOnYearChange(
                grouping=change.grouping,
                dimensions=dict(change.dimensions),
                measure=change.measure,
                unit=change.unit,
                year=change.year,
                previous_value=decimal_text(change.previous),
                value=decimal_text(change.value),
                change=decimal_text(change.change),
                change_percent=(
                    decimal_text(change.change_percent) if change.change_percent is not None else ""
                ),
                previous_record_count=change.previous_record_count,
                record_count=change.record_count,
            )
            for change in indicators.changes
        ],
        rate_table=indicators_pb2.RateTable(
            source=rates.source,
            as_of=rates.as_of,
            note=rates.note,
            rates=[
                indicators_pb2.ExchangeRate(
                    currency=currency, year=year, units_per_usd=decimal_text(rate)
                )
                for year, currency, rate in rates.entries()
            ],
        ),
        records_used=indicators.records_used,
        records_metadata_only=indicators.records_metadata_only,
        rules_sha256=indicators.rules_sha256,
        notes=list(indicators.notes),
    )


def indicators_of(
    response: indicators_pb2.GetIndicatorsResponse, query: IndicatorQuery
) -> Indicators:
    """The indicators a response carries, for the query that asked for them."""

    def ordered(grouping: int, values: dict[str, str]) -> tuple[tuple[str, str], ...]:
        names = query.groupings[grouping] if grouping < len(query.groupings) else ()
        return tuple((name, values[name]) for name in names if name in values)

    rates: dict[int, dict[str, Decimal]] = {}
    for rate in response.rate_table.rates:
        rates.setdefault(rate.year, {})[rate.currency] = _decimal(rate.units_per_usd)
    return Indicators(
        query=query,
        rows=tuple(
            Row(
                grouping=row.grouping,
                dimensions=ordered(row.grouping, dict(row.dimensions)),
                measure=row.measure,
                unit=row.unit,
                value=_decimal(row.value),
                record_count=row.record_count,
            )
            for row in response.rows
        ),
        changes=tuple(
            Change(
                grouping=change.grouping,
                dimensions=ordered(change.grouping, dict(change.dimensions)),
                measure=change.measure,
                unit=change.unit,
                year=change.year,
                previous=_decimal(change.previous_value),
                value=_decimal(change.value),
                previous_record_count=change.previous_record_count,
                record_count=change.record_count,
            )
            for change in response.year_on_year
        ),
        rates=RateTable(
            source=response.rate_table.source,
            as_of=response.rate_table.as_of,
            note=response.rate_table.note,
            rates=rates,
        ),
        records_used=response.records_used,
        records_metadata_only=response.records_metadata_only,
        rules_sha256=response.rules_sha256,
        notes=tuple(response.notes),
    )


def _date(text: str, field_name: str) -> date | None:
    if not text:
        return None
    if not _FULL_DATE.fullmatch(text):
        raise QueryError(field_name, f"{text!r} is not an RFC 3339 full-date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise QueryError(field_name, f"{text!r} is not a date (YYYY-MM-DD)") from exc


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"{text!r} is not a decimal number") from exc
