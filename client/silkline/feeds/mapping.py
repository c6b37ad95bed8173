"""The mapping file of a CSV export: which column fills which body field, in which unit.

A seizure system exports rows; a TOML file says how a row becomes a record
body. Example (docs/realtime.md has the whole format)::

    record_type = "seizure-alert"
    key = "seizure_no"            # column holding the source system's own key
    time = "seized_at"            # body field holding the record's own time
    timezone = "+05:30"           # offset of times written without one

    [fields]                      # body field (dotted; numbers index arrays) = column
    "seized_at" = "seized_on"
    "location.name" = "place"
    "items.0.drug" = "drug"
    "items.0.quantity" = { quantity = "qty", unit = "unit" }
    "items.0.estimated_value" = { amount = "value_crore", currency = "INR", scale = "crore" }
    "route.transit" = { column = "via", type = "list", separator = ";" }

    [defaults]                    # body fields set when no column fills them
    "conveyance.kind" = "container"

    [units]                       # spellings in the export = schema unit
    KGS = "kg"
    QTL = "quintal"
    "CRORE TABLETS" = { unit = "tablets", multiply = 10000000 }

Unknown keys, wrong types and units that are not the schema's are refused
with the key that is wrong; a misspelt mapping silently ignored would feed
wrong records.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from silkline.records import RECORD_TYPES
from silkline.units import QUANTITY_UNITS

__all__ = [
    "COLUMN_TYPES",
    "Column",
    "CsvMapping",
    "MappingError",
    "Money",
    "Quantity",
    "UnitSpelling",
    "parse_mapping",
]

COLUMN_TYPES: Final = ("string", "number", "integer", "list", "datetime")
_TOP_KEYS: Final = {"record_type", "key", "time", "timezone", "fields", "defaults", "units"}
_COLUMN_KEYS: Final = {"column", "type", "separator"}
_QUANTITY_KEYS: Final = {"quantity", "unit"}
_MONEY_KEYS: Final = {"amount", "currency", "currency_column", "scale"}
_SCALES: Final = ("unit", "lakh", "crore")


class MappingError(ValueError):
    """The mapping file is unusable; the message names the key and what was expected."""


@dataclass(frozen=True)
class Column:
    """One column's cell as a value of `kind` (a list splits on `separator`)."""

    column: str
    kind: str = "string"
    separator: str = ";"


@dataclass(frozen=True)
class Quantity:
    """`{"value": ..., "unit": ...}` from a value column and a unit column, via [units]."""

    value_column: str
    unit_column: str


@dataclass(frozen=True)
class Money:
    """`{"amount": ..., "currency": ..., "scale": ...}` from an amount column."""

    amount_column: str
    currency: str | None
    currency_column: str | None
    scale: str | None


FieldSource = Column | Quantity | Money


@dataclass(frozen=True)
class UnitSpelling:
    """A unit as the export writes it: the schema's unit and the factor to it."""

    unit: str
    multiply: Decimal = Decimal(1)


@dataclass(frozen=True)
class CsvMapping:
    record_type: str
    key_column: str
    time_field: tuple[str, ...]
    timezone: str | None
    fields: tuple[tuple[tuple[str, ...], FieldSource], ...]
    defaults: tuple[tuple[tuple[str, ...], Any], ...]
    units: dict[str, UnitSpelling]

    @property
    def columns(self) -> frozenset[str]:
        """Every column the mapping reads; each must be in the CSV header."""
        named = {self.key_column}
        for _, source in self.fields:
            if isinstance(source, Column):
                named.add(source.column)
            elif isinstance(source, Quantity):
                named |= {source.value_column, source.unit_column}
            else:
                named.add(source.amount_column)
                if source.currency_column:
                    named.add(source.currency_column)
        return frozenset(named)


def parse_mapping(text: str, where: str = "mapping") -> CsvMapping:
    """Parse and check a mapping file's text; `where` names it in messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{where}: {exc}") from exc
    _refuse_unknown(raw, _TOP_KEYS, where)
    record_type = _string(raw, "record_type", where, default="seizure-alert")
    if record_type not in RECORD_TYPES:
        raise MappingError(
            f"{where}: record_type {record_type!r} is not one of {', '.join(RECORD_TYPES)}"
        )
    key_column = _string(raw, "key", where)
    time_field = _path(_string(raw, "time", where, default="seized_at"), f"{where}: time")
    timezone = raw.get("timezone")
    if timezone is not None and not _is_offset(timezone):
        raise MappingError(f"{where}: timezone must be an offset such as '+05:30' or 'Z'")
    fields_raw = _table(raw, "fields", where)
    if not fields_raw:
        raise MappingError(f"{where}: [fields] must map at least one body field to a column")
    fields = tuple(
        (_path(name, f"{where} [fields]"), _field_source(name, spec, f"{where} [fields]"))
        for name, spec in fields_raw.items()
    )
    defaults = tuple(
        (_path(name, f"{where} [defaults]"), value)
        for name, value in _table(raw, "defaults", where).items()
    )
    units = {
        spelling: _unit_spelling(spelling, spec, f"{where} [units]")
        for spelling, spec in _table(raw, "units", where).items()
    }
    return CsvMapping(
        record_type=record_type,
        key_column=key_column,
        time_field=time_field,
        timezone=timezone,
        fields=fields,
        defaults=defaults,
        units=units,
    )


def _field_source(name: str, spec: object, where: str) -> FieldSource:
    if isinstance(spec, str) and spec:
        return Column(spec)
    if not isinstance(spec, dict):
        raise MappingError(
            f"{where}: {name!r} must be a column name or a table "
            "({ column = ... }, { quantity = ..., unit = ... } or { amount = ..., ... })"
        )
    at = f"{where} {name!r}"
    if "quantity" in spec:
        _refuse_unknown(spec, _QUANTITY_KEYS, at)
        return Quantity(_string(spec, "quantity", at), _string(spec, "unit", at))
    if "amount" in spec:
        _refuse_unknown(spec, _MONEY_KEYS, at)
        currency = spec.get("currency")
        currency_column = spec.get("currency_column")
        if (currency is None) == (currency_column is None):
            raise MappingError(f"{at}: give exactly one of currency (a code) or currency_column")
        scale = spec.get("scale")
        if scale is not None and scale not in _SCALES:
            raise MappingError(f"{at}: scale must be one of {', '.join(_SCALES)}")
        return Money(
            _string(spec, "amount", at),
            _string(spec, "currency", at) if currency is not None else None,
            _string(spec, "currency_column", at) if currency_column is not None else None,
            scale,
        )
    _refuse_unknown(spec, _COLUMN_KEYS, at)
    kind = _string(spec, "type", at, default="string")
    if kind not in COLUMN_TYPES:
        raise MappingError(f"{at}: type must be one of {', '.join(COLUMN_TYPES)}")
    return Column(_string(spec, "column", at), kind, _string(spec, "separator", at, default=";"))


def _unit_spelling(spelling: str, spec: object, where: str) -> UnitSpelling:
    unit = spec if isinstance(spec, str) else None
    multiply: object = 1
    if isinstance(spec, dict):
        _refuse_unknown(spec, {"unit", "multiply"}, f"{where} {spelling!r}")
        unit = spec.get("unit")
        multiply = spec.get("multiply", 1)
    if unit not in QUANTITY_UNITS:
        raise MappingError(
            f"{where}: {spelling!r} must map to one of the schema's units "
            f"({', '.join(QUANTITY_UNITS)}), got {unit!r}"
        )
    try:
        factor = Decimal(str(multiply))
    except InvalidOperation:
        factor = Decimal(0)
    if isinstance(multiply, bool) or not factor.is_finite() or factor <= 0:
        raise MappingError(f"{where}: {spelling!r}: multiply must be a positive number")
    return UnitSpelling(str(unit), factor)


def _path(name: str, where: str) -> tuple[str, ...]:
    parts = tuple(name.split("."))
    if not name or any(not part for part in parts):
        raise MappingError(f"{where}: {name!r} is not a body field path such as 'location.name'")
    return parts


def _is_offset(value: object) -> bool:
    if value in ("Z", "z"):
        return True
    return (
        isinstance(value, str)
        and len(value) == 6
        and value[0] in "+-"
        and value[1:3].isdigit()
        and value[3] == ":"
        and value[4:].isdigit()
        and int(value[1:3]) <= 23
        and int(value[4:]) <= 59
    )


def _refuse_unknown(table: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise MappingError(f"{where}: unknown key(s) {unknown}; expected some of {sorted(known)}")


def _table(raw: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise MappingError(f"{where}: [{key}] must be a table")
    return value


def _string(raw: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value:
        raise MappingError(f"{where}: {key!r} must be a non-empty string")
    return value
