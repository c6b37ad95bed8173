"""The log of records and their selective disclosures.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create `records` and `disclosures`."""
    op.create_table(
        "records",
        sa.Column("log_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("record_type", sa.String(), nullable=False),
        sa.Column("originator_participant", sa.String(), nullable=False),
        sa.Column("originator_agency", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("envelope_sha256", sa.String(length=64), nullable=False),
        sa.Column("signer_certificate", sa.LargeBinary(), nullable=False),
        sa.Column("tlp", sa.String(), nullable=False),
        sa.Column("handling", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("log_index", name="pk_records"),
        sa.UniqueConstraint("record_id", name="uq_records_record_id"),
    )
    op.create_index("ix_records_record_type", "records", ["record_type"])
    op.create_index(
        "ix_records_originator_participant_originator_agency",
        "records",
        ["originator_participant", "originator_agency"],
    )
    op.create_index("ix_records_accepted_at", "records", ["accepted_at"])

    op.create_table(
        "disclosures",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("field_class", sa.String(), nullable=False),
        sa.Column("disclosure", sa.Text(), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_disclosures"),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.record_id"], name="fk_disclosures_record_id_records"
        ),
    )
    op.create_index("ix_disclosures_record_id", "disclosures", ["record_id"])


def downgrade() -> None:
    """Drop both tables: this destroys the log."""
    op.drop_index("ix_disclosures_record_id", table_name="disclosures")
    op.drop_table("disclosures")
    op.drop_index("ix_records_accepted_at", table_name="records")
    op.drop_index("ix_records_originator_participant_originator_agency", table_name="records")
    op.drop_index("ix_records_record_type", table_name="records")
    op.drop_table("records")
