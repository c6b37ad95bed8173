"""The right edge of an append-only RFC 6962 tree: enough to append and to compute the root.

A tree of n leaves is, by RFC 6962 §2.1 (split at the largest power of two
below n), the perfect subtrees given by the binary digits of n, largest
first. Keeping only their roots (at most log2(n) + 1 hashes) is enough to
append a leaf, to learn which perfect subtrees that leaf completes, and to
compute MTH of the whole tree. The server appends with it; an offline
verifier rebuilds the root of a million leaves with it in constant memory.

Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from silkline.formats.merkle import EMPTY_ROOT, HASH_SIZE, MerkleError, node_hash

__all__ = ["MerkleFrontier", "perfect_subtrees"]


def perfect_subtrees(size: int) -> list[tuple[int, int]]:
    """(level, index) of the perfect subtrees making up a tree of `size` leaves, largest first.

    The subtree (level, index) covers leaves [index * 2**level, (index + 1) * 2**level).
    """
    if size < 0:
        raise MerkleError(f"tree size must be >= 0, got {size}")
    subtrees = []
    offset = 0
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            subtrees.append((level, offset >> level))
            offset += 1 << level
    return subtrees


class MerkleFrontier:
    """The roots of the perfect subtrees of a tree, largest first, and its size."""

    def __init__(self, size: int = 0, subtree_roots: Sequence[bytes] = ()) -> None:
        """Resume a tree of `size` leaves from the roots of `perfect_subtrees(size)`, in order."""
        shape = perfect_subtrees(size)
        if len(subtree_roots) != len(shape):
            raise MerkleError(
                f"a tree of {size} leaves has {len(shape)} perfect subtrees, "
                f"got {len(subtree_roots)} roots"
            )
        for position, root in enumerate(subtree_roots):
            if len(root) != HASH_SIZE:
                raise MerkleError(f"subtree root #{position} is not a {HASH_SIZE}-byte hash")
        self._size = size
        self._stack: list[tuple[int, int, bytes]] = [
            (level, index, bytes(root))
            for (level, index), root in zip(shape, subtree_roots, strict=True)
        ]

    @property
    def size(self) -> int:
        """The number of leaves so far."""
        return self._size

    @property
    def subtrees(self) -> list[tuple[int, int, bytes]]:
        """(level, index, root) of each perfect subtree, largest first."""
        return list(self._stack)

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return every subtree it completes, (level, index, root), the leaf
        itself (level 0) first and the largest last."""
        if len(leaf_hash) != HASH_SIZE:
            raise MerkleError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf_hash)}")
        stack = self._stack
        completed = [(0, self._size, bytes(leaf_hash))]
        stack.append(completed[0])
        # Two perfect subtrees of one level side by side make one of the next level.
        while len(stack) >= 2 and stack[-1][0] == stack[-2][0]:
            level, _, right = stack.pop()
            _, left_index, left = stack.pop()
            parent = (level + 1, left_index >> 1, node_hash(left, right))
            stack.append(parent)
            completed.append(parent)
        self._size += 1
        return completed

    def root(self) -> bytes:
        """MTH of the tree so far (RFC 6962 §2.1): node_hash(P1, node_hash(P2, ... Pk))."""
        if not self._stack:
            return EMPTY_ROOT
        root = self._stack[-1][2]
        for _, _, left in reversed(self._stack[:-1]):
            root = node_hash(left, root)
        return root
