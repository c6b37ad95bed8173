"""The tamper-evident log: leaves, perfect-subtree hashes, checkpoints and cosignatures.

Records, access events and rules versions all become leaves of one log. A
database written before this revision is brought into the log here: its
records first, keeping their log indices (0..n-1, so receipts already issued
stay true), then its rules versions by first load, then its access events by
sequence.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from silkline.formats.log_entry import (
    Reason,
    encode_access_entry,
    encode_record_entry,
    encode_rules_entry,
)
from silkline.formats.merkle import MemoryTree, leaf_hash
from silkline_server.store.tables import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Lightweight views of the tables as they are at this revision (not the models,
# which may move on after it).
_records = sa.table(
    "records",
    sa.column("log_index", sa.BigInteger()),
    sa.column("record_id", sa.String()),
    sa.column("accepted_at", UTCDateTime()),
    sa.column("envelope", sa.LargeBinary()),
    sa.column("signer_certificate", sa.LargeBinary()),
)
_rules_versions = sa.table(
    "rules_versions",
    sa.column("sha256", sa.String()),
    sa.column("first_loaded_at", UTCDateTime()),
    sa.column("source", sa.String()),
    sa.column("log_index", sa.BigInteger()),
)
_access_events = sa.table(
    "access_events",
    *(
        sa.column(name, kind)
        for name, kind in (
            ("sequence", sa.BigInteger()),
            ("at", UTCDateTime()),
            ("reader_participant", sa.String()),
            ("reader_agency", sa.String()),
            ("reader_client", sa.String()),
            ("record_id", sa.String()),
            ("action", sa.String()),
            ("allowed", sa.Boolean()),
            ("view", sa.String()),
            ("reasons", sa.Text()),
            ("disclosed", sa.String()),
            ("withheld", sa.String()),
            ("rules_sha256", sa.String()),
            ("log_index", sa.BigInteger()),
        )
    ),
)
_log_leaves = sa.table(
    "log_leaves",
    sa.column("leaf_index", sa.BigInteger()),
    sa.column("leaf", sa.LargeBinary()),
    sa.column("leaf_hash", sa.LargeBinary()),
)
_log_nodes = sa.table(
    "log_nodes",
    sa.column("level", sa.Integer()),
    sa.column("node_index", sa.BigInteger()),
    sa.column("hash", sa.LargeBinary()),
)


def upgrade() -> None:
    """Create the log's tables, give access events and rules versions a leaf index, backfill."""
    op.create_table(
        "log_leaves",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("leaf_index", name="pk_log_leaves"),
    )
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("node_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "node_index", name="pk_log_nodes"),
    )
    op.create_table(
        "checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name="pk_checkpoints"),
    )
    op.create_table(
        "cosignatures",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("cosigner", sa.String(), nullable=False),
        sa.Column("key_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", "cosigner", "key_id", name="pk_cosignatures"),
        sa.ForeignKeyConstraint(
            ["tree_size"], ["checkpoints.tree_size"], name="fk_cosignatures_tree_size_checkpoints"
        ),
    )
    op.add_column("access_events", sa.Column("log_index", sa.BigInteger(), nullable=True))
    op.add_column("rules_versions", sa.Column("log_index", sa.BigInteger(), nullable=True))

    _backfill(op.get_bind())

    for table in ("access_events", "rules_versions"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("log_index", existing_type=sa.BigInteger(), nullable=False)
            batch.create_unique_constraint(f"uq_{table}_log_index", ["log_index"])


def _backfill(connection: sa.Connection) -> None:
    tree = MemoryTree()
    leaves: list[dict[str, object]] = []

    def append(encode: Callable[[int, bytes | None], bytes]) -> int:
        index = tree.size
        previous = tree.subtree_hash(0, index - 1) if index else None
        leaf = encode(index, previous)
        hashed = leaf_hash(leaf)
        tree.append(hashed)
        leaves.append({"leaf_index": index, "leaf": leaf, "leaf_hash": hashed})
        return index

    records = connection.execute(
        sa.select(
            _records.c.log_index,
            _records.c.record_id,
            _records.c.accepted_at,
            _records.c.envelope,
            _records.c.signer_certificate,
        ).order_by(_records.c.log_index)
    ).all()
    for position, record in enumerate(records):
        if record.log_index != position:
            raise RuntimeError(
                f"records.log_index is not contiguous from 0 (found {record.log_index} at "
                f"position {position}); cannot bring these records into the log unchanged"
            )
        append(
            functools.partial(
                encode_record_entry,
                record_id=record.record_id,
                accepted_at=record.accepted_at,
                envelope=bytes(record.envelope),
                signer_certificate=bytes(record.signer_certificate),
            )
        )

    rules = connection.execute(
        sa.select(
            _rules_versions.c.sha256, _rules_versions.c.first_loaded_at, _rules_versions.c.source
        ).order_by(_rules_versions.c.first_loaded_at, _rules_versions.c.sha256)
    ).all()
    for version in rules:
        index = append(
            functools.partial(
                encode_rules_entry,
                sha256=version.sha256,
                source=version.source,
                loaded_at=version.first_loaded_at,
            )
        )
        connection.execute(
            sa.update(_rules_versions)
            .where(_rules_versions.c.sha256 == version.sha256)
            .values(log_index=index)
        )

    events = connection.execute(
        sa.select(*(c for c in _access_events.c if c.name != "log_index")).order_by(
            _access_events.c.sequence
        )
    ).all()
    for event in events:
        index = append(
            functools.partial(
                encode_access_entry,
                sequence=event.sequence,
                at=event.at,
                reader_participant=event.reader_participant,
                reader_agency=event.reader_agency,
                reader_client=event.reader_client,
                record_id=event.record_id,
                action=event.action,
                allowed=event.allowed,
                view=event.view,
                reasons=[Reason(r["cite"], r["text"]) for r in json.loads(event.reasons)],
                disclosed=[c for c in event.disclosed.split(",") if c],
                withheld=[c for c in event.withheld.split(",") if c],
                rules_sha256=event.rules_sha256,
            )
        )
        connection.execute(
            sa.update(_access_events)
            .where(_access_events.c.sequence == event.sequence)
            .values(log_index=index)
        )

    if leaves:
        connection.execute(sa.insert(_log_leaves), leaves)
    nodes = [
        {"level": level, "node_index": node, "hash": tree.subtree_hash(level, node)}
        for level in range(1, tree.size.bit_length())
        for node in range(tree.size >> level)
    ]
    if nodes:
        connection.execute(sa.insert(_log_nodes), nodes)


def downgrade() -> None:
    """Drop the log: this destroys every checkpoint, cosignature and proof of the history."""
    for table in ("rules_versions", "access_events"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"uq_{table}_log_index", type_="unique")
            batch.drop_column("log_index")
    op.drop_table("cosignatures")
    op.drop_table("checkpoints")
    op.drop_table("log_nodes")
    op.drop_table("log_leaves")
