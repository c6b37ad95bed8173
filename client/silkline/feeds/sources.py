"""Input items of a feed (JSONL lines, CSV rows) and the record payloads made from them.

Each item either becomes a `FeedRecord` or raises `FeedInputError` with the
reason, which the feed writes to its dead-letter file before going on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from silkline.authoring import build_payload
from silkline.feeds.identity import FeedIdentityError, feed_created_at, feed_record_id
from silkline.feeds.mapping import Column, CsvMapping, Money, Quantity
from silkline.identity import Identity
from silkline.records import RECORD_TYPES
from silkline.units import QUANTITY_UNITS

__all__ = [
    "DEFAULT_KEY_FIELD",
    "DEFAULT_TIME_FIELD",
    "CsvRows",
    "Distribution",
    "FeedInputError",
    "FeedRecord",
    "feed_payload",
    "record_from_json_line",
]

DEFAULT_KEY_FIELD = "case_reference"
DEFAULT_TIME_FIELD = "seized_at"


class FeedInputError(ValueError):
    """One input item cannot become a record; the message says why, for the dead-letter file."""


@dataclass(frozen=True)
class Distribution:
    """The originator controls a feed applies to items that carry none of their own."""

    tlp: str = "AMBER"
    recipients: tuple[str, ...] = ()
    handling: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class FeedRecord:
    """What one input item says: a body and how to identify it deterministically.

    `record_id` and `created_at` are set when the item carries them (a whole
    payload); otherwise they are derived from `key` and `at`.
    """

    record_type: str
    body: dict[str, Any]
    key: str | None
    at: datetime | None
    record_id: str | None = None
    created_at: datetime | None = None
    distribution: Mapping[str, Any] | None = None
    grading: Mapping[str, Any] | None = field(default=None)


def record_from_json_line(
    text: str,
    *,
    record_type: str = "seizure-alert",
    key_field: str = DEFAULT_KEY_FIELD,
    time_field: str = DEFAULT_TIME_FIELD,
) -> FeedRecord:
    """A JSONL line: a record body, or a whole payload (with record_type and body).

    `key_field` and `time_field` are dotted paths into the body.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedInputError(f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise FeedInputError("a line must be a JSON object: a record body or a whole payload")
    whole = "body" in document and "record_type" in document
    body = document["body"] if whole else document
    kind = document["record_type"] if whole else record_type
    if kind not in RECORD_TYPES:
        raise FeedInputError(f"record_type {kind!r} is not one of {', '.join(RECORD_TYPES)}")
    if not isinstance(body, dict):
        raise FeedInputError("body must be a JSON object")
    record_id = document.get("id") if whole else None
    created_at = (
        _parse_time(document["created_at"], "created_at")
        if whole and ("created_at" in document)
        else None
    )
    if (record_id is None) != (created_at is None):
        raise FeedInputError("a whole payload gives both id and created_at, or neither")
    if record_id is not None and not isinstance(record_id, str):
        raise FeedInputError("id must be a string")
    key = at = None
    if record_id is None:
        key_value = _dig(body, key_field)
        if key_value is None or key_value == "":
            raise FeedInputError(
                f"no source key: body field {key_field!r} is missing (choose it with --key)"
            )
        key = str(key_value)
        time_value = _dig(body, time_field)
        if not isinstance(time_value, str):
            raise FeedInputError(
                f"no record time: body field {time_field!r} is missing or not a date-time "
                "(choose it with --time-field)"
            )
        at = _parse_time(time_value, time_field)
    return FeedRecord(
        record_type=kind,
        body=body,
        key=key,
        at=at,
        record_id=record_id,
        created_at=created_at,
        distribution=document.get("distribution") if whole else None,
        grading=document.get("grading") if whole else None,
    )


class CsvRows:
    """Rows of one CSV export under a mapping: the header first, then each row."""

    def __init__(self, mapping: CsvMapping, header: Sequence[str]) -> None:
        missing = sorted(mapping.columns - set(header))
        if missing:
            raise FeedInputError(
                f"the mapping reads column(s) {missing} that the CSV header lacks; "
                f"the header has: {', '.join(header)}"
            )
        self._mapping = mapping
        self._header = list(header)

    def record(self, cells: Sequence[str]) -> FeedRecord:
        """The record one data row stands for."""
        if len(cells) != len(self._header):
            raise FeedInputError(
                f"bad CSV row: {len(cells)} cell(s), the header has {len(self._header)} columns"
            )
        row = dict(zip(self._header, cells, strict=True))
        mapping = self._mapping
        body: dict[str, Any] = {}
        for path, value in mapping.defaults:
            _place(body, path, value)
        for path, source in mapping.fields:
            value = self._value(row, path, source)
            if value is not None:
                _place(body, path, value)
        key = row[mapping.key_column].strip()
        if not key:
            raise FeedInputError(f"no source key: column {mapping.key_column!r} is empty")
        time_value = _dig(body, ".".join(mapping.time_field))
        if not isinstance(time_value, str):
            raise FeedInputError(
                f"no record time: body field {'.'.join(mapping.time_field)!r} is empty"
            )
        return FeedRecord(
            record_type=mapping.record_type,
            body=body,
            key=key,
            at=_parse_time(time_value, ".".join(mapping.time_field)),
        )

    def _value(
        self, row: Mapping[str, str], path: tuple[str, ...], source: Column | Quantity | Money
    ) -> Any:
        if isinstance(source, Quantity):
            return self._quantity(row, source)
        if isinstance(source, Money):
            amount = row[source.amount_column].strip()
            if not amount:
                return None
            money: dict[str, Any] = {
                "amount": _number(amount, source.amount_column),
                "currency": source.currency or row[source.currency_column or ""].strip().upper(),
            }
            if source.scale is not None:
                money["scale"] = source.scale
            return money
        cell = row[source.column].strip()
        if not cell:
            return None
        if source.kind == "number":
            return _number(cell, source.column)
        if source.kind == "integer":
            value = _number(cell, source.column)
            if not isinstance(value, int):
                raise FeedInputError(f"column {source.column!r} is {cell!r}, not a whole number")
            return value
        if source.kind == "list":
            return [part.strip() for part in cell.split(source.separator) if part.strip()]
        if source.kind == "datetime" or path == self._mapping.time_field:
            return self._datetime(cell, source.column)
        return cell

    def _quantity(self, row: Mapping[str, str], source: Quantity) -> dict[str, Any] | None:
        cell = row[source.value_column].strip()
        if not cell:
            return None
        spelled = row[source.unit_column].strip()
        units = self._mapping.units
        if spelled in units:
            spelling = units[spelled]
        elif not units and spelled in QUANTITY_UNITS:
            return {"value": _number(cell, source.value_column), "unit": spelled}
        else:
            known = ", ".join(sorted(units)) if units else ", ".join(QUANTITY_UNITS)
            raise FeedInputError(
                f"unknown unit {spelled!r} in column {source.unit_column!r}; "
                f"the mapping knows: {known}"
            )
        value = _decimal(cell, source.value_column) * spelling.multiply
        if spelling.unit == "tablets" and value != value.to_integral_value():
            raise FeedInputError(
                f"column {source.value_column!r}: {cell} {spelled} is not a whole number of tablets"
            )
        return {"value": _json_number(value), "unit": spelling.unit}

    def _datetime(self, cell: str, column: str) -> str:
        try:
            parsed = datetime.fromisoformat(cell)
        except ValueError as exc:
            raise FeedInputError(f"column {column!r} is {cell!r}, not a date and time") from exc
        if parsed.tzinfo is None:
            if self._mapping.timezone is None:
                raise FeedInputError(
                    f"column {column!r} is {cell!r}, without a UTC offset, and the mapping "
                    "sets no timezone"
                )
            parsed = parsed.replace(tzinfo=_offset(self._mapping.timezone))
        return parsed.isoformat()


def feed_payload(
    record: FeedRecord,
    *,
    originator: Identity,
    source: str,
    distribution: Distribution,
    signer_valid_from: datetime | None = None,
) -> dict[str, Any]:
    """The payload of a fed record, in clear, with its deterministic id and created_at.

    created_at is the record's own time, but never before `signer_valid_from`
    (the signing certificate's notBefore): a record is not created before its
    signer could sign it, and the server refuses a signer not valid at
    created_at. This keeps created_at a function of the input and the
    signing certificate, which a re-run must share anyway for its
    signatures to be the same.
    """
    try:
        if record.record_id is not None and record.created_at is not None:
            record_id, created_at = record.record_id, record.created_at
        else:
            if record.key is None or record.at is None:
                raise FeedInputError("an item needs a source key and a time, or an id")
            record_id = feed_record_id(originator.agency_path, source, record.key, record.at)
            created_at = feed_created_at(record.at)
            if signer_valid_from is not None and created_at < signer_valid_from:
                created_at = feed_created_at(signer_valid_from)
    except FeedIdentityError as exc:
        raise FeedInputError(str(exc)) from exc
    own = record.distribution or {}
    return build_payload(
        record.record_type,
        record.body,
        originator=originator,
        tlp=own.get("tlp", distribution.tlp),
        recipients=own.get("recipients", list(distribution.recipients)),
        handling=own.get("handling", list(distribution.handling)),
        grading=record.grading,
        record_id=record_id,
        created_at=created_at,
    )


def _parse_time(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise FeedInputError(f"{name} must be an RFC 3339 date-time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise FeedInputError(f"{name} is {value!r}, not an RFC 3339 date-time") from exc
    if parsed.tzinfo is None:
        raise FeedInputError(f"{name} is {value!r}, without a UTC offset")
    return parsed.astimezone(UTC)


def _offset(text: str) -> timezone:
    if text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    return timezone(sign * timedelta(hours=int(text[1:3]), minutes=int(text[4:6])))


def _decimal(cell: str, column: str) -> Decimal:
    try:
        value = Decimal(cell)
    except InvalidOperation as exc:
        raise FeedInputError(f"column {column!r} is {cell!r}, not a number") from exc
    if not value.is_finite():
        raise FeedInputError(f"column {column!r} is {cell!r}, not a finite number")
    return value


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _number(cell: str, column: str) -> int | float:
    return _json_number(_decimal(cell, column))


def _dig(document: Mapping[str, Any], dotted: str) -> Any:
    node: Any = document
    for part in dotted.split("."):
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _place(body: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set body[path] = value, making the objects and arrays on the way."""
    node: Any = body
    for position, part in enumerate(path):
        last = position == len(path) - 1
        following: Any = None if last else ([] if path[position + 1].isdigit() else {})
        if part.isdigit():
            if not isinstance(node, list):
                raise FeedInputError(f"mapping field {'.'.join(path)!r}: {part} indexes no array")
            index = int(part)
            while len(node) <= index:
                node.append(None)
            if last:
                node[index] = value
            else:
                if node[index] is None:
                    node[index] = following
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, following)
        else:
            raise FeedInputError(f"mapping field {'.'.join(path)!r}: {part!r} is not in an object")
