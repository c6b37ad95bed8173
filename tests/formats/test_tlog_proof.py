"""c2sp.org/tlog-proof@v1: encoding, strict parsing, and the derived fixture."""

from __future__ import annotations

import pytest

from silkline.formats.tlog_proof import (
    MalformedTlogProofError,
    TlogProof,
    encode_tlog_proof,
    parse_tlog_proof,
)

from .test_checkpoint import _load

CHECKPOINT = b"Log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n\xe2\x80\x94 Log AAAA\n"


def test_the_derived_fixture_parses_and_encodes_back_byte_for_byte() -> None:
    fixture = _load("derived-checkpoint-cosig-tlogproof.json")
    data = fixture["tlog_proof"].encode()

    proof = parse_tlog_proof(data)

    assert proof.index == fixture["tlog_proof_leaf_index"]
    assert len(proof.hashes) == 3
    assert proof.checkpoint == fixture["signed_checkpoint"].encode()
    assert proof.extra is None
    assert encode_tlog_proof(proof) == data


def test_extra_data_and_an_empty_path_round_trip() -> None:
    proof = TlogProof(0, (), CHECKPOINT, extra=b'{"type":"record"}')
    data = encode_tlog_proof(proof)
    assert data.startswith(b"c2sp.org/tlog-proof@v1\nextra eyJ0eXBlIjoicmVjb3JkIn0=\nindex 0\n\n")
    assert parse_tlog_proof(data) == proof


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"c2sp.org/tlog-proof@v2\nindex 0\n\n" + CHECKPOINT, "first line must be"),
        (b"c2sp.org/tlog-proof@v1\nindex 01\n\n" + CHECKPOINT, "without leading zeroes"),
        (b"c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\n" + CHECKPOINT, "is not 32 bytes"),
        (b"c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\n" + CHECKPOINT, "extra data is not"),
        (b"c2sp.org/tlog-proof@v1\n\n" + CHECKPOINT, "no 'index N' line"),
        (b"c2sp.org/tlog-proof@v1\nindex 1\n", "no empty line followed by a checkpoint"),
    ],
)
def test_malformed_proofs_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(MalformedTlogProofError, match=message):
        parse_tlog_proof(data)
