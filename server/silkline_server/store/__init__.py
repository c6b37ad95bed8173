"""The store: the log of accepted records and their disclosures (SQLite or PostgreSQL).

Public API: `Store` (open, migrate, append, read), `GroupCommitter` (batches
concurrent appends into few transactions), the value types going in and out,
the append outcomes and the errors.
"""

from silkline_server.store.errors import (
    CommitOutcomeUnknownError,
    ConstraintViolationError,
    GroupCommitterNotRunningError,
    MigrationError,
    StoreError,
    StoreUnavailableError,
    UnsupportedDatabaseURLError,
)
from silkline_server.store.group_commit import GroupCommitter
from silkline_server.store.outcomes import AlreadyPresent, Appended, AppendOutcome, Conflict
from silkline_server.store.records import (
    NewDisclosure,
    NewRecord,
    StoredDisclosure,
    StoredRecord,
)
from silkline_server.store.repository import Store

__all__ = [
    "AlreadyPresent",
    "AppendOutcome",
    "Appended",
    "CommitOutcomeUnknownError",
    "Conflict",
    "ConstraintViolationError",
    "GroupCommitter",
    "GroupCommitterNotRunningError",
    "MigrationError",
    "NewDisclosure",
    "NewRecord",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "StoredDisclosure",
    "StoredRecord",
    "UnsupportedDatabaseURLError",
]
