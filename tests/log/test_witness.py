"""The witness's rule (silkline.witness): cosign only a checkpoint that extends its history."""

from __future__ import annotations

from pathlib import Path

import pytest

from silkline.formats.checkpoint import Checkpoint
from silkline.formats.merkle import EMPTY_ROOT, MemoryTree, leaf_hash
from silkline.witness import (
    InconsistentCheckpointError,
    UntrustedCheckpointError,
    WitnessState,
    check_extends,
    needs_proof,
    open_log_checkpoint,
)

from .builders import LOG_ORIGIN, LogBuilder, log_signer, other_key

TREE = MemoryTree([leaf_hash(bytes([i])) for i in range(20)])
FORK = MemoryTree([leaf_hash(bytes([i])) for i in range(7)] + [leaf_hash(b"x")] * 13)


def head(tree: MemoryTree, size: int) -> Checkpoint:
    return Checkpoint(LOG_ORIGIN, size, tree.root(size))


def test_the_first_checkpoint_is_taken_on_first_use() -> None:
    check_extends(None, head(TREE, 5))
    assert not needs_proof(None, head(TREE, 5))


@pytest.mark.parametrize(("old", "new"), [(1, 2), (5, 20), (8, 16), (13, 14), (16, 17)])
def test_a_larger_tree_that_extends_the_old_one_is_accepted(old: int, new: int) -> None:
    assert needs_proof(head(TREE, old), head(TREE, new))
    check_extends(head(TREE, old), head(TREE, new), TREE.consistency_proof(old, new))


def test_the_same_tree_again_needs_no_proof() -> None:
    assert not needs_proof(head(TREE, 9), head(TREE, 9))
    check_extends(head(TREE, 9), head(TREE, 9))


def test_a_forked_tree_is_refused_whatever_proof_comes_with_it() -> None:
    with pytest.raises(InconsistentCheckpointError, match="does not extend the tree of 10"):
        check_extends(head(TREE, 10), head(FORK, 20), FORK.consistency_proof(10, 20))
    with pytest.raises(InconsistentCheckpointError, match="does not extend"):
        check_extends(head(TREE, 10), head(FORK, 20), TREE.consistency_proof(10, 20))


def test_a_different_tree_of_the_same_size_is_refused() -> None:
    with pytest.raises(InconsistentCheckpointError, match="two different trees of 10 entries"):
        check_extends(head(TREE, 10), head(FORK, 10))


def test_a_smaller_tree_is_a_rollback() -> None:
    with pytest.raises(InconsistentCheckpointError, match="rolled back"):
        check_extends(head(TREE, 10), head(TREE, 9))


def test_another_log_is_refused() -> None:
    other = Checkpoint("other.example/log", 12, TREE.root(12))
    with pytest.raises(InconsistentCheckpointError, match=r"other\.example/log"):
        check_extends(head(TREE, 10), other, TREE.consistency_proof(10, 12))


def test_from_the_empty_tree_anything_extends() -> None:
    check_extends(Checkpoint(LOG_ORIGIN, 0, EMPTY_ROOT), head(TREE, 3))


def test_only_checkpoints_signed_by_the_log_key_for_its_origin_are_opened() -> None:
    log = LogBuilder()
    log.rules()
    assert open_log_checkpoint(log.checkpoint(), log_signer().verifier, "served").size == 1
    with pytest.raises(UntrustedCheckpointError, match="served"):
        open_log_checkpoint(log.checkpoint(signer=other_key()), log_signer().verifier, "served")


def test_state_is_written_whole_and_evidence_kept_apart(tmp_path: Path) -> None:
    state = WitnessState(tmp_path / "state")
    assert state.last_cosigned() is None
    state.save_cosigned(b"checkpoint one\n")
    state.save_cosigned(b"checkpoint two\n")
    assert state.last_cosigned() == b"checkpoint two\n"
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["checkpoint"]

    folder = state.save_evidence(b"cosigned\n", b"offered\n", "fork", [bytes(32)])
    assert (folder / "cosigned.checkpoint").read_bytes() == b"cosigned\n"
    assert (folder / "offered.checkpoint").read_bytes() == b"offered\n"
    assert (folder / "reason.txt").read_text().startswith("fork\n")
    assert folder.parent == tmp_path / "state" / "evidence"
