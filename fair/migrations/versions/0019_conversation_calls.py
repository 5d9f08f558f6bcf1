"""booth conversations by video or phone: the mode and the pending request to change it

A booth conversation (fair.conversation_calls) runs in written chat, by video or by phone
(`mode`, an InterviewMode: every existing conversation was written, hence the default), and one
of its two people may ask to move to video or phone (`requested_mode`, `requested_by_id`) until
the other accepts or refuses.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mode", sa.String(length=10), server_default="chat", nullable=False)
        )
        batch_op.add_column(sa.Column("requested_mode", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("requested_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_conversations_requested_by_id_users"),
            "users",
            ["requested_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_conversations_requested_by_id", ["requested_by_id"])


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_requested_by_id")
        batch_op.drop_constraint(op.f("fk_conversations_requested_by_id_users"), type_="foreignkey")
        batch_op.drop_column("requested_by_id")
        batch_op.drop_column("requested_mode")
        batch_op.drop_column("mode")
