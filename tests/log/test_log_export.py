"""entries.jsonl lines: the line entry_line writes is read without a JSON parser, and any
other spelling is read exactly as JSON reads it, or refused naming the line."""

from __future__ import annotations

import pytest

from silkline.log_export import ExportError, entry_line, parse_entry_line

LEAF = b'{"index":7,"type":"rules"}\xff'


def test_a_written_line_reads_back_with_and_without_its_newline() -> None:
    line = entry_line(7, LEAF)
    for text in (line, line.removesuffix("\n")):
        exported = parse_entry_line(text, 8)
        assert (exported.line, exported.index, exported.leaf) == (8, 7, LEAF)


@pytest.mark.parametrize(
    "text",
    [
        '{"leaf": "eyJpbmRleCI6NywidHlwZSI6InJ1bGVzIn3/", "index": 7}',
        '{ "index" : 7 , "leaf" : "eyJpbmRleCI6NywidHlwZSI6InJ1bGVzIn3/" }',
        '{"index": 7, "leaf": "eyJpbmRleCI6NywidHlwZSI6InJ1bGVzIn3\\u002f"}',
        '{"index": 7, "leaf": "eyJpbmRleCI6NywidHlwZSI6InJ1bGVzIn3/"}\r',
    ],
    ids=["members-swapped", "spaces", "escaped-solidus", "carriage-return"],
)
def test_other_spellings_of_the_same_object_read_as_json_reads_them(text: str) -> None:
    exported = parse_entry_line(text, 1)
    assert (exported.index, exported.leaf) == (7, LEAF)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"index": 07, "leaf": "QQ=="}', "not JSON"),
        ('{"index": \u0667, "leaf": "QQ=="}', "not JSON"),
        ('{"index": -1, "leaf": "QQ=="}', "index must be an integer >= 0"),
        ('{"index": 1, "leaf": "QQ=A"}', "not base64"),
        ('{"index": 1, "leaf": "QQ==", "extra": 1}', "must be an object"),
    ],
    ids=["leading-zero", "arabic-indic-digit", "negative", "padding-inside", "extra-member"],
)
def test_anything_else_is_refused_naming_the_line(text: str, reason: str) -> None:
    with pytest.raises(ExportError) as caught:
        parse_entry_line(text, 5)
    assert "line 5" in str(caught.value)
    assert reason in str(caught.value)
