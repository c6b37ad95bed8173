"""decode_canonical: exactly the spelling base64.b64encode writes, or None."""

from __future__ import annotations

import base64
import binascii

import pytest
from hypothesis import given
from hypothesis import strategies as st

from silkline.formats.canonical_base64 import decode_canonical


def slow_canonical(text: str) -> bytes | None:
    """The definition: standard alphabet, padded, and re-encoding gives the same text."""
    try:
        decoded = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None
    return decoded if base64.b64encode(decoded).decode("ascii") == text else None


@given(st.binary(max_size=64))
def test_what_b64encode_writes_decodes_to_the_bytes(data: bytes) -> None:
    assert decode_canonical(base64.b64encode(data).decode("ascii")) == data


@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \né",
        max_size=16,
    )
)
def test_any_text_is_judged_as_the_definition_judges_it(text: str) -> None:
    assert decode_canonical(text) == slow_canonical(text)


@given(st.binary(min_size=1, max_size=32), st.integers(min_value=0), st.sampled_from("AQgw+/=-_ "))
def test_one_character_changed_is_judged_as_the_definition_judges_it(
    data: bytes, position: int, character: str
) -> None:
    text = base64.b64encode(data).decode("ascii")
    at = position % len(text)
    changed = text[:at] + character + text[at + 1 :]
    assert decode_canonical(changed) == slow_canonical(changed)


@pytest.mark.parametrize(
    "text",
    [
        "QR==",  # unused bits set: "QQ==" is the one spelling of b"A"
        "QUJ=",  # likewise for b"AB" ("QUI=")
        "QQ",  # unpadded
        "QQ=A",  # padding inside
        "QQ==QUJD",  # data after padding
        "=QUJ",  # padding first
        "QU JD",  # whitespace
        "QUJD\n",  # newline
        "-_-_",  # URL-safe alphabet
        "QUJé",  # not ASCII
    ],
)
def test_other_spellings_are_none(text: str) -> None:
    assert decode_canonical(text) is None
