"""Monitoring-and-evaluation indicators over silkline records.

Seizures (count, quantity by drug, estimated value in INR and USD), arrests,
prosecutions, joint operations, trainings, rehabilitation and alternative
livelihood, grouped by participant, drug, route, place, month and year, with
year-on-year changes; each aggregate says how many records it rests on.

- ``facts``: what one record contributes, read from its non-personal fields only;
- ``aggregate``: the sums (Decimal), the groupings, the year-on-year changes;
- ``rates``: the exchange-rate table and its provenance (``exchange_rates.json``);
- ``wire``: to and from ``proto/silkline/v1/indicators.proto``;
- ``offline``: over an audit export or record bundles, without a server;
- ``render``, ``display``, ``charts``, ``html``: table, JSON, CSV, PNG, HTML;
- ``sample``: a reproducible sample whose totals are India's published figures.

The server (``silkline_server.services.indicators``) and ``silkline report``
use the same code; only the server decides which records a caller may see.
"""

from silkline.indicators.aggregate import (
    Change,
    IndicatorAccumulator,
    IndicatorQuery,
    Indicators,
    QueryError,
    Row,
    decimal_text,
)
from silkline.indicators.facts import (
    DIMENSIONS,
    INDICATOR_RECORD_TYPES,
    MEASURES,
    IndicatorInputError,
    contribution_of,
)
from silkline.indicators.rates import RateTable, RateTableError, load_rate_table

__all__ = [
    "DIMENSIONS",
    "INDICATOR_RECORD_TYPES",
    "MEASURES",
    "Change",
    "IndicatorAccumulator",
    "IndicatorInputError",
    "IndicatorQuery",
    "Indicators",
    "QueryError",
    "RateTable",
    "RateTableError",
    "Row",
    "contribution_of",
    "decimal_text",
    "load_rate_table",
]
