"""The store: accepted records and their disclosures, the access log of reads,
deliveries, denials and rules versions, and the tamper-evident log of all of
them: leaves, subtree hashes, checkpoints, cosignatures (SQLite or PostgreSQL).

Public API: `Store` (open, migrate, append, read, record and list access; the
log's size, roots, proofs, entries, checkpoints and cosignatures),
`GroupCommitter` (batches concurrent appends into few transactions), the value
types going in and out, the append outcomes and the errors.
"""

from silkline_server.store.access_log import (
    ACCESS_ACTIONS,
    ACCESS_VIEWS,
    NewAccessEvent,
    StoredAccessEvent,
    StoredRulesVersion,
)
from silkline_server.store.errors import (
    CommitOutcomeUnknownError,
    ConstraintViolationError,
    GroupCommitterNotRunningError,
    LogIntegrityError,
    MigrationError,
    StoreError,
    StoreUnavailableError,
    UnsupportedDatabaseURLError,
)
from silkline_server.store.group_commit import GroupCommitter
from silkline_server.store.log_values import (
    NewCosignature,
    StoredCheckpoint,
    StoredCosignature,
    StoredLeaf,
)
from silkline_server.store.outcomes import AlreadyPresent, Appended, AppendOutcome, Conflict
from silkline_server.store.records import (
    HeldDisclosure,
    NewDisclosure,
    NewRecord,
    StoredDisclosure,
    StoredRecord,
)
from silkline_server.store.repository import Store

__all__ = [
    "ACCESS_ACTIONS",
    "ACCESS_VIEWS",
    "AlreadyPresent",
    "AppendOutcome",
    "Appended",
    "CommitOutcomeUnknownError",
    "Conflict",
    "ConstraintViolationError",
    "GroupCommitter",
    "GroupCommitterNotRunningError",
    "HeldDisclosure",
    "LogIntegrityError",
    "MigrationError",
    "NewAccessEvent",
    "NewCosignature",
    "NewDisclosure",
    "NewRecord",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "StoredAccessEvent",
    "StoredCheckpoint",
    "StoredCosignature",
    "StoredDisclosure",
    "StoredLeaf",
    "StoredRecord",
    "StoredRulesVersion",
    "UnsupportedDatabaseURLError",
]
