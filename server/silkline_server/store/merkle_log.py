"""The log in the database: appending leaves with their subtree hashes, and reading them back.

`log_leaves` holds each leaf's exact bytes and its RFC 6962 leaf hash;
`log_nodes` the hash of every complete (perfect) subtree of level >= 1,
written in the same transaction as the leaf that completes it. An append
reads at most log2(n) + 1 stored hashes (the perfect subtrees of the tree so
far); a proof or a root reads O(log n) of them, in one query per table.

Everything here runs on a connection inside a transaction the repository
opened: appends under the log's lock, so the next index is the number of
leaves and no two writers ever pick the same one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, TypeVar

from sqlalchemy import Connection, func, insert, select

from silkline.formats.merkle import (
    HASH_SIZE,
    MissingSubtreeError,
    SubtreeHashes,
    leaf_hash,
)
from silkline.formats.merkle_frontier import MerkleFrontier, perfect_subtrees
from silkline_server.store.tables import log_leaves_table, log_nodes_table

T = TypeVar("T")

# Keys of (level, index) pairs per query; the pairs of one proof are far fewer.
_KEYS_PER_QUERY: Final = 200


def tree_size(connection: Connection) -> int:
    """The number of leaves; indices are contiguous, so max + 1 (an index lookup, not a scan)."""
    size: int = connection.execute(
        select(func.coalesce(func.max(log_leaves_table.c.leaf_index), -1) + 1)
    ).scalar_one()
    return size


def last_leaf(connection: Connection) -> tuple[int, bytes] | None:
    """The index and leaf hash of the newest leaf, or None for an empty log.

    One primary-key lookup that gives both the tree size (index + 1) and the
    hash the next leaf chains to. Plain SQL for the reason given at
    `fetch_hashes`: it runs once per appending transaction.
    """
    row = connection.exec_driver_sql(
        "SELECT leaf_index, leaf_hash FROM log_leaves ORDER BY leaf_index DESC LIMIT 1"
    ).first()
    return None if row is None else (int(row[0]), bytes(row[1]))


def fetch_hashes(
    connection: Connection, keys: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """The stored hashes of the given (level, index) subtrees; missing ones are left out.

    Level 0 is the leaf hashes in `log_leaves`, higher levels are `log_nodes`.
    Plain SQL through the driver: a proof is a few dozen primary-key lookups,
    and building them as SQLAlchemy expressions would cost more than running
    them. Each (level, node_index) pair is its own equality term, OR'ed:
    both SQLite (multi-index OR) and PostgreSQL (bitmap OR) answer that from
    the primary key, where a row-value IN list makes SQLite scan the table.
    """
    wanted = sorted(set(keys))
    found: dict[tuple[int, int], bytes] = {}
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    leaf_indices = [index for level, index in wanted if level == 0]
    node_keys = [(level, index) for level, index in wanted if level > 0]
    for start in range(0, len(leaf_indices), _KEYS_PER_QUERY):
        leaf_chunk = leaf_indices[start : start + _KEYS_PER_QUERY]
        marks = ", ".join([mark] * len(leaf_chunk))
        leaf_rows = connection.exec_driver_sql(
            f"SELECT leaf_index, leaf_hash FROM log_leaves WHERE leaf_index IN ({marks})",  # noqa: S608 - placeholders only
            tuple(leaf_chunk),
        ).all()
        found.update({(0, index): bytes(value) for index, value in leaf_rows})
    for start in range(0, len(node_keys), _KEYS_PER_QUERY):
        node_chunk = node_keys[start : start + _KEYS_PER_QUERY]
        terms = " OR ".join([f"(level = {mark} AND node_index = {mark})"] * len(node_chunk))
        node_rows = connection.exec_driver_sql(
            f"SELECT level, node_index, hash FROM log_nodes WHERE {terms}",  # noqa: S608 - placeholders only
            tuple(value for key in node_chunk for value in key),
        ).all()
        found.update({(level, index): bytes(value) for level, index, value in node_rows})
    return found


class StoredSubtreeHashes:
    """`SubtreeHashes` (silkline.formats.merkle) over `log_leaves` and `log_nodes`.

    Each `subtree_hash` is one query unless `prefetch` already loaded it.
    A subtree the database does not hold raises MissingSubtreeError: an
    incomplete subtree, or a log that was altered behind the store's back.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._cache: dict[tuple[int, int], bytes] = {}

    def prefetch(self, keys: Iterable[tuple[int, int]]) -> None:
        """Load the given (level, index) subtrees in one query per table."""
        missing = [key for key in keys if key not in self._cache]
        if missing:
            self._cache.update(fetch_hashes(self._connection, missing))

    def subtree_hash(self, level: int, index: int) -> bytes:
        """The root of the perfect subtree of 2**level leaves starting at leaf index * 2**level."""
        key = (level, index)
        if key not in self._cache:
            self.prefetch([key])
        found = self._cache.get(key)
        if found is None:
            raise MissingSubtreeError(
                f"the log holds no complete subtree at level {level}, index {index}"
            )
        return found


class _Recorder:
    """A `SubtreeHashes` that notes which subtrees are asked for and answers placeholders."""

    def __init__(self) -> None:
        self.requested: list[tuple[int, int]] = []

    def subtree_hash(self, level: int, index: int) -> bytes:
        self.requested.append((level, index))
        return bytes(HASH_SIZE)


def with_stored_hashes(connection: Connection, compute: Callable[[SubtreeHashes], T]) -> T:
    """Run `compute` (a root or a proof from silkline.formats.merkle) over stored hashes.

    Which subtrees RFC 9162 proof generation asks for depends only on the
    indices and sizes, never on hash values; a dry run with placeholders
    names them all, so they are read in one query per table, not one per hash.
    """
    recorder = _Recorder()
    compute(recorder)
    stored = StoredSubtreeHashes(connection)
    stored.prefetch(recorder.requested)
    return compute(stored)


class LogWriter:
    """Appends leaves, and the perfect-subtree hashes they complete, in the caller's transaction.

    Construct it while holding the log's lock: it reads the tree size and the
    hashes of the perfect subtrees of the tree so far (its right frontier).
    `append` encodes one leaf knowing its index and the previous leaf's hash;
    `flush` writes every row at once.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        # The newest leaf gives the size and the previous leaf hash in one query;
        # the subtree hashes above it come in one more (fetch_hashes asks the
        # leaves table only when a level-0 key is still wanted, never here).
        newest = last_leaf(connection)
        size = 0 if newest is None else newest[0] + 1
        shape = perfect_subtrees(size)
        wanted = [*shape, (0, size - 1)] if size else shape
        stored = {} if newest is None else {(0, newest[0]): newest[1]}
        stored.update(fetch_hashes(connection, [key for key in wanted if key not in stored]))
        missing = sorted(set(wanted) - set(stored))
        if missing:
            raise MissingSubtreeError(
                f"the log of {size} leaves lacks the stored subtree hashes {missing}; "
                "it was altered outside the store, and nothing more is appended to it"
            )
        self._frontier = MerkleFrontier(size, [stored[key] for key in shape])
        self._previous = stored[(0, size - 1)] if size else None
        self._leaves: list[dict[str, Any]] = []
        self._nodes: list[dict[str, Any]] = []

    @property
    def next_index(self) -> int:
        """The index the next appended leaf gets."""
        return self._frontier.size

    def append(self, encode: Callable[[int, bytes | None], bytes]) -> int:
        """Append the leaf `encode(index, previous_leaf_hash)` and return its index."""
        index = self._frontier.size
        leaf = encode(index, self._previous)
        hashed = leaf_hash(leaf)
        self._leaves.append({"leaf_index": index, "leaf": leaf, "leaf_hash": hashed})
        _, *nodes = self._frontier.append(hashed)
        self._nodes.extend(
            {"level": level, "node_index": node, "hash": value} for level, node, value in nodes
        )
        self._previous = hashed
        return index

    def flush(self) -> int:
        """Insert the appended leaves and completed nodes; return the new tree size."""
        if self._leaves:
            self._connection.execute(insert(log_leaves_table), self._leaves)
        if self._nodes:
            self._connection.execute(insert(log_nodes_table), self._nodes)
        self._leaves, self._nodes = [], []
        return self._frontier.size
