"""The exchange-rate table that estimated values are converted with, and where it comes from.

A seizure's estimated value is written in the originator's currency (INR for
India, often in crore; USD for many Central Asian reports). Indicators add
values in INR and in USD, each converted with the calendar-year average rate
of the year the seizure was made. The table is data (``exchange_rates.json``
beside this module, or a file of the same shape), never figures in code, and
every report states the table it used, with its source and date.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, Final

__all__ = [
    "BUILT_IN_RATES",
    "RateTable",
    "RateTableError",
    "load_rate_table",
    "parse_rate_table",
]

BUILT_IN_RATES: Final = "exchange_rates.json"
"""The table shipped with silkline, beside this module."""


class RateTableError(ValueError):
    """A rate table file cannot be used; the message names the entry at fault."""


@dataclass(frozen=True)
class RateTable:
    """Units of each currency per US dollar, by calendar year, with its provenance."""

    source: str
    as_of: str
    note: str
    # year -> currency -> units per USD
    rates: dict[int, dict[str, Decimal]]

    def units_per_usd(self, year: int, currency: str) -> Decimal | None:
        """The rate of ``currency`` in ``year``; 1 for USD; None when the table has none."""
        if currency == "USD":
            return Decimal(1)
        return self.rates.get(year, {}).get(currency)

    def entries(self) -> list[tuple[int, str, Decimal]]:
        """(year, currency, units per USD), sorted by year then currency."""
        return [
            (year, currency, rate)
            for year in sorted(self.rates)
            for currency, rate in sorted(self.rates[year].items())
        ]


def load_rate_table(path: Path | None = None) -> RateTable:
    """The table in ``path``, or the built-in one. Raises :class:`RateTableError`."""
    if path is None:
        text = resources.files(__package__ or "silkline.indicators").joinpath(BUILT_IN_RATES)
        return parse_rate_table(text.read_text(encoding="utf-8"), BUILT_IN_RATES)
    try:
        return parse_rate_table(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise RateTableError(f"cannot read rate table {path}: {exc}") from exc


def parse_rate_table(text: str, where: str = "rate table") -> RateTable:
    """A table written as ``exchange_rates.json`` is; strict about its shape."""
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RateTableError(f"{where} is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise RateTableError(f"{where} must be a JSON object")
    for key in ("source", "as_of"):
        if not isinstance(document.get(key), str) or not document[key]:
            raise RateTableError(f"{where}: {key!r} must be a non-empty string (provenance)")
    rates_in = document.get("rates")
    if not isinstance(rates_in, dict) or not rates_in:
        raise RateTableError(f"{where}: 'rates' must map years to currencies and rates")
    rates: dict[int, dict[str, Decimal]] = {}
    for year_text, by_currency in rates_in.items():
        if not (isinstance(year_text, str) and year_text.isdigit() and len(year_text) == 4):
            raise RateTableError(f"{where}: year {year_text!r} must be four digits")
        if not isinstance(by_currency, dict):
            raise RateTableError(f"{where}: rates[{year_text}] must map currencies to rates")
        year_rates: dict[str, Decimal] = {}
        for currency, rate_text in by_currency.items():
            pointer = f"rates[{year_text}][{currency}]"
            if not (isinstance(currency, str) and len(currency) == 3 and currency.isupper()):
                raise RateTableError(f"{where}: {pointer}: currency must be an ISO 4217 code")
            if not isinstance(rate_text, str):
                # A JSON number would go through a binary float; rates are exact strings.
                raise RateTableError(f'{where}: {pointer} must be a decimal string, e.g. "82.60"')
            try:
                rate = Decimal(rate_text)
            except InvalidOperation as exc:
                raise RateTableError(f"{where}: {pointer} is not a number") from exc
            if not rate.is_finite() or rate <= 0:
                raise RateTableError(f"{where}: {pointer} must be a positive number")
            year_rates[currency] = rate
        rates[int(year_text)] = year_rates
    note = document.get("note", "")
    return RateTable(
        source=document["source"],
        as_of=document["as_of"],
        note=note if isinstance(note, str) else "",
        rates=rates,
    )
