"""AddCosignature's judgement of a cosigned checkpoint (silkline_server.log.cosignatures)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from silkline.formats.checkpoint import Checkpoint, cosign, encode_checkpoint
from silkline.formats.merkle import EMPTY_ROOT
from silkline.formats.note import NoteSigner, sign_note
from silkline_server.log.cosignatures import (
    ForeignCheckpointError,
    InvalidWitnessCosignatureError,
    MalformedCosignedCheckpointError,
    UnknownCheckpointError,
    UnknownWitnessError,
    check_against_kept,
    open_cosigned_checkpoint,
)
from silkline_server.store import StoredCheckpoint

from .builders import LOG_ORIGIN, log_signer
from .conftest import Witness, make_witness

TEXT = encode_checkpoint(Checkpoint(LOG_ORIGIN, 3, bytes(range(32))))
NOTE = sign_note(TEXT, [log_signer()])
KEPT = StoredCheckpoint(3, NOTE, datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def witness(tmp_path_factory: pytest.TempPathFactory) -> Witness:
    return make_witness(tmp_path_factory.mktemp("w"), "witness.uz.example")


def cosigned(witness: Witness, note: bytes = NOTE, text: str = TEXT) -> bytes:
    return note + cosign(text, witness.name, witness.private_key, 1_767_225_600).encode()


def test_a_configured_witness_cosignature_is_accepted(witness: Witness) -> None:
    opened = open_cosigned_checkpoint(cosigned(witness), log_signer().verifier, [witness.verifier])
    check_against_kept(opened, KEPT, log_signer().verifier)

    (cosignature,) = opened.cosignatures
    assert (cosignature.cosigner, cosignature.key_id) == (witness.name, witness.verifier.key_id)
    assert cosignature.timestamp == 1_767_225_600
    assert cosignature.line.endswith("\n") and cosignature.line.startswith("\u2014 witness.uz")


def test_lines_of_unknown_keys_are_ignored_but_one_known_witness_is_needed(
    witness: Witness, tmp_path: Path
) -> None:
    rogue = make_witness(tmp_path, "witness.rogue.example")
    both = cosigned(rogue) + cosigned(witness)[len(NOTE) :]
    opened = open_cosigned_checkpoint(both, log_signer().verifier, [witness.verifier])
    assert [c.cosigner for c in opened.cosignatures] == [witness.name]

    with pytest.raises(UnknownWitnessError, match=r"witness\.rogue\.example"):
        open_cosigned_checkpoint(cosigned(rogue), log_signer().verifier, [witness.verifier])
    with pytest.raises(UnknownWitnessError, match="carries no cosignature line"):
        open_cosigned_checkpoint(NOTE, log_signer().verifier, [witness.verifier])


def test_a_known_witness_line_that_does_not_verify_is_refused(witness: Witness) -> None:
    other_text = encode_checkpoint(Checkpoint(LOG_ORIGIN, 4, bytes(range(32))))
    line = cosign(other_text, witness.name, witness.private_key, 1)
    with pytest.raises(InvalidWitnessCosignatureError, match="does not verify"):
        open_cosigned_checkpoint(NOTE + line.encode(), log_signer().verifier, [witness.verifier])


@pytest.mark.parametrize(
    "note",
    [
        b"not a note",
        sign_note(TEXT, [NoteSigner(LOG_ORIGIN, Ed25519PrivateKey.generate())]),
        sign_note("silkline.example/log\nnot a size\nAAAA\n", [log_signer()]),
    ],
)
def test_what_is_not_a_checkpoint_signed_by_this_log_is_malformed(
    witness: Witness, note: bytes
) -> None:
    with pytest.raises(MalformedCosignedCheckpointError):
        open_cosigned_checkpoint(note, log_signer().verifier, [witness.verifier])


def test_a_checkpoint_of_another_origin_under_this_key_is_refused(witness: Witness) -> None:
    text = encode_checkpoint(Checkpoint("other.example/log", 3, EMPTY_ROOT))
    signer = NoteSigner(LOG_ORIGIN, log_signer().private_key)
    note = sign_note(text, [signer])
    with pytest.raises(MalformedCosignedCheckpointError, match=r"origin 'other\.example/log'"):
        open_cosigned_checkpoint(cosigned(witness, note, text), signer.verifier, [witness.verifier])


def test_a_size_never_kept_and_a_different_tree_of_a_kept_size_are_refused(
    witness: Witness,
) -> None:
    opened = open_cosigned_checkpoint(cosigned(witness), log_signer().verifier, [witness.verifier])
    with pytest.raises(UnknownCheckpointError, match="no checkpoint of tree size 3"):
        check_against_kept(opened, None, log_signer().verifier)

    fork_text = encode_checkpoint(Checkpoint(LOG_ORIGIN, 3, EMPTY_ROOT))
    fork = open_cosigned_checkpoint(
        cosigned(witness, sign_note(fork_text, [log_signer()]), fork_text),
        log_signer().verifier,
        [witness.verifier],
    )
    with pytest.raises(ForeignCheckpointError, match="two histories under one key"):
        check_against_kept(fork, KEPT, log_signer().verifier)
