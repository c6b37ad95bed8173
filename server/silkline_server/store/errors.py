"""Errors of the storage layer, named by what went wrong.

Catch `StoreError` for any of them, or a single case. Every message names the
action that failed and what the caller can do about it.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error raised by `silkline_server.store`."""


class UnsupportedDatabaseURLError(StoreError):
    """The database URL names a backend the store does not support."""


class StoreUnavailableError(StoreError):
    """The database could not be reached, or stayed locked past the busy timeout.

    The operation may or may not have taken effect (a connection can drop during
    COMMIT). Appends are idempotent by record_id, so resubmitting is safe.
    """


class ConstraintViolationError(StoreError):
    """The database refused a write; nothing from that transaction was stored."""


class MigrationError(StoreError):
    """Bringing the schema to the current revision failed."""


class GroupCommitterNotRunningError(StoreError):
    """A record was submitted to a group committer that is not started or is stopping."""


class CommitOutcomeUnknownError(StoreError):
    """The group committer stopped before it could report whether a batch committed.

    Resubmitting is safe: a record that did commit comes back as already present.
    """


class LogIntegrityError(StoreError):
    """The log's stored hashes do not form the tree they should: the database was altered
    outside the store. Nothing more is appended, and no proof is made from it."""
