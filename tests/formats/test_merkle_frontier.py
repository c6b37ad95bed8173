"""The right edge of an RFC 6962 tree: appending, completed subtrees, the root."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from silkline.formats.merkle import EMPTY_ROOT, MemoryTree, MerkleError, leaf_hash, root_from_leaves
from silkline.formats.merkle_frontier import MerkleFrontier, perfect_subtrees

# MTH of the RFC 6962 test tree (transparency-dev/merkle testdata), 8 leaves.
TEST_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
               "606162636465666768696a6b6c6d6e6f"]  # fmt: skip
ROOT_8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
ROOT_5 = "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"


def test_the_rfc6962_test_tree_has_the_published_roots() -> None:
    frontier = MerkleFrontier()
    roots = []
    for data in TEST_LEAVES:
        frontier.append(leaf_hash(bytes.fromhex(data)))
        roots.append(frontier.root().hex())
    assert roots[4] == ROOT_5
    assert roots[7] == ROOT_8


def test_the_empty_frontier_has_the_empty_root() -> None:
    assert MerkleFrontier().root() == EMPTY_ROOT


def test_perfect_subtrees_follow_the_binary_digits_of_the_size() -> None:
    assert perfect_subtrees(0) == []
    assert perfect_subtrees(1) == [(0, 0)]
    assert perfect_subtrees(6) == [(2, 0), (1, 2)]
    assert perfect_subtrees(13) == [(3, 0), (2, 2), (0, 12)]


def test_a_frontier_resumes_from_its_subtree_roots() -> None:
    tree = MemoryTree([leaf_hash(bytes([i])) for i in range(13)])
    resumed = MerkleFrontier(13, [tree.subtree_hash(*key) for key in perfect_subtrees(13)])
    resumed.append(leaf_hash(b"\x0d"))
    tree.append(leaf_hash(b"\x0d"))
    assert resumed.root() == tree.root()


def test_a_frontier_needs_one_root_per_perfect_subtree() -> None:
    with pytest.raises(MerkleError, match="has 2 perfect subtrees, got 1 roots"):
        MerkleFrontier(6, [bytes(32)])


@given(st.lists(st.binary(max_size=8), max_size=80))
def test_roots_and_completed_subtrees_equal_the_memory_trees(leaves: list[bytes]) -> None:
    hashes = [leaf_hash(data) for data in leaves]
    tree = MemoryTree()
    frontier = MerkleFrontier()
    completed: dict[tuple[int, int], bytes] = {}
    for hashed in hashes:
        tree.append(hashed)
        for level, index, value in frontier.append(hashed):
            completed[(level, index)] = value
        assert frontier.root() == tree.root()
    assert frontier.size == len(leaves)
    assert frontier.root() == root_from_leaves(hashes)
    assert completed == {
        (level, index): tree.subtree_hash(level, index)
        for level in range(len(leaves).bit_length())
        for index in range(len(leaves) >> level)
    }


def test_a_leaf_hash_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(MerkleError, match="32 bytes"):
        MerkleFrontier().append(hashlib.sha1(b"x").digest())
