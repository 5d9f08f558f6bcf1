"""booth queue

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:28:20.734053
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
        "queue_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booth_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("active_key", sa.Integer(), nullable=True),
        sa.Column("engaged_key", sa.Integer(), nullable=True),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
        sa.Column("called_at", sa.DateTime(), nullable=True),
        sa.Column("called_by_id", sa.Integer(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("next_step", sa.String(length=30), nullable=True),
        sa.ForeignKeyConstraint(
            ["booth_id"],
            ["booths.id"],
            name=op.f("fk_queue_entries_booth_id_booths"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["called_by_id"],
            ["users.id"],
            name=op.f("fk_queue_entries_called_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["users.id"],
            name=op.f("fk_queue_entries_candidate_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_entries")),
        sa.UniqueConstraint(
            "booth_id", "candidate_id", "active_key", name=op.f("uq_queue_entries_booth_id")
        ),
        sa.UniqueConstraint(
            "candidate_id", "engaged_key", name=op.f("uq_queue_entries_candidate_id")
        ),
    )
    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queue_entries_booth_id"), ["booth_id"], unique=False)
        batch_op.create_index(
            "ix_queue_entries_booth_status_joined",
            ["booth_id", "status", "joined_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_queue_entries_called_by_id"), ["called_by_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_queue_entries_candidate_id"), ["candidate_id"], unique=False
        )
        batch_op.create_index(
            "ix_queue_entries_status_called", ["status", "called_at"], unique=False
        )

    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booth_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("recruiter_id", sa.Integer(), nullable=True),
        sa.Column("queue_entry_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("next_step", sa.String(length=30), nullable=True),
        sa.ForeignKeyConstraint(
            ["booth_id"],
            ["booths.id"],
            name=op.f("fk_conversations_booth_id_booths"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["users.id"],
            name=op.f("fk_conversations_candidate_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["queue_entry_id"],
            ["queue_entries.id"],
            name=op.f("fk_conversations_queue_entry_id_queue_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recruiter_id"],
            ["users.id"],
            name=op.f("fk_conversations_recruiter_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("queue_entry_id", name=op.f("uq_conversations_queue_entry_id")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversations_booth_ended", ["booth_id", "ended_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_conversations_booth_id"), ["booth_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_conversations_candidate_id"), ["candidate_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_conversations_recruiter_id"), ["recruiter_id"], unique=False
        )

    op.create_table(
        "conversation_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["users.id"],
            name=op.f("fk_conversation_messages_sender_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_messages")),
    )
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_messages_conversation_id"),
            ["conversation_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_conversation_messages_sender_id"), ["sender_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_messages_sender_id"))
        batch_op.drop_index(batch_op.f("ix_conversation_messages_conversation_id"))

    op.drop_table("conversation_messages")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_recruiter_id"))
        batch_op.drop_index(batch_op.f("ix_conversations_candidate_id"))
        batch_op.drop_index(batch_op.f("ix_conversations_booth_id"))
        batch_op.drop_index("ix_conversations_booth_ended")

    op.drop_table("conversations")
    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_entries_status_called")
        batch_op.drop_index(batch_op.f("ix_queue_entries_candidate_id"))
        batch_op.drop_index(batch_op.f("ix_queue_entries_called_by_id"))
        batch_op.drop_index("ix_queue_entries_booth_status_joined")
        batch_op.drop_index(batch_op.f("ix_queue_entries_booth_id"))

    op.drop_table("queue_entries")
