"""RFC 6962 Merkle tree hashing, and RFC 9162 inclusion and consistency proofs.

Hashing is RFC 6962 §2.1 with SHA-256: a leaf is ``SHA-256(0x00 || data)``, an
interior node ``SHA-256(0x01 || left || right)``, the empty tree ``SHA-256()``.
Proof verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step, so
that any third-party verifier agrees with ours. Proof generation (RFC 9162
§2.1.3.1 and §2.1.4.1) reads the hashes of perfect subtrees through the
storage-neutral ``SubtreeHashes`` protocol and asks it O(log n) times.

Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "ConsistencyProofError",
    "InclusionProofError",
    "MemoryTree",
    "MerkleError",
    "MissingSubtreeError",
    "SubtreeHashes",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_at",
    "root_from_leaves",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Bytes in a SHA-256 hash, the only hash algorithm used here."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256() (RFC 6962 §2.1): the root of the empty tree."""


class MerkleError(ValueError):
    """Base class of the Merkle tree errors."""


class InclusionProofError(MerkleError):
    """An inclusion proof does not prove the leaf is in the tree, or cannot be made."""


class ConsistencyProofError(MerkleError):
    """A consistency proof does not prove the trees are consistent, or cannot be made."""


class MissingSubtreeError(MerkleError, LookupError):
    """A subtree hash was asked for that the storage does not hold (yet)."""


def leaf_hash(data: bytes) -> bytes:
    """MTH({d(0)}) = SHA-256(0x00 || d(0)) (RFC 6962 §2.1): the hash of one log entry."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right) (RFC 6962 §2.1): the hash of an interior node."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """k of RFC 6962 §2.1: the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_hash(value: bytes, what: str, error: type[MerkleError]) -> None:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise error(f"{what} must be bytes, got {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise error(f"{what} must be a {HASH_SIZE}-byte SHA-256 hash, got {len(value)} bytes")


def _fold_right(subtree_roots: Sequence[bytes]) -> bytes:
    """Combine the perfect subtrees of a tree, largest first, into its root.

    Splitting at the largest power of two below n (RFC 6962 §2.1) makes the root
    of n leaves node_hash(P1, node_hash(P2, ... Pk)) where P1..Pk are the perfect
    subtrees given by the binary digits of n, largest first.
    """
    if not subtree_roots:
        return EMPTY_ROOT
    root = subtree_roots[-1]
    for left in reversed(subtree_roots[:-1]):
        root = node_hash(left, root)
    return root


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) (RFC 6962 §2.1) of the given leaf hashes, in O(n) hashing.

    The leaves are already hashed (``leaf_hash``). Uses a stack of perfect
    subtrees instead of recursion, so a million leaves take a million hashes
    and no list copies.
    """
    stack: list[bytes] = []
    for count, leaf in enumerate(leaf_hashes, start=1):
        _check_hash(leaf, f"leaf hash #{count - 1}", MerkleError)
        stack.append(bytes(leaf))
        # Each trailing zero bit of the new count closes one perfect subtree.
        while count & 1 == 0:
            right = stack.pop()
            stack[-1] = node_hash(stack[-1], right)
            count >>= 1
    return _fold_right(stack)


# ---------------------------------------------------------------------------
# Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)
# ---------------------------------------------------------------------------


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``tree_size`` with ``root``.

    Implements RFC 9162 §2.1.3.2 exactly. Returns None on success; raises
    InclusionProofError saying what failed otherwise.
    """
    _check_hash(leaf_hash, "leaf hash", InclusionProofError)
    _check_hash(root, "root hash", InclusionProofError)
    for position, element in enumerate(proof):
        _check_hash(element, f"inclusion proof element #{position}", InclusionProofError)
    if index < 0 or tree_size < 0:
        raise InclusionProofError(f"index ({index}) and tree size ({tree_size}) must be >= 0")
    # RFC 9162 §2.1.3.2 step 1.
    if index >= tree_size:
        raise InclusionProofError(f"leaf index {index} is not below the tree size {tree_size}")
    # Steps 2 and 3.
    fn, sn = index, tree_size - 1
    r = bytes(leaf_hash)
    # Step 4.
    for p in proof:
        if sn == 0:
            raise InclusionProofError(
                f"inclusion proof is too long for leaf {index} of a tree of {tree_size}: "
                f"{len(proof)} elements"
            )
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # Step 5.
    if sn != 0:
        raise InclusionProofError(
            f"inclusion proof is too short for leaf {index} of a tree of {tree_size}: "
            f"{len(proof)} elements"
        )
    if r != root:
        raise InclusionProofError(
            f"inclusion proof for leaf {index} of a tree of {tree_size} leads to root "
            f"{r.hex()}, not the expected {bytes(root).hex()}"
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size1`` with ``root1`` is a prefix of the tree of ``size2``.

    Implements RFC 9162 §2.1.4.2 exactly for 0 < size1 < size2, with the
    special cases of the reference verifier (transparency-dev/merkle), whose
    public vectors define them:

    - size1 == 0 is refused: the RFC defines no proof from the empty tree, and
      a "consistency" that any tree satisfies proves nothing to an auditor;
    - size1 == size2 needs an empty proof and root1 == root2.

    Returns None on success; raises ConsistencyProofError saying what failed.
    """
    for position, element in enumerate(proof):
        _check_hash(element, f"consistency proof element #{position}", ConsistencyProofError)
    if size1 < 0 or size2 < 0:
        raise ConsistencyProofError(f"tree sizes must be >= 0, got {size1} and {size2}")
    if size2 < size1:
        raise ConsistencyProofError(
            f"first tree size {size1} is larger than second tree size {size2}"
        )
    if size1 == 0:
        raise ConsistencyProofError(
            "consistency from the empty tree (size 0) proves nothing and is refused"
        )
    if size1 == size2:
        # A tree is consistent with itself and with nothing else of its size
        # (RFC 9162 §2.1.4.1 defines no proof for m == n). The roots are compared
        # as given, without a length check: the reference vectors accept equal
        # non-hash roots here, and equal values prove nothing either way.
        if proof:
            raise ConsistencyProofError(
                f"trees of equal size {size1} need an empty proof, got {len(proof)} elements"
            )
        if root1 != root2:
            raise ConsistencyProofError(
                f"trees of equal size {size1} have different roots "
                f"{bytes(root1).hex()} and {bytes(root2).hex()}"
            )
        return
    _check_hash(root1, "first root hash", ConsistencyProofError)
    _check_hash(root2, "second root hash", ConsistencyProofError)
    # RFC 9162 §2.1.4.2 step 1.
    if not proof:
        raise ConsistencyProofError(
            f"consistency proof from {size1} to {size2} is empty; at least one hash is needed"
        )
    path = [bytes(element) for element in proof]
    # Step 2.
    if size1 & (size1 - 1) == 0:
        path.insert(0, bytes(root1))
    # Step 3.
    fn, sn = size1 - 1, size2 - 1
    # Step 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:
            raise ConsistencyProofError(
                f"consistency proof from {size1} to {size2} is too long: {len(proof)} elements"
            )
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # Step 7.
    if sn != 0:
        raise ConsistencyProofError(
            f"consistency proof from {size1} to {size2} is too short: {len(proof)} elements"
        )
    if fr != root1:
        raise ConsistencyProofError(
            f"consistency proof leads to first root {fr.hex()} for size {size1}, "
            f"not the expected {bytes(root1).hex()}"
        )
    if sr != root2:
        raise ConsistencyProofError(
            f"consistency proof leads to second root {sr.hex()} for size {size2}, "
            f"not the expected {bytes(root2).hex()}"
        )


# ---------------------------------------------------------------------------
# Generation from stored subtree hashes (RFC 9162 §2.1.3.1 and §2.1.4.1)
# ---------------------------------------------------------------------------


class SubtreeHashes(Protocol):
    """Read access to the hashes of the complete (perfect) subtrees of a log.

    ``subtree_hash(level, index)`` is MTH(D[index * 2**level : (index + 1) * 2**level]):
    level 0 is the leaf hashes, level 1 the hash of two leaves, and so on. It is
    only asked for subtrees whose leaves all exist. Storage chooses how to keep
    them (memory, database rows, tiles).
    """

    def subtree_hash(self, level: int, index: int) -> bytes:
        """The root of the perfect subtree of 2**level leaves starting at leaf index * 2**level."""
        ...


def _range_root(start: int, end: int, hashes: SubtreeHashes) -> bytes:
    """MTH(D[start:end]) from at most log2(end - start) + 1 perfect subtree hashes.

    The ranges RFC 6962 §2.1 splits a tree into start at a multiple of a power
    of two at least as large as their length, so the binary digits of the length
    name aligned perfect subtrees.
    """
    size = end - start
    roots: list[bytes] = []
    offset = start
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            if offset % (1 << level):
                raise MerkleError(f"range [{start}, {end}) is not a subtree of an RFC 6962 tree")
            roots.append(hashes.subtree_hash(level, offset >> level))
            offset += 1 << level
    return _fold_right(roots)


def root_at(tree_size: int, hashes: SubtreeHashes) -> bytes:
    """MTH(D[tree_size]) (RFC 6962 §2.1) from O(log n) stored subtree hashes."""
    if tree_size < 0:
        raise MerkleError(f"tree size must be >= 0, got {tree_size}")
    return _range_root(0, tree_size, hashes)


def inclusion_proof(index: int, tree_size: int, hashes: SubtreeHashes) -> list[bytes]:
    """PATH(index, D[tree_size]) (RFC 9162 §2.1.3.1): the audit path of a leaf.

    Walks the RFC's recursion from the root down and returns the path from the
    leaf up. Asks ``hashes`` O(log n) times: once the walk enters a perfect
    subtree every sibling is one stored hash, and the only non-perfect sibling
    (the right edge of the tree) costs O(log n).
    """
    if not 0 <= index < tree_size:
        raise InclusionProofError(
            f"no inclusion proof for leaf {index} in a tree of {tree_size} leaves"
        )
    path: list[bytes] = []
    lo, hi = 0, tree_size
    while hi - lo > 1:
        k = _largest_power_of_two_below(hi - lo)
        if index < lo + k:
            # PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])
            path.append(_range_root(lo + k, hi, hashes))
            hi = lo + k
        else:
            # PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k])
            path.append(_range_root(lo, lo + k, hashes))
            lo = lo + k
    path.reverse()
    return path


def consistency_proof(size1: int, size2: int, hashes: SubtreeHashes) -> list[bytes]:
    """PROOF(size1, D[size2]) (RFC 9162 §2.1.4.1): proof that the first tree is a prefix.

    Empty for size1 == size2 (as the verifier expects); size1 == 0 is refused,
    like ``verify_consistency`` refuses it. Asks ``hashes`` O(log n) times.
    """
    if not 0 < size1 <= size2:
        raise ConsistencyProofError(
            f"no consistency proof from tree size {size1} to {size2}; need 0 < size1 <= size2"
        )
    path: list[bytes] = []
    lo, hi = 0, size2
    # b of SUBPROOF(m, D[n], b): whether the subtree is the whole first tree's root.
    whole_first_tree = True
    while True:
        n, m = hi - lo, size1 - lo
        if m == n:
            # SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}
            if not whole_first_tree:
                path.append(_range_root(lo, hi, hashes))
            break
        k = _largest_power_of_two_below(n)
        if m <= k:
            # SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            path.append(_range_root(lo + k, hi, hashes))
            hi = lo + k
        else:
            # SUBPROOF(m, D[n], b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            path.append(_range_root(lo, lo + k, hashes))
            lo = lo + k
            whole_first_tree = False
    path.reverse()
    return path


class MemoryTree:
    """An append-only RFC 6962 tree held in memory, keeping every perfect subtree hash.

    Implements ``SubtreeHashes``; ``levels[l][i]`` is the root of the perfect
    subtree of 2**l leaves starting at leaf i * 2**l. Holds about 2n hashes.
    """

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for leaf in leaf_hashes:
            self.append(leaf)

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return len(self._levels[0])

    def append(self, leaf_hash: bytes) -> int:
        """Add a leaf hash (``leaf_hash(data)``), returning its index."""
        _check_hash(leaf_hash, "leaf hash", MerkleError)
        index = self.size
        self._levels[0].append(bytes(leaf_hash))
        level, position = 0, index
        # A right child (odd position) completes the perfect subtree above it.
        while position & 1:
            below = self._levels[level]
            if level + 1 == len(self._levels):
                self._levels.append([])
            self._levels[level + 1].append(node_hash(below[position - 1], below[position]))
            level += 1
            position >>= 1
        return index

    def subtree_hash(self, level: int, index: int) -> bytes:
        """The root of the perfect subtree of 2**level leaves starting at leaf index * 2**level."""
        if level < 0 or index < 0:
            raise MissingSubtreeError(f"no subtree at level {level}, index {index}")
        if level >= len(self._levels) or index >= len(self._levels[level]):
            raise MissingSubtreeError(
                f"subtree at level {level}, index {index} is not complete in a tree of "
                f"{self.size} leaves"
            )
        return self._levels[level][index]

    def root(self, tree_size: int | None = None) -> bytes:
        """MTH of the first ``tree_size`` leaves (default: all of them)."""
        size = self.size if tree_size is None else tree_size
        if not 0 <= size <= self.size:
            raise MissingSubtreeError(f"tree size {size} is not in 0..{self.size}")
        return root_at(size, self)

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> list[bytes]:
        """``inclusion_proof`` for leaf ``index`` in the tree of ``tree_size`` (default: all)."""
        size = self.size if tree_size is None else tree_size
        if size > self.size:
            raise MissingSubtreeError(f"tree size {size} is larger than the tree ({self.size})")
        return inclusion_proof(index, size, self)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """``consistency_proof`` from ``size1`` to ``size2`` (default: all leaves)."""
        size = self.size if size2 is None else size2
        if size > self.size:
            raise MissingSubtreeError(f"tree size {size} is larger than the tree ({self.size})")
        return consistency_proof(size1, size, self)
