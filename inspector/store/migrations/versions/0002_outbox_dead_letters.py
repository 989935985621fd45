"""Outbox dead letters: rows the broker will never accept are set aside with a reason.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as b:
        b.add_column(sa.Column("dead_at", sa.DateTime(timezone=True)))
        b.add_column(sa.Column("dead_reason", sa.Text))
        b.create_index("ix_outbox_dead_at", ["dead_at"])


def downgrade() -> None:
    with op.batch_alter_table("outbox") as b:
        b.drop_index("ix_outbox_dead_at")
        b.drop_column("dead_reason")
        b.drop_column("dead_at")
