"""Canonical standard base64 (RFC 4648 §4, padded), decoded at C speed.

Log entries, export lines and DSSE envelopes carry kilobytes of base64 each;
an auditor decodes millions of them. ``decode_canonical`` accepts only the
one spelling ``base64.b64encode`` writes, and answers None for anything else,
so each caller keeps its own slower path to accept the other forms it allows
or to say exactly what is wrong.

Pure functions, no I/O.
"""

from __future__ import annotations

import base64
import binascii

__all__ = ["decode_canonical"]


def decode_canonical(text: str) -> bytes | None:
    """The bytes whose ``base64.b64encode`` is exactly `text`, or None if there are none."""
    if len(text) % 4:
        return None
    try:
        # strict_mode (Python 3.11): only the alphabet, '=' only as final padding.
        decoded = binascii.a2b_base64(text, strict_mode=True)
    except ValueError:  # binascii.Error, or a str that is not ASCII
        return None
    # Every quantum but the last decodes to 3 bytes with no unused bits; only the
    # last can spell its bytes two ways (non-zero unused bits before '='), RFC 4648 §3.5.
    if text and base64.b64encode(decoded[3 * (len(text) // 4 - 1) :]) != text[-4:].encode():
        return None
    return decoded
