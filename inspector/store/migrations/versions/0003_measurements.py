"""Measurements: the gauge's figures per inspection (bead width/height/length, every finding).

Inspections written before this revision have none (their figures were never stored).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "measurements",
        sa.Column("inspection_id", sa.String(40),
                  sa.ForeignKey("inspections.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("quantity", sa.String(64), primary_key=True),
        sa.Column("value_mm", sa.Float, nullable=False),
    )
    op.create_index("ix_measurements_quantity_inspection_id", "measurements",
                    ["quantity", "inspection_id"])


def downgrade() -> None:
    op.drop_table("measurements")
