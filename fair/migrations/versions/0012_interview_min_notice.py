"""interview rules: a minimum notice for bookings and moves

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interview_rules", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("min_notice_minutes", sa.Integer(), nullable=False, server_default="120")
        )


def downgrade() -> None:
    with op.batch_alter_table("interview_rules", schema=None) as batch_op:
        batch_op.drop_column("min_notice_minutes")
