"""c2sp.org/tlog-proof@v1: encoding, strict parsing, the derived fixture, offline verification."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from silkline.formats.checkpoint import Checkpoint, encode_checkpoint
from silkline.formats.merkle import MemoryTree, leaf_hash
from silkline.formats.note import NoteSigner, sign_note
from silkline.formats.tlog_proof import (
    MalformedTlogProofError,
    TlogProof,
    UnprovenTlogProofError,
    encode_tlog_proof,
    parse_tlog_proof,
    verify_tlog_proof,
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


# ------------------------------------------------------------------ verify_tlog_proof

LEAVES = [b'{"index":%d}' % i for i in range(5)]


def signed_log(name: str = "example.org/log") -> tuple[NoteSigner, bytes]:
    signer = NoteSigner(name, Ed25519PrivateKey.generate())
    root = MemoryTree([leaf_hash(leaf) for leaf in LEAVES]).root()
    return signer, sign_note(encode_checkpoint(Checkpoint(name, len(LEAVES), root)), [signer])


def proof_of(index: int, checkpoint: bytes, extra: bytes | None = None) -> bytes:
    tree = MemoryTree([leaf_hash(leaf) for leaf in LEAVES])
    hashes = tuple(tree.inclusion_proof(index))
    leaf = LEAVES[index] if extra is None else extra
    return encode_tlog_proof(TlogProof(index, hashes, checkpoint, leaf))


def test_a_proof_verifies_offline_with_the_log_key_alone() -> None:
    signer, checkpoint = signed_log()
    verified = verify_tlog_proof(proof_of(3, checkpoint), signer.verifier)
    assert (verified.index, verified.leaf) == (3, LEAVES[3])
    assert verified.checkpoint.checkpoint.size == len(LEAVES)


def test_a_proof_whose_leaf_bytes_changed_proves_nothing() -> None:
    signer, checkpoint = signed_log()
    with pytest.raises(UnprovenTlogProofError, match="entry 3 in the checkpoint of 5"):
        verify_tlog_proof(proof_of(3, checkpoint, extra=b'{"index":4}'), signer.verifier)


def test_a_proof_against_a_checkpoint_of_another_key_or_origin_is_refused() -> None:
    _, checkpoint = signed_log()
    with pytest.raises(UnprovenTlogProofError, match="checkpoint"):
        verify_tlog_proof(proof_of(1, checkpoint), signed_log()[0].verifier)
    # Signed by the log's key, but a checkpoint of another log.
    signer, _ = signed_log()
    root = MemoryTree([leaf_hash(leaf) for leaf in LEAVES]).root()
    foreign = sign_note(
        encode_checkpoint(Checkpoint("other.example/log", len(LEAVES), root)), [signer]
    )
    with pytest.raises(UnprovenTlogProofError, match=r"not of log 'example\.org/log'"):
        verify_tlog_proof(proof_of(1, foreign), signer.verifier)


def test_a_proof_without_leaf_bytes_is_refused() -> None:
    signer, checkpoint = signed_log()
    tree = MemoryTree([leaf_hash(leaf) for leaf in LEAVES])
    bare = TlogProof(2, tuple(tree.inclusion_proof(2)), checkpoint)
    with pytest.raises(UnprovenTlogProofError, match="no leaf bytes"):
        verify_tlog_proof(encode_tlog_proof(bare), signer.verifier)
