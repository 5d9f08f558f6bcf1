"""booth presence

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:52:29.686026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "booth_presence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booth_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booth_id"],
            ["booths.id"],
            name=op.f("fk_booth_presence_booth_id_booths"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_booth_presence_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booth_presence")),
        sa.UniqueConstraint("connection_id", name=op.f("uq_booth_presence_connection_id")),
    )
    with op.batch_alter_table("booth_presence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_booth_presence_booth_id"), ["booth_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_booth_presence_last_seen"), ["last_seen"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_booth_presence_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("booth_presence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_booth_presence_user_id"))
        batch_op.drop_index(batch_op.f("ix_booth_presence_last_seen"))
        batch_op.drop_index(batch_op.f("ix_booth_presence_booth_id"))

    op.drop_table("booth_presence")
