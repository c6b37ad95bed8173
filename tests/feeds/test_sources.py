"""Feed inputs: JSONL lines and CSV rows under a mapping, and what is refused with which reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from silkline.feeds.mapping import MappingError, parse_mapping
from silkline.feeds.sources import CsvRows, FeedInputError, record_from_json_line

MAPPING = """
key = "no"
timezone = "+05:30"
[fields]
"seized_at" = "when"
"items.0.drug" = "drug"
"items.0.quantity" = { quantity = "qty", unit = "unit" }
"items.0.estimated_value" = { amount = "crore", currency = "INR", scale = "crore" }
"route.transit" = { column = "via", type = "list" }
[defaults]
"conveyance.kind" = "container"
[units]
KG = "kg"
"CRORE TABLETS" = { unit = "tablets", multiply = 10000000 }
"""
HEADER = ["no", "when", "drug", "qty", "unit", "crore", "via"]


def rows() -> CsvRows:
    return CsvRows(parse_mapping(MAPPING), HEADER)


def test_a_row_becomes_a_body_with_units_and_defaults() -> None:
    record = rows().record(
        ["D-1", "2024-11-02 10:15", "pharmaceutical-tablets", "4.69", "CRORE TABLETS", "", "AE; IR"]
    )
    assert record.key == "D-1"
    assert record.at == datetime(2024, 11, 2, 4, 45, tzinfo=UTC)
    assert record.body == {
        "conveyance": {"kind": "container"},
        "seized_at": "2024-11-02T10:15:00+05:30",
        "items": [
            {"drug": "pharmaceutical-tablets", "quantity": {"value": 46_900_000, "unit": "tablets"}}
        ],
        "route": {"transit": ["AE", "IR"]},
    }


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        (["D-2", "2024-11-02 10:15", "heroin"], "bad CSV row: 3 cell(s), the header has 7 columns"),
        (
            ["D-3", "2024-11-02 10:15", "heroin", "5", "LBS", "", ""],
            "unknown unit 'LBS' in column 'unit'",
        ),
        (
            ["D-4", "2024-11-02 10:15", "heroin", "five", "KG", "", ""],
            "column 'qty' is 'five', not a number",
        ),
        (
            ["", "2024-11-02 10:15", "heroin", "5", "KG", "", ""],
            "no source key: column 'no' is empty",
        ),
        (
            ["D-5", "yesterday", "heroin", "5", "KG", "", ""],
            "column 'when' is 'yesterday', not a date",
        ),
        # 10^-9 crore is 0.01 of a tablet.
        (["D-6", "2024-11-02", "heroin", "1e-9", "CRORE TABLETS", "", ""], "not a whole number"),
    ],
)
def test_a_bad_row_is_refused_with_its_reason(cells: list[str], reason: str) -> None:
    with pytest.raises(FeedInputError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        rows().record(cells)


def test_a_mapping_that_reads_a_missing_column_is_refused() -> None:
    with pytest.raises(FeedInputError, match=r"column\(s\) \['via'\] that the CSV header lacks"):
        CsvRows(parse_mapping(MAPPING), HEADER[:-1])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('key = "no"\ncolour = "red"\n[fields]\na = "b"', "unknown key(s) ['colour']"),
        (
            'key = "no"\n[fields]\na = "b"\n[units]\nLB = "pound"',
            "must map to one of the schema's units",
        ),
        (
            'key = "no"\nrecord_type = "gossip"\n[fields]\na = "b"',
            "record_type 'gossip' is not one of",
        ),
        ('key = "no"\n[fields]\n"a" = { column = "b", type = "colour" }', "type must be one of"),
        ('key = "no"', "[fields] must map at least one"),
        ('[fields]\na = "b"', "'key' must be a non-empty string"),
        ('key = "no"\ntimezone = "IST"\n[fields]\na = "b"', "timezone must be an offset"),
    ],
)
def test_a_mapping_file_with_a_mistake_is_refused_naming_it(text: str, message: str) -> None:
    with pytest.raises(MappingError) as refused:
        parse_mapping(text, "port.toml")
    assert message in str(refused.value)
    assert str(refused.value).startswith("port.toml")


def test_a_json_line_is_a_body_or_a_whole_payload() -> None:
    body = {"seized_at": "2024-03-19T09:30:00+05:00", "case_reference": "TJ/1"}
    record = record_from_json_line(json.dumps(body))
    assert (record.key, record.at, record.record_id) == (
        "TJ/1",
        datetime(2024, 3, 19, 4, 30, tzinfo=UTC),
        None,
    )
    whole = {
        "record_type": "arrest",
        "id": "018e5662-cf60-7036-a3aa-b262bacc7ba9",
        "created_at": "2024-03-19T11:05:00Z",
        "distribution": {"tlp": "GREEN", "recipients": [], "handling": []},
        "body": {"x": 1},
    }
    record = record_from_json_line(json.dumps(whole))
    assert record.record_type == "arrest"
    assert record.record_id == whole["id"]
    assert record.distribution == whole["distribution"]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{oops", "not JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"seized_at": "2024-03-19T09:30:00Z"}', "no source key: body field 'case_reference'"),
        ('{"case_reference": "A"}', "no record time: body field 'seized_at'"),
        ('{"case_reference": "A", "seized_at": "2024-03-19T09:30:00"}', "without a UTC offset"),
    ],
)
def test_a_bad_json_line_is_refused_with_its_reason(line: str, reason: str) -> None:
    with pytest.raises(FeedInputError, match=reason):
        record_from_json_line(line)
