# Generated from proto/silkline/v1 by `make proto` (grpcio-tools). DO NOT EDIT.
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetIndicatorsRequest(_message.Message):
    __slots__ = ("from_date", "to_date", "groupings")
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    GROUPINGS_FIELD_NUMBER: _ClassVar[int]
    from_date: str
    to_date: str
    groupings: _containers.RepeatedCompositeFieldContainer[Grouping]
    def __init__(self, from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., groupings: _Optional[_Iterable[_Union[Grouping, _Mapping]]] = ...) -> None: ...

class Grouping(_message.Message):
    __slots__ = ("dimensions",)
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    dimensions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, dimensions: _Optional[_Iterable[str]] = ...) -> None: ...

class IndicatorRow(_message.Message):
    __slots__ = ("dimensions", "measure", "value", "unit", "record_count", "grouping")
    class DimensionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    MEASURE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    GROUPING_FIELD_NUMBER: _ClassVar[int]
    dimensions: _containers.ScalarMap[str, str]
    measure: str
    value: str
    unit: str
    record_count: int
    grouping: int
    def __init__(self, dimensions: _Optional[_Mapping[str, str]] = ..., measure: _Optional[str] = ..., value: _Optional[str] = ..., unit: _Optional[str] = ..., record_count: _Optional[int] = ..., grouping: _Optional[int] = ...) -> None: ...

class YearOnYearChange(_message.Message):
    __slots__ = ("dimensions", "measure", "unit", "year", "previous_value", "value", "change", "change_percent", "previous_record_count", "record_count", "grouping")
    class DimensionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    MEASURE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VALUE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    GROUPING_FIELD_NUMBER: _ClassVar[int]
    dimensions: _containers.ScalarMap[str, str]
    measure: str
    unit: str
    year: int
    previous_value: str
    value: str
    change: str
    change_percent: str
    previous_record_count: int
    record_count: int
    grouping: int
    def __init__(self, dimensions: _Optional[_Mapping[str, str]] = ..., measure: _Optional[str] = ..., unit: _Optional[str] = ..., year: _Optional[int] = ..., previous_value: _Optional[str] = ..., value: _Optional[str] = ..., change: _Optional[str] = ..., change_percent: _Optional[str] = ..., previous_record_count: _Optional[int] = ..., record_count: _Optional[int] = ..., grouping: _Optional[int] = ...) -> None: ...

class ExchangeRate(_message.Message):
    __slots__ = ("currency", "year", "units_per_usd")
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    YEAR_FIELD_NUMBER: _ClassVar[int]
    UNITS_PER_USD_FIELD_NUMBER: _ClassVar[int]
    currency: str
    year: int
    units_per_usd: str
    def __init__(self, currency: _Optional[str] = ..., year: _Optional[int] = ..., units_per_usd: _Optional[str] = ...) -> None: ...

class RateTable(_message.Message):
    __slots__ = ("source", "as_of", "rates", "note")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    RATES_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    source: str
    as_of: str
    rates: _containers.RepeatedCompositeFieldContainer[ExchangeRate]
    note: str
    def __init__(self, source: _Optional[str] = ..., as_of: _Optional[str] = ..., rates: _Optional[_Iterable[_Union[ExchangeRate, _Mapping]]] = ..., note: _Optional[str] = ...) -> None: ...

class GetIndicatorsResponse(_message.Message):
    __slots__ = ("rows", "year_on_year", "rate_table", "records_used", "records_metadata_only", "rules_sha256", "notes")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    YEAR_ON_YEAR_FIELD_NUMBER: _ClassVar[int]
    RATE_TABLE_FIELD_NUMBER: _ClassVar[int]
    RECORDS_USED_FIELD_NUMBER: _ClassVar[int]
    RECORDS_METADATA_ONLY_FIELD_NUMBER: _ClassVar[int]
    RULES_SHA256_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[IndicatorRow]
    year_on_year: _containers.RepeatedCompositeFieldContainer[YearOnYearChange]
    rate_table: RateTable
    records_used: int
    records_metadata_only: int
    rules_sha256: str
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, rows: _Optional[_Iterable[_Union[IndicatorRow, _Mapping]]] = ..., year_on_year: _Optional[_Iterable[_Union[YearOnYearChange, _Mapping]]] = ..., rate_table: _Optional[_Union[RateTable, _Mapping]] = ..., records_used: _Optional[int] = ..., records_metadata_only: _Optional[int] = ..., rules_sha256: _Optional[str] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...
