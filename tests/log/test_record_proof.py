"""silkline.record_proof: a record's tlog-proof is accepted only if it proves that record."""

from __future__ import annotations

import pytest

from silkline.formats.log_entry import RecordEntry, parse_entry
from silkline.formats.merkle import MemoryTree, leaf_hash
from silkline.formats.tlog_proof import TlogProof, encode_tlog_proof
from silkline.record_proof import RecordProofError, check_record_proof

from .builders import LogBuilder, log_signer, sample_log


@pytest.fixture(scope="module")
def log() -> LogBuilder:
    return sample_log()


def proof(log: LogBuilder, index: int) -> bytes:
    tree = MemoryTree([leaf_hash(leaf) for leaf in log.leaves])
    return encode_tlog_proof(
        TlogProof(index, tuple(tree.inclusion_proof(index)), log.checkpoint(), log.leaves[index])
    )


def record_id_at(log: LogBuilder, index: int) -> str:
    entry = parse_entry(log.leaves[index])
    assert isinstance(entry, RecordEntry)
    return entry.record_id


def test_the_proof_of_a_record_is_accepted(log: LogBuilder) -> None:
    verified, entry = check_record_proof(proof(log, 2), log_signer().verifier, record_id_at(log, 2))
    assert (verified.index, entry.record_id) == (2, record_id_at(log, 2))


def test_a_valid_proof_of_another_record_is_refused(log: LogBuilder) -> None:
    with pytest.raises(RecordProofError, match="is not the entry of record"):
        check_record_proof(proof(log, 1), log_signer().verifier, record_id_at(log, 2))


def test_a_valid_proof_of_an_access_event_is_refused(log: LogBuilder) -> None:
    with pytest.raises(RecordProofError, match="entry 3 is not the entry of record"):
        check_record_proof(proof(log, 3), log_signer().verifier, record_id_at(log, 2))


def test_a_proof_that_does_not_verify_is_refused(log: LogBuilder) -> None:
    data = proof(log, 2).replace(b"index 2\n", b"index 4\n")
    with pytest.raises(RecordProofError, match="entry 4 in the checkpoint of 8"):
        check_record_proof(data, log_signer().verifier, record_id_at(log, 2))
