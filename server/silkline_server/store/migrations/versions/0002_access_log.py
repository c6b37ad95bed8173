"""The access log: every read, delivery and denial, and the rules versions in force.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create `access_events` and `rules_versions`."""
    op.create_table(
        "access_events",
        sa.Column(
            "sequence",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reader_participant", sa.String(), nullable=False),
        sa.Column("reader_agency", sa.String(), nullable=False),
        sa.Column("reader_client", sa.String(), nullable=False),
        # Not a foreign key to records: a denial may name an id that does not exist.
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("view", sa.String(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("disclosed", sa.String(), nullable=False),
        sa.Column("withheld", sa.String(), nullable=False),
        sa.Column("rules_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name="pk_access_events"),
    )
    op.create_index("ix_access_events_at", "access_events", ["at"])
    op.create_index(
        "ix_access_events_reader_participant_reader_agency",
        "access_events",
        ["reader_participant", "reader_agency"],
    )
    op.create_index("ix_access_events_record_id", "access_events", ["record_id"])

    op.create_table(
        "rules_versions",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("first_loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_rules_versions"),
    )


def downgrade() -> None:
    """Drop both tables: this destroys the access log and the record of rules versions."""
    op.drop_table("rules_versions")
    op.drop_index("ix_access_events_record_id", table_name="access_events")
    op.drop_index("ix_access_events_reader_participant_reader_agency", table_name="access_events")
    op.drop_index("ix_access_events_at", table_name="access_events")
    op.drop_table("access_events")
